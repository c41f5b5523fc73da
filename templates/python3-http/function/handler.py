calls = 0


def handle(event):
    """Return (status, headers, body); state at module level lives as long as the process."""
    global calls
    calls += 1
    text = event.body.decode(errors="replace")
    return 200, {"Content-Type": "text/plain"}, f"Hello from python3-http: {text}"
