"""The gateway serves the dashboard: the shell for every page, its files gzipped and
revalidated, and nothing outside gateway/web/static but the two pinned libraries."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.edge.errors import install_error_handlers
from gateway.web.assets import CSP, NODE_MODULES, STATIC, VENDORED, install_dashboard

ROOT = Path(__file__).resolve().parents[2]
SHELL = (STATIC / "index.html").read_bytes()
APP_JS = (STATIC / "js" / "app.js").read_bytes()


def dashboard_app() -> FastAPI:
    """The dashboard's routes with the gateway's error answers, as gateway/app.py installs them."""
    app = FastAPI()
    install_error_handlers(app)
    install_dashboard(app)
    return app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(dashboard_app(), raise_server_exceptions=False, follow_redirects=False)


def servable_bodies() -> set[bytes]:
    """Every body the dashboard may answer with: its static files and the vendored two."""
    files = {path.read_bytes() for path in STATIC.rglob("*") if path.is_file()}
    return files | {path.read_bytes() for path in VENDORED.values()}


def raw_get(app: FastAPI, raw_path: str) -> tuple[int, bytes]:
    """GET ``raw_path`` exactly as written (an HTTP client would remove its dot segments)."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    answer: dict[str, Any] = {"status": 0, "body": b""}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    asyncio.run(app(scope, receive, send))
    return answer["status"], answer["body"]


def assert_error_shape(body: bytes, status: int) -> None:
    """The gateway's one error shape, nothing else."""
    error = json.loads(body)["error"]
    assert set(error) == {"code", "status", "message"}
    assert error["code"] == status


def test_the_front_page_redirects_to_the_dashboard(client: TestClient) -> None:
    for path in ("/", "/app"):
        answer = client.get(path)
        assert answer.status_code == 307
        assert answer.headers["location"] == "/app/"


@pytest.mark.parametrize("path", ["/app/", "/app/goals", "/app/sessions/42", "/app/no-such-page"])
def test_every_page_path_gets_the_html_shell_with_the_csp(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert answer.headers["content-security-policy"] == CSP
    assert answer.content == SHELL


def test_the_csp_allows_no_inline_script_or_style_and_no_other_site() -> None:
    directives = dict(part.strip().split(" ", 1) for part in CSP.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CSP


def test_the_shell_itself_holds_no_inline_script_or_style() -> None:
    html = SHELL.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts
    assert all(" src=" in tag for tag in scripts)
    assert "<style" not in html
    assert "style=" not in html
    assert not re.search(r"\son[a-z]+=", html)


def test_a_script_is_gzipped_for_a_client_that_takes_gzip(client: TestClient) -> None:
    with client.stream("GET", "/app/js/app.js", headers={"Accept-Encoding": "gzip"}) as answer:
        raw = b"".join(answer.iter_raw())
    assert answer.status_code == 200
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.headers["vary"] == "Accept-Encoding"
    assert answer.headers["content-type"] == "text/javascript; charset=utf-8"
    assert gzip.decompress(raw) == APP_JS


def test_a_client_without_gzip_gets_the_plain_file(client: TestClient) -> None:
    answer = client.get("/app/js/app.js", headers={"Accept-Encoding": "identity"})
    assert answer.status_code == 200
    assert "content-encoding" not in answer.headers
    assert answer.content == APP_JS


def test_a_current_copy_is_answered_304_and_a_stale_one_gets_the_file(client: TestClient) -> None:
    etag = client.get("/app/js/app.js").headers["etag"]
    again = client.get("/app/js/app.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    stale = client.get("/app/js/app.js", headers={"If-None-Match": '"0123456789abcdef0123"'})
    assert stale.status_code == 200
    assert stale.content == APP_JS


def test_the_shell_and_scripts_are_revalidated_at_every_load(client: TestClient) -> None:
    for path in ("/app/", "/app/js/app.js", "/app/app.css"):
        assert client.get(path).headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("path", ["/app/missing.js", "/app/js/pages/missing.js", "/app/x.png"])
def test_a_missing_file_is_404_in_the_one_error_shape(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/json"
    assert_error_shape(answer.content, 404)


@pytest.mark.parametrize(
    "raw_path",
    [
        "/app/../pyproject.toml",
        "/app/%2e%2e/pyproject.toml",
        "/app/%2E%2E/%2E%2E/pyproject.toml",
        "/app/..%2fpyproject.toml",
        "/app/js/../../assets.py",
        "/app/js/%2e%2e/%2e%2e/assets.py",
        "/app/%2e%2e/x",
        "/app/..\\..\\pyproject.toml",
        "/app//etc/passwd",
        "/app/%2Fetc%2Fpasswd",
        "/app/js/app.js%00.txt",
        "/app/../node_modules/axe-core/axe.min.js",
    ],
)
def test_no_path_serves_a_file_outside_the_static_folder(raw_path: str) -> None:
    status, body = raw_get(dashboard_app(), raw_path)
    assert status in (200, 404)
    if status == 200:
        assert body in servable_bodies()
    else:
        assert_error_shape(body, 404)


def test_the_two_vendored_libraries_are_served_from_node_modules(client: TestClient) -> None:
    assert NODE_MODULES.is_dir(), "run `make web` (npm ci in gateway/web) first"
    for name, path in VENDORED.items():
        answer = client.get(f"/app/{name}")
        assert answer.status_code == 200
        assert answer.content == path.read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/app/vendor/axe.min.js",
        "/app/vendor/axe-core/axe.min.js",
        "/app/node_modules/axe-core/axe.min.js",
        "/app/node_modules/uplot/dist/uPlot.iife.min.js",
        "/app/vendor/uPlot.iife.min.js",
        "/app/vendor/package.json",
        "/app/package.json",
        "/app/package-lock.json",
    ],
)
def test_nothing_else_of_node_modules_or_the_web_folder_is_served(
    client: TestClient, path: str
) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert_error_shape(answer.content, 404)


def test_the_vendored_libraries_are_pinned_by_the_lockfile() -> None:
    lock = json.loads((ROOT / "gateway" / "web" / "package-lock.json").read_text())
    for name in ("uplot", "axe-core"):
        entry = lock["packages"][f"node_modules/{name}"]
        assert re.fullmatch(r"\d+\.\d+\.\d+", entry["version"])
        assert entry["integrity"].startswith("sha512-")
