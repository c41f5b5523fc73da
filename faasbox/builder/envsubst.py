"""Bash-style `${VAR}` substitution for stack files, as faas-cli applies before parsing.

faas-cli substitutes the whole file text, so a variable may stand anywhere (an
image tag, a gateway URL, a label value). Unset variables become empty strings.
`$$` is a literal `$`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from faasbox.builder.errors import StackError

_PATTERN = re.compile(
    r"\$\$"
    r"|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-=+?])(?P<word>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


def substitute(text: str, env: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        if match.group("bare"):
            return env.get(match.group("bare"), "")
        name, op, word = match.group("name"), match.group("op"), match.group("word") or ""
        value = env.get(name)
        if op is None:
            return value or ""
        # With a colon, an empty value counts as unset (bash semantics).
        missing = value is None or (op.startswith(":") and value == "")
        kind = op[-1]
        if kind in "-=":
            return word if missing else value or ""
        if kind == "+":
            return "" if missing else word
        if missing:
            raise StackError(f"${{{name}}}: {word or 'variable is not set'}")
        return value or ""

    return _PATTERN.sub(replace, text)
