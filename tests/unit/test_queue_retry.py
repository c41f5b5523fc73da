"""Retry labels and back-off: what OpenFaaS's names mean in faasbox."""

from __future__ import annotations

from faasbox.queue.retry import (
    DEFAULT_CODES,
    RetryPolicy,
    concurrency_from_labels,
    policy_from_labels,
)


def test_without_labels_status_codes_are_final() -> None:
    policy = policy_from_labels({})
    assert policy == RetryPolicy()
    assert not policy.retries(500)


def test_any_label_opts_in_and_the_rest_take_defaults() -> None:
    policy = policy_from_labels({"com.openfaas.retry.attempts": "3"})
    assert policy.attempts == 3
    assert policy.codes == DEFAULT_CODES
    assert (policy.min_wait, policy.max_wait) == (10.0, 120.0)
    assert policy.retries(502) and not policy.retries(404)


def test_annotations_work_like_labels_and_durations_parse() -> None:
    labels = {
        "com.openfaas.annotations.com.openfaas.retry.codes": "503, 429",
        "com.openfaas.retry.min_wait": "50ms",
        "com.openfaas.retry.max_wait": "2s",
    }
    policy = policy_from_labels(labels)
    assert policy.codes == frozenset({503, 429})
    assert (policy.min_wait, policy.max_wait) == (0.05, 2.0)


def test_bad_values_keep_the_defaults() -> None:
    labels = {
        "com.openfaas.retry.attempts": "-1",
        "com.openfaas.retry.codes": "x,y",
        "com.openfaas.retry.min_wait": "soon",
        "com.openfaas.retry.max_wait": "1ms",  # below min_wait: raised to it
    }
    policy = policy_from_labels(labels)
    assert policy.attempts == 10
    assert policy.codes == DEFAULT_CODES
    assert policy.min_wait == policy.max_wait == 10.0


def test_delay_doubles_within_bounds_and_honours_retry_after() -> None:
    policy = RetryPolicy(min_wait=1.0, max_wait=8.0, on_status=True)
    for retry, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (10, 8.0), (500, 8.0)]:
        for _ in range(50):
            assert ceiling / 2 <= policy.delay(retry, None) <= ceiling
    assert policy.delay(0, "30") == 30.0
    assert policy.delay(0, "999999") == 3600.0
    assert policy.delay(0, "Wed, 21 Oct 2015 07:28:00 GMT") <= 1.0


def test_concurrency_label() -> None:
    assert concurrency_from_labels({}, 1) == 1
    assert concurrency_from_labels({"com.faasbox.async.concurrency": "8"}, 1) == 8
    assert concurrency_from_labels({"com.faasbox.async.concurrency": "0"}, 2) == 2
