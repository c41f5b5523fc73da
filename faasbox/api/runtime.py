"""What every /system handler starts with: the Runtime, and whether the engine answers.

Every api/ module needs these two; they live apart from any one resource's handlers
so that no handler module imports another.
"""

from __future__ import annotations

from starlette.requests import Request

from faasbox.engine.errors import EngineUnavailable
from faasbox.runtime import Runtime


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def require_engine(rt: Runtime) -> None:
    """Reads come from the view, which is stale while the engine is away: say so."""
    if not rt.functions.engine_up:
        raise EngineUnavailable("Docker Engine is not reachable; retrying in the background")
