"""/system/alert: AlertManager's webhook, so a Prometheus + AlertManager set-up written for
OpenFaaS scales faasbox unchanged.

As in OpenFaaS, only `alerts[].status` and `alerts[].labels.function_name` matter, and
one webhook may carry alerts for several functions (AlertManager groups them). The
decisions are the in-process rule's: firing adds a step, resolved returns to min.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from faasbox.api.errors import decode, error
from faasbox.api.runtime import runtime
from faasbox.deployment import InvalidRequest, split_name
from faasbox.engine.errors import EngineError
from faasbox.labels import InvalidLabel, scale_policy
from faasbox.scaling import Scaling
from faasbox.scaling.policy import alert_replicas

log = logging.getLogger("faasbox.api")


async def alert(request: Request) -> Response:
    rt = runtime(request)
    scaling: Scaling = request.app.state.scaling
    body = await decode(request)
    alerts = body.get("alerts") if isinstance(body, dict) else None
    if not isinstance(alerts, list) or not all(isinstance(a, dict) for a in alerts):
        raise InvalidRequest("Unable to parse alert, bad format: expected an alerts list")
    failures = []
    for index, item in enumerate(alerts):
        name = _function_of(item, rt.settings.namespace)
        function = rt.functions.get(name) if name else None
        if function is None:
            continue  # not about a function of ours (e.g. a service_down alert)
        try:
            policy = scale_policy(function.labels)
        except InvalidLabel as exc:
            log.warning("[alert] %s not scaled: %s", function.name, exc)
            continue
        firing = item.get("status") == "firing"
        if not firing and function.replicas == 0:
            continue  # asleep: a resolved alert must not wake it
        wanted = alert_replicas(firing, function.replicas, policy)
        state = "firing" if firing else "resolved"
        alertname = (item.get("labels") or {}).get("alertname", "alert")
        try:
            await scaling.scaler.set(
                function.name, wanted, f"alert-{state}", f"AlertManager {alertname} {state}"
            )
        except EngineError as exc:  # ApiError included
            failures.append(f"[{index}] {exc}")
    if failures:
        return error(500, "\n".join(failures))
    return Response(status_code=200)


def _function_of(item: dict[str, Any], namespace: str) -> str:
    labels = item.get("labels")
    raw = labels.get("function_name") if isinstance(labels, dict) else None
    if not isinstance(raw, str) or not raw:
        return ""
    try:
        return split_name(raw, namespace)
    except InvalidRequest:
        return ""  # another namespace: not ours
