"""Serves the dashboard: one HTML shell for every /app page, its scripts, and pinned libraries.

Every file is read and gzipped once, when the app is built, and answered from memory with
an ETag: the pages load no CDN or other network, and a reload costs 304s. With
``live_reload`` (development only) the table is rebuilt, on a worker thread, per request.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import RedirectResponse

from gateway.edge.errors import ApiError

WEB = Path(__file__).resolve().parent
STATIC = WEB / "static"
NODE_MODULES = WEB / "node_modules"
# The only files served from node_modules (pinned by package-lock.json): the rest, axe-core
# for the accessibility tests among them, never leaves the machine.
VENDORED = {
    "vendor/uplot.js": NODE_MODULES / "uplot" / "dist" / "uPlot.iife.min.js",
    "vendor/uplot.css": NODE_MODULES / "uplot" / "dist" / "uPlot.min.css",
}
SHELL = "index.html"
# Scripts, styles and sockets from this origin only; no inline script, no framing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-cache",  # revalidate: an upgrade is seen at the next load
}
COMPRESS_FROM = 512  # bytes; smaller files cost more in headers than gzip saves


@dataclass(frozen=True)
class Asset:
    """One file as served: its bytes, their gzip, its type and ETag."""

    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str


def load_asset(path: Path) -> Asset:
    """Read one file and prepare its answer."""
    body = path.read_bytes()
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type.endswith("javascript"):
        media_type += "; charset=utf-8"
    packed = gzip.compress(body, 9, mtime=0) if len(body) >= COMPRESS_FROM else None
    return Asset(body, packed, media_type, f'"{hashlib.sha256(body).hexdigest()[:20]}"')


def load_assets() -> dict[str, Asset]:
    """Every file of static/ by its path under /app/, and the vendored libraries present."""
    table = {
        str(path.relative_to(STATIC)): load_asset(path)
        for path in sorted(STATIC.rglob("*"))
        if path.is_file()
    }
    # Missing only before `make web` has run: the pages say charts are unavailable.
    table.update({name: load_asset(path) for name, path in VENDORED.items() if path.is_file()})
    return table


class Assets:
    """The asset table of one app, rebuilt per request only with live reload."""

    def __init__(self, live_reload: bool = False) -> None:
        self.live_reload = live_reload
        self.table = load_assets()

    async def get(self, name: str) -> Asset | None:
        """The asset named ``name`` (a path under /app/), if there is one."""
        if self.live_reload:
            self.table = await asyncio.to_thread(load_assets)
        return self.table.get(name)


def answer(request: Request, asset: Asset) -> Response:
    """The asset, gzipped when the client takes it, or 304 when its copy is current."""
    packed = asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", "")
    # Each encoding is its own representation, so each has its own strong ETag.
    etag = f'{asset.etag[:-1]}-gz"' if packed else asset.etag
    headers = {**HEADERS, "ETag": etag, "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if not packed:
        return Response(asset.body, media_type=asset.media_type, headers=headers)
    headers["Content-Encoding"] = "gzip"
    return Response(asset.gzipped, media_type=asset.media_type, headers=headers)


router = APIRouter(include_in_schema=False)


@router.get("/")
async def root() -> RedirectResponse:
    """The dashboard is the gateway's front page."""
    return RedirectResponse("/app/", status_code=307)


@router.get("/app")
async def app_without_slash() -> RedirectResponse:
    """/app and /app/ are the same page."""
    return RedirectResponse("/app/", status_code=307)


@router.get("/app/{name:path}")
async def dashboard(name: str, request: Request) -> Response:
    """A file of the dashboard, or the HTML shell for any page path (the app routes it)."""
    assets: Assets = request.app.state.dashboard
    is_file = "." in name.rsplit("/", 1)[-1]
    asset = await assets.get(name if is_file else SHELL)
    if asset is None:
        raise ApiError(404, f"no dashboard file {name}", "NOT_FOUND")
    return answer(request, asset)


def install_dashboard(app: FastAPI, live_reload: bool = False) -> None:
    """Serve the dashboard under /app/ (and redirect / to it)."""
    app.state.dashboard = Assets(live_reload)
    app.include_router(router)
