"""Scaffolding for stand-ins of third parties (SMS provider, Pension Fund registry): small real HTTP servers
on a loopback port, served from a background thread, that tests and demos can take down, bring back, and
tell to fail or be slow.
"""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Generic, Self, TypeVar


@dataclass
class StandInState:
    mode: str = "ok"
    delay: float = 0.0
    requests: list[str] = field(default_factory=list)  # idempotency key of every request received
    by_key: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)  # set = hanging requests may answer


class StandInHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    state: Any


S = TypeVar("S", bound=StandInState)


class StandIn(Generic[S]):
    handler: ClassVar[type[BaseHTTPRequestHandler]]
    path: ClassVar[str] = ""  # appended to the base URL in `url`
    hanging_modes: ClassVar[tuple[str, ...]] = ("slow",)  # modes in which requests wait for `released`

    def __init__(self, host: str = "127.0.0.1", port: int = 0, state: S | None = None) -> None:
        self.host, self.port = host, port
        self.state: S = state or self.new_state()
        self._server: StandInHTTPServer | None = None

    def new_state(self) -> S:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    def start(self) -> Self:
        self.state.released.clear()
        self._server = StandInHTTPServer((self.host, self.port), self.handler)
        self._server.state = self.state
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening: the third party is "down" (connections refused) until start(); hanging requests end."""
        if self._server is not None:
            self.state.released.set()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def set_mode(self, mode: str, delay: float = 0.0) -> None:
        with self.state.lock:
            self.state.mode, self.state.delay = mode, delay
        if mode in self.hanging_modes:
            self.state.released.clear()
        else:
            self.state.released.set()

    def requests_for(self, key: str) -> int:
        with self.state.lock:
            return self.state.requests.count(key)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve(self, mode: str = "ok") -> None:
        """Run in the foreground until interrupted (`esoz sim ...`)."""
        self.set_mode(mode)
        self.start()
        try:
            threading.Event().wait()
        finally:
            self.stop()
