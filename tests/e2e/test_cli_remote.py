"""The build endpoint and `up --remote`: source in, image built on the gateway's engine.

The archive checks run against a real server, because what matters is what
the endpoint lets through to the engine, not what a helper returns.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_cli_support import Cli
from tests.support.engine import PYTHON_BASE, ensure_base, image_exists, remove_image, unique
from tests.support.server import Server

pytestmark = pytest.mark.engine

SCRATCH_DOCKERFILE = b"FROM scratch\nCOPY . /ctx/\n"


def _tar(*members: tuple[tarfile.TarInfo, bytes], dockerfile: bytes = SCRATCH_DOCKERFILE) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
        for member, data in members:
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def _post(server: Server, body: bytes, image: str = "faasbox-test/never:latest") -> httpx.Response:
    with server.client(timeout=120) as client:
        return client.post(
            "/system/build",
            params={"image": image},
            content=body,
            headers={"Content-Type": "application/x-tar"},
        )


BAD_ARCHIVES = {
    "traversal": (_member("../escape"), b"x", "`..`"),
    "absolute": (_member("/etc/cron.d/x"), b"x", "absolute path"),
    "symlink-escape": (_member("link", tarfile.SYMTYPE, "../../etc/passwd"), b"", "symlink"),
    "symlink-absolute": (_member("link", tarfile.SYMTYPE, "/etc/shadow"), b"", "symlink"),
    "symlink-climbs": (_member("a/b/link", tarfile.SYMTYPE, "../../../x"), b"", "symlink"),
    "hardlink-escape": (_member("hard", tarfile.LNKTYPE, "../outside"), b"", "hard link"),
    "device": (_member("dev/sda", tarfile.BLKTYPE), b"", "device"),
    "chardev": (_member("null", tarfile.CHRTYPE), b"", "device"),
}


@pytest.mark.parametrize("case", list(BAD_ARCHIVES))
def test_unsafe_archives_are_refused(case: str, faasbox: Server) -> None:
    member, data, reason = BAD_ARCHIVES[case]
    for body in (_tar((member, data)), gzip.compress(_tar((member, data)))):
        answer = _post(faasbox, body)
        assert answer.status_code == 400, answer.text
        assert reason in answer.json()["message"]
        assert member.name in answer.json()["message"]


def test_not_a_context_is_refused(faasbox: Server) -> None:
    assert "not a readable tar" in _post(faasbox, b"hello" * 200).json()["message"]
    no_dockerfile = io.BytesIO()
    with tarfile.open(fileobj=no_dockerfile, mode="w") as tar:
        tar.addfile(tarfile.TarInfo("empty"))
    answer = _post(faasbox, no_dockerfile.getvalue())
    assert answer.status_code == 400 and "no Dockerfile" in answer.json()["message"]
    assert _post(faasbox, b"").status_code == 400
    assert _post(faasbox, _tar(), image="Not A Name").status_code == 400


def test_build_needs_credentials(faasbox: Server) -> None:
    answer = httpx.post(f"{faasbox.url}/system/build", params={"image": "x"}, content=_tar())
    assert answer.status_code == 401


def test_oversized_archives_get_413(make_server: Callable[..., Server]) -> None:
    server = make_server(env={"FAASBOX_MAX_BODY_SIZE": "64k"})
    server.start()
    big = _tar((_member("blob"), bytes(range(256)) * 400))  # 100 KiB, does not compress away
    answer = _post(server, big)
    assert answer.status_code == 413 and "limit" in answer.json()["message"]
    with server.client() as client:  # no Content-Length: the cap applies while reading
        chunked = client.post(
            "/system/build",
            params={"image": "x"},
            content=iter([big[:40_000], big[40_000:]]),
            headers={"Content-Type": "application/x-tar"},
        )
    assert chunked.status_code == 413
    bomb = gzip.compress(_tar((_member("zeros"), bytes(1 << 20))))
    assert len(bomb) < 64 << 10
    answer = _post(server, bomb)
    assert answer.status_code == 413 and "unpacks to more than" in answer.json()["message"]


def _lines(answer: httpx.Response) -> list[dict[str, str]]:
    return [json.loads(line) for line in answer.text.splitlines() if line.strip()]


def test_build_streams_steps_and_ends_with_the_result(faasbox: Server) -> None:
    image = f"faasbox-test/{unique('scratch')}:latest"
    inside = _member("sub/link", tarfile.SYMTYPE, "../Dockerfile")  # stays inside: allowed
    try:
        answer = _post(faasbox, gzip.compress(_tar((inside, b""))), image=image)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/x-ndjson"
        lines = _lines(answer)
        assert [line["stream"] for line in lines[:-1]] == [
            "Step 1/2 : FROM scratch",
            "Step 2/2 : COPY . /ctx/",
        ]
        assert lines[-1]["status"] == "success" and lines[-1]["image"] == image
        assert image_exists(image)
    finally:
        remove_image(image)
    failing = _tar(dockerfile=b"FROM scratch\nCOPY missing /x\n")
    final = _lines(_post(faasbox, failing, image=image))[-1]
    assert final["status"] == "failed"
    assert "Step 2/2 : COPY missing /x" in final["error"]
    assert not image_exists(image)


def test_up_remote_builds_on_the_gateway_and_deploys(faasbox: Server, tmp_path: Path) -> None:
    ensure_base(PYTHON_BASE)
    cli = Cli(home=tmp_path / "home", cwd=tmp_path, gateway=faasbox.url)
    cli.home.mkdir()
    cli.login(faasbox)
    name = unique("remote")
    image = f"faasbox-test/{name}:latest"
    cli.run("new", name, "--lang", "python3", "--prefix", "faasbox-test")
    try:
        result = cli.run(
            "up", "-f", "stack.yaml", "--remote", "--build-arg", f"PYTHON_IMAGE={PYTHON_BASE}"
        )
        assert f"Image: {image} built on {faasbox.url}." in result.stdout
        assert "Step 1/" in result.stderr  # the gateway streamed the engine's steps
        assert image_exists(image)
        cli.wait_ready(name)
        assert cli.invoke(name, "from afar") == "Hello from python3: from afar"
    finally:
        cli.run("remove", name, check=False)
        remove_image(image)


def test_up_remote_reports_the_failing_step(faasbox: Server, tmp_path: Path) -> None:
    cli = Cli(home=tmp_path / "home", cwd=tmp_path, gateway=faasbox.url)
    cli.home.mkdir()
    cli.login(faasbox)
    name = unique("remote-broken")
    cli.run("new", name, "--lang", "dockerfile", "--prefix", "faasbox-test")
    (tmp_path / name / "Dockerfile").write_text("FROM scratch\nCOPY nothing-here /x\n")
    result = cli.run("up", "--remote", check=False)
    assert result.returncode == 1
    assert "remote build of" in result.stderr and "Step 2/2 : COPY nothing-here" in result.stderr
