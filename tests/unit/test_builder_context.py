"""Build contexts are laid out as faas-cli lays them out, with the watchdog added."""

from __future__ import annotations

from pathlib import Path

import pytest

from faasbox.builder import templates
from faasbox.builder.context import assemble
from faasbox.builder.errors import ContextError, TemplateError
from faasbox.builder.stack import Function


def test_template_plus_handler(tmp_path: Path) -> None:
    handler = tmp_path / "fn"
    (handler / "build").mkdir(parents=True)
    (handler / "handler.py").write_text("def handle(req): return req\n")
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "x.txt").write_text("x")
    template = templates.find("python3", tmp_path)
    fn = Function(name="fn", lang="python3", handler="./fn")
    dest = assemble(fn, template, tmp_path, ["common"])
    assert dest == tmp_path / "build" / "fn"
    assert (dest / "Dockerfile").is_file() and (dest / "index.py").is_file()
    assert (dest / "function" / "handler.py").read_text().startswith("def handle(req): return")
    assert not (dest / "function" / "build").exists()
    assert (dest / "function" / "common" / "x.txt").read_text() == "x"
    assert (dest / "fwatchdog.py").is_file()


def test_dockerfile_lang_uses_the_handler_as_context(tmp_path: Path) -> None:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "Dockerfile").write_text("FROM scratch\n")
    dest = assemble(Function(name="fn", lang="dockerfile", handler="fn"), None, tmp_path)
    assert (dest / "Dockerfile").read_text() == "FROM scratch\n"
    assert (dest / "fwatchdog.py").is_file()


def test_copy_outside_the_project_is_refused(tmp_path: Path) -> None:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(ContextError, match="outside"):
        assemble(Function(name="fn", lang="dockerfile", handler="fn"), None, tmp_path, ["../"])


def test_project_templates_shadow_builtin_ones(tmp_path: Path) -> None:
    own = tmp_path / "template" / "python3"
    own.mkdir(parents=True)
    (own / "template.yml").write_text("language: python3\nfprocess: mine\n")
    assert templates.find("python3", tmp_path).fprocess == "mine"
    with pytest.raises(TemplateError, match="unknown lang 'cobol'"):
        templates.find("cobol", tmp_path)


def test_build_options_become_additional_package(tmp_path: Path) -> None:
    own = tmp_path / "template" / "t"
    own.mkdir(parents=True)
    (own / "template.yml").write_text(
        "build_options:\n- {name: dev, packages: [make, gcc]}\n- {name: x, packages: [gcc, a]}\n"
    )
    assert templates.find("t", tmp_path).packages_for(["dev", "x"]) == "a gcc make"
    with pytest.raises(TemplateError):
        templates.find("t", tmp_path).packages_for(["nope"])
