"""What every request handler may reach: built once by the lifespan in app.py."""

from __future__ import annotations

from dataclasses import dataclass

from faasbox.config import Settings
from faasbox.engine.client import Engine
from faasbox.functions import FunctionsView
from faasbox.metrics import Metrics


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    network_id: str
    functions: FunctionsView
    metrics: Metrics
