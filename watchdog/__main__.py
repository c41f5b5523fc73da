"""Entry point of the watchdog zip application (`python3 fwatchdog.py`).

`-run-healthcheck` is answered before the package is imported: a Dockerfile HEALTHCHECK
runs it every few seconds, and the answer needs nothing but one stat of the lock file.
"""

import os
import sys

if sys.argv[1:] == ["-run-healthcheck"]:
    sys.exit(0 if os.path.exists(os.path.join(os.environ.get("TMPDIR") or "/tmp", ".lock")) else 1)

from fwatchdog.main import main

sys.exit(main(sys.argv))
