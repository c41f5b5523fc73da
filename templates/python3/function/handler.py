def handle(req):
    """Return the response for one request; `req` is the body as a string."""
    return f"Hello from python3: {req}"
