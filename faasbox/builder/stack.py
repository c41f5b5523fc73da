"""The stack file (stack.yaml / stack.yml): the faas-cli schema, read strictly.

faas-cli silently ignores keys it does not know, so a typo such as `enviroment:`
deploys a function without its settings; here an unknown key is an error that
names the key and where it is. Everything faas-cli accepts (including the
Swarm-era `provider.network` and `registry_auth`) is accepted with the same
meaning. Relative paths (handlers, environment files, copy paths) are relative
to the directory the command runs in, as with faas-cli.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from faasbox.builder.envsubst import substitute
from faasbox.builder.errors import StackError
from faasbox.deployment import InvalidRequest, check_name

DEFAULT_FILES = ("stack.yaml", "stack.yml")

_TOP_KEYS = {"version", "provider", "functions", "configuration"}
_PROVIDER_KEYS = {"name", "gateway", "network"}
_CONFIGURATION_KEYS = {"templates", "copy"}
_RESOURCE_KEYS = {"memory", "cpu", "nvidia.com/gpu", "amd.com/gpu", "intel.com/gpu"}
_FUNCTION_KEYS = {
    "lang", "handler", "image", "fprocess", "environment", "environment_file", "secrets",
    "labels", "annotations", "limits", "requests", "constraints", "build_args",
    "build_options", "build_secrets", "readonly_root_filesystem", "skip_build",
    "namespace", "platforms", "registry_auth",
}  # fmt: skip


@dataclass(frozen=True)
class Function:
    name: str
    lang: str = ""
    handler: str = ""
    image: str = ""
    fprocess: str = ""
    environment: dict[str, str] = field(default_factory=dict)
    environment_file: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    limits: dict[str, str] = field(default_factory=dict)
    requests: dict[str, str] = field(default_factory=dict)
    constraints: list[str] | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    build_options: list[str] = field(default_factory=list)
    build_secrets: dict[str, str] = field(default_factory=dict)
    readonly_root_filesystem: bool = False
    skip_build: bool = False
    namespace: str = ""
    platforms: str = ""
    registry_auth: str = ""


@dataclass(frozen=True)
class TemplateSource:
    name: str
    source: str = ""


@dataclass(frozen=True)
class Stack:
    path: Path
    provider_gateway: str = ""
    provider_network: str = ""
    functions: dict[str, Function] = field(default_factory=dict)
    templates: list[TemplateSource] = field(default_factory=list)
    copy: list[str] = field(default_factory=list)

    def select(self, filter_glob: str = "", regex: str = "") -> list[Function]:
        """Functions chosen by --filter (a glob) or --regex (a search), in file order."""
        if filter_glob and regex:
            raise StackError("give --filter or --regex, not both")
        if regex:
            try:
                pattern = re.compile(regex)
            except re.error as exc:
                raise StackError(f"--regex {regex!r}: {exc}") from None
            chosen = [f for f in self.functions.values() if pattern.search(f.name)]
        elif filter_glob:
            chosen = [
                f for f in self.functions.values() if fnmatch.fnmatchcase(f.name, filter_glob)
            ]
        else:
            chosen = list(self.functions.values())
        if not chosen:
            raise StackError(f"no function in {self.path} matches {filter_glob or regex!r}")
        return chosen


def find_stack(path: str | None) -> Path:
    """The -f file, else stack.yaml, else stack.yml (faas-cli's order)."""
    if path:
        return Path(path)
    for name in DEFAULT_FILES:
        if Path(name).exists():
            return Path(name)
    raise StackError("no stack file: give -f FILE or create stack.yaml (faasbox new NAME --lang L)")


def load_stack(path: Path, env: Mapping[str, str] | None = None, envsubst: bool = True) -> Stack:
    try:
        text = path.read_text()
    except OSError as exc:
        raise StackError(f"cannot read stack file {path}: {exc.strerror}") from None
    if envsubst:
        text = substitute(text, os.environ if env is None else env)
    return parse_stack(text, path)


def parse_stack(text: str, path: Path) -> Stack:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise StackError(f"{path}{where}: not valid YAML") from None
    where = str(path)
    top = _mapping(raw, where)
    _known(top, _TOP_KEYS, where)
    version = top.get("version")
    if version is not None and str(version) != "1.0":
        raise StackError(f"{where}: version must be 1.0, not {version!r}")
    provider = _mapping(top.get("provider") or {}, f"{where}: provider")
    _known(provider, _PROVIDER_KEYS, f"{where}: provider")
    if provider.get("name", "openfaas") != "openfaas":
        raise StackError(f"{where}: provider.name must be openfaas, not {provider['name']!r}")
    config = _mapping(top.get("configuration") or {}, f"{where}: configuration")
    _known(config, _CONFIGURATION_KEYS, f"{where}: configuration")
    functions = _mapping(top.get("functions") or {}, f"{where}: functions")
    if not functions:
        raise StackError(f"{where}: no functions")
    return Stack(
        path=path,
        provider_gateway=_string(provider.get("gateway"), f"{where}: provider.gateway"),
        provider_network=_string(provider.get("network"), f"{where}: provider.network"),
        functions={
            str(name): _function(str(name), spec, f"{where}: functions.{name}")
            for name, spec in functions.items()
        },
        templates=[_template(t, f"{where}: configuration.templates") for t in _list(
            config.get("templates"), f"{where}: configuration.templates", dict
        )],
        copy=[_string(c, f"{where}: configuration.copy") for c in _list(
            config.get("copy"), f"{where}: configuration.copy", str
        )],
    )  # fmt: skip


def _function(name: str, raw: Any, where: str) -> Function:
    """The name is checked first: it becomes `build/<name>/`, which is removed and
    rebuilt, so `../..` or `/` in it must never reach the file system."""
    try:
        check_name(name)
    except InvalidRequest as exc:
        raise StackError(f"{where}: {exc}") from None
    spec = _mapping(raw, where)
    _known(spec, _FUNCTION_KEYS, where)
    lang = _string(spec.get("lang"), f"{where}.lang")
    limits = _map(spec.get("limits"), f"{where}.limits")
    requests = _map(spec.get("requests"), f"{where}.requests")
    for key, resources in (("limits", limits), ("requests", requests)):
        _known(resources, _RESOURCE_KEYS, f"{where}.{key}")
    constraints = spec.get("constraints")
    return Function(
        name=name,
        lang="dockerfile" if lang == "Dockerfile" else lang,
        handler=_string(spec.get("handler"), f"{where}.handler"),
        image=_string(spec.get("image"), f"{where}.image"),
        fprocess=_string(spec.get("fprocess"), f"{where}.fprocess"),
        environment=_map(spec.get("environment"), f"{where}.environment"),
        environment_file=_list(spec.get("environment_file"), f"{where}.environment_file", str),
        secrets=_list(spec.get("secrets"), f"{where}.secrets", str),
        labels=_map(spec.get("labels"), f"{where}.labels"),
        annotations=_map(spec.get("annotations"), f"{where}.annotations"),
        limits=limits,
        requests=requests,
        constraints=None
        if constraints is None
        else _list(constraints, f"{where}.constraints", str),
        build_args=_map(spec.get("build_args"), f"{where}.build_args"),
        build_options=_list(spec.get("build_options"), f"{where}.build_options", str),
        build_secrets=_map(spec.get("build_secrets"), f"{where}.build_secrets"),
        readonly_root_filesystem=_bool(spec.get("readonly_root_filesystem"), where),
        skip_build=_bool(spec.get("skip_build"), where),
        namespace=_string(spec.get("namespace"), f"{where}.namespace"),
        platforms=_string(spec.get("platforms"), f"{where}.platforms"),
        registry_auth=_string(spec.get("registry_auth"), f"{where}.registry_auth"),
    )


def read_environment_files(function: Function, root: Path) -> dict[str, str]:
    """The `environment:` maps of the function's environment_file list; later files win."""
    merged: dict[str, str] = {}
    for name in function.environment_file:
        path = root / name
        try:
            raw = yaml.safe_load(path.read_text())
        except OSError as exc:
            raise StackError(f"{function.name}: environment_file {name}: {exc.strerror}") from None
        except yaml.YAMLError:
            raise StackError(f"{function.name}: environment_file {name}: not valid YAML") from None
        where = f"{name}"
        body = _mapping(raw or {}, where)
        _known(body, {"environment"}, where)
        merged.update(_map(body.get("environment"), f"{where}: environment"))
    return merged


def _template(raw: Any, where: str) -> TemplateSource:
    _known(raw, {"name", "source"}, where)
    name = _string(raw.get("name"), f"{where}.name")
    if not name:
        raise StackError(f"{where}: every template needs a name")
    return TemplateSource(name=name, source=_string(raw.get("source"), f"{where}.source"))


def _known(spec: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(str(k) for k in spec if k not in allowed)
    if unknown:
        raise StackError(
            f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})"
        )


def _mapping(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise StackError(f"{where}: expected a mapping, got {_kind(raw)}")
    return raw


def _scalar(value: Any, where: str) -> str:
    """YAML scalars as the text faas-cli (Go yaml into string fields) would see."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise StackError(f"{where}: expected a string, got {_kind(value)}")


def _string(value: Any, where: str) -> str:
    return "" if value is None else _scalar(value, where)


def _map(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    return {str(k): _string(v, f"{where}.{k}") for k, v in _mapping(raw, where).items()}


def _list(raw: Any, where: str, kind: type) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise StackError(f"{where}: expected a list, got {_kind(raw)}")
    if kind is str:
        return [_scalar(item, where) for item in raw]
    for item in raw:
        if not isinstance(item, kind):
            raise StackError(f"{where}: expected a list of mappings, got {_kind(item)}")
    return raw


def _bool(value: Any, where: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise StackError(f"{where}: expected true or false, got {value!r}")
    return value


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", type(None): "nothing"}.get(
        type(value), f"{type(value).__name__} {value!r}"
    )
