"""`template pull` from sources a test can own: a git repository, a folder, a tar.gz.

The pulled language then goes through `new` and `build`, so the test proves
the pulled files are the ones the builder uses, not just that they were copied.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.e2e.test_cli_support import Cli
from tests.support.engine import PYTHON_BASE, docker, ensure_base, remove_image, unique

pytestmark = pytest.mark.engine

LANG = "shell-echo"
DOCKERFILE = """\
ARG BASE_IMAGE=python:3.11-alpine
FROM ${BASE_IMAGE}
COPY fwatchdog.py /usr/local/bin/fwatchdog.py
COPY function/ /home/app/
ENV fprocess="sh /home/app/handler.sh"
USER 10001:10001
CMD ["python3", "/usr/local/bin/fwatchdog.py"]
"""


def _write_template(repo: Path, greeting: str) -> None:
    lang = repo / "template" / LANG
    (lang / "function").mkdir(parents=True, exist_ok=True)
    (lang / "template.yml").write_text(f"language: {LANG}\nfprocess: sh /home/app/handler.sh\n")
    (lang / "Dockerfile").write_text(DOCKERFILE)
    (lang / "function" / "handler.sh").write_text(f'printf "{greeting}: %s" "$(cat)"\n')


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull},
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A template repository with a `v2` branch whose handler says something else."""
    repo = tmp_path / "templates-repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _write_template(repo, "v1")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "v1")
    _git(repo, "checkout", "-q", "-b", "v2")
    _write_template(repo, "v2")
    _git(repo, "commit", "-q", "-am", "v2")
    _git(repo, "checkout", "-q", "main")
    return repo


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "home").mkdir()
    return Cli(home=tmp_path / "home", cwd=project, gateway="http://127.0.0.1:9")


def _handler(cli: Cli) -> str:
    return (cli.cwd / "template" / LANG / "function" / "handler.sh").read_text()


def test_pull_from_git_then_new_and_build_use_it(repo: Path, cli: Cli) -> None:
    ensure_base(PYTHON_BASE)
    pulled = cli.run("template", "pull", str(repo))
    assert pulled.stdout.strip() == f"Wrote 1 template(s): {LANG}"
    assert LANG in cli.run("new", "--list").stdout
    name = unique("pulled")
    image = f"faasbox-test/{name}:latest"
    cli.run("new", name, "--lang", LANG, "--prefix", "faasbox-test")
    assert (cli.cwd / name / "handler.sh").is_file()
    try:
        built = cli.run("build", "--build-arg", f"BASE_IMAGE={PYTHON_BASE}")
        assert f"Image: {image} built." in built.stdout
        answer = subprocess.run(
            ["/usr/bin/docker", "run", "--rm", "-i", image, "sh", "/home/app/handler.sh"],
            input="hi",
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        assert answer == "v1: hi"
        assert docker("image", "inspect", image, "--format", "{{.Config.User}}") == "10001:10001"
    finally:
        remove_image(image)


def test_pull_a_git_ref_and_overwrite_rules(repo: Path, cli: Cli) -> None:
    cli.run("template", "pull", str(repo))
    assert "v1" in _handler(cli)
    cli.run("template", "pull", f"{repo}#v2", "--overwrite=false")
    assert "v1" in _handler(cli), "--overwrite=false keeps what is there"
    cli.run("template", "pull", f"{repo}#v2")
    assert "v2" in _handler(cli)
    missing = cli.run("template", "pull", f"{repo}#no-such-branch", check=False)
    assert missing.returncode == 1 and "git clone" in missing.stderr


def test_pull_from_a_folder_and_from_tar_gz(repo: Path, cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "plain-folder"
    shutil.copytree(repo / "template", folder / "template")
    assert cli.run("template", "pull", str(folder)).stdout.strip().endswith(LANG)
    assert "v1" in _handler(cli)
    _write_template(folder, "from tar")
    archive = tmp_path / "templates-main.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:  # GitHub archives wrap it all in one folder
        tar.add(folder / "template", arcname="templates-main/template")
    cli.run("template", "pull", archive.as_uri())
    assert "from tar" in _handler(cli)
    shutil.rmtree(cli.cwd / "template")
    cli.run("template", "pull", str(archive))
    assert "from tar" in _handler(cli)


def test_pull_from_nowhere_is_one_line(cli: Cli, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli.run("template", "pull", str(empty), check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"faasbox: {empty} has no template/ folder: not a template repository"
    )
