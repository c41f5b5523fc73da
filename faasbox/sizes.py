"""Byte sizes as people write them: one grammar for settings and for memory limits.

Docker's units, all powers of 1024 as Docker reads them (`128m`, `128M`, `128MB` and
`128Mi` are the same 128 MiB; `k`, `m`, `g`, `t`, `p`, each optionally followed by `i`
and/or `b`), with an optional fraction (`1.5g`). Kubernetes' `Mi`/`Gi` spellings are
the same numbers; its lower-case `m` (milli) means nothing for bytes, so `512m` is
Docker's 512 MiB, as OpenFaaS on Swarm reads it. A request body limit, a header limit
and a function's memory limit all read the same way, because people copy one into
the other.
"""

from __future__ import annotations

import re
from decimal import Decimal

# ASCII digits only: \d would also take other scripts' digits.
_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([kmgtp]?)(i?)b?", re.IGNORECASE)
# Docker's byte fields are signed 64-bit integers, and no setting comes near them.
MAX_SIZE = 2**63 - 1


def parse_size(text: str) -> int:
    """Bytes, truncated; ValueError names the text. Decimal, not float: `1` and 400
    zeros is a number too, and must be refused as too large, not overflow."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text[:40]!r} is not a size such as 128M or 1Gi")
    unit = match.group(2).lower()
    power = "kmgtp".index(unit) + 1 if unit else 0
    value = Decimal(match.group(1)) * 1024**power
    if value > MAX_SIZE:
        raise ValueError(f"{text[:40]!r} is too large")
    return int(value)
