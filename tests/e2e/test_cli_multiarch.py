"""`faasbox build --platform a,b,c`: one BuildKit build per platform, then a manifest list.

Everything is local: bases made from Debian packages for each architecture,
a private registry on loopback (started here with its own storage), and qemu
binfmt to run the foreign images. The bases are pushed as a manifest list too,
so one FROM resolves to the right architecture in each build, as it does with
the official images.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_cli_support import Cli, ensure_runtime_base
from tests.support.engine import docker, remove_image, unique
from tests.support.server import free_port

pytestmark = pytest.mark.engine

PLATFORMS = {"linux/amd64": "x86_64", "linux/arm64": "aarch64", "linux/arm/v7": "armv7l"}
BINFMT = Path("/proc/sys/fs/binfmt_misc")
MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


def _suffix(platform: str) -> str:
    return platform.removeprefix("linux/").replace("/", "")


@pytest.fixture(scope="module")
def qemu() -> None:
    """binfmt handlers for arm; mounted and enabled here when the host has not done it."""
    if not (BINFMT / "register").exists():
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], check=True)
    if not (BINFMT / "qemu-aarch64").exists() or not (BINFMT / "qemu-arm").exists():
        subprocess.run(["update-binfmts", "--enable"], check=True, capture_output=True)
    for handler in ("qemu-aarch64", "qemu-arm"):
        if not (BINFMT / handler).exists():
            pytest.fail(f"no {handler} binfmt handler: apt-get install qemu-user-static")


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    """A private docker-registry on a free loopback port (loopback needs no TLS)."""
    port = free_port()
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        f"storage: {{filesystem: {{rootdirectory: {tmp_path / 'storage'}}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n"
        "log: {level: error}\n"
    )
    process = subprocess.Popen(
        ["/usr/bin/docker-registry", "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "docker-registry did not start"
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _docker_cli(home: Path, *args: str) -> str:
    """The docker client with the test's HOME, so manifest lists stay out of root's."""
    result = subprocess.run(
        ["/usr/bin/docker", *args],
        capture_output=True,
        text=True,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "DOCKER_BUILDKIT": "1"},
        timeout=300,
    )
    assert result.returncode == 0, f"docker {' '.join(args)}: {result.stderr}"
    return result.stdout


def _push_base(registry: str, home: Path) -> tuple[str, list[str]]:
    """Every platform's base under one multi-arch name in the registry."""
    name = f"{registry}/faasbox-base/python-runtime:3.11"
    pushed = []
    for platform in PLATFORMS:
        local = ensure_runtime_base(
            f"faasbox-base/python-runtime:3.11-{_suffix(platform)}", "coreutils", platform=platform
        )
        remote = f"{name}-{_suffix(platform)}"
        docker("tag", local, remote)
        _docker_cli(home, "push", remote)
        pushed.append(remote)
    _docker_cli(home, "manifest", "create", "--insecure", name, *pushed)
    _docker_cli(home, "manifest", "push", "--insecure", "--purge", name)
    return name, pushed


def test_build_three_platforms_into_one_manifest_list(
    qemu: None, registry: str, tmp_path: Path
) -> None:
    began = time.monotonic()
    cli = Cli(home=tmp_path / "home", cwd=tmp_path / "project", gateway="http://127.0.0.1:9")
    cli.home.mkdir()
    cli.cwd.mkdir()
    base, base_tags = _push_base(registry, cli.home)
    name = unique("multi")
    image = f"{registry}/faasbox-test/{name}:latest"
    cli.run("new", name, "--lang", "dockerfile", "--prefix", f"{registry}/faasbox-test")
    arch_tags = [f"{image}-{platform.replace('/', '-')}" for platform in PLATFORMS]
    try:
        built = time.monotonic()
        result = cli.run(
            "build", "--platform", ",".join(PLATFORMS), "--build-arg", f"BASE_IMAGE={base}"
        )
        print(f"multi-arch build {time.monotonic() - built:.0f} s, in all (with bases) ", end="")
        assert f"Image: {image} built." in result.stdout
        for (platform, machine), tag in zip(PLATFORMS.items(), arch_tags, strict=True):
            ran = docker("run", "--rm", "--platform", platform, tag, "uname", "-m")
            assert ran == machine, f"{platform}: uname -m said {ran}"
            probe = "import os; print(os.uname().machine)"
            python = docker("run", "--rm", "--platform", platform, tag, "python3", "-c", probe)
            assert python == machine, f"{platform}: python3 said {python}"
        answer = httpx.get(
            f"http://{registry}/v2/faasbox-test/{name}/manifests/latest",
            headers={"Accept": MANIFEST_LIST},
        )
        listed = answer.json()
        assert listed["mediaType"] == MANIFEST_LIST
        platforms = {
            "/".join(filter(None, (p["os"], p["architecture"], p.get("variant"))))
            for p in (m["platform"] for m in listed["manifests"])
        }
        assert platforms == set(PLATFORMS)
        print(f"{time.monotonic() - began:.0f} s; manifest list: {json.dumps(sorted(platforms))}")
    finally:
        for tag in [*arch_tags, *base_tags]:
            remove_image(tag)
