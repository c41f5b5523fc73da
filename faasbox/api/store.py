"""/system/store: the function store catalogue the portal's gallery deploys from.

The catalogue is in the OpenFaaS function-store format (`{"version": "0.2.0",
"functions": [...]}`, images per architecture); the older format, a bare list of
entries with one `image`, is read too and served in the newer one. It is read on
each request (it is small, and an operator's edits show without a restart) from
the file or URL in `FAASBOX_STORE`, else from the catalogue shipped with faasbox.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from starlette.requests import Request
from starlette.responses import Response

from faasbox.api.errors import JSONResponse, error
from faasbox.api.runtime import runtime

log = logging.getLogger("faasbox.store")

DEFAULT = Path(__file__).resolve().parent.parent / "ui" / "store.json"
_MAX_BYTES = 4 * 1024 * 1024
_FETCH_TIMEOUT = 10.0
_ARCHES = ("x86_64", "arm64", "armhf")
_MAPS = ("environment", "labels", "annotations")


class CatalogueError(Exception):
    """The catalogue cannot be read or is not a store catalogue; the message says which."""


def _read_file(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(_MAX_BYTES + 1)


async def _read(source: str) -> bytes:
    if source.startswith(("http://", "https://")):
        timeout = aiohttp.ClientTimeout(total=_FETCH_TIMEOUT)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(source) as response,
            ):
                if response.status != 200:
                    raise CatalogueError(f"store {source} answered {response.status}")
                data = b""
                async for chunk in response.content.iter_chunked(65536):
                    data += chunk
                    if len(data) > _MAX_BYTES:
                        break
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise CatalogueError(f"store {source} could not be fetched: {exc}") from None
    else:
        try:
            data = await asyncio.to_thread(_read_file, Path(source))
        except OSError as exc:
            raise CatalogueError(f"store {source} could not be read: {exc.strerror}") from None
    if len(data) > _MAX_BYTES:
        raise CatalogueError(f"store {source} is larger than {_MAX_BYTES // 1024 // 1024} MB")
    return data


def _strings(entry: dict[str, Any], key: str) -> dict[str, str]:
    value = entry.get(key) or {}
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def _entry(raw: object) -> dict[str, Any] | None:
    """One function in the newer format, or None when it names no function or image."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        return None
    images = raw.get("images")
    if not isinstance(images, dict) or not images:
        single = raw.get("image")
        images = {arch: single for arch in _ARCHES} if isinstance(single, str) else {}
    images = {str(k): v for k, v in images.items() if isinstance(v, str) and v}
    if not images:
        return None
    entry: dict[str, Any] = {
        "title": str(raw.get("title") or raw["name"]),
        "name": raw["name"],
        "description": str(raw.get("description") or ""),
        "images": images,
        "fprocess": str(raw.get("fprocess") or ""),
        "network": str(raw.get("network") or ""),
        "repo_url": str(raw.get("repo_url") or ""),
        "readOnlyRootFilesystem": raw.get("readOnlyRootFilesystem") is True,
    }
    for key in _MAPS:
        entry[key] = _strings(raw, key)
    return entry


def parse(data: bytes, source: str) -> dict[str, Any]:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise CatalogueError(f"store {source} is not JSON") from None
    raw = document.get("functions") if isinstance(document, dict) else document
    if not isinstance(raw, list):
        raise CatalogueError(f"store {source} has no list of functions")
    entries = [entry for entry in map(_entry, raw) if entry is not None]
    return {"version": "0.2.0", "functions": entries}


async def catalogue(source: str) -> dict[str, Any]:
    return parse(await _read(source), source)


async def get_store(request: Request) -> Response:
    source = runtime(request).settings.store or str(DEFAULT)
    try:
        return JSONResponse(await catalogue(source))
    except CatalogueError as exc:
        log.warning("[store] %s", exc)
        return error(502, str(exc))
