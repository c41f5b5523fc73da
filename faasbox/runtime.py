"""What every request handler may reach: built once by the lifespan in app.py."""

from __future__ import annotations

from dataclasses import dataclass

from faasbox.config import Settings
from faasbox.engine.client import Engine
from faasbox.functions.sync import FunctionsSync
from faasbox.functions.view import FunctionsView
from faasbox.metrics import Metrics


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    network_id: str
    functions: FunctionsView
    functions_sync: FunctionsSync  # to re-read a function at once after changing it
    metrics: Metrics
