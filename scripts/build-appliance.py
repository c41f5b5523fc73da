"""Build the faasbox appliance (Dockerfile.multiarch) for several platforms without buildx.

    .venv/bin/python scripts/build-appliance.py [--platform linux/amd64,linux/arm64,linux/arm/v7]
        [--tag faasbox/faasbox:latest] [--registry 127.0.0.1:5000] [--official-bases]

Debian's docker.io 20.10 has BuildKit but no multi-platform builder, so each platform
is one `docker build --platform` (foreign ones through qemu binfmt) with the CLI's own
builder code (faasbox.engine.multiarch). Bases are made from Debian packages
(scripts/offline-base.sh) unless --official-bases. The Python wheels every platform
needs are fetched on this host with pip into .wheels/<machine>/ of the build context,
so the image build needs no index; what PyPI has no wheel for (uvloop, httptools and
PyYAML on armv7) is compiled once in the image's `wheelhouse` stage and kept there.

Without --registry each platform becomes a local image `<tag>-<os>-<arch>[-<variant>]`.
With it, those are pushed and a manifest list `<tag>` is assembled there (a registry on
loopback needs no TLS).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform as host
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from faasbox.engine import multiarch  # noqa: E402
from faasbox.engine.build import BuildRequest  # noqa: E402
from faasbox.engine.errors import BuildFailed  # noqa: E402

DOCKERFILE = REPO / "Dockerfile.multiarch"
WHEELS = REPO / ".wheels"
OFFICIAL = "python:3.11-slim-bookworm"
# platform -> (`uname -m` inside it, pip platform tags PyPI uses for it)
MACHINES = {
    "linux/amd64": ("x86_64", ["manylinux_2_28_x86_64", "manylinux2014_x86_64"]),
    "linux/arm64": ("aarch64", ["manylinux_2_28_aarch64", "manylinux2014_aarch64"]),
    "linux/arm/v7": ("armv7l", ["manylinux_2_31_armv7l", "manylinux2014_armv7l"]),
}
# Both bases are unpacked, not installed (offline-base.sh VARIANT=extract): no qemu
# runs while they are made, and the build stage gets just a shell, the tools and
# what compiling a C extension needs.
BUILD_PACKAGES = (
    "dash", "coreutils", "findutils", "python3-minimal", "libpython3.11-stdlib",
    "python3.11-venv", "binutils", "gcc", "libc6-dev", "libpython3.11-dev",
)  # fmt: skip
RUNTIME_PACKAGES = ("python3-minimal", "libpython3.11-stdlib")
# glibc's iconv modules (20 MB on arm64; Python has its own codecs), pydoc's topics,
# dpkg's database and CPython's test extensions: nothing `faasbox up` reads.
RUNTIME_EXCLUDE = (
    "./usr/lib/*/gconv", "./usr/lib/python3.11/pydoc_data", "./var/lib/dpkg",
    "./usr/lib/python3.11/lib-dynload/_test*", "./usr/lib/python3.11/lib-dynload/xx*",
)  # fmt: skip


# Left out where PyPI has no wheel of them: faasbox runs without (server.py falls back
# to asyncio's loop), and compiling uvloop under qemu takes over an hour. A folder
# that leaves one out gets a requirements.txt, which the image installs instead of
# faasbox's own dependency list.
OPTIONAL = ("uvloop",)


def _suffix(platform: str) -> str:
    return "-" + platform.removeprefix("linux/").replace("/", "")


def host_platform() -> str:
    machine = host.machine()
    return next(p for p, (m, _) in MACHINES.items() if m == machine or p.endswith(machine))


def offline_bases(platform: str) -> tuple[str, str]:
    """Build and runtime bases from Debian packages (reused when present)."""
    suffix = "" if platform == host_platform() else _suffix(platform)
    build = f"faasbox-base/python-build:3.11{suffix}"
    runtime = f"faasbox-base/appliance-runtime:3.11{suffix}"
    script = str(REPO / "scripts" / "offline-base.sh")
    env = {**os.environ, "PLATFORM": platform if suffix else "", "VARIANT": "extract"}
    subprocess.run(["bash", script, build, *BUILD_PACKAGES], check=True, env=env)
    env["EXCLUDE"] = " ".join(RUNTIME_EXCLUDE)
    subprocess.run(["bash", script, runtime, *RUNTIME_PACKAGES], check=True, env=env)
    return build, runtime


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "-q", *args], capture_output=True, text=True, check=False
    )


def requirements() -> list[str]:
    """faasbox's dependencies pinned as pip resolves them here, plus the build backend."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        done = _pip(
            "install", "--dry-run", "--ignore-installed", "--report", str(report), str(REPO)
        )
        if done.returncode != 0:
            raise BuildFailed("could not resolve faasbox's dependencies", done.stderr)
        installs = json.loads(report.read_text())["install"]
    pinned = [
        f"{item['metadata']['name']}=={item['metadata']['version']}"
        for item in installs
        if item["metadata"]["name"] != "faasbox"
    ]
    return pinned + _backend()


def _backend() -> list[str]:
    return list(tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]["requires"])


def _have(folder: Path, requirement: str) -> bool:
    if "==" not in requirement:
        return False
    name, version = requirement.split("==")
    stem = f"{name}-{version}".lower().replace("-", "_")
    return any(p.name.lower().replace("-", "_").startswith(stem) for p in folder.iterdir())


def _sdist_build_requires(sdist: Path) -> list[str]:
    with tarfile.open(sdist) as tar:
        member = next((m for m in tar.getmembers() if m.name.count("/") == 1
                       and m.name.endswith("/pyproject.toml")), None)  # fmt: skip
        if member is None:
            return ["setuptools", "wheel"]
        extracted = tar.extractfile(member)
        assert extracted is not None
        table = tomllib.loads(extracted.read().decode())
    return list(table.get("build-system", {}).get("requires", ["setuptools", "wheel"]))


def fetch_wheels(platform: str) -> list[Path]:
    """Fill .wheels/<machine>/; returns the sdists that still need compiling for it."""
    machine, tags = MACHINES[platform]
    folder = WHEELS / machine
    folder.mkdir(parents=True, exist_ok=True)
    target = [arg for tag in tags for arg in ("--platform", tag)]
    target += ["--python-version", "3.11", "--implementation", "cp", "--abi", "cp311", "--abi",
               "abi3", "--abi", "none", "--only-binary=:all:", "-d", str(folder)]  # fmt: skip
    queue = requirements()
    left_out = []
    seen: set[str] = set()
    while queue:
        requirement = queue.pop(0)
        if requirement in seen or _have(folder, requirement):
            continue
        seen.add(requirement)
        wheel = _pip("download", "--no-deps", *target, requirement)
        if wheel.returncode == 0:
            continue
        project = requirement.split("==")[0]
        if project in OPTIONAL:
            print(f"build-appliance: no {machine} wheel of {requirement}: left out", flush=True)
            left_out.append(requirement)
            continue
        # Only this project as source: its build requirements may come as wheels.
        done = _pip(
            "download", "--no-deps", f"--no-binary={project}", "-d", str(folder), requirement
        )
        if done.returncode != 0:
            raise BuildFailed(f"pip has no wheel nor source for {requirement}", done.stderr)
        print(f"build-appliance: {requirement} has no {machine} wheel; compiling it", flush=True)
        # Build requirements are fetched with their own dependencies, as pip's isolated
        # build environment will install them from this folder alone.
        for needed in _sdist_build_requires(max(folder.glob("*.tar.gz"), key=os.path.getmtime)):
            done = _pip("download", *target, needed)
            if done.returncode != 0:
                raise BuildFailed(f"no wheel of {needed} (to build {requirement})", done.stderr)
    listing = folder / "requirements.txt"
    if left_out:
        kept = [r for r in requirements()[: -len(_backend())] if r not in left_out]
        listing.write_text(f"# faasbox's dependencies without {', '.join(left_out)}\n"
                           + "".join(f"{r}\n" for r in kept))  # fmt: skip
    else:
        listing.unlink(missing_ok=True)
    return [*folder.glob("*.tar.gz"), *folder.glob("*.zip")]


def compile_sdists(platform: str, sdists: list[Path], bases: tuple[str, str]) -> None:
    """Compile the sdists once in the `wheelhouse` stage (under qemu for a foreign
    platform) and keep the wheels, so later builds install them in seconds."""
    machine, _ = MACHINES[platform]
    with tempfile.TemporaryDirectory(dir=WHEELS) as out:
        request = BuildRequest(tag="", build_args={"PYTHON_IMAGE": bases[0]})
        asyncio.run(multiarch.build_platform(
            REPO, request, platform, _progress, dockerfile=DOCKERFILE,
            output=("--target", "wheelhouse", "-o", f"type=local,dest={out}"),
        ))  # fmt: skip
        for wheel in Path(out).glob("*.whl"):
            wheel.rename(WHEELS / machine / wheel.name)
    for sdist in sdists:
        sdist.unlink()


def commit() -> str:
    """The checkout's commit, which setup.py records in the wheel (the context has no .git)."""
    done = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def _progress(line: str) -> None:
    if line.startswith("#") and (" DONE " in line or "ERROR" in line or " CACHED" in line):
        print(f"  {line}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", default=",".join(MACHINES))
    parser.add_argument("--tag", default="faasbox/faasbox:latest")
    parser.add_argument("--registry", help="push there and assemble a manifest list")
    parser.add_argument("--official-bases", action="store_true", help=f"use {OFFICIAL}")
    args = parser.parse_args()
    platforms = [p.strip() for p in args.platform.split(",") if p.strip()]
    unknown = [p for p in platforms if p not in MACHINES]
    if unknown:
        parser.error(f"unknown platform {', '.join(unknown)} (known: {', '.join(MACHINES)})")
    official = (OFFICIAL, OFFICIAL)
    bases = {p: official if args.official_bases else offline_bases(p) for p in platforms}
    for platform in platforms:
        sdists = fetch_wheels(platform)
        if sdists:
            compile_sdists(platform, sdists, bases[platform])
    if args.registry:
        return _push(args, platforms, bases)
    for platform in platforms:
        build, runtime = bases[platform]
        tag = multiarch.arch_tag(args.tag, platform)
        print(f"build-appliance: {platform} -> {tag}", flush=True)
        build_args = {"PYTHON_IMAGE": build, "RUNTIME_IMAGE": runtime, "FAASBOX_COMMIT": commit()}
        request = BuildRequest(tag=tag, build_args=build_args)
        asyncio.run(
            multiarch.build_platform(REPO, request, platform, _progress, dockerfile=DOCKERFILE)
        )
        _report(tag)
    return 0


def _push(args: argparse.Namespace, platforms: list[str], bases: dict[str, tuple[str, str]]) -> int:
    """Bases as manifest lists in the registry (one FROM for every platform), then the
    CLI's multi-platform build, which pushes each platform and the list."""
    names = []
    for kind in (0, 1):
        local = [bases[p][kind] for p in platforms]
        if local[0] == OFFICIAL:
            names.append(OFFICIAL)
            continue
        name = f"{args.registry}/{local[0].split(':')[0]}:3.11"
        pushed = []
        for platform, tag in zip(platforms, local, strict=True):
            remote = f"{name}{_suffix(platform)}"
            subprocess.run([multiarch.DOCKER, "tag", tag, remote], check=True)
            subprocess.run([multiarch.DOCKER, "push", "-q", remote], check=True)
            pushed.append(remote)
        manifest = [multiarch.DOCKER, "manifest"]
        subprocess.run([*manifest, "create", "--insecure", "--amend", name, *pushed], check=True)
        subprocess.run([*manifest, "push", "--insecure", "--purge", name], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        names.append(name)
    tag = f"{args.registry}/{args.tag}"
    request = BuildRequest(
        tag=tag,
        platform=",".join(platforms),
        build_args={
            "PYTHON_IMAGE": names[0],
            "RUNTIME_IMAGE": names[1],
            "FAASBOX_COMMIT": commit(),
        },
    )
    for arch_tag in asyncio.run(multiarch.build(REPO, request, _progress, dockerfile=DOCKERFILE)):
        _report(arch_tag)
    print(f"build-appliance: manifest list {tag}", flush=True)
    return 0


def _report(tag: str) -> None:
    size = subprocess.run(
        [multiarch.DOCKER, "image", "inspect", "--format", "{{.Size}}", tag],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    if size:
        print(f"build-appliance: {tag}: {int(size) / 1e6:.1f} MB", flush=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BuildFailed as exc:
        print(f"build-appliance: {exc}", file=sys.stderr)
        sys.exit(1)
