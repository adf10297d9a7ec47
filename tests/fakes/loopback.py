"""One way for every fake to serve HTTP on 127.0.0.1: a threading server on a free port,
each handler class bound to its fake, stopped cleanly."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer:
    """Serves HANDLER (a class with a ``server_fake`` attribute) for FAKE until ``stop``."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], fake: object) -> None:
        bound = type(f"{handler.__name__}For{type(fake).__name__}", (handler,), {})
        bound.server_fake = fake  # type: ignore[attr-defined]
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), bound)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
