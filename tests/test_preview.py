"""The preview server, spoken to over real HTTP as a podcast app would."""

from __future__ import annotations

import http.client
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from pipeline.preview import (
    ByteRange,
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
    server: ThreadingHTTPServer
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

    server = make_server(root, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Served(server, root)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    assert not thread.is_alive()


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
