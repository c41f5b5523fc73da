"""Templates: find one by language, read its template.yml, fetch template repositories.

A language is looked up in the project's `./template/<lang>/` first (what
`template pull` fills, as with faas-cli), then in faasbox's built-in templates.
Any repository laid out as OpenFaaS template repositories are
(`template/<lang>/template.yml`) can be pulled from git, a local folder, or a
zip/tar archive given as a path or an http(s):// or file:// URL.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from faasbox.builder import resources
from faasbox.builder.errors import TemplateError

PROJECT_TEMPLATES = Path("template")
DEFAULT_REPOSITORY = "https://github.com/openfaas/templates.git"
_ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
_ARCHIVE_SCHEMES = ("http://", "https://", "file://")
_MAX_ARCHIVE = 200 << 20


@dataclass(frozen=True)
class BuildOption:
    name: str
    packages: list[str]


@dataclass(frozen=True)
class Template:
    language: str
    path: Path
    fprocess: str = ""
    handler_folder: str = "function"
    welcome_message: str = ""
    build_options: list[BuildOption] = field(default_factory=list)

    def packages_for(self, options: list[str]) -> str:
        """The ADDITIONAL_PACKAGE build arg: merged, de-duplicated, sorted (faas-cli's rule)."""
        known = {o.name: o for o in self.build_options}
        packages: set[str] = set()
        for name in options:
            if name not in known:
                choices = ", ".join(sorted(known)) or "none"
                raise TemplateError(
                    f"template {self.language} has no build option {name!r} (has: {choices})"
                )
            packages.update(known[name].packages)
        return " ".join(sorted(packages))


def template_dirs(root: Path) -> list[Path]:
    return [root / PROJECT_TEMPLATES, resources.builtin_templates()]


def available(root: Path) -> dict[str, Path]:
    """Every language that can be used here; the project's templates shadow built-in ones."""
    found: dict[str, Path] = {}
    for folder in reversed(template_dirs(root)):
        if folder.is_dir():
            for child in sorted(folder.iterdir()):
                if (child / "template.yml").is_file() or (child / "Dockerfile").is_file():
                    found[child.name] = child
    return dict(sorted(found.items()))


def find(lang: str, root: Path) -> Template:
    path = available(root).get(lang)
    if path is None:
        known = ", ".join(available(root)) or "none"
        raise TemplateError(
            f"unknown lang {lang!r}: no template/{lang} here and no built-in one "
            f"(available: {known}; `faasbox template pull` fetches more)"
        )
    return read(path)


def read(path: Path) -> Template:
    spec_file = path / "template.yml"
    spec: dict[str, Any] = {}
    if spec_file.is_file():
        try:
            loaded = yaml.safe_load(spec_file.read_text()) or {}
        except yaml.YAMLError:
            raise TemplateError(f"{spec_file}: not valid YAML") from None
        if not isinstance(loaded, dict):
            raise TemplateError(f"{spec_file}: expected a mapping")
        spec = loaded
    options = [
        BuildOption(str(o.get("name", "")), [str(p) for p in o.get("packages") or []])
        for o in spec.get("build_options") or []
        if isinstance(o, dict)
    ]
    return Template(
        language=str(spec.get("language") or path.name),
        path=path,
        fprocess=str(spec.get("fprocess") or ""),
        handler_folder=str(spec.get("handler_folder") or "function"),
        welcome_message=str(spec.get("welcome_message") or "").strip(),
        build_options=options,
    )


def pull(source: str, dest: Path, overwrite: bool = True) -> list[str]:
    """Copy `template/*` of a repository into `dest`; returns the languages written."""
    with tempfile.TemporaryDirectory(prefix="faasbox-template-") as tmp:
        checkout = _fetch(source, Path(tmp))
        found = _template_root(checkout, source)
        written = []
        dest.mkdir(parents=True, exist_ok=True)
        for lang in sorted(p for p in found.iterdir() if p.is_dir()):
            target = dest / lang.name
            if target.exists():
                if not overwrite:
                    continue
                shutil.rmtree(target)
            shutil.copytree(lang, target, symlinks=True)
            written.append(lang.name)
    return written


def _fetch(source: str, into: Path) -> Path:
    local = Path(source)
    if local.is_dir() and not (local / ".git").exists():
        return local
    if local.is_file() and source.endswith(_ARCHIVE_SUFFIXES):
        return _download_archive(local.resolve().as_uri(), into)
    if source.startswith(_ARCHIVE_SCHEMES) and source.split("#")[0].endswith(_ARCHIVE_SUFFIXES):
        return _download_archive(source, into)
    url, _, ref = source.partition("#")
    if url.startswith("-") or ref.startswith("-"):
        # The source comes from a stack file or a store: never let it be a git option.
        raise TemplateError(f"template source {source!r} is not a repository URL")
    command = ["git", "-c", "protocol.ext.allow=never", "clone", "--quiet", "--depth", "1"]
    if ref:
        command += [f"--branch={ref}"]
    try:
        subprocess.run(
            [*command, "--", url, str(into / "repo")],
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
    except FileNotFoundError:
        raise TemplateError("template pull needs git, which is not installed") from None
    except subprocess.CalledProcessError as exc:
        reason = exc.stderr.strip().splitlines()[-1] if exc.stderr.strip() else "failed"
        raise TemplateError(f"git clone {source}: {reason}") from None
    return into / "repo"


def _download_archive(url: str, into: Path) -> Path:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            data = response.read(_MAX_ARCHIVE + 1)
    except OSError as exc:
        raise TemplateError(f"cannot download {url}: {exc}") from None
    if len(data) > _MAX_ARCHIVE:
        raise TemplateError(f"{url} is larger than {_MAX_ARCHIVE >> 20} MiB")
    target = into / "archive"
    target.mkdir()
    try:
        if url.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.namelist():
                    _inside(target, member)
                archive.extractall(target)
        else:
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                tar.extractall(target, filter="data")
    except (zipfile.BadZipFile, tarfile.TarError) as exc:
        raise TemplateError(f"{url}: not a readable archive ({exc})") from None
    return target


def _inside(root: Path, member: str) -> None:
    if not (root / member).resolve().is_relative_to(root.resolve()):
        raise TemplateError(f"archive entry {member!r} points outside the archive")


def _template_root(checkout: Path, source: str) -> Path:
    """`template/` at the top, or one folder down (GitHub archives wrap everything in one)."""
    for candidate in (checkout / "template", *checkout.glob("*/template")):
        if candidate.is_dir():
            return candidate
    raise TemplateError(f"{source} has no template/ folder: not a template repository")
