"""/metrics over HTTP, and the `citycloud exporter` command's refusals."""

from __future__ import annotations

import gzip
import pathlib
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator

import clirun
import pytest
from exporter_fixtures import TODAY

from citycloud.monitoring import exporter, server


@pytest.fixture
def serving(wuhan: pathlib.Path) -> Iterator[str]:
    built = exporter.build(wuhan, connect=None, today=lambda: TODAY)
    running = server.start(built.render, port=0)
    try:
        yield server.url(running, address="127.0.0.1").removesuffix("/metrics")
    finally:
        server.stop(running)


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_metrics_in_the_text_format(serving: str) -> None:
    status, headers, body = get(f"{serving}/metrics")
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert b'citycloud_pool_physical_cpu_cores{pool="gov"} 27000.0\n' in body
    assert b'citycloud_cluster_configured{cluster="wh-gov-hankou"} 0.0\n' in body


def test_gzip_when_the_scraper_accepts_it(serving: str) -> None:
    status, headers, body = get(f"{serving}/metrics", **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    plain = gzip.decompress(body)
    assert b"citycloud_up 1.0" in plain and len(body) < len(plain) / 4


@pytest.mark.parametrize(("path", "status", "text"), [
    pytest.param("/-/healthy", 200, b"ok", id="healthy"),
    pytest.param("/", 200, b"/metrics", id="landing-page"),
    pytest.param("/nope", 404, b"try /metrics", id="not-found"),
])
def test_other_paths(serving: str, path: str, status: int, text: bytes) -> None:
    got, _headers, body = get(f"{serving}{path}")
    assert got == status and text in body


def test_a_failing_scrape_is_a_500_and_the_server_lives_on() -> None:
    calls = []

    def render() -> bytes:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return b"citycloud_up 1.0\n"

    running = server.start(render, port=0)
    try:
        base = server.url(running, address="127.0.0.1")
        assert get(base)[0] == 500
        assert get(base)[2] == b"citycloud_up 1.0\n"
    finally:
        server.stop(running)


def test_a_port_in_use_exits_2_with_the_reason(wuhan: pathlib.Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = clirun.invoke(
            "--registry", str(wuhan), "exporter", "--port", str(port), "--no-cluster")
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output


def test_a_missing_kubeconfig_exits_2(wuhan: pathlib.Path, tmp_path: pathlib.Path) -> None:
    result = clirun.invoke(
            "--registry", str(wuhan), "exporter", "--kubeconfig", str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert "nope" in result.output


def test_an_invalid_registry_exits_2_before_serving(tmp_path: pathlib.Path) -> None:
    (tmp_path / "platform.yaml").write_text("apiVersion: citycloud.io/v1\nkind: Platform\n")
    result = clirun.invoke(
            "--registry", str(tmp_path), "exporter", "--no-cluster", "--port", "0")
    assert result.exit_code == 2
    assert "departments.yaml" in result.output
