"""decodebase64: the bytes a base64 body stands for, or 400 saying why it is not base64."""

import base64
import binascii


def handle(event):
    # Line breaks and spaces are ignored, so the output of `base64` (wrapped) decodes.
    text = b"".join(event.body.split())
    try:
        data = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        return 400, {"Content-Type": "text/plain"}, f"decodebase64: invalid base64 input: {exc}\n"
    return 200, {"Content-Type": "application/octet-stream"}, data
