"""Read-modify-write of a Swarm service spec.

Swarm rejects an update made against a stale version ("update out of sequence"),
which happens whenever the scaler, a secret rotation and a user touch the same
service at once; re-reading and re-applying the change is the documented cure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faasbox.engine.client import ApiError, Engine

_ATTEMPTS = 5


async def rewrite(
    engine: Engine,
    service_id: str,
    change: Callable[[dict[str, Any]], None],
    *,
    headers: dict[str, str] | None = None,
) -> None:
    """Apply `change` to the current spec and post it; ApiError when Docker refuses."""
    for attempt in range(_ATTEMPTS):
        service = await engine.call("GET", f"services/{service_id}")
        spec = service["Spec"]
        change(spec)
        params: dict[str, Any] = {"version": service["Version"]["Index"]}
        if not headers:
            params["registryAuthFrom"] = "spec"
        try:
            await engine.call(
                "POST", f"services/{service_id}/update", params=params, body=spec, headers=headers
            )
            return
        except ApiError as exc:
            if "out of sequence" not in exc.message or attempt == _ATTEMPTS - 1:
                raise
