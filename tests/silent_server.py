"""Real loopback servers that misbehave: one accepts connections and never answers, the other
closes each connection as soon as it is made. Each counts the connections it was given."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class SilentServer:
    address: str
    connections: int = 0
    held: list[socket.socket] = field(default_factory=list)


@contextmanager
def misbehaving_server(close_at_once: bool = False) -> Iterator[SilentServer]:
    """``http://127.0.0.1:PORT`` of a server that never answers (or closes at once)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.05)  # so that the accepting thread sees the stop (close does not wake it)
    server = SilentServer(f"http://127.0.0.1:{listener.getsockname()[1]}")
    stopped = threading.Event()

    def accept() -> None:
        while not stopped.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server.connections += 1
            if close_at_once:
                connection.close()
            else:
                server.held.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stopped.set()
        listener.close()
        for connection in server.held:
            connection.close()
        thread.join(timeout=5)
