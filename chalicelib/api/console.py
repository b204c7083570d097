"""The officials' console, served from the API's own origin (no CORS), and what it needs to log in.

The console is built from console/ into chalicelib/console_assets (scripts/build-console): `index.html`,
the API reference page `api-docs.html` and hashed files under `console/`. It is a client of the public API only.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.api.http import Headers, api_route, security_headers
from chalicelib.errors import ArchiveError, NotFound

if TYPE_CHECKING:
    from chalicelib.api.models import LoginConfig
    from chalicelib.config import Settings

console_api = Blueprint(__name__)
_ASSET_NAME = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.(js|css|svg|woff2)$")
_CONTENT_TYPES = {
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "svg": "image/svg+xml",
    "woff2": "font/woff2",
}


ASSET_POLICY = "default-src 'none'; style-src 'self'; frame-ancestors 'none'"


class ConsoleNotBuilt(ArchiveError):
    status = 503
    code = "console_not_built"


def _assets() -> Path:
    return Path(str(resources.files("chalicelib"))) / "console_assets"


@functools.cache
def _asset(name: str) -> bytes | None:
    path = _assets() / name
    return path.read_bytes() if path.is_file() else None


def console_policy(settings: Settings) -> str:
    """No inline script, nothing framed, media and images only from the archive's bucket, logins only to
    Cognito: a signed URL is the one way footage reaches the page."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: {settings.media_origin}",
            f"media-src 'self' {settings.media_origin}",
            f"connect-src 'self' {settings.cognito_endpoint}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


@api_route(
    console_api,
    "/auth/config",
    summary="How the console logs officials in: the user pool's app client and Cognito's endpoint",
    answer="chalicelib.api.models:LoginConfig",
)
def login_config() -> LoginConfig:
    from chalicelib.api.models import LoginConfig

    settings = wiring.get_settings()
    return LoginConfig(
        region=settings.region,
        user_pool_client_id=settings.user_pool_client_id,
        cognito_endpoint=settings.cognito_endpoint,
    )


@api_route(console_api, "/", summary="The console is the archive's front page", status=302)
def front_page() -> Response:
    return Response(body="", status_code=302, headers=security_headers() | {"Location": "console"})


@api_route(
    console_api,
    "/console",
    summary="The officials' console (HTML); it talks to this API only",
    answer=str,
    media_type="text/html",
    errors=(503,),  # a deployment whose console was not built
)
def console_page() -> Response:
    return _page("index.html")


@api_route(
    console_api,
    "/api-docs",
    summary="The API's reference for integrators (Swagger UI over /openapi.json, served with the console)",
    answer=str,
    media_type="text/html",
    errors=(503,),  # a deployment whose console was not built
)
def api_docs_page() -> Response:
    return _page("api-docs.html")


def _page(name: str) -> Response:
    page = _asset(name)
    if page is None:
        raise ConsoleNotBuilt("the console is not built here: run scripts/build-console")
    headers: Headers = security_headers() | {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": console_policy(wiring.get_settings()),
        "Cache-Control": "no-cache",
    }
    return Response(body=page.decode(), status_code=200, headers=headers)


@api_route(
    console_api,
    "/console/{asset}",
    summary="The console's scripts and styles (content-hashed, cached for a year)",
    answer=str,
    media_type="text/javascript",
)
def console_asset(asset: str) -> Response:
    body = _asset(f"console/{asset}") if _ASSET_NAME.fullmatch(asset) else None
    if body is None:
        raise NotFound(f"no console file {asset}")
    headers: Headers = security_headers() | {
        "Content-Type": _CONTENT_TYPES[asset.rsplit(".", 1)[-1]],
        "Cache-Control": "public, max-age=31536000, immutable",
        # Opened on its own (an SVG can hold script), a file of the console runs nothing and is framed nowhere.
        "Content-Security-Policy": ASSET_POLICY,
    }
    return Response(body=body.decode(), status_code=200, headers=headers)
