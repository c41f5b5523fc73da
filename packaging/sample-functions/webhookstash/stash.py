"""Store the request body (stdin) in a new file of the stash folder; print its name."""

import os
import sys
import time
import uuid

folder = os.environ.get("STASH_DIR", "/home/app/stash")
name = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:12]}.txt"
# O_EXCL: a name is never reused, even by two replicas sharing the volume.
fd = os.open(os.path.join(folder, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
with os.fdopen(fd, "wb") as out:
    while chunk := sys.stdin.buffer.read(65536):
        out.write(chunk)
sys.stdout.write(name)
