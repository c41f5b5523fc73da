"""Durable async invocations: `/async-function/`, workers, retries, callbacks, dead letters.

A folder of its own rather than part of `gateway/` (see docs/architecture.md): the queue
talks to the invoke path only over HTTP, so either side can change without the other.
"""
