"""apikee — self-contained, HMAC-signed API keys, verified fast.

    from apikee import Apikee
    apikee = Apikee()                      # reads APIKEE_SECRET
    key = apikee.create("acme-corp", scopes=["read"], expires_in="90d")
    claims = apikee.verify(key)            # raises ApikeeError with a .code on failure

``IMPLEMENTATION`` is ``"native"`` when the compiled hot path loaded, ``"pure"`` otherwise
(``APIKEE_NO_EXTENSIONS=1`` forces pure).
"""

import logging

from ._apikee import Apikee, ApikeeConfigError, KeyOptions, WeakSecretWarning, get_apikee
from ._claims_py import ApikeeClaims  # the public class of both implementations' claims
from ._core import IMPLEMENTATION, Verifier, b62decode, b62encode, constant_time_compare
from ._errors import ApikeeError, ErrorCode, RateLimitExceeded
from ._keyutil import decode_unverified, generate_secret, hash_key
from ._policy import RateLimit
from ._store import Revocation, StoreUnavailable
from ._usage import Usage
from ._version import __version__

# A library logs, it does not configure logging: without a handler of the application's own,
# records (store outages, revocation resyncs) go nowhere instead of to stderr.
logging.getLogger("apikee").addHandler(logging.NullHandler())


__all__ = [
    "IMPLEMENTATION",
    "Apikee",
    "ApikeeClaims",
    "ApikeeConfigError",
    "ApikeeError",
    "ErrorCode",
    "KeyOptions",
    "RateLimit",
    "RateLimitExceeded",
    "Revocation",
    "StoreUnavailable",
    "Usage",
    "Verifier",
    "WeakSecretWarning",
    "__version__",
    "b62decode",
    "b62encode",
    "constant_time_compare",
    "decode_unverified",
    "generate_secret",
    "get_apikee",
    "hash_key",
]
