"""The preview server, spoken to over real HTTP as a podcast app would."""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.store.preview import (
    ByteRange,
    Limits,
    PreviewServer,
    RangeNotSatisfiable,
    feed_urls,
    main,
    make_server,
    parse_range,
)

AUDIO = bytes(range(256)) * 1000  # 256000 bytes, every offset distinguishable
SECRET = b"outside the root: must never be served"


@dataclass
class Served:
    server: PreviewServer
    root: Path

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def get(
        self, path: str, headers: dict[str, str] | None = None, method: str = "GET"
    ) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.base + path, headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as err:
            with err:
                return err.code, dict(err.headers), err.read()

    def raw(self, path: str) -> tuple[int, bytes]:
        """Send ``path`` exactly as written (no client-side normalisation)."""
        host, port = self.server.server_address[:2]
        conn = http.client.HTTPConnection(str(host), int(port), timeout=10)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()


@contextlib.contextmanager
def running(root: Path, limits: Limits | None = None) -> Iterator[Served]:
    server = make_server(root, "127.0.0.1", 0, limits)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Served(server, root)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    assert not thread.is_alive()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    (tmp_path / "secret.txt").write_bytes(SECRET)
    root = tmp_path / "public"
    (root / "feeds").mkdir(parents=True)
    (root / "media").mkdir()
    (root / "media" / "ep1.mp3").write_bytes(AUDIO)
    (root / "media" / "ep1.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n")
    (root / "media" / "ep1.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHello\n")
    (root / "media" / "ep1.json").write_text('{"schema": "x"}')
    (root / "media" / "cover.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (root / "media" / ".ep2.mp3.tmp").write_bytes(b"half written")
    (root / "feeds" / "show.xml").write_text("<rss version='2.0'/>")
    (root / "other.xml").write_text("<x/>")
    (root / "empty.mp3").write_bytes(b"")

    with running(root) as served:
        yield served


def test_full_get_and_head(served: Served) -> None:
    status, headers, body = served.get("/media/ep1.mp3")
    assert status == 200
    assert body == AUDIO
    assert headers["Content-Length"] == str(len(AUDIO))
    assert headers["Content-Type"] == "audio/mpeg"
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Content-Range" not in headers

    status, head_headers, body = served.get("/media/ep1.mp3", method="HEAD")
    assert status == 200
    assert body == b""
    assert head_headers["Content-Length"] == str(len(AUDIO))
    for name in ("Content-Type", "Accept-Ranges", "Access-Control-Allow-Origin", "ETag"):
        assert head_headers[name] == headers[name]


@pytest.mark.parametrize(
    ("spec", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=10-", 10, len(AUDIO) - 1),
        ("bytes=-5", len(AUDIO) - 5, len(AUDIO) - 1),
        ("bytes=1000-1999", 1000, 1999),
        ("bytes=255990-999999", 255990, len(AUDIO) - 1),  # end past the file is clipped
        ("bytes=-999999", 0, len(AUDIO) - 1),  # suffix longer than the file
    ],
)
def test_ranges(served: Served, spec: str, start: int, end: int) -> None:
    status, headers, body = served.get("/media/ep1.mp3", {"Range": spec})
    assert status == 206
    assert body == AUDIO[start : end + 1]
    assert headers["Content-Range"] == f"bytes {start}-{end}/{len(AUDIO)}"
    assert headers["Content-Length"] == str(end - start + 1)
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["Content-Type"] == "audio/mpeg"

    status, head_headers, body = served.get("/media/ep1.mp3", {"Range": spec}, method="HEAD")
    assert (status, body) == (206, b"")
    assert head_headers["Content-Range"] == headers["Content-Range"]
    assert head_headers["Content-Length"] == headers["Content-Length"]


@pytest.mark.parametrize("spec", ["bytes=256000-", "bytes=300000-300010", "bytes=-0"])
def test_unsatisfiable_range_is_416(served: Served, spec: str) -> None:
    status, headers, body = served.get("/media/ep1.mp3", {"Range": spec})
    assert status == 416
    assert headers["Content-Range"] == f"bytes */{len(AUDIO)}"
    assert body == b""


def test_any_range_of_an_empty_file_is_416(served: Served) -> None:
    status, headers, _ = served.get("/empty.mp3", {"Range": "bytes=-5"})
    assert (status, headers["Content-Range"]) == (416, "bytes */0")


@pytest.mark.parametrize("spec", ["bytes=0-1,5-6", "items=0-9", "bytes=9-2", "bytes=x-"])
def test_ranges_we_may_ignore_send_the_whole_file(served: Served, spec: str) -> None:
    status, _, body = served.get("/media/ep1.mp3", {"Range": spec})
    assert (status, body) == (200, AUDIO)


def test_if_range_with_a_stale_validator_sends_the_whole_file(served: Served) -> None:
    _, headers, _ = served.get("/media/ep1.mp3", method="HEAD")
    fresh = {"Range": "bytes=0-9", "If-Range": headers["ETag"]}
    assert served.get("/media/ep1.mp3", fresh)[0] == 206
    stale = {"Range": "bytes=0-9", "If-Range": '"not-the-etag"'}
    assert served.get("/media/ep1.mp3", stale)[:3:2] == (200, AUDIO)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/media/ep1.vtt", "text/vtt"),
        ("/media/ep1.srt", "application/x-subrip"),
        ("/media/ep1.json", "application/json"),
        ("/media/cover.png", "image/png"),
        ("/feeds/show.xml", "application/rss+xml; charset=utf-8"),
        ("/other.xml", "application/xml"),
    ],
)
def test_content_types(served: Served, path: str, content_type: str) -> None:
    status, headers, body = served.get(path)
    assert status == 200
    assert headers["Content-Type"] == content_type
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert body == (served.root / path.lstrip("/")).read_bytes()


def test_missing_and_hidden_files_are_404(served: Served) -> None:
    assert served.get("/media/nope.mp3")[0] == 404
    assert served.get("/media/.ep2.mp3.tmp")[0] == 404
    assert served.get("/media/ep1.mp3/")[0] == 404
    for encoded in ("/media/%2eep2.mp3.tmp", "/media/%2Eep2.mp3.tmp", "/media/./.ep2.mp3.tmp"):
        status, body = served.raw(encoded)
        assert (status, body.count(b"half written")) == (404, 0), encoded


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/media/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/media/%2e%2e/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "//../secret.txt",
    ],
)
def test_escape_attempts_do_not_leak_outside_root(served: Served, path: str) -> None:
    status, body = served.raw(path)
    assert SECRET not in body
    assert status in (301, 404)


def test_parse_range_directly() -> None:
    assert parse_range("bytes=0-0", 1) == ByteRange(0, 0)
    assert parse_range("Bytes = 2 - 4", 10) == ByteRange(2, 4)
    assert parse_range("bytes=-", 10) is None
    assert parse_range("bytes=0-1,2-3", 10) is None
    assert parse_range("bytes=١-٢", 10) is None  # non-ASCII digits are not digits here
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=10-", 10)


def test_one_keep_alive_connection_serves_many_requests(served: Served) -> None:
    """Players reuse a connection for range after range; every response must be framed."""
    host, port = served.server.server_address[:2]
    conn = http.client.HTTPConnection(str(host), int(port), timeout=10)
    try:
        for headers, status, expected in [
            ({"Range": "bytes=0-9"}, 206, AUDIO[:10]),
            ({"Range": "bytes=999999-"}, 416, b""),
            ({}, 200, AUDIO),
            ({"Range": "bytes=-3"}, 206, AUDIO[-3:]),
        ]:
            conn.request("GET", "/media/ep1.mp3", headers=headers)
            response = conn.getresponse()
            assert (response.status, response.read()) == (status, expected)
            assert not response.will_close
        conn.request("GET", "/media/nope.mp3")
        response = conn.getresponse()
        assert response.status == 404
        response.read()
    finally:
        conn.close()


def test_feed_urls_and_missing_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "b show.xml").write_text("<rss/>")
    (tmp_path / "feeds" / "a.xml").write_text("<rss/>")
    assert feed_urls(tmp_path, "http://127.0.0.1:8000/") == [
        "http://127.0.0.1:8000/feeds/a.xml",
        "http://127.0.0.1:8000/feeds/b%20show.xml",
    ]
    assert main(["--root", str(tmp_path / "nowhere"), "--port", "0"]) == 2
    assert "make publish" in capsys.readouterr().err


# ------------------------------------------------------------ hostile clients
#
# Every test below speaks raw HTTP over a real socket to a server started here,
# then checks the server still answers an ordinary GET.


def assert_still_serving(served: Served) -> None:
    status, _, body = served.get("/media/ep1.mp3")
    assert (status, body) == (200, AUDIO)


def open_socket(served: Served, timeout: float = 5) -> socket.socket:
    host, port = served.server.server_address[:2]
    return socket.create_connection((str(host), int(port)), timeout=timeout)


def raw_exchange(served: Served, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` byte for byte and read one response."""
    with open_socket(served) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock, method=request.split(b" ")[0].decode())
        response.begin()
        return response.status, dict(response.getheaders()), response.read()


def get_request(target: bytes, *headers: bytes) -> bytes:
    return b"\r\n".join([b"GET " + target + b" HTTP/1.1", b"Host: t", *headers, b"", b""])


def wait_until(condition: Callable[[], bool], seconds: float) -> float:
    """Seconds until ``condition`` held; fails the test after ``seconds``."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, "condition never held"
        time.sleep(0.01)
    return time.monotonic() - start


def seconds_until_closed(sock: socket.socket, give_up: float = 5) -> tuple[float, bytes]:
    """Wait for the server to close ``sock``; how long it took and what it sent first."""
    start = time.monotonic()
    received = b""
    sock.settimeout(give_up)
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return time.monotonic() - start, received


@pytest.mark.parametrize(
    "target",
    [
        b"/feeds/%00x",
        b"/feeds/\x00x",  # raw NUL in the request line
        b"/media/ep1.mp3%00.txt",
        b"/media/%01",
        b"/media/ep1%0a.mp3",
        b"/media/\x1bep1.mp3",
        b"/media/%7f",
        b"/feeds/%ed%b0%80",  # a UTF-16 surrogate, which open() cannot encode
        b"/media/%ff.mp3",  # not UTF-8 at all
    ],
)
def test_control_characters_in_the_path_are_400(
    served: Served, target: bytes, capfd: pytest.CaptureFixture[str]
) -> None:
    for method in (b"GET", b"HEAD"):
        request = get_request(target).replace(b"GET", method, 1)
        status, headers, _ = raw_exchange(served, request)
        assert status == 400
        assert headers["Connection"] == "close"
    assert_still_serving(served)
    assert "Traceback" not in capfd.readouterr().err


def test_malformed_ranges_are_answered_on_a_kept_alive_connection(
    served: Served, capfd: pytest.CaptureFixture[str]
) -> None:
    """Ignored (200, the whole file) or 416, per RFC 9110; never a dropped connection."""
    huge = "9" * 5000  # int() refuses over 4300 digits: once a traceback
    host, port = served.server.server_address[:2]
    conn = http.client.HTTPConnection(str(host), int(port), timeout=10)
    try:
        for spec, status, expected in [
            ("bytes=5-2", 200, AUDIO),
            ("bytes=garbage", 200, AUDIO),
            ("bytes=", 200, AUDIO),
            ("=", 200, AUDIO),
            ("bytes=0-1,5-6", 200, AUDIO),
            ("bytes=" + ",".join(["0-0"] * 2000), 200, AUDIO),
            ("bytes=-1-2", 200, AUDIO),
            (f"bytes={huge}-", 416, b""),
            (f"bytes={huge}-{huge}", 416, b""),
            (f"bytes=0-{huge}", 206, AUDIO),
            (f"bytes=-{huge}", 206, AUDIO),
            ("bytes=00000000000000000000000000000000000001-2", 206, AUDIO[1:3]),
            ("bytes=1-2", 206, AUDIO[1:3]),
        ]:
            conn.request("GET", "/media/ep1.mp3", headers={"Range": spec})
            response = conn.getresponse()
            assert (response.status, response.read()) == (status, expected), spec[:40]
            assert not response.will_close, spec[:40]
    finally:
        conn.close()
    assert_still_serving(served)
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize("value", [b"bytes=\x00-5", b"bytes=0-5\x01", b"\xff\xfe=1-2"])
def test_control_characters_in_a_range_header_are_ignored(served: Served, value: bytes) -> None:
    status, _, body = raw_exchange(served, get_request(b"/media/ep1.mp3", b"Range: " + value))
    assert (status, body) == (200, AUDIO)
    assert_still_serving(served)


def test_huge_positions_parse_without_converting_them() -> None:
    huge = "9" * 100_000
    with pytest.raises(RangeNotSatisfiable):
        parse_range(f"bytes={huge}-", 10)
    assert parse_range(f"bytes=3-{huge}", 10) == ByteRange(3, 9)
    assert parse_range(f"bytes=-{huge}", 10) == ByteRange(0, 9)
    assert parse_range(f"bytes=-{'0' * 50}7", 10) == ByteRange(3, 9)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (get_request(b"/" + b"a" * 70_000), 414),  # request line over 64 KiB
        (get_request(b"/media/ep1.mp3", *[b"X-Flood: y"] * 200), 431),  # over 100 headers
        # Each line allowed, but 50 x 4 KiB is over the 96 KiB a head may take.
        (get_request(b"/media/ep1.mp3", *[b"X-Big: " + b"y" * 4096] * 50), 431),
        (get_request(b"/media/ep1.mp3", b"X-Long: " + b"y" * 70_000), 431),  # one header line
    ],
    ids=["long-line", "many-headers", "big-head", "long-header"],
)
def test_oversized_requests_are_answered_cleanly(
    served: Served, request_bytes: bytes, status: int, capfd: pytest.CaptureFixture[str]
) -> None:
    assert raw_exchange(served, request_bytes)[0] == status
    assert_still_serving(served)
    assert "Traceback" not in capfd.readouterr().err


def test_a_silent_connection_is_closed_after_the_idle_timeout(
    served: Served, capfd: pytest.CaptureFixture[str]
) -> None:
    with running(served.root, Limits(idle_timeout=0.5, request_timeout=30)) as quick:
        with open_socket(quick) as silent:
            waited, sent = seconds_until_closed(silent)
        assert sent == b""
        assert 0.4 < waited < 2.5
        wait_until(lambda: quick.server.active_connections == 0, 2)
        assert_still_serving(quick)
    assert "timed out" not in capfd.readouterr().err  # an idle connection is routine


def test_a_request_stopped_midway_is_closed_after_the_idle_timeout(
    served: Served, capfd: pytest.CaptureFixture[str]
) -> None:
    with running(served.root, Limits(idle_timeout=0.5, request_timeout=30)) as quick:
        with open_socket(quick) as stalled:
            stalled.sendall(b"GET /media/ep1.mp3 HTTP/1.1\r\nHost: t\r\n")  # no blank line
            waited, sent = seconds_until_closed(stalled)
        assert sent == b""
        assert 0.4 < waited < 2.5
        assert_still_serving(quick)
    err = capfd.readouterr().err
    assert "Request timed out" in err  # half a request is worth a line in the log
    assert "Traceback" not in err


def test_a_trickled_request_head_is_closed_at_the_request_timeout(
    served: Served, capfd: pytest.CaptureFixture[str]
) -> None:
    """A header byte every 0.2 s never trips a 0.5 s idle timeout; the 1 s head limit does."""
    with running(served.root, Limits(idle_timeout=0.5, request_timeout=1.0)) as quick:
        with open_socket(quick) as slow:
            start = time.monotonic()
            slow.sendall(b"GET /media/ep1.mp3 HTTP/1.1\r\n")
            slow.settimeout(0.2)
            closed = False
            while not closed and time.monotonic() - start < 5:
                try:
                    slow.sendall(b"X")
                    closed = slow.recv(65536) == b""  # the server never answers: EOF or wait
                except TimeoutError:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
            waited = time.monotonic() - start
        assert closed
        assert 0.9 < waited < 2.5
        assert_still_serving(quick)
    assert "Traceback" not in capfd.readouterr().err


def test_a_slow_download_that_keeps_moving_completes(served: Served) -> None:
    """Far longer in all than the idle timeout, and slower than the kernel makes room:
    the client takes about 3 KB every 0.03 s, so a 64 KiB chunk takes half a second
    to leave, over three idle timeouts, yet bytes move all the time. (Written with
    sendall, as the standard library writes, this was cut off after about 200 KB.)"""
    data = bytes(range(256)) * 1536  # 384 KiB
    (served.root / "media" / "slow.mp3").write_bytes(data)
    idle = 0.15
    with running(served.root, Limits(idle_timeout=idle, request_timeout=idle)) as quick:
        host, port = quick.server.server_address[:2]
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            if hasattr(socket, "TCP_MAXSEG"):  # small segments keep the server's buffer small
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1024)
            sock.settimeout(5)
            sock.connect((str(host), int(port)))
            start = time.monotonic()
            sock.sendall(get_request(b"/media/slow.mp3"))
            response = http.client.HTTPResponse(sock)
            response.begin()
            assert response.status == 200
            body = b""
            while chunk := response.read1(4096):
                body += chunk
                time.sleep(0.03)
            took = time.monotonic() - start
        assert body == data
        assert took > 10 * idle
        assert_still_serving(quick)


def test_a_client_that_stops_reading_is_dropped(served: Served) -> None:
    (served.root / "media" / "big.mp3").write_bytes(b"\0" * (8 << 20))
    with running(served.root, Limits(idle_timeout=0.3, request_timeout=0.3)) as quick:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(quick.server.server_address)
            sock.sendall(get_request(b"/media/big.mp3"))
            wait_until(lambda: quick.server.active_connections == 1, 2)
            # Its buffers fill, the server waits a whole idle timeout for room, and gives up.
            assert wait_until(lambda: quick.server.active_connections == 0, 5) > 0.2
        assert_still_serving(quick)


def test_connections_beyond_the_cap_get_503_at_once(served: Served) -> None:
    limits = Limits(idle_timeout=1.0, request_timeout=1.0, max_connections=4)
    with running(served.root, limits) as quick:
        flood = [open_socket(quick) for _ in range(40)]
        try:
            wait_until(lambda: quick.server.active_connections == 4, 2)
            # The other 36 are answered at once, without having sent a byte.
            answered: set[socket.socket] = set()
            deadline = time.monotonic() + 0.5
            while len(answered) < 36 and time.monotonic() < deadline:
                ready, _, _ = select.select([s for s in flood if s not in answered], [], [], 0.1)
                answered.update(ready)
            assert len(answered) == 36
            for sock in answered:
                first = sock.recv(200)
                assert first.startswith(b"HTTP/1.1 503 "), first
                assert b"\r\nRetry-After: 1\r\n" in first
            assert quick.server.active_connections == 4
            start = time.monotonic()
            status, headers, body = raw_exchange(quick, get_request(b"/media/ep1.mp3"))
            assert (status, headers["Retry-After"]) == (503, "1")
            assert b"retry" in body
            assert time.monotonic() - start < 0.5
            # The 4 silent ones are dropped after the idle timeout; then all is well.
            wait_until(lambda: quick.server.active_connections == 0, 3)
            assert_still_serving(quick)
        finally:
            for sock in flood:
                sock.close()
