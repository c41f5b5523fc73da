"""markdown: CommonMark (plus tables and strikethrough) to HTML that is safe to embed.

markdown-it-py with raw HTML turned off escapes every tag written in the body, and
its link check refuses javascript:, vbscript:, file: and non-image data: URLs, so
the output carries no markup but what Markdown itself makes.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).with_name("vendor")))

from markdown_it import MarkdownIt

_renderer = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def handle(event):
    html = _renderer.render(event.body.decode("utf-8", errors="replace"))
    return 200, {"Content-Type": "text/html; charset=utf-8"}, html
