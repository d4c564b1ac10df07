"""The leak scanner behind ``apikee scan``, with its reports.

:mod:`.scanner` finds the keys (walking with :mod:`.walk`, reading with :mod:`.reading`,
judging with :mod:`.classify`) into a :class:`~.findings.ScanResult`; :mod:`.report` writes it
as text or JSON and :mod:`.sarif` as SARIF 2.1.0. Nothing here prints a full key.
"""
