"""Multi-platform images: buildx when a multi-platform builder exists, else build per platform.

Engine 20.10's build API cannot produce a manifest list, and its buildx `docker`
driver builds one platform only. The fallback builds each platform with
BuildKit (`docker build --platform`, foreign ones through qemu binfmt), pushes
each as `<tag>-<os>-<arch>[-<variant>]`, then assembles and pushes a manifest
list under the tag. `docker manifest` is told `--insecure` (plain HTTP, no certificate
check) only for a registry on loopback or one the engine itself is configured to treat
as insecure (`insecure-registries` in daemon.json); any other registry gets TLS.

This is the one module that drives the `docker` command rather than the API: buildx,
`build --platform` through BuildKit and `docker manifest` have no Engine 20.10 API.
It lives in `engine/` so that talking to Docker, by socket or by CLI, stays there.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import orjson

from faasbox.engine.build import BuildRequest
from faasbox.engine.errors import BuildFailed

DOCKER = (
    "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else (shutil.which("docker") or "docker")
)


async def _docker(*args: str, progress: Callable[[str], None] | None = None) -> str:
    process = await asyncio.create_subprocess_exec(
        DOCKER, *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "DOCKER_BUILDKIT": "1", "DOCKER_CLI_EXPERIMENTAL": "enabled"},
    )  # fmt: skip
    assert process.stdout is not None
    lines: list[str] = []
    async for raw in process.stdout:
        line = raw.decode(errors="replace").rstrip()
        lines.append(line)
        if progress and line:
            progress(line)
    if await process.wait() != 0:
        raise BuildFailed(
            f"docker {args[0]} {args[1] if len(args) > 1 else ''} failed", "\n".join(lines[-30:])
        )
    return "\n".join(lines)


async def _multi_platform_builder(platforms: list[str]) -> bool:
    try:
        listing = await _docker("buildx", "inspect")
    except (BuildFailed, OSError):
        return False
    driver_ok = "Driver:" in listing and "docker-container" in listing
    return driver_ok and all(p in listing for p in platforms)


def registry_of(tag: str) -> str:
    """The registry host[:port] of an image reference, "" for Docker Hub."""
    first, slash, _ = tag.partition("/")
    return first if slash and ("." in first or ":" in first or first == "localhost") else ""


async def insecure_flag(tag: str) -> list[str]:
    registry = registry_of(tag)
    if not registry:
        return []
    host = registry.rsplit(":", 1)[0].strip("[]") if registry.count(":") <= 1 else registry
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if host == "localhost" or (address is not None and address.is_loopback):
        return ["--insecure"]
    try:
        config = orjson.loads(await _docker("info", "--format", "{{json .RegistryConfig}}"))
    except (BuildFailed, OSError, orjson.JSONDecodeError):
        return []
    index = (config.get("IndexConfigs") or {}).get(registry) or {}
    if index.get("Secure") is False:
        return ["--insecure"]
    if address is not None:
        for cidr in config.get("InsecureRegistryCIDRs") or []:
            if address in ipaddress.ip_network(cidr, strict=False):
                return ["--insecure"]
    return []


def arch_tag(tag: str, platform: str) -> str:
    return f"{tag}-{platform.replace('/', '-')}"


def _build_args(request: BuildRequest) -> list[str]:
    args = [arg for k, v in request.build_args.items() for arg in ("--build-arg", f"{k}={v}")]
    args += [arg for k, v in request.labels.items() for arg in ("--label", f"{k}={v}")]
    args += ["--pull"] if request.pull else []
    return args + (["--no-cache"] if request.no_cache else [])


async def build_platform(
    folder: Path,
    request: BuildRequest,
    platform: str,
    progress: Callable[[str], None],
    *,
    dockerfile: Path | None = None,
    output: tuple[str, ...] = ("-t", ""),
) -> None:
    """One BuildKit build of `folder` for `platform`; by default tagged `request.tag`.

    `output` replaces the tagging, e.g. `("--target", "x", "-o", "type=local,dest=d")`
    to export a stage's files instead of making an image.
    """
    tagging = [request.tag if arg == "" else arg for arg in output]
    file_args = ["-f", str(dockerfile)] if dockerfile else []
    await _docker(
        "build", "--platform", platform, *tagging, *file_args, *_build_args(request),
        str(folder), progress=progress,
    )  # fmt: skip


async def build(
    folder: Path,
    request: BuildRequest,
    progress: Callable[[str], None],
    *,
    dockerfile: Path | None = None,
) -> list[str]:
    """Build and push every platform and the manifest list; returns the per-platform tags."""
    platforms = [p.strip() for p in request.platform.split(",") if p.strip()]
    if await _multi_platform_builder(platforms):
        file_args = ["-f", str(dockerfile)] if dockerfile else []
        await _docker(
            "buildx", "build", "--platform", ",".join(platforms), "--push",
            "-t", request.tag, *file_args, *_build_args(request), str(folder), progress=progress,
        )  # fmt: skip
        return [request.tag]
    tags = []
    for platform in platforms:
        tag = arch_tag(request.tag, platform)
        progress(f"building {platform} as {tag}")
        await build_platform(
            folder, request, platform, progress, dockerfile=dockerfile, output=("-t", tag)
        )
        await _docker("push", tag)
        tags.append(tag)
    insecure = await insecure_flag(request.tag)
    await _docker("manifest", "create", *insecure, "--amend", request.tag, *tags)
    for platform, tag in zip(platforms, tags, strict=True):
        _, arch, *variant = platform.split("/")
        extra = ["--variant", variant[0]] if variant else []
        await _docker(
            "manifest", "annotate", request.tag, tag, "--os", "linux", "--arch", arch, *extra
        )
    await _docker("manifest", "push", *insecure, "--purge", request.tag)
    return tags
