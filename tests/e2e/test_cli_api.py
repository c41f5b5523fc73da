"""The client verbs against a real faasbox: login, deploy, list, describe, invoke,
secrets, logs, remove, and one clear line for each kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.e2e.test_cli_support import Cli
from tests.support.engine import unique
from tests.support.server import Server

pytestmark = pytest.mark.engine


@pytest.fixture
def cli(faasbox: Server, tmp_path: Path) -> Cli:
    cli = Cli(home=tmp_path / "home", cwd=tmp_path, gateway=faasbox.url)
    cli.home.mkdir()
    cli.login(faasbox)
    return cli


def test_login_saves_credentials_in_faas_cli_format(cli: Cli, faasbox: Server) -> None:
    config = yaml.safe_load((cli.home / ".openfaas" / "config.yml").read_text())
    entry = config["auths"][0]
    assert entry["gateway"] == faasbox.url
    assert entry["auth"] == "basic"
    assert (cli.home / ".openfaas" / "config.yml").stat().st_mode & 0o077 == 0
    cli.run("logout")
    result = cli.run("list", check=False)
    assert result.returncode == 1
    assert "faasbox login" in result.stderr


def test_wrong_password_is_one_line(cli: Cli, faasbox: Server) -> None:
    result = cli.run("login", "--password-stdin", stdin="wrong", check=False)
    assert result.returncode == 1
    assert result.stderr.strip().endswith("username or password is incorrect")
    assert "Traceback" not in result.stderr


def test_unreachable_gateway_is_one_line(cli: Cli) -> None:
    result = cli.run("list", "-g", "http://127.0.0.1:1", check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("faasbox: cannot reach the gateway")


def test_deploy_list_describe_invoke_logs_remove(cli: Cli, probe: str) -> None:
    name = unique("cli")
    cli.run("deploy", "--image", probe, "--name", name, "-e", "A=1", "-l", "team=x")
    try:
        listed = cli.run("list", "-v").stdout
        assert name in listed and probe in listed
        assert name in cli.run("list", "-q").stdout.split()
        cli.wait_ready(name)
        described = cli.run("describe", name).stdout
        assert "Status:" in described and f"/function/{name}" in described
        answer = cli.invoke(name, "", "--method", "GET", "--query", "q=1")
        assert answer
        logs = cli.run("logs", name, "--tail=false", "--since", "10m", timeout=60)
        assert logs.returncode == 0
    finally:
        cli.run("remove", name)
    assert name not in cli.run("list", "-q").stdout.split()
    assert cli.run("remove", name, check=False).returncode == 1


def test_secret_lifecycle(cli: Cli) -> None:
    name = unique("clisecret")
    cli.run("secret", "create", name, "--from-literal", "s3cret")
    try:
        assert name in cli.run("secret", "list", "-q").stdout.split()
        again = cli.run("secret", "create", name, "--from-literal", "x", check=False)
        assert again.returncode == 1
    finally:
        cli.run("secret", "remove", name)
    assert name not in cli.run("secret", "list", "-q").stdout.split()


def test_stack_with_unknown_key_deploys_nothing(cli: Cli, probe: str) -> None:
    good, bad = unique("good"), unique("bad")
    stack = {
        "version": 1.0,
        "provider": {"name": "openfaas"},
        "functions": {
            good: {"image": probe, "skip_build": True},
            bad: {"image": probe, "enviroment": {"A": "1"}},
        },
    }
    (cli.cwd / "stack.yml").write_text(yaml.safe_dump(stack))
    result = cli.run("deploy", check=False)
    assert result.returncode == 1
    assert "unknown key 'enviroment'" in result.stderr
    assert good not in cli.run("list", "-q").stdout.split()


def test_unknown_lang_is_one_line(cli: Cli) -> None:
    (cli.cwd / "stack.yml").write_text(
        "provider: {name: openfaas}\nfunctions:\n  fn: {lang: cobol, handler: ./fn, image: fn}\n"
    )
    result = cli.run("deploy", check=False)
    assert result.returncode == 1
    assert "unknown lang 'cobol'" in result.stderr


def test_build_secrets_are_refused_in_one_line(cli: Cli) -> None:
    (cli.cwd / "fn").mkdir()
    (cli.cwd / "fn" / "Dockerfile").write_text("FROM scratch\n")
    (cli.cwd / "stack.yml").write_text(
        "provider: {name: openfaas}\nfunctions:\n"
        "  fn: {lang: dockerfile, handler: ./fn, image: fn, build_secrets: {token: ./t}}\n"
    )
    result = cli.run("build", check=False)
    assert result.returncode == 1
    assert "build_secrets are not supported" in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


def test_faas_cli_stack_with_envsubst_deploys_unchanged(cli: Cli, probe: str) -> None:
    name = unique("subst")
    (cli.cwd / "env.yml").write_text("environment:\n  FROM_FILE: yes\n")
    (cli.cwd / "stack.yml").write_text(
        "version: 1.0\n"
        "provider:\n  name: openfaas\n  gateway: ${OPENFAAS_URL:-http://127.0.0.1:8080}\n"
        "functions:\n"
        f"  {name}:\n"
        f"    image: ${{PROBE_IMAGE:-{probe}}}\n"
        "    skip_build: true\n"
        "    environment:\n      write_debug: true\n"
        "    environment_file:\n      - env.yml\n"
        "    labels:\n      com.openfaas.scale.min: 1\n"
        "    annotations:\n      topic: demo\n"
    )
    cli.run("deploy")
    try:
        described = cli.run("describe", name, "--json").stdout
        assert '"topic":"demo"' in described.replace(" ", "")
    finally:
        cli.run("remove", "-f", "stack.yml")
