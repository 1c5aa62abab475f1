"""Serving /metrics over HTTP until told to stop.

A small threaded WSGI server (the stdlib's, as prometheus_client's own
`start_http_server` uses) answers:

- `/metrics`: one scrape, in the Prometheus text format, gzip-compressed when
  the scraper accepts it (Prometheus does);
- `/-/healthy`: 200 while the process serves, for liveness probes;
- `/`: a short page pointing at the above.

`serve` blocks until SIGINT or SIGTERM and then closes the socket, so a
supervisor (systemd, Kubernetes, a test fixture) stopping the process by PID
gets a clean exit 0.
"""

from __future__ import annotations

import gzip
import logging
import signal
import socket
import socketserver
import threading
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any
from wsgiref import simple_server

from prometheus_client import exposition

log = logging.getLogger(__name__)

Render = Callable[[], bytes]
StartResponse = Callable[..., Any]
_GZIP_LEVEL = 1  # most of the size win for a fraction of the time of level 6
_LANDING = (b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>citycloud exporter</title>"
            b"</head><body><h1>citycloud exporter</h1><p><a href='/metrics'>/metrics</a> "
            b"&middot; <a href='/-/healthy'>/-/healthy</a></p></body></html>")


class ServeError(Exception):
    """The address cannot be served (port in use, no such interface)."""


def application(render: Render) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        headers: list[tuple[str, str]]
        if path == "/metrics":
            try:
                body = render()
            except Exception:  # a scrape fails, the exporter does not
                log.exception("scrape failed")
                return _reply(start_response, "500 Internal Server Error", b"scrape failed\n",
                              "text/plain; charset=utf-8")
            headers = []
            if "gzip" in environ.get("HTTP_ACCEPT_ENCODING", ""):
                body = gzip.compress(body, compresslevel=_GZIP_LEVEL)
                headers.append(("Content-Encoding", "gzip"))
            return _reply(start_response, "200 OK", body, exposition.CONTENT_TYPE_PLAIN_0_0_4,
                          headers)
        if path == "/-/healthy":
            return _reply(start_response, "200 OK", b"ok\n", "text/plain; charset=utf-8")
        if path == "/":
            return _reply(start_response, "200 OK", _LANDING, "text/html; charset=utf-8")
        return _reply(start_response, "404 Not Found", b"not found; try /metrics\n",
                      "text/plain; charset=utf-8")

    return app


def _reply(start_response: StartResponse, status: str, body: bytes, content_type: str,
           extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body))),
                            *(extra or [])])
    return [body]


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True  # a slow scraper never keeps the process from stopping


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


def start(render: Render, *, port: int, address: str = "127.0.0.1") -> simple_server.WSGIServer:
    """Serve in a background thread; the caller stops it with `stop`."""
    try:
        server = simple_server.make_server(
            address, port, application(render),
            server_class=_Server6 if ":" in address else _Server, handler_class=_QuietHandler)
    except OSError as err:
        raise ServeError(f"cannot listen on {address}:{port}: {err.strerror or err}") from err
    threading.Thread(target=server.serve_forever, name="citycloud-exporter", daemon=True).start()
    return server


def stop(server: simple_server.WSGIServer) -> None:
    server.shutdown()
    server.server_close()


def url(server: simple_server.WSGIServer, *, address: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{server.server_port}/metrics"


def serve(render: Render, *, port: int, address: str = "127.0.0.1",
          ready: Callable[[str], None] | None = None) -> None:
    """Serve until SIGINT/SIGTERM; `ready` gets the URL once the socket listens."""
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server = start(render, port=port, address=address)
        try:
            if ready is not None:
                ready(url(server, address=address))
            stopping.wait()
        finally:
            stop(server)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
