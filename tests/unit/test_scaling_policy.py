"""The scaling rules as pure functions: OpenFaaS's step arithmetic, the rate alert's clock,
the target rule, and label checking (the same for a deploy and for the scaler)."""

from __future__ import annotations

import pytest

from faasbox.deployment import InvalidRequest, parse_deployment
from faasbox.labels import DEFAULT_ASLEEP, DEFAULT_IDLE, InvalidLabel, ScalePolicy, scale_policy
from faasbox.scaling.policy import Alert, RateAlert, alert_replicas, target_replicas


def test_defaults_are_openfaas_era_a() -> None:
    policy = scale_policy({})
    assert (policy.min, policy.max, policy.factor) == (1, 20, 20)
    assert policy.step == 4
    assert policy.target is None and not policy.zero and policy.idle == DEFAULT_IDLE


def test_labels_are_read() -> None:
    policy = scale_policy(
        {
            "com.openfaas.scale.min": "2",
            "com.openfaas.scale.max": "7",
            "com.openfaas.scale.factor": "50",
            "com.openfaas.scale.zero": "true",
            "com.openfaas.scale.zero-duration": "5s",
            "com.openfaas.scale.target": "3",
        }
    )
    assert policy == ScalePolicy(min=2, max=7, factor=50, target=3, zero=True, idle=5.0)
    assert policy.step == 4  # ceil(7 * 50 / 100)


def test_idle_tiers_are_read() -> None:
    assert scale_policy({}).pause and scale_policy({}).asleep == DEFAULT_ASLEEP
    policy = scale_policy(
        {"com.faasbox.scale.pause": " False", "com.faasbox.scale.zero-duration": "1h30m"}
    )
    assert not policy.pause and policy.asleep == 5400.0


@pytest.mark.parametrize(
    ("labels", "words"),
    [
        ({"com.openfaas.scale.min": "x"}, "whole number"),
        ({"com.openfaas.scale.max": "-1"}, "negative"),
        ({"com.openfaas.scale.min": "+1"}, "whole number"),
        ({"com.openfaas.scale.min": "5", "com.openfaas.scale.max": "2"}, "above"),
        ({"com.openfaas.scale.factor": "101"}, "between 0 and 100"),
        ({"com.openfaas.scale.target": "0"}, "above 0"),
        ({"com.openfaas.scale.target": "lots"}, "above 0"),
        # int() takes these three; the other scaling labels never did.
        ({"com.openfaas.scale.target": "+5"}, "above 0"),
        ({"com.openfaas.scale.target": "1_0"}, "above 0"),
        ({"com.openfaas.scale.target": "\u0663"}, "above 0"),
        ({"com.openfaas.scale.target": "9" * 400}, "at most 1000000"),
        ({"com.openfaas.scale.zero-duration": "soon"}, "zero-duration"),
        ({"com.faasbox.scale.zero-duration": "later"}, "com.faasbox.scale.zero-duration"),
        ({"com.faasbox.scale.pause": "yes"}, "true or false"),
    ],
)
def test_bad_labels_are_refused_alike_by_a_deploy_and_the_scaler(
    labels: dict[str, str], words: str
) -> None:
    with pytest.raises(InvalidLabel, match=words) as read:
        scale_policy(labels)
    with pytest.raises(InvalidRequest, match=words) as deploy:
        parse_deployment({"service": "fn", "image": "img", "labels": labels}, "openfaas-fn")
    assert str(deploy.value) == str(read.value)


def test_a_deploy_starts_with_the_policy_min() -> None:
    labels = {"com.openfaas.scale.min": " 3", "com.openfaas.scale.target": "2"}
    deployment = parse_deployment({"service": "fn", "image": "i", "labels": labels}, "ns")
    assert deployment.min_replicas == scale_policy(labels).min == 3
    assert scale_policy(labels).target == 2


def test_firing_steps_up_to_max() -> None:
    policy = ScalePolicy(min=1, max=20, factor=20)
    assert alert_replicas(True, 1, policy) == 5
    assert alert_replicas(True, 5, policy) == 9
    assert alert_replicas(True, 18, policy) == 20
    assert alert_replicas(True, 20, policy) == 20


def test_resolved_and_zero_factor_go_back_to_min() -> None:
    assert alert_replicas(False, 9, ScalePolicy(min=2, max=20, factor=20)) == 2
    assert alert_replicas(True, 9, ScalePolicy(min=2, max=20, factor=0)) == 2


def test_min_zero_resets_to_one_replica() -> None:
    """Going to zero is the idler's decision, never a side effect of a resolved alert."""
    assert alert_replicas(False, 5, ScalePolicy(min=0, max=5, factor=20)) == 1


def test_pinned() -> None:
    assert ScalePolicy(min=3, max=3, factor=20).pinned
    assert not ScalePolicy(min=1, max=3, factor=20).pinned


def test_target_sizes_for_the_busiest_tick() -> None:
    policy = ScalePolicy(min=1, max=10, factor=20, target=4)
    assert target_replicas([], policy) == 1
    assert target_replicas([0.0, 0.2], policy) == 1
    assert target_replicas([3.0, 9.0, 1.0], policy) == 3
    assert target_replicas([400.0], policy) == 10
    assert target_replicas([8.000000000000002], policy) == 2
    assert target_replicas([8.0], ScalePolicy(min=0, max=10, factor=20, target=4)) == 2


def test_rate_alert_fires_after_hold_and_repeats_each_window() -> None:
    alert = RateAlert(threshold=5, hold=5, repeat=10)
    assert alert.update(7.0, 0.0) is None
    assert alert.update(7.0, 4.9) is None
    assert alert.update(7.0, 5.0) is Alert.FIRING
    assert alert.held_for(5.0) == 5.0
    assert alert.update(7.0, 6.0) is None
    assert alert.update(7.0, 15.0) is Alert.FIRING
    assert alert.update(3.0, 16.0) is Alert.RESOLVED
    assert alert.update(3.0, 17.0) is None
    assert not alert.firing


def test_rate_alert_needs_the_rate_held_without_a_dip() -> None:
    alert = RateAlert(threshold=5, hold=5, repeat=10)
    alert.update(6.0, 0.0)
    assert alert.update(5.0, 3.0) is None  # exactly the threshold is not above it
    assert alert.update(6.0, 4.0) is None
    assert alert.update(6.0, 8.0) is None
    assert alert.update(6.0, 9.0) is Alert.FIRING
