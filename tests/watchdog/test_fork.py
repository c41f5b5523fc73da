"""fork mode against the classic watchdog's contract (spec 3.1-3.4), over real sockets."""

from __future__ import annotations

import base64
import json
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.watchdog.conftest import MakeWatchdog
from tests.watchdog.harness import script, stdlib_python, wait_until

GO_LOG = r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} "


def env_of(response: httpx.Response) -> dict[str, str]:
    return dict(line.split("=", 1) for line in response.text.splitlines() if "=" in line)


def test_body_in_stdout_out_with_classic_log_lines(make_watchdog: MakeWatchdog) -> None:
    watchdog = make_watchdog(fprocess="cat")
    response = httpx.post(
        watchdog.url + "/any/path", content=b"hello", headers={"Content-Type": "text/x-greeting"}
    )
    assert response.status_code == 200
    assert response.content == b"hello"
    assert response.headers["content-type"] == "text/x-greeting"
    assert re.fullmatch(r"\d+\.\d{6}", response.headers["x-duration-seconds"])
    wrote = GO_LOG + r"Wrote 5 Bytes - Duration: \d+\.\d{6}s\n"  # logged after the reply
    assert wait_until(lambda: re.search(wrote, watchdog.log()) is not None)
    assert re.search(GO_LOG + r"Forking fprocess\.\n", watchdog.log())


def test_runs_on_oldest_python_without_uvloop(make_watchdog: MakeWatchdog, tmp_path: Path) -> None:
    failing = script(tmp_path, "fail.sh", "echo no\nexit 1\n")
    watchdog = make_watchdog(python=stdlib_python(), fprocess="cat")
    assert httpx.post(watchdog.url, content=b"old").text == "old"
    assert httpx.get(make_watchdog(python=stdlib_python(), fprocess=failing).url).status_code == 500


def test_fprocess_split_on_single_spaces_without_shell(
    make_watchdog: MakeWatchdog, tmp_path: Path
) -> None:
    args = script(tmp_path, "args.sh", 'for a in "$@"; do echo "[$a]"; done\n')
    watchdog = make_watchdog(fprocess=f"{args} a  $HOME 'b c'")
    assert httpx.get(watchdog.url).text == "[a]\n[]\n[$HOME]\n['b]\n[c']\n"


def test_methods(make_watchdog: MakeWatchdog) -> None:
    watchdog = make_watchdog(fprocess="cat")
    with httpx.Client(base_url=watchdog.url) as client:
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            assert client.request(method, "/").status_code == 200
        for method in ("HEAD", "OPTIONS", "TRACE"):
            assert client.request(method, "/").status_code == 405


def test_content_type_setting_wins(make_watchdog: MakeWatchdog) -> None:
    watchdog = make_watchdog(fprocess="cat", content_type="application/json")
    response = httpx.post(watchdog.url, content=b"{}", headers={"Content-Type": "text/plain"})
    assert response.headers["content-type"] == "application/json"


def test_content_type_sniffed_without_request_type(
    make_watchdog: MakeWatchdog, tmp_path: Path
) -> None:
    page = script(tmp_path, "page.sh", "echo '<html><body>hi</body></html>'\n")
    binary = script(tmp_path, "bin.sh", "printf '\\001\\002\\003'\n")
    assert httpx.get(make_watchdog(fprocess=page).url).headers["content-type"] == (
        "text/html; charset=utf-8"
    )
    assert httpx.get(make_watchdog(fprocess=binary).url).headers["content-type"] == (
        "application/octet-stream"
    )
    assert httpx.get(make_watchdog(fprocess="cat").url).headers["content-type"] == (
        "text/plain; charset=utf-8"
    )


def test_cgi_headers_reach_the_child(make_watchdog: MakeWatchdog) -> None:
    watchdog = make_watchdog(fprocess="env", MARKER="kept")
    response = httpx.post(
        watchdog.url + "/fn/sub%20dir?a=1&b=2",
        content=b"12345",
        headers={"X-Call-Id": "call-1", "x-multi-word-header": "v", "Content-Type": "text/csv"},
    )
    env = env_of(response)
    assert env["MARKER"] == "kept"
    assert env["Http_X_Call_Id"] == "call-1"
    assert env["Http_X_Multi_Word_Header"] == "v"
    assert env["Http_Content_Type"] == "text/csv"
    assert "Http_ContentType" not in env
    assert env["Http_Method"] == "POST"
    assert env["Http_ContentLength"] == env["Http_Content_Length"] == "5"
    assert env["Http_Query"] == "a=1&b=2"
    assert env["Http_Path"] == "/fn/sub dir"
    assert env["Http_Host"] == f"127.0.0.1:{watchdog.port}"
    assert "Http_Transfer_Encoding" not in env
    plain = env_of(httpx.get(watchdog.url + "/"))
    assert "Http_Query" not in plain
    assert plain["Http_Content_Length"] == "0"


def test_chunked_request_is_minus_one_with_transfer_encoding(make_watchdog: MakeWatchdog) -> None:
    watchdog = make_watchdog(fprocess="env")
    env = env_of(httpx.post(watchdog.url, content=iter([b"ab", b"cd"])))
    assert env["Http_Content_Length"] == "-1"
    assert env["Http_Transfer_Encoding"] == "chunked"


def test_cgi_headers_only_true_is_true(make_watchdog: MakeWatchdog) -> None:
    watchdog = make_watchdog(fprocess="env", cgi_headers="1")
    env = env_of(httpx.get(watchdog.url, headers={"X-Call-Id": "c"}))
    assert not [name for name in env if name.startswith("Http_")]


def test_marshal_request(make_watchdog: MakeWatchdog) -> None:
    watchdog = make_watchdog(fprocess="cat", marshal_request="true")
    body = bytes(range(256)) * 1000 + b"tail"
    response = httpx.post(watchdog.url, content=body, headers={"X-Call-Id": "m1"})
    document = json.loads(response.content)
    assert base64.b64decode(document["body"]["raw"]) == body
    assert document["header"]["X-Call-Id"] == ["m1"]
    assert list(document["header"]) == sorted(document["header"])


def test_non_zero_exit_is_500_with_combined_output(
    make_watchdog: MakeWatchdog, tmp_path: Path
) -> None:
    failing = script(tmp_path, "fail.sh", "echo out\necho err >&2\nexit 3\n")
    watchdog = make_watchdog(fprocess=failing)
    response = httpx.get(watchdog.url)
    assert response.status_code == 500
    assert response.text == "exit status 3\nout\nerr\n"
    assert "x-duration-seconds" not in response.headers


def test_death_by_signal_worded_as_go_does(make_watchdog: MakeWatchdog, tmp_path: Path) -> None:
    killed = script(tmp_path, "killed.sh", "echo partial\nkill -9 $$\n")
    response = httpx.get(make_watchdog(fprocess=killed).url)
    assert response.status_code == 500
    assert response.text == "signal: killed\npartial\n"


def test_combine_output_false_logs_stderr(make_watchdog: MakeWatchdog, tmp_path: Path) -> None:
    both = script(tmp_path, "both.sh", "echo out\necho 'err line' >&2\n")
    watchdog = make_watchdog(fprocess=both, combine_output="false")
    assert httpx.get(watchdog.url).text == "out\n"
    assert wait_until(lambda: "stderr: err line" in watchdog.log())


def test_write_debug_prints_output_instead_of_byte_count(make_watchdog: MakeWatchdog) -> None:
    watchdog = make_watchdog(fprocess="cat", write_debug="true")
    httpx.post(watchdog.url, content=b"debug-me")
    assert wait_until(lambda: "debug-me" in watchdog.stdout())
    assert "Wrote " not in watchdog.log()
    assert "Forking fprocess." in watchdog.log()


def test_max_inflight_answers_429(make_watchdog: MakeWatchdog, tmp_path: Path) -> None:
    slow = script(tmp_path, "slow.sh", "sleep 1\necho done\n")
    watchdog = make_watchdog(fprocess=slow, max_inflight="1")
    results: list[int] = []
    first = threading.Thread(target=lambda: results.append(httpx.get(watchdog.url).status_code))
    first.start()
    time.sleep(0.3)
    busy = httpx.get(watchdog.url)
    first.join()
    assert busy.status_code == 429
    assert busy.text == "Concurrent request limit exceeded. Max concurrent requests: 1\n"
    assert busy.headers["x-openfaas-internal"] == "faas-middleware"
    assert results == [200]
    assert httpx.get(watchdog.url + "/_/health").status_code == 200


def test_health_and_lock_file(make_watchdog: MakeWatchdog) -> None:
    watchdog = make_watchdog(fprocess="cat")
    assert watchdog.lock.exists()
    assert oct(watchdog.lock.stat().st_mode & 0o777) in ("0o660", "0o640", "0o600", "0o620")
    health = httpx.get(watchdog.url + "/_/health")
    assert (health.status_code, health.text) == (200, "OK")
    assert httpx.post(watchdog.url + "/_/health").status_code == 405
    watchdog.lock.unlink()
    assert httpx.get(watchdog.url + "/_/health").status_code == 503
    assert "Forking" not in watchdog.log()


def test_suppress_lock_means_never_healthy(make_watchdog: MakeWatchdog) -> None:
    watchdog = make_watchdog(fprocess="cat", suppress_lock="true")
    assert not watchdog.lock.exists()
    assert httpx.get(watchdog.url + "/_/health").status_code == 503
    assert httpx.post(watchdog.url, content=b"x").text == "x"


def test_run_healthcheck_flag(make_watchdog: MakeWatchdog) -> None:
    watchdog = make_watchdog(fprocess="cat")
    check = [sys.executable, str(watchdog.app), "-run-healthcheck"]
    assert subprocess.run(check, env=watchdog.env).returncode == 0
    watchdog.lock.unlink()
    assert subprocess.run(check, env=watchdog.env).returncode == 1


def test_keep_alive_pipelining_and_bad_requests(make_watchdog: MakeWatchdog) -> None:
    watchdog = make_watchdog(fprocess="cat")
    with socket.create_connection(("127.0.0.1", watchdog.port)) as sock:
        sock.sendall(
            b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none"
            b"POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\ntwo\r\n0\r\n\r\n"
            b"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.count(b"HTTP/1.1 200 OK") == 3
    assert received.index(b"\r\n\r\none") < received.index(b"\r\n\r\ntwo")
    with socket.create_connection(("127.0.0.1", watchdog.port)) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 400 ")


def test_expect_continue(make_watchdog: MakeWatchdog) -> None:
    watchdog = make_watchdog(fprocess="cat")
    with socket.create_connection(("127.0.0.1", watchdog.port)) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            b"Content-Length: 4\r\nConnection: close\r\n\r\n"
        )
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"data")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 200 OK") and received.endswith(b"\r\n\r\ndata")
