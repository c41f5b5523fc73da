"""Basic auth for /system, /ui and the build endpoint, with credentials made on first start.

The files follow the OpenFaaS convention (`basic-auth-user`, `basic-auth-password`)
so tools and docs written for OpenFaaS find them.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

USER_FILE = "basic-auth-user"
PASSWORD_FILE = "basic-auth-password"
DEFAULT_USER = "admin"


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str
    created: bool = False

    def header_matches(self, header: bytes) -> bool:
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            user, _, password = base64.b64decode(token.strip(), validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        user_ok = hmac.compare_digest(user, self.user.encode())
        password_ok = hmac.compare_digest(password, self.password.encode())
        return user_ok and password_ok


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def load_or_create(state_dir: Path) -> Credentials:
    """Read the credentials, creating both files (0600) the first time."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    user_file, password_file = state_dir / USER_FILE, state_dir / PASSWORD_FILE
    created = False
    if not password_file.exists():
        if not user_file.exists():
            _write_private(user_file, DEFAULT_USER)
        _write_private(password_file, secrets.token_urlsafe(24))
        created = True
    user = user_file.read_text().strip() if user_file.exists() else DEFAULT_USER
    return Credentials(user, password_file.read_text().strip(), created)


class BasicAuth:
    """Guards paths under the given prefixes; everything else passes untouched."""

    def __init__(self, app: ASGIApp, credentials: Credentials, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.credentials = credentials
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"authorization" and self.credentials.header_matches(value):
                await self.app(scope, receive, send)
                return
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Basic realm="Restricted"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b'{"message":"invalid credentials"}'})
