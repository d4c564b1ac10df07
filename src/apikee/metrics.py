"""Metrics exports of ``Apikee(usage=True)``: Prometheus and OpenTelemetry, same names.

    from prometheus_client import REGISTRY
    from apikee.metrics import PrometheusCollector, instrument_otel

    REGISTRY.register(PrometheusCollector(apikee))  # pip install 'apikee[prometheus]'
    instrument_otel(apikee)                          # pip install 'apikee[otel]'

Both read the in-process counters of ``apikee.usage`` at scrape/collection time (nothing is
done per request):

- ``apikee_verifications_total{code}`` (OpenTelemetry: the counter ``apikee_verifications``,
  attribute ``code``): verifications by outcome code, ``VALID`` or an :class:`ErrorCode`;
- ``apikee_tenant_verifications_total{tenant,code}`` (``apikee_tenant_verifications``): the
  same per tenant, only with ``Usage(per_tenant=True)``; at most ``max_tenants`` tenants plus
  the ``other`` bucket, so a metrics backend sees a bounded number of series;
- ``apikee_usage_flush_errors_total``: failed last-used flushes to the store.

No label or value ever holds a key or a secret (tenants come only from verified keys).
The ASGI and WSGI middlewares serve the Prometheus text on one path when asked:
``ApikeeMiddleware(app, apikee=..., metrics_path="/metrics")`` (nothing is opened otherwise).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Iterator

if TYPE_CHECKING:
    from ._apikee import Apikee
    from ._usage import Usage

__all__ = ["PrometheusCollector", "instrument_otel", "prometheus_text"]

VERIFICATIONS = "apikee_verifications"
TENANT_VERIFICATIONS = "apikee_tenant_verifications"
FLUSH_ERRORS = "apikee_usage_flush_errors"


def _usage_of(source: Apikee | Usage) -> Usage:
    from ._usage import Usage

    if isinstance(source, Usage):
        return source
    usage = getattr(source, "usage", None)
    if not isinstance(usage, Usage):
        raise ValueError("usage is off: pass usage=True to Apikee() to export metrics")
    return usage


class PrometheusCollector:
    """A ``prometheus_client`` collector of one Apikee's usage counters (register it)."""

    def __init__(self, source: Apikee | Usage) -> None:
        self.usage = _usage_of(source)

    def describe(self) -> list[Any]:
        return []  # no metrics asked for at registration: collect() is cheap anyway

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily

        snapshot = self.usage.snapshot()
        codes = CounterMetricFamily(
            VERIFICATIONS, "apikee key verifications by outcome code", labels=["code"]
        )
        for code, count in snapshot["codes"].items():
            codes.add_metric([code], count)
        yield codes
        if "tenants" in snapshot:
            tenants = CounterMetricFamily(
                TENANT_VERIFICATIONS,
                "apikee key verifications by tenant and outcome code (bounded tenants)",
                labels=["tenant", "code"],
            )
            for tenant, counts in snapshot["tenants"].items():
                for code, count in counts.items():
                    tenants.add_metric([tenant, code], count)
            yield tenants
        errors = CounterMetricFamily(FLUSH_ERRORS, "apikee failed last-used flushes to the store")
        errors.add_metric([], snapshot["flush_errors"])
        yield errors


def prometheus_text(registry: Any) -> tuple[bytes, str]:
    """The Prometheus exposition of ``registry``: ``(body, content type)``."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(registry), CONTENT_TYPE_LATEST


def default_registry(source: Apikee | Usage) -> Any:
    """A new registry holding only this Apikee's collector (what ``metrics_path`` serves
    unless given ``metrics_registry``: never the process's other metrics by surprise)."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(PrometheusCollector(source))
    return registry


def instrument_otel(source: Apikee | Usage, meter_provider: Any = None) -> list[Any]:
    """Observable OpenTelemetry counters of this Apikee's usage (``opentelemetry-api``): a
    no-op until an SDK ``MeterProvider`` is configured. Returns the instruments."""
    from opentelemetry import metrics
    from opentelemetry.metrics import CallbackOptions, Observation

    usage = _usage_of(source)
    if meter_provider is None:
        meter = metrics.get_meter("apikee")
    else:
        meter = meter_provider.get_meter("apikee")

    def codes(options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(n, {"code": c}) for c, n in usage.snapshot()["codes"].items()]

    def tenants(options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(n, {"tenant": t, "code": c}) for t, c, n in usage.tenant_items()]

    def errors(options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(usage.flush_errors)]

    instruments = [
        meter.create_observable_counter(
            VERIFICATIONS, [codes], description="apikee key verifications by outcome code"
        ),
        meter.create_observable_counter(
            FLUSH_ERRORS, [errors], description="apikee failed last-used flushes to the store"
        ),
    ]
    if usage.per_tenant:
        instruments.append(
            meter.create_observable_counter(
                TENANT_VERIFICATIONS,
                [tenants],
                description="apikee key verifications by tenant and outcome code",
            )
        )
    return instruments
