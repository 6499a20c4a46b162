"""Pure-ASGI middleware (cheaper than BaseHTTPMiddleware): request id, access log, input guards.

The guards run before routing so that an oversized, non-JSON or non-UTF-8 body, or text no column can store
(control characters, non-finite numbers: core/inputguard.py), is refused with a contract error before any
handler or database work happens.
"""

import re
import time
import uuid
from collections.abc import Callable, Sequence

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from esoz.core import envelope, inputguard, metrics, proxies
from esoz.core.context import request_id_var
from esoz.core.errors import ENTRY_HEADER, ENTRY_REQUEST, ApiError, RequestMalformed, ValidationFailed, invalid_entry
from esoz.core.logging import get_logger

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:#-]{1,128}$")
_BODY_METHODS = {b"POST", b"PUT", b"PATCH"}
# Standard OAuth 2.0 endpoints (RFC 6749/7009/7662) and the sign-in pages take HTML-form bodies.
_FORM_PATHS = ("/oauth/token", "/oauth/revoke", "/oauth/introspect", "/sign-in", "/status/")
log = get_logger("esoz.access")


class _BodyTooLarge(Exception):
    pass


def _header(scope: Scope, name: bytes) -> bytes | None:
    headers: list[tuple[bytes, bytes]] = scope["headers"]  # ASGI: raw (name, value) pairs
    for key, value in headers:
        if key == name:
            return value
    return None


def _joined(scope: Scope, name: bytes) -> str | None:
    """A header sent several times, as one comma-separated value (how X-Forwarded-For hops add up)."""
    values = [value.decode("latin-1") for key, value in scope["headers"] if key == name]
    return ",".join(values) if values else None


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        observe: Callable[[str, int, float], None] | None = None,
        trusted_proxies: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (core/proxies.py); empty = the TCP peer is
        # the client. The server in front must not rewrite the client itself (`esoz serve` runs uvicorn without
        # proxy_headers, whose default trusts 127.0.0.1).
        self.trusted_proxies = proxies.parse_networks(trusted_proxies)
        # Called with (path, status, seconds) after each response; must be O(1) and do no I/O
        # (the status domain's per-minute aggregate).
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.trusted_proxies:
            self._apply_forwarded(scope)
        incoming = (_header(scope, b"x-request-id") or b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else str(uuid.uuid4())
        token = request_id_var.set(request_id)
        started_at = time.perf_counter()
        status = 500
        started = False
        metrics.IN_FLIGHT.inc()

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            body_error: ApiError | None = None
            unsafe = inputguard.path_problems(scope) + inputguard.query_problems(scope.get("query_string", b""))
            if unsafe:
                body_error = ValidationFailed(unsafe)
            elif scope["method"].encode() in _BODY_METHODS:
                body_error, receive = await self._guard_body(scope, receive)
            if body_error is not None:
                response = envelope.error(Request(scope), body_error.status, body_error.body())
                await response(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        except Exception:
            # Answered here rather than by Starlette's outermost handler so the 500 still carries the request id.
            log.exception("unhandled error", method=scope["method"], path=scope["path"])
            if status == 500 and not started:
                body = {"type": "internal_error", "message": "Internal server error"}
                await envelope.error(Request(scope), 500, body)(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started_at
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            if self.observe is not None:
                self.observe(scope["path"], status, elapsed)
            metrics.IN_FLIGHT.dec()
            route = getattr(scope.get("route"), "path", None)
            metrics.observe_request(scope["method"], route or metrics.UNMATCHED, status, elapsed)
            request_id_var.reset(token)

    def _apply_forwarded(self, scope: Scope) -> None:
        peer = scope.get("client")
        host = peer[0] if peer else None
        if not proxies.peer_is_trusted(host, self.trusted_proxies):
            return
        client = proxies.forwarded_client(host, _joined(scope, b"x-forwarded-for"), self.trusted_proxies)
        if client is not None:
            scope["client"] = (client, 0)
        proto = (_header(scope, b"x-forwarded-proto") or b"").decode("latin-1").split(",")[-1].strip().lower()
        if proto in ("http", "https"):
            scope["scheme"] = proto

    async def _guard_body(self, scope: Scope, receive: Receive) -> tuple[ApiError | None, Receive]:
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            return self._too_large(), receive
        # Buffer the body (bounded by the limit) so that it can be checked and then replayed.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return self._too_large(), receive
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        if not body:
            return None, replay
        content_type = (_header(scope, b"content-type") or b"").decode("latin-1").split(";")[0].strip().lower()
        form_ok = content_type == "application/x-www-form-urlencoded" and scope["path"].startswith(_FORM_PATHS)
        if content_type != "application/json" and not content_type.endswith("+json") and not form_ok:
            return (
                ApiError(
                    415,
                    "content_type_invalid",
                    "Invalid Content-Type header. Try to set 'Content-Type: application/json' header: "
                    "http://docs.apimanifest.apiary.io/#introduction/interacting-with-api/content-type.",
                    [
                        invalid_entry(
                            "$.content-type",
                            "content_type",
                            "unsupported content type",
                            [content_type],
                            entry_type=ENTRY_HEADER,
                        )
                    ],
                ),
                replay,
            )
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            return (
                RequestMalformed(
                    "Request body is not valid UTF-8",
                    [invalid_entry("$", "json", f"invalid UTF-8 at byte {exc.start}", entry_type=ENTRY_REQUEST)],
                ),
                replay,
            )
        unsafe = inputguard.form_problems(body) if form_ok else inputguard.json_problems(body)
        return (ValidationFailed(unsafe) if unsafe else None), replay

    def _too_large(self) -> ApiError:
        return ApiError(
            413,
            "request_too_large",
            f"Request body is larger than {self.max_body_bytes} bytes",
            [
                invalid_entry(
                    "$", "length", "request body too large", {"max": self.max_body_bytes}, entry_type=ENTRY_REQUEST
                )
            ],
        )
