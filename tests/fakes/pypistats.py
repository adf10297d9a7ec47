"""A fake of pypistats.org's JSON API on 127.0.0.1: ``/api/packages/<name>/overall`` (daily
downloads, ``?mirrors=false`` leaves out the ``with_mirrors`` rows) and ``/recent``, with the
shapes pypistats answers. ``hold`` makes it accept requests and never answer (a timeout);
``status`` makes every answer that HTTP status.

    with FakePypiStats() as stats:
        stats.add("demo-pkg", {"2024-05-01": 120, "2024-05-02": 80})
        os.environ["UNRELEASE_PYPISTATS_URL"] = stats.url
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from datetime import date
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.loopback import LoopbackServer


class FakePypiStats:
    def __init__(self) -> None:
        self.daily: dict[str, dict[str, int]] = {}  # project -> ISO date -> downloads
        self.requests: list[str] = []  # paths with query
        self.status: int | None = None
        self.body: bytes | None = None  # answer this raw body instead
        self.hold = False
        self._release = threading.Event()
        self._server = LoopbackServer(_Handler, self)
        self.port = self._server.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def add(self, project: str, days: dict[str, int]) -> None:
        self.daily.setdefault(project, {}).update(days)

    def close(self) -> None:
        self._release.set()
        self._server.stop()

    def __enter__(self) -> FakePypiStats:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        m = re.fullmatch(r"/api/packages/(?P<name>[^/]+)/(?P<what>overall|recent)/?", path)
        if m is None:
            return 404, {"message": "Not Found"}
        name = m["name"]
        if name not in self.daily:
            return 404, {"message": "Not Found"}
        days = sorted(self.daily[name].items())
        if m["what"] == "recent":
            last = date.fromisoformat(days[-1][0]) if days else date.today()

            def since(n: int) -> int:
                return sum(v for d, v in days if (last - date.fromisoformat(d)).days < n)

            data = {"last_day": since(1), "last_week": since(7), "last_month": since(30)}
            return 200, {"data": data, "package": name, "type": "recent_downloads"}
        rows = []
        for d, v in days:
            if query.get("mirrors") != "false":
                rows.append({"category": "with_mirrors", "date": d, "downloads": v + 3})
            rows.append({"category": "without_mirrors", "date": d, "downloads": v})
        return 200, {"data": rows, "package": name, "type": "overall_downloads"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_fake: FakePypiStats

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        fake = self.server_fake
        fake.requests.append(self.path)
        if fake.hold:
            fake._release.wait(30)  # the client gives up first: that is the point
            return
        split = urllib.parse.urlsplit(self.path)
        status, data = fake.answer(split.path, dict(urllib.parse.parse_qsl(split.query)))
        if fake.status is not None:
            status, data = fake.status, {"message": "error"}
        payload = fake.body if fake.body is not None else json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
