"""The invoke path: ASGI entry, upstream pools, replica balancing, scale-from-zero, async."""
