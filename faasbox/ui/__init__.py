"""The portal: static files served at /ui/, no build step, no CDN."""

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
