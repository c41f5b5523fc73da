"""hubstats: how many repositories a Docker Hub user or organisation has.

The body is the name. Docker Hub is asked with a deadline (name resolution
included), so a box without network gets a clear 502 in seconds, never a hang.
"""

import json
import re
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as Deadline

HUB = "https://hub.docker.com/v2/repositories/{}/?page_size=1"
DEADLINE = 5.0
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{1,254}")
_pool = ThreadPoolExecutor(max_workers=4)


def _count(name):
    with urllib.request.urlopen(HUB.format(name), timeout=DEADLINE) as answer:
        return int(json.load(answer)["count"])


def handle(event):
    name = event.body.decode("utf-8", errors="replace").strip().lower()
    if not _NAME.fullmatch(name):
        return 400, {"Content-Type": "text/plain"}, "hubstats: send a Docker Hub user name\n"
    try:
        count = _pool.submit(_count, name).result(timeout=DEADLINE)
    except Deadline:
        reason = f"no answer in {DEADLINE:.0f} s"
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return 404, {"Content-Type": "text/plain"}, f"hubstats: no Docker Hub user {name}\n"
        reason = f"HTTP {exc.code}"
    except (OSError, ValueError, KeyError) as exc:
        reason = str(getattr(exc, "reason", exc))
    else:
        answer = f"{name} has {count} repositories on Docker Hub\n"
        return 200, {"Content-Type": "text/plain"}, answer
    return 502, {"Content-Type": "text/plain"}, f"hubstats: cannot reach Docker Hub: {reason}\n"
