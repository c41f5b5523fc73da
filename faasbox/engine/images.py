"""Make sure a function's image exists before a service is made from it.

Swarm would happily create a service whose tasks can never start; checking
first turns a typo in an image name into a 400 within seconds instead of a
function stuck at zero replicas.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from urllib.parse import quote

import orjson

from faasbox.engine.client import ApiError, Engine, json_lines
from faasbox.engine.errors import EngineUnavailable, ImageUnavailable

log = logging.getLogger("faasbox.engine")

DEFAULT_REGISTRY = "docker.io"


def split_reference(image: str) -> tuple[str, str]:
    """(repository, tag or digest) with Docker's defaults: `alpine` -> (`alpine`, `latest`)."""
    if "@" in image:
        repo, _, digest = image.partition("@")
        return repo, digest
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1 :]
    return image, "latest"


def registry_of(image: str) -> str:
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return DEFAULT_REGISTRY


def auth_header(image: str, registry_auth: str) -> dict[str, str]:
    """OpenFaaS sends base64("user:pass"); Docker wants base64 JSON naming the registry."""
    if not registry_auth:
        return {}
    user, _, password = base64.b64decode(registry_auth).decode().partition(":")
    auth = {"username": user, "password": password, "serveraddress": registry_of(image)}
    return {"X-Registry-Auth": base64.urlsafe_b64encode(orjson.dumps(auth)).decode()}


# How the engine words a pull that failed, and what that means to the user.
_UNREACHABLE = ("lookup ", "no such host", "dial tcp", "connection refused", "i/o timeout")
_MISSING = ("not found", "manifest unknown", "pull access denied", "does not exist")


def _pull_failure(image: str, engine_message: str) -> str:
    """The user's words for a failed pull, naming the image rather than the resolver."""
    lowered = engine_message.lower()
    registry = registry_of(image)
    if any(word in lowered for word in _UNREACHABLE):
        why = f"the registry {registry} cannot be reached from this machine"
    elif any(word in lowered for word in _MISSING):
        why = f"the registry {registry} has no such image, or needs a login (registryAuth)"
    else:
        why = engine_message
    return f"image {image} is not on this machine and could not be pulled: {why}"


async def exists(engine: Engine, image: str) -> bool:
    try:
        await engine.call("GET", f"images/{quote(image, safe='/:@')}/json")
    except ApiError as exc:
        if exc.status == 404:
            return False
        raise
    return True


async def ensure(engine: Engine, image: str, registry_auth: str, timeout: float) -> None:
    """Present locally, or pulled within `timeout`; otherwise ImageUnavailable."""
    if await exists(engine, image):
        return
    repo, tag = split_reference(image)
    log.info("[image] pulling %s", image)
    try:
        async with asyncio.timeout(timeout):
            await _pull(engine, repo, tag, auth_header(image, registry_auth))
    except TimeoutError:
        raise ImageUnavailable(
            f"image {image} is not on this machine and could not be pulled within {timeout:g}s"
        ) from None
    except ApiError as exc:
        raise ImageUnavailable(_pull_failure(image, exc.message)) from None
    except EngineUnavailable as exc:
        if "in time" in str(exc):
            raise ImageUnavailable(
                f"image {image} is not on this machine and could not be pulled in time"
            ) from None
        raise


async def _pull(engine: Engine, repo: str, tag: str, headers: dict[str, str]) -> None:
    params = {"fromImage": repo, "tag": tag}
    async with engine.stream(
        "POST", "images/create", params=params, headers=headers, timeout=None
    ) as response:
        async for event in json_lines(response):
            if "error" in event:
                raise ApiError(500, str(event["error"]))
