"""/system/info and /system/namespaces."""

from __future__ import annotations

import platform

from starlette.requests import Request
from starlette.responses import Response

from faasbox import __version__
from faasbox.api.errors import JSONResponse
from faasbox.api.runtime import runtime
from faasbox.version import commit

# OpenFaaS names for `uname -m`, as faas-cli prints them.
_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


def arch() -> str:
    machine = platform.machine()
    return _ARCH.get(machine, "armhf" if machine.startswith("arm") else machine)


async def info(request: Request) -> Response:
    """The OpenFaaS info object; `network` is faasbox's own addition, for the portal."""
    version = {"sha": commit(), "release": __version__}
    return JSONResponse(
        {
            "provider": {"provider": "faasbox", "orchestration": "swarm", "version": version},
            "version": {"commit_message": "", **version},
            "arch": arch(),
            "network": runtime(request).settings.network,
        }
    )


async def namespaces(request: Request) -> Response:
    return JSONResponse([runtime(request).settings.namespace])
