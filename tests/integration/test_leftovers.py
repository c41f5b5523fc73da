"""The leftover check that closes every run (tests/conftest.py) sees what a run leaves.

It is only as good as what it can see: a process started by the run and an engine
object named by unique() must both be found, and nothing of another run's."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support.engine import RUN_ENV, docker, run_token, unique
from tests.support.leftovers import engine_objects, marked_processes

pytestmark = pytest.mark.engine


def test_a_process_the_run_started_is_seen_and_another_runs_is_not() -> None:
    ours = subprocess.Popen(["sleep", "60"])
    theirs = subprocess.Popen(["sleep", "60"], env={**os.environ, RUN_ENV: "another"})
    try:
        found = marked_processes(run_token())
        assert ours.pid in found and found[ours.pid] == "sleep 60"
        assert theirs.pid not in found
    finally:
        for process in (ours, theirs):
            process.kill()
            process.wait()
    assert ours.pid not in marked_processes(run_token())


def test_an_engine_object_the_run_named_is_seen(engine_ready: None) -> None:
    network = unique("fbtest-left")
    docker("network", "create", "--driver", "bridge", network)
    try:
        assert ("network", network) in engine_objects(run_token())
    finally:
        docker("network", "rm", network)
    assert ("network", network) not in engine_objects(run_token())
