"""Fork-mode entry point: the watchdog runs this once per request, body on stdin."""

import sys

from function import handler

if __name__ == "__main__":
    result = handler.handle(sys.stdin.read())
    if result is not None:
        sys.stdout.write(str(result))
