"""OpenTelemetry tracing: off unless `ESOZ_TRACING_OTLP_ENDPOINT` is set, then exported over OTLP/HTTP.

The spans come from the well-kept instrumentation packages: FastAPI (the server span of each request), SQLAlchemy
(each statement on the API's and the jobs' engines), httpx and aiohttp (calls to the SMS provider, the Pension Fund,
revocation services). What no package can know is that an outbox message is delivered minutes later by a worker
for the request that wrote it: the writer's `traceparent` is kept on the outbox row and the delivery span continues
that trace, so one trace runs from the HTTP request through its statements to the message's delivery.

Off, this module costs nothing on the request path: no provider is set, no instrumentation is installed, and the
outbox stores no trace context.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from opentelemetry import propagate, trace
from sqlalchemy.ext.asyncio import AsyncEngine

from esoz.core.logging import get_logger

log = get_logger("esoz.tracing")
_TRACER_NAME = "esoz"
_enabled = False
# Paths whose spans would only be noise (probes and scrapes, several a second).
EXCLUDED_URLS = "/health,/ready,/metrics,/static"


def enabled() -> bool:
    return _enabled


def configure(*, endpoint: str, service_name: str, sample_ratio: float) -> None:
    """Set the process's tracer provider (once per process; later calls keep the first)."""
    global _enabled
    if _enabled:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    traces = endpoint.rstrip("/")
    if not traces.endswith("/v1/traces"):
        traces += "/v1/traces"
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}),
        sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces)))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument()
    AioHttpClientInstrumentor().instrument()
    _enabled = True
    log.info("tracing on", endpoint=traces, service=service_name, sample_ratio=sample_ratio)


def instrument_app(app: FastAPI) -> None:
    """Server spans for `app` (before it starts); nothing when tracing is off."""
    if not _enabled:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls=EXCLUDED_URLS)


def instrument_engines(engines: Sequence[AsyncEngine]) -> None:
    """A span per statement on `engines`; nothing when tracing is off."""
    if not _enabled:
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    for engine in engines:
        SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, enable_commenter=False)


def flush() -> None:
    provider = trace.get_tracer_provider()
    force_flush = getattr(provider, "force_flush", None)
    if _enabled and force_flush is not None:
        force_flush()


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the current span, to store beside work that continues elsewhere."""
    if not _enabled:
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def continued(name: str, traceparent: str | None, **attributes: Any) -> Iterator[None]:
    """A span that continues the trace of `traceparent` (a new trace when there is none)."""
    if not _enabled:
        yield
        return
    context = propagate.extract({"traceparent": traceparent}) if traceparent else None
    tracer = trace.get_tracer(_TRACER_NAME)
    with tracer.start_as_current_span(name, context=context, kind=trace.SpanKind.CONSUMER, attributes=attributes):
        yield
