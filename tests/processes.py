"""Processes the tests start beside the suite (esoz serve, esoz worker, Prometheus): a free port, a clean stop."""

import socket
import subprocess


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[bytes], seconds: float = 20) -> bool:
    """SIGTERM, then SIGKILL after `seconds`; True when the process stopped on SIGTERM."""
    proc.terminate()
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        return False
    return True
