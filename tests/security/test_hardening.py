"""Functions run locked down by default, relaxable per function; the edges of the CLI and
server (credentials, git, stack names, registries) refuse what an attacker would feed them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from faasbox.builder.errors import StackError, TemplateError
from faasbox.builder.stack import parse_stack
from faasbox.builder.templates import pull
from faasbox.engine.multiarch import insecure_flag
from tests.security.conftest import container_of
from tests.support.api import deploy, remove, wait_for
from tests.support.engine import docker, unique
from tests.support.server import Server

pytestmark = pytest.mark.engine


def status_lines(api_url: str, name: str) -> dict[str, str]:
    """The function's own /proc/self/status, read by its child process."""
    import httpx

    text = httpx.post(f"{api_url}/function/{name}", content=b"", timeout=30).text
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def host_config(service: str) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(
        docker("inspect", container_of(service), "--format", "{{json .HostConfig}}")
    )
    return config


def test_default_lock_down_and_the_watchdog_still_serves(box: Server, lockdown_image: str) -> None:
    name = unique("fb14-locked")
    with box.client() as api:
        answer = deploy(api, name, lockdown_image, envProcess="cat /proc/self/status")
        assert answer.status_code == 202, answer.text
        try:
            status = wait_for(api, name, available=1)
            assert "envVars" not in status  # nothing internal leaks into the status
            proc = status_lines(box.url, name)
            assert proc["NoNewPrivs"].strip() == "1"
            assert int(proc["CapBnd"].strip(), 16) != 0
            config = host_config(name)
            assert config["CapDrop"] == ["ALL"]
            assert "CAP_NET_RAW" not in (config["CapAdd"] or [])
            assert "CAP_SETUID" in (config["CapAdd"] or [])
            assert config["PidsLimit"] == 1024
        finally:
            remove(api, name)


def test_each_relaxation_is_per_function(box: Server, lockdown_image: str) -> None:
    name = unique("fb14-relaxed")
    annotations = {
        "com.faasbox.security.capabilities": "default",
        "com.faasbox.security.no-new-privileges": "false",
        "com.faasbox.security.pids-limit": "0",
    }
    with box.client() as api:
        answer = deploy(
            api, name, lockdown_image, envProcess="cat /proc/self/status", annotations=annotations
        )
        assert answer.status_code == 202, answer.text
        try:
            status = wait_for(api, name, available=1)
            assert "envVars" not in status and status["annotations"] == annotations
            assert status_lines(box.url, name)["NoNewPrivs"].strip() == "0"
            config = host_config(name)
            assert not config.get("CapDrop") and config.get("PidsLimit") in (None, 0)
        finally:
            remove(api, name)


def test_read_only_root_gets_a_tmpfs_tmp_and_stays_healthy(
    box: Server, lockdown_image: str
) -> None:
    name = unique("fb14-ro")
    with box.client() as api:
        answer = deploy(api, name, lockdown_image, readOnlyRootFilesystem=True)
        assert answer.status_code == 202, answer.text
        try:
            wait_for(api, name, available=1)
            import httpx

            assert httpx.post(f"{box.url}/function/{name}", content=b"hi").text == "hi"
        finally:
            remove(api, name)


def test_the_password_is_not_in_a_non_terminal_log(box: Server) -> None:
    log = box.logs()
    assert box.password not in log
    assert "basic-auth-password" in log  # where it is kept


def test_stack_function_names_are_checked_before_any_rmtree(tmp_path: Path) -> None:
    for name in ("../../victim", "/etc", "a/b", ".."):
        text = f"provider: {{name: openfaas}}\nfunctions:\n  '{name}': {{lang: python3}}\n"
        with pytest.raises(StackError, match="function name"):
            parse_stack(text, tmp_path / "stack.yml")


@pytest.mark.parametrize(
    "source", ["--upload-pack=touch {marker}", "x#--upload-pack=touch {marker}"]
)
def test_template_sources_are_never_git_options(source: str, tmp_path: Path) -> None:
    """Refused before git runs (before: handed to git as an option)."""
    marker = tmp_path / "pwned"
    with pytest.raises(TemplateError, match="not a repository URL"):
        pull(source.format(marker=marker), tmp_path / "template")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("tag", "insecure"),
    [
        ("127.0.0.1:5000/fn:1", True),
        ("localhost:5000/fn:1", True),
        ("registry.example.com/fn:1", False),
        ("ghcr.io/openfaas/fn:1", False),
        ("fn:1", False),
    ],
)
def test_manifest_insecure_only_where_the_engine_allows(tag: str, insecure: bool) -> None:
    assert (asyncio.run(insecure_flag(tag)) == ["--insecure"]) is insecure


def test_no_auth_off_loopback_warns_loudly(tmp_path: Path) -> None:
    """The warning comes from `faasbox up` itself; a bad port makes it stop right after."""
    code = (
        "import logging, sys\n"
        "from faasbox.cli.server import _warn_if_open\n"
        "from faasbox.config import Settings\n"
        "logging.basicConfig(stream=sys.stderr)\n"
        "_warn_if_open(Settings(host='0.0.0.0', auth=False))\n"
        "_warn_if_open(Settings(host='127.0.0.1', auth=False))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stderr.count("authentication is OFF") == 1, result.stderr
