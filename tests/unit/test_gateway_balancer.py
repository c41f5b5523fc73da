"""Least-outstanding balancing over the functions view's replicas."""

from __future__ import annotations

from collections import Counter

from faasbox.functions import Function, Replica
from faasbox.gateway.balancer import Balancer


def _function(*addresses: str) -> Function:
    return Function(
        name="fn",
        service_id="s",
        status={},
        replicas=len(addresses),
        version=1,
        endpoints=tuple(Replica(f"t{a}", a, True) for a in addresses),
    )


def test_ties_rotate_over_every_replica() -> None:
    balancer = Balancer()
    balancer.update("fn", _function("a", "b", "c"))
    backends = balancer.backends("fn")
    picks = Counter(balancer.pick(backends).address for _ in range(30))  # type: ignore[union-attr]
    assert picks == {"a": 10, "b": 10, "c": 10}


def test_least_outstanding_wins() -> None:
    balancer = Balancer()
    balancer.update("fn", _function("a", "b"))
    a, b = balancer.backends("fn")
    a.outstanding = 3
    assert all(balancer.pick((a, b)) is b for _ in range(5))


def test_tried_and_recently_failed_are_avoided() -> None:
    balancer = Balancer()
    balancer.update("fn", _function("a", "b"))
    a, b = balancer.backends("fn")
    assert balancer.pick((a, b), [a]) is b
    assert balancer.pick((a, b), [a, b]) is None
    b.failed()
    assert all(balancer.pick((a, b)) is a for _ in range(5))
    a.failed()
    assert balancer.pick((a, b)) is not None  # all failed: still try one


def test_update_keeps_surviving_backends_and_reports_changes() -> None:
    balancer = Balancer()
    assert balancer.update("fn", _function("a", "b")) == ({"a", "b"}, set())
    a = balancer.backends("fn")[0]
    a.outstanding = 2
    added, gone = balancer.update("fn", _function("a", "c"))
    assert (added, gone) == ({"c"}, {"b"})
    assert balancer.backends("fn")[0] is a and a.outstanding == 2
    assert balancer.update("fn", None) == (set(), {"a", "c"})
    assert balancer.backends("fn") == ()
