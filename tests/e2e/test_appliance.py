"""The appliance image and the stack of packaging/stack/ on the real engine.

The image is built for this host with scripts/build-appliance.py from offline
bases, the samples with packaging/sample-functions/build.sh; both are reused while
their sources are unchanged (tags carry a hash of them). The stack is deployed
under its own name, port and network, exactly as a user deploys `func`, then
removed. The arm64 and armv7 images are built the same way and run under qemu.
"""

from __future__ import annotations

import base64
import hashlib
import os
import platform as host
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from faasbox.engine.multiarch import arch_tag
from tests.e2e.test_cli_multiarch import qemu  # noqa: F401 - the binfmt fixture
from tests.support.engine import PYTHON_BASE, REPO, docker, ensure_base, image_exists, unique
from tests.support.server import free_port

pytestmark = pytest.mark.engine

HOST_PLATFORM = {"x86_64": "linux/amd64", "aarch64": "linux/arm64"}[host.machine()]
COMPOSE = REPO / "packaging" / "stack" / "docker-compose.yml"
SAMPLES_DIR = REPO / "packaging" / "sample-functions"
SAMPLES = ("echoit", "wordcount", "base64", "decodebase64", "markdown", "nodeinfo", "hubstats",
           "webhookstash")  # fmt: skip
APPLIANCE_SOURCES = ("Dockerfile.multiarch", ".dockerignore", "pyproject.toml", "setup.py",
                     "README.md", "faasbox", "templates", "watchdog",
                     "scripts/build-appliance.py")  # fmt: skip
_NOT_SOURCES = {"__pycache__", "build", "vendor"}


def _sources_hash(*paths: Path) -> str:
    """What an image is built from, so a tag names one build of it."""
    digest = hashlib.sha256()
    for top in paths:
        files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in files:
            if _NOT_SOURCES.intersection(path.relative_to(REPO).parts) or path.suffix == ".pyc":
                continue
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def appliance(platform: str) -> str:
    tag = f"faasbox-test/appliance:{_sources_hash(*(REPO / p for p in APPLIANCE_SOURCES))}"
    image = arch_tag(tag, platform)
    if not image_exists(image):
        subprocess.run(
            [sys.executable, str(REPO / "scripts" / "build-appliance.py"),
             "--platform", platform, "--tag", tag],
            check=True, timeout=3000,
        )  # fmt: skip
    size = int(docker("image", "inspect", "--format", "{{.Size}}", image))
    print(f"appliance {platform}: {size / 1e6:.1f} MB")
    return image


@pytest.fixture(scope="module")
def samples_tag() -> str:
    """The eight sample images as faasbox-test/<name>:<hash>, built from their stack.yml."""
    tag = _sources_hash(SAMPLES_DIR, REPO / "templates", REPO / "watchdog")
    if not all(image_exists(f"faasbox-test/{name}:{tag}") for name in SAMPLES):
        ensure_base()
        subprocess.run(
            ["bash", str(SAMPLES_DIR / "build.sh"), "--build-arg", f"BASE_IMAGE={PYTHON_BASE}",
             "--build-arg", f"PYTHON_IMAGE={PYTHON_BASE}"],
            check=True, timeout=900, capture_output=True,
            env={**os.environ, "FAASBOX": f"{sys.executable} -m faasbox", "PYTHON": sys.executable,
                 "FAASBOX_SAMPLES": "faasbox-test", "FAASBOX_SAMPLES_TAG": tag},
        )  # fmt: skip
    sizes = {n: int(docker("image", "inspect", "--format", "{{.Size}}", f"faasbox-test/{n}:{tag}"))
             for n in SAMPLES}  # fmt: skip
    print("sample sizes (MB):", {n: round(s / 1e6, 1) for n, s in sizes.items()})
    return tag


def _wait(what: str, check: object, timeout: float) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.3)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Stack:
    name: str
    port: int
    image: str
    password: str = ""

    @property
    def network(self) -> str:
        return f"{self.name}_functions"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url(""), auth=("admin", self.password), timeout=30)

    def leftovers(self) -> list[str]:
        label = f"label=com.docker.stack.namespace={self.name}"
        found = [
            *docker("service", "ls", "-q", "--filter", label).split(),
            *docker("ps", "-aq", "--filter", label).split(),
            *docker("network", "ls", "-q", "--filter", label).split(),
            *docker("config", "ls", "-q", "--filter", label).split(),
        ]
        return found

    def remove(self) -> list[str]:
        """`docker stack rm`, then what is left of it once its tasks are gone. The named
        volumes stay by design (the credentials survive a redeploy): they are removed
        here as the test's own objects."""
        docker("stack", "rm", self.name, check=False)
        deadline = time.monotonic() + 90
        while self.leftovers() and time.monotonic() < deadline:
            time.sleep(0.5)
        left = self.leftovers()
        for volume in (f"{self.name}_state", f"{self.name}_webhookstash"):
            for _ in range(30):
                if not docker("volume", "ls", "-q", "--filter", f"name=^{volume}$"):
                    break
                docker("volume", "rm", volume, check=False)
                time.sleep(0.5)
        return left


@pytest.fixture(scope="module")
def stack(samples_tag: str) -> Iterator[Stack]:
    image = appliance(HOST_PLATFORM)
    deployed = Stack(name=unique("fb13"), port=free_port(), image=image)
    env = {
        **os.environ,
        "FAASBOX_IMAGE": image,
        "FAASBOX_PORT": str(deployed.port),
        "FAASBOX_METRICS_PORT": str(free_port()),
        "FAASBOX_NETWORK": deployed.network,
        "FAASBOX_SAMPLES": "faasbox-test",
        "FAASBOX_SAMPLES_TAG": samples_tag,
    }
    try:
        began = time.monotonic()
        subprocess.run(
            ["/usr/bin/docker", "stack", "deploy", "-c", str(COMPOSE), deployed.name],
            check=True, env=env, capture_output=True, timeout=120,
        )  # fmt: skip
        _wait("/healthz", lambda: _answers(deployed.url("/healthz")), 120)
        print(f"stack deploy to /healthz: {time.monotonic() - began:.1f} s")
        deployed.password = docker(
            "run", "--rm", "-v", f"{deployed.name}_state:/state", "--entrypoint",
            "/opt/faasbox/bin/python3", image, "-c",
            "print(open('/state/basic-auth-password').read())",
        )  # fmt: skip
        yield deployed
    finally:
        deployed.remove()


def _ready(stack: Stack) -> dict[str, int]:
    with stack.api() as api:
        listed = api.get("/system/functions").json()
    return {f["name"]: f.get("availableReplicas", 0) for f in listed}


def test_the_stack_answers_healthz_and_lists_the_samples(stack: Stack) -> None:
    expected = {f"{stack.name}_{name}" for name in SAMPLES}
    assert set(_ready(stack)) == expected
    began = time.monotonic()
    _wait("sample replicas", lambda: all(n >= 1 for n in _ready(stack).values()), 120)
    print(f"samples ready {time.monotonic() - began:.1f} s after /healthz")


def test_the_gateway_leaves_root_when_the_socket_group_allows(stack: Stack) -> None:
    container = docker(
        "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={stack.name}_gateway"
    ).split()[0]
    probe = (
        "import os; s = open('/proc/1/status').read().split(); "
        "print(s[s.index('Uid:') + 1], s[s.index('Gid:') + 1], "
        "os.stat('/var/lib/faasbox/basic-auth-password').st_uid)"
    )
    ids = docker("exec", container, "/opt/faasbox/bin/python3", "-c", probe).split()
    socket_gid = os.stat("/var/run/docker.sock").st_gid
    expected = ["0", "0", "0"] if socket_gid == 0 else ["10001", str(socket_gid), "10001"]
    assert ids == expected


def _invoke(stack: Stack, name: str, body: bytes) -> httpx.Response:
    return httpx.post(stack.url(f"/function/{stack.name}_{name}"), content=body, timeout=30)


def test_each_sample_answers_exactly(stack: Stack) -> None:
    _wait("sample replicas", lambda: all(n >= 1 for n in _ready(stack).values()), 120)
    data = bytes(range(256)) * 4
    assert _invoke(stack, "echoit", data).content == data
    assert _invoke(stack, "wordcount", b"one two three\nfour\n").text == "      2       4      19\n"
    assert _invoke(stack, "base64", b"hello world").text == "aGVsbG8gd29ybGQ=\n"
    encoded = _invoke(stack, "base64", data).content
    assert _invoke(stack, "decodebase64", encoded).content == data
    assert base64.b64decode(encoded) == data
    refused = _invoke(stack, "decodebase64", b"not base64!")
    assert refused.status_code == 400
    assert refused.text == "decodebase64: invalid base64 input: Only base64 data is allowed\n"

    markdown = (
        b"# Title\n\nSome *words* and <script>alert(1)</script>\n\n[x](javascript:alert(1))\n"
    )
    html = _invoke(stack, "markdown", markdown)
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert html.text == (
        "<h1>Title</h1>\n"
        "<p>Some <em>words</em> and &lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
        "<p>[x](javascript:alert(1))</p>\n"
    )
    table = _invoke(stack, "markdown", b"| a |\n|---|\n| ~~1~~ |\n").text
    assert table == (
        "<table>\n<thead>\n<tr>\n<th>a</th>\n</tr>\n</thead>\n"
        "<tbody>\n<tr>\n<td><s>1</s></td>\n</tr>\n</tbody>\n</table>\n"
    )

    container = docker(
        "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={stack.name}_nodeinfo"
    ).split()[0]
    lines = _invoke(stack, "nodeinfo", b"").text.splitlines()
    assert lines[:4] == [
        f"Hostname: {container[:12]}",
        "Platform: linux",
        f"Arch: {host.machine()}",
        f"CPU count: {os.cpu_count()}",
    ]
    assert re.fullmatch(r"Uptime: \d+d \d+h \d+m \d+s", lines[4])
    assert len(lines) == 5
    verbose = _invoke(stack, "nodeinfo", b"verbose").text.splitlines()
    assert verbose[:4] == lines[:4]
    assert len([line for line in verbose if re.fullmatch(r"CPU \d+: .+", line)]) == os.cpu_count()
    assert "Interface lo: 127.0.0.1" in verbose

    hub = _invoke(stack, "hubstats", b"openfaas\n")
    if hub.status_code == 200:
        assert re.fullmatch(r"openfaas has \d+ repositories on Docker Hub\n", hub.text)
    else:
        assert hub.status_code == 502, hub.text
        assert hub.text.startswith("hubstats: cannot reach Docker Hub: ")
    bad = _invoke(stack, "hubstats", b"../etc/passwd")
    assert (bad.status_code, bad.text) == (400, "hubstats: send a Docker Hub user name\n")


def test_webhookstash_keeps_each_body_in_its_volume(stack: Stack) -> None:
    _wait("sample replicas", lambda: all(n >= 1 for n in _ready(stack).values()), 120)
    bodies = [b'{"event": "push", "n": 1}', b"second\n\x00binary"]
    names = [_invoke(stack, "webhookstash", body).text for body in bodies]
    assert len(set(names)) == 2
    assert all(re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{12}\.txt", name) for name in names)
    # Read back from the volume itself, not the function's container.
    for name, body in zip(names, bodies, strict=True):
        stored = subprocess.run(
            ["/usr/bin/docker", "run", "--rm", "-v", f"{stack.name}_webhookstash:/stash",
             "--entrypoint", "/opt/faasbox/bin/python3", stack.image, "-c",
             f"import sys; sys.stdout.buffer.write(open('/stash/{name}', 'rb').read())"],
            capture_output=True, check=True, timeout=60,
        ).stdout  # fmt: skip
        assert stored == body


def test_a_function_deployed_through_the_containerised_api_is_invoked(
    stack: Stack, samples_tag: str
) -> None:
    name = f"{stack.name}-api"
    with stack.api() as api:
        created = api.post(
            "/system/functions",
            json={"service": name, "image": f"faasbox-test/echoit:{samples_tag}"},
        )
        assert created.status_code == 202, created.text
        try:

            def echoes() -> bool:
                try:
                    answer = httpx.post(stack.url(f"/function/{name}"), content=b"ping", timeout=5)
                except httpx.HTTPError:
                    return False
                return answer.status_code == 200 and answer.content == b"ping"

            _wait(name, echoes, 90)
            networks = docker(
                "service", "inspect", name, "--format",
                "{{range .Spec.TaskTemplate.Networks}}{{.Target}}{{end}}",
            )  # fmt: skip
            assert networks == docker("network", "inspect", stack.network, "--format", "{{.Id}}")
            driver = docker("network", "inspect", stack.network, "--format", "{{.Driver}}")
            assert driver == "overlay"
        finally:
            deleted = api.request("DELETE", "/system/functions", json={"functionName": name})
            assert deleted.status_code in (200, 202), deleted.text
    _wait(f"{name} removed", lambda: not docker("service", "ls", "-q", "--filter", f"name={name}"),
          60)  # fmt: skip


def test_stack_rm_leaves_nothing_behind(stack: Stack) -> None:
    assert stack.remove() == []
    assert not _answers(stack.url("/healthz"))
    assert not docker("volume", "ls", "-q", "--filter", f"name={stack.name}_")


@pytest.mark.parametrize("platform", ["linux/arm64", "linux/arm/v7"])
def test_foreign_appliance_answers_healthz_under_qemu(qemu: None, platform: str) -> None:  # noqa: F811
    image = appliance(platform)
    name, port, network = unique("fb13-qemu"), free_port(), unique("fb13-qemu-net")
    try:
        docker(
            "run", "-d", "--name", name, "--platform", platform,
            "-v", "/var/run/docker.sock:/var/run/docker.sock",
            "-p", f"127.0.0.1:{port}:8080", "-e", f"FAASBOX_NETWORK={network}", image,
        )  # fmt: skip
        began = time.monotonic()
        _wait(f"{platform} /healthz", lambda: _answers(f"http://127.0.0.1:{port}/healthz"), 180)
        print(f"{platform}: /healthz {time.monotonic() - began:.1f} s after start under qemu")
        machine = docker("exec", name, "/opt/faasbox/bin/python3", "-c",
                         "import platform; print(platform.machine())")  # fmt: skip
        assert machine == {"linux/arm64": "aarch64", "linux/arm/v7": "armv7l"}[platform]
        assert docker("network", "inspect", network, "--format", "{{.Driver}}") == "overlay"
    finally:
        docker("rm", "-f", "-v", name, check=False)
        docker("network", "rm", network, check=False)


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    """`systemd-analyze verify` on the unit, with ExecStart pointed at this checkout's
    faasbox (the installed path does not exist on a test machine)."""
    unit = (REPO / "packaging" / "systemd" / "faasbox.service").read_text()
    assert "ExecStart=/usr/local/bin/faasbox up\n" in unit
    faasbox = Path(sys.executable).parent / "faasbox"
    (tmp_path / "faasbox.service").write_text(unit.replace("/usr/local/bin/faasbox", str(faasbox)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "faasbox.service")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (result.returncode, result.stderr) == (0, "")
