"""Least-outstanding balancing over the functions view's replicas, below each one's cap."""

from __future__ import annotations

from collections import Counter

from faasbox.functions.view import Function, Replica
from faasbox.gateway.balancer import Balancer, Route


def _function(*addresses: str, env: dict[str, str] | None = None) -> Function:
    return Function(
        name="fn",
        service_id="s",
        status={"envVars": env} if env else {},
        replicas=len(addresses),
        version=1,
        endpoints=tuple(Replica(f"t{a}", a, True) for a in addresses),
    )


def _route(balancer: Balancer, *addresses: str, env: dict[str, str] | None = None) -> Route:
    balancer.update("fn", _function(*addresses, env=env))
    return balancer.routes["fn"]


def test_ties_rotate_over_every_replica() -> None:
    balancer = Balancer(cap=8, idle_timeout=15)
    route = _route(balancer, "a", "b", "c")
    picks = Counter(balancer.pick(route).address for _ in range(30))  # type: ignore[union-attr]
    assert picks == {"a": 10, "b": 10, "c": 10}


def test_least_outstanding_wins() -> None:
    balancer = Balancer(cap=8, idle_timeout=15)
    route = _route(balancer, "a", "b")
    a, b = route.backends
    a.outstanding = 3
    assert all(balancer.pick(route) is b for _ in range(5))


def test_no_replica_past_its_cap_and_max_inflight_lowers_it() -> None:
    balancer = Balancer(cap=2, idle_timeout=15)
    route = _route(balancer, "a", "b")
    a, b = route.backends
    a.outstanding = 2
    assert balancer.pick(route) is b
    b.outstanding = 2
    assert balancer.pick(route) is None
    route = _route(balancer, "a", env={"max_inflight": "1"})
    assert route.cap == 1
    assert _route(balancer, "a", env={"max_inflight": "50"}).cap == 2
    assert _route(balancer, "a", env={"max_inflight": "many"}).cap == 2


def test_idle_connections_expire_before_the_functions_read_timeout() -> None:
    balancer = Balancer(cap=2, idle_timeout=15)
    assert _route(balancer, "a").idle_timeout == 15
    assert _route(balancer, "a", env={"read_timeout": "10s"}).idle_timeout == 5
    assert _route(balancer, "a", env={"read_timeout": "1m"}).idle_timeout == 15


def test_tried_and_recently_failed_are_avoided() -> None:
    balancer = Balancer(cap=8, idle_timeout=15)
    route = _route(balancer, "a", "b")
    a, b = route.backends
    assert balancer.pick(route, [a]) is b
    assert balancer.pick(route, [a, b]) is None
    b.failed()
    assert all(balancer.pick(route) is a for _ in range(5))
    a.failed()
    assert balancer.pick(route) is not None  # all failed: still try one


def test_update_keeps_surviving_backends_and_reports_changes() -> None:
    balancer = Balancer(cap=8, idle_timeout=15)
    assert balancer.update("fn", _function("a", "b")) == ({"a", "b"}, set())
    route = balancer.routes["fn"]
    a = route.backends[0]
    a.outstanding = 2
    added, gone = balancer.update("fn", _function("a", "c"))
    assert (added, gone) == ({"c"}, {"b"})
    assert balancer.routes["fn"] is route  # waiting calls keep their queue
    assert route.backends[0] is a and a.outstanding == 2
    assert balancer.update("fn", None) == (set(), {"a", "c"})
    assert "fn" not in balancer.routes


def _updating(new: int, old: int) -> Function:
    """A function mid rolling update: `new` ready replicas of the current spec, `old` not."""
    endpoints = tuple(Replica(f"n{i}", f"new{i}", True) for i in range(new)) + tuple(
        Replica(f"o{i}", f"old{i}", False) for i in range(old)
    )
    return Function(
        name="fn", service_id="s", status={}, replicas=new + old, version=2, endpoints=endpoints
    )


def test_an_update_moves_calls_to_the_new_replicas_once_they_are_as_many() -> None:
    balancer = Balancer(cap=8, idle_timeout=15)
    cases = {(0, 1): 1, (1, 1): 1, (1, 3): 4, (2, 3): 5, (2, 2): 2, (3, 2): 3, (2, 0): 2}
    for (new, old), serving in cases.items():
        balancer.update("fn", _updating(new, old))
        addresses = {b.address for b in balancer.routes["fn"].backends}
        assert len(addresses) == serving, (new, old, addresses)
        if serving == new:
            assert all(a.startswith("new") for a in addresses), (new, old, addresses)
