"""Reading a function store catalogue: both OpenFaaS formats, from a file or a URL."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from faasbox.api.store import DEFAULT, CatalogueError, catalogue, parse


def test_the_shipped_catalogue_reads() -> None:
    entries = asyncio.run(catalogue(str(DEFAULT)))["functions"]
    assert [e["name"] for e in entries][:2] == ["echoit", "wordcount"]


def test_the_older_list_format_is_served_in_the_newer_one() -> None:
    old = [{"name": "figlet", "image": "functions/figlet:0.1", "fprocess": "figlet"}]
    (entry,) = parse(json.dumps(old).encode(), "old.json")["functions"]
    assert entry["images"] == {a: "functions/figlet:0.1" for a in ("x86_64", "arm64", "armhf")}
    assert entry["title"] == "figlet"
    assert entry["environment"] == {}


def test_entries_without_a_name_or_an_image_are_left_out() -> None:
    raw = {
        "functions": [
            {"name": "a"},
            {"images": {"x86_64": "x"}},
            "junk",
            {"name": "b", "images": {"x86_64": "b:1"}},
        ]
    }
    assert [e["name"] for e in parse(json.dumps(raw).encode(), "s")["functions"]] == ["b"]


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"{", "store s is not JSON"), (b'{"functions": 3}', "store s has no list of functions")],
)
def test_a_bad_catalogue_is_refused_with_its_name(data: bytes, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        parse(data, "s")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="could not be read"):
        asyncio.run(catalogue(str(tmp_path / "none.json")))


@pytest.fixture
def served() -> Iterator[str]:
    body = json.dumps({"functions": [{"name": "web", "images": {"arm64": "web:1"}}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/store.json":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_catalogue_url_is_fetched(served: str) -> None:
    entries = asyncio.run(catalogue(f"{served}/store.json"))["functions"]
    assert entries[0]["images"] == {"arm64": "web:1"}
    with pytest.raises(CatalogueError, match="answered 404"):
        asyncio.run(catalogue(f"{served}/other.json"))
