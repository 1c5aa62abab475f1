"""Stand-in Kubernetes API servers for unit tests: JSON answers over real HTTP, so the real
kubernetes client (through tenants.kubeapi) does every request, and a kubeconfig naming one.

Only what a test needs is answered; a real kube-apiserver is the end-to-end suite's job.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import pathlib
import threading
from collections.abc import Iterator
from typing import Any


class JsonHandler(http.server.BaseHTTPRequestHandler):
    """A handler whose do_GET answers with `send_json`; quiet, so test output stays clean."""

    def send_json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serving(server: http.server.ThreadingHTTPServer) -> Iterator[str]:
    """Serve in a thread while the block runs, and always stop; yields the server's URL."""
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def write_kubeconfig(path: pathlib.Path, url: str) -> pathlib.Path:
    """A kubeconfig at `path` whose current context is the API server at `url`."""
    return write_contexts(path, {"city": url})


def write_contexts(path: pathlib.Path, servers: dict[str, str]) -> pathlib.Path:
    """A kubeconfig at `path` with a context per name reaching its URL; the first is current."""
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": next(iter(servers)),
        "clusters": [{"name": name, "cluster": {"server": url}} for name, url in servers.items()],
        "users": [{"name": "citycloud", "user": {"token": "not-a-secret"}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": "citycloud"}}
                     for name in servers],
    }))
    return path
