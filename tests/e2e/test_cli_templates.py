"""Every template, the way the book uses them: new -> build -> deploy -> invoke."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_cli_support import RUNTIME_BASE, Cli, ensure_runtime_base
from tests.support.engine import DOCKER, PYTHON_BASE, docker, ensure_base, remove_image, unique
from tests.support.server import Server

pytestmark = pytest.mark.engine

GCC_BASE = "faasbox-base/gcc:12"
NODE_BASE = "faasbox-base/node-python:18"
GO_BASE = "faasbox-base/golang:1.19"

# lang -> (offline build args, expected answer prefix)
CASES: dict[str, tuple[dict[str, str], str]] = {
    "python3": ({"PYTHON_IMAGE": PYTHON_BASE}, "Hello from python3: "),
    "python3-http": ({"PYTHON_IMAGE": PYTHON_BASE}, "Hello from python3-http: "),
    "c": ({"GCC_IMAGE": GCC_BASE, "RUNTIME_IMAGE": RUNTIME_BASE}, "Hello from C: "),
    "dockerfile": ({"BASE_IMAGE": PYTHON_BASE}, ""),
    "node": ({"NODE_IMAGE": NODE_BASE}, "Hello from Node: "),
    "go": ({"GO_IMAGE": GO_BASE, "RUNTIME_IMAGE": RUNTIME_BASE}, "Hello from Go: "),
}
BASES = {
    GCC_BASE: ("gcc", "libc6-dev"),
    NODE_BASE: ("nodejs", "python3"),
    GO_BASE: ("golang-go", "ca-certificates"),
}


@pytest.mark.parametrize("lang", list(CASES))
def test_new_build_deploy_invoke(lang: str, faasbox: Server, tmp_path: Path) -> None:
    build_args, greeting = CASES[lang]
    ensure_base(PYTHON_BASE)
    for base in build_args.values():
        if base in BASES:
            ensure_base(base, *BASES[base])
        elif base == RUNTIME_BASE:
            ensure_runtime_base(RUNTIME_BASE)
    cli = Cli(home=tmp_path / "home", cwd=tmp_path, gateway=faasbox.url)
    cli.home.mkdir()
    cli.login(faasbox)
    name = unique(f"t-{lang.replace('3', '')}")
    cli.run("new", name, "--lang", lang, "--prefix", "faasbox-test")
    image = f"faasbox-test/{name}:latest"
    flags = [arg for k, v in build_args.items() for arg in ("--build-arg", f"{k}={v}")]
    try:
        built = cli.run("build", *flags)
        assert f"Image: {image} built." in built.stdout
        config = json.loads(docker("image", "inspect", image))[0]["Config"]
        assert config["User"] not in ("", "0", "root")
        check = config["Healthcheck"]["Test"]
        assert not any("python" in word for word in check), check  # no interpreter per check
        cli.run("deploy")
        cli.wait_ready(name)
        assert _health(name, check) == 0  # the lock file is there, shell or not
        assert _health(name, check, "TMPDIR=/nonexistent") == 1  # and it is what is checked
        answer = cli.invoke(name, "book")
        assert answer == f"{greeting}book"
        if lang in ("c", "go"):
            final = int(docker("image", "inspect", image, "--format", "{{.Size}}"))
            runtime = int(docker("image", "inspect", RUNTIME_BASE, "--format", "{{.Size}}"))
            stage = GCC_BASE if lang == "c" else GO_BASE
            builder = int(docker("image", "inspect", stage, "--format", "{{.Size}}"))
            print(
                f"{lang}: final {final / 1e6:.1f} MB, runtime base {runtime / 1e6:.1f} MB, "
                f"build stage {builder / 1e6:.1f} MB"
            )
            assert final - runtime < 3_000_000, "the final stage adds only the static binary"
            assert final < builder / 5
    finally:
        cli.run("remove", name, check=False)
        remove_image(image)


def _health(service: str, check: list[str], *env: str) -> int:
    """Exit code of the image's HEALTHCHECK run in the service's container, as Docker runs
    it (CMD-SHELL through /bin/sh, CMD as is)."""
    container = docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={service}")
    command = ["/bin/sh", "-c", check[1]] if check[0] == "CMD-SHELL" else check[1:]
    env_flags = [arg for pair in env for arg in ("-e", pair)]
    done = subprocess.run([DOCKER, "exec", *env_flags, container, *command], check=False)
    return done.returncode


def test_failed_build_names_the_step(faasbox: Server, tmp_path: Path) -> None:
    cli = Cli(home=tmp_path / "home", cwd=tmp_path, gateway=faasbox.url)
    name = unique("broken")
    cli.run("new", name, "--lang", "c", "--prefix", "faasbox-test")
    (tmp_path / name / "main.c").write_text("int main(void) { return missing; }\n")
    result = cli.run(
        "build", "--build-arg", f"GCC_IMAGE={GCC_BASE}", "--build-arg",
        f"RUNTIME_IMAGE={RUNTIME_BASE}", check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "build failed at Step" in result.stderr and "RUN gcc" in result.stderr
    assert "missing" in result.stderr  # the compiler's own message is shown


def test_missing_handler_folder_is_one_line(faasbox: Server, tmp_path: Path) -> None:
    cli = Cli(home=tmp_path / "home", cwd=tmp_path, gateway=faasbox.url)
    (tmp_path / "stack.yml").write_text(
        "provider: {name: openfaas}\nfunctions:\n  fn: {lang: python3, handler: ./nope, image: x}\n"
    )
    result = cli.run("build", check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == "faasbox: fn: handler folder ./nope does not exist"
