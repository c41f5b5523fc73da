"""Refuses state-changing /system calls a browser could be tricked into sending.

A browser that holds the gateway's basic-auth credentials adds them to any
request to the gateway, including one a hostile page makes it send. Such pages
can only send "simple" requests without asking the server first (CORS): a
`text/plain`, form or multipart body. So a state-changing call must say it is a
machine's, with a JSON (or, for builds, tar/gzip) Content-Type, and must not
come from another site: `Sec-Fetch-Site` (sent by every current browser) must
be same-origin or none, and an `Origin` must be this gateway's own. CLI tools
(faas-cli, faasbox, curl with `-H 'Content-Type: application/json'`) send no
Origin and the right type, so they pass; the portal is same-origin.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from faasbox.api.errors import error

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_JSON = frozenset({"application/json"})
# A build context: `faasbox build --remote` sends application/x-tar.
_MACHINE_TYPES = {
    "/system/build": frozenset({"application/x-tar", "application/gzip", "application/x-gzip"}),
}
_SAME_SITE = frozenset({b"same-origin", b"none"})


def media_type(value: bytes) -> str:
    return value.split(b";", 1)[0].strip().decode("latin-1").lower()


class CrossSiteGuard:
    """Applies to non-safe methods under `prefix`; answers 403 or 415 with {"message"}."""

    def __init__(self, app: ASGIApp, prefix: str = "/system") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in _SAFE_METHODS
            or not scope["path"].startswith(self.prefix)
        ):
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
        else:
            await refusal(scope, receive, send)

    def _refusal(self, scope: Scope) -> ASGIApp | None:
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, value)
        site = headers.get(b"sec-fetch-site")
        if site is not None and site.lower() not in _SAME_SITE:
            return error(403, "cross-site request refused (Sec-Fetch-Site)")
        origin = headers.get(b"origin")
        if origin is not None and not _same_origin(origin, headers.get(b"host", b"")):
            return error(403, "cross-site request refused: Origin is not this gateway")
        wanted = _MACHINE_TYPES.get(scope["path"], _JSON)
        given = media_type(headers.get(b"content-type", b""))
        if given not in wanted and not (wanted is _JSON and given.endswith("+json")):
            return error(
                415,
                f"Content-Type must be {' or '.join(sorted(wanted))} "
                f"(got {given or 'none'}); with curl add -H 'Content-Type: application/json'",
            )
        return None


def _same_origin(origin: bytes, host: bytes) -> bool:
    """`Origin: http://h:p` against `Host: h:p`; an opaque `null` origin is never ours."""
    parts = urlsplit(origin.decode("latin-1"))
    return bool(parts.scheme in ("http", "https") and host) and (
        parts.netloc.lower() == host.decode("latin-1").lower()
    )
