"""An HTTP server (storycast's preview, the studio) run in a thread for a test."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def serving(server: socketserver.BaseServer, poll: float = 0.05) -> Iterator[None]:
    """``server`` answering from a thread of its own until the block ends; then it is
    stopped, its socket closed and its thread waited for."""
    thread = threading.Thread(target=server.serve_forever, args=(poll,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
