"""`make preview`: serve the local published folder on 127.0.0.1.

A podcast app or browser on the same machine can subscribe to the feeds and play
the episodes exactly as they will be published. Podcast apps and browsers seek
and resume with HTTP Range requests (Apple requires byte-range support from
media servers), so this server honours them:

- ``Accept-Ranges: bytes`` on every file response; one range per request:
  ``bytes=a-b``, ``bytes=a-``, ``bytes=-n`` give 206 with ``Content-Range``;
  a range starting past the end gives 416 with ``Content-Range: bytes */size``.
  Several ranges in one header, a malformed header (``bytes=5-2``, garbage,
  another unit) or a stale ``If-Range`` are ignored and the whole file is sent
  with 200 (see :func:`parse_range` for why not 400). Positions of any length
  are read safely: a thousand-digit position is simply past the end.
- HEAD sends exactly the headers GET would, with no body.
- Files are streamed in bounded chunks, never read whole into memory.
- ``Access-Control-Allow-Origin: *``, because web players fetch transcripts
  and chapters cross-origin.
- Content types match what the publish stage gives the same files in object
  storage: feeds (``feeds/*.xml``) are ``application/rss+xml; charset=utf-8``,
  other ``.xml`` is ``application/xml``.
- ``Cache-Control: no-cache``, so a re-published feed is seen on reload.
- Paths stay inside the root (``SimpleHTTPRequestHandler.translate_path``
  drops ``..``); hidden files (a store's half-written ``.name.tmp``) are 404.
  A path with a control character (NUL included) or bytes that are not UTF-8,
  raw or percent-encoded, is 400: no published name has them.

It listens on 127.0.0.1, but whatever connects is bounded (:class:`Limits`,
numbers in :mod:`pipeline.defaults`):

- a connection that sends or accepts nothing for ``idle_timeout`` seconds is
  closed, so a socket opened and left silent, or an abandoned download, frees
  its thread; a slow download that keeps moving is never cut off, because the
  limit applies to each wait, not to the whole response;
- a request's line and headers must arrive in full within ``request_timeout``
  seconds and ``max_head_bytes`` bytes: a client trickling a header byte every
  few seconds is closed, and too many or too long headers are answered 431 (a
  request line over 64 KiB, 414);
- at most ``max_connections`` connections are served at once; any more are
  answered ``503 Service Unavailable`` with ``Retry-After: 1`` at once and
  closed, so the server stays free to answer everyone else.
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import re
import socket
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, AnyStr, BinaryIO

from pipeline import defaults
from pipeline.errors import InputError, StorycastError
from pipeline.records import FEED_TYPE, ROLES

if TYPE_CHECKING:
    import io

    from _typeshed import SupportsRead, SupportsWrite

DEFAULT_ROOT = Path("public")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
CHUNK_SIZE = 64 * 1024

# What a file is served as: a published episode file as its role says (records.ROLES, the
# same types the store gives it), a feed as a feed, and by suffix the other kinds an app or
# a browser may ask the preview for.
CONTENT_TYPES: dict[str, str] = {
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".mp4": "video/mp4",
    ".json": "application/json",
    ".xml": "application/xml",
    ".rss": FEED_TYPE,
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}

_RANGE = re.compile(r"\s*(\d*)\s*-\s*(\d*)\s*", re.ASCII)
# Byte positions are read as numbers only up to this many digits; a longer one is
# past the end of any file. (int() of over 4300 digits raises ValueError, which
# used to escape as a traceback and a dropped connection.)
_MAX_DIGITS = 18
_PAST_ANY_END = 10**_MAX_DIGITS

# What no published path holds: C0 control characters (NUL included), DEL, and lone
# surrogates, which is what percent-encoded bytes that are not UTF-8 decode to.
# open() raises ValueError on NUL and UnicodeEncodeError on a surrogate, so they are
# answered 400 before any file is looked up.
_BAD_PATH = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


@dataclass(frozen=True)
class Limits:
    """What one client may take of the server (see the module docstring)."""

    idle_timeout: float = defaults.PREVIEW_IDLE_TIMEOUT
    request_timeout: float = defaults.PREVIEW_REQUEST_TIMEOUT
    max_head_bytes: int = defaults.PREVIEW_MAX_HEAD_BYTES
    max_connections: int = defaults.PREVIEW_MAX_CONNECTIONS


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


class RangeNotSatisfiable(Exception):
    """The Range header is well formed but selects no byte of the file."""


def parse_range(header: str, size: int) -> ByteRange | None:
    """The single byte range a Range header asks of a ``size``-byte file.

    None means "ignore the header and send the whole file": another unit,
    several ranges, or a malformed header. Raises RangeNotSatisfiable when
    the range lies wholly past the end (or asks for the last 0 bytes).

    Why ignore rather than answer 400: RFC 9110 section 14.2 says a server MAY
    ignore Range, MUST ignore a unit it does not know, and MAY ignore or reject
    an invalid ranges-specifier (``bytes=5-2``, garbage) or many ranges. 400 is
    not among its answers for these, and 416 means "valid but past the end".
    The whole file with 200 is always a correct answer, and a player whose
    header we do not understand still plays; a 400 would leave it with nothing.
    Several ranges would need a multipart/byteranges body, which no podcast app
    asks for, and ignoring them cannot be turned into a large response (the
    whole file is the most any request gets).
    Positions longer than 18 digits are past the end of any file: as a first
    position that is 416, as a last one it is clipped to the end.
    """
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes" or "," in spec:
        return None
    match = _RANGE.fullmatch(spec)
    if match is None:
        return None
    first, last = match.groups()
    if first:
        start = _position(first)
        end = _position(last) if last else size - 1
        if last and end < start:
            return None  # invalid: RFC 9110 says ignore it
        if start >= size:
            raise RangeNotSatisfiable
        return ByteRange(start, min(end, size - 1))
    if not last:
        return None  # "bytes=-"
    suffix = _position(last)
    if suffix == 0 or size == 0:
        raise RangeNotSatisfiable
    return ByteRange(max(size - suffix, 0), size - 1)


def _position(digits: str) -> int:
    digits = digits.lstrip("0")
    return _PAST_ANY_END if len(digits) > _MAX_DIGITS else int(digits or "0")


def _unsent(sock: socket.socket) -> int | None:
    """Bytes the kernel still holds for the peer (Linux SIOCOUTQ), or None if unknown."""
    try:
        import fcntl
        import termios

        raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    except (ImportError, AttributeError, OSError):
        return None
    return int.from_bytes(raw, sys.byteorder)


class _HeadTooLarge(http.client.HTTPException):
    """The request line and headers ran past ``Limits.max_head_bytes``.

    An HTTPException, so ``parse_request`` answers it 431 as it does too many headers.
    """


class _RequestReader(io.RawIOBase):
    """The reading side of a connection: every wait is bounded by the idle timeout,
    and while a request's head is awaited, by its deadline and byte budget too."""

    def __init__(self, sock: socket.socket, idle_timeout: float) -> None:
        super().__init__()
        self._sock = sock
        self._idle = idle_timeout
        self._deadline: float | None = None
        self._budget: int | None = None
        self._max_head = 0

    def readable(self) -> bool:
        return True

    def expect_head(self, seconds: float, max_bytes: int) -> None:
        self._deadline = time.monotonic() + seconds
        self._budget = self._max_head = max_bytes

    def awaiting_first_byte(self) -> bool:
        """Between requests: nothing of the next one has come yet."""
        return self._budget is not None and self._budget == self._max_head

    def head_received(self) -> None:
        self._deadline = self._budget = None
        self._sock.settimeout(self._idle)  # for the response's writes, too

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        wait = self._idle
        if self._deadline is not None:
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the request line and headers did not arrive in time")
            wait = min(wait, left)
        if self._budget is not None:
            if self._budget <= 0:
                raise _HeadTooLarge("the request line and headers are too long")
            view = view[: self._budget]
        self._sock.settimeout(wait)
        received = self._sock.recv_into(view)
        if self._budget is not None:
            self._budget -= received
        return received


class PreviewHandler(SimpleHTTPRequestHandler):
    """Static files with Range support, CORS and podcast content types."""

    protocol_version = "HTTP/1.1"  # keep-alive: players send many range requests
    server_version = "storycast-preview"
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **CONTENT_TYPES}

    # Bytes still to send from the file returned by send_head; None = to its end.
    _remaining: int | None = None
    _reader: _RequestReader
    limits: Limits

    def setup(self) -> None:
        self.limits = getattr(self.server, "limits", Limits())
        super().setup()
        self.connection.settimeout(self.limits.idle_timeout)
        self.rfile.close()  # the plain socket file setup() made; ours bounds every read
        self._reader = _RequestReader(self.connection, self.limits.idle_timeout)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        # The wait for the next request on a kept-alive connection counts too: a
        # client that goes quiet is closed after the idle timeout (the base class
        # catches the TimeoutError, logs it and closes).
        self._reader.expect_head(self.limits.request_timeout, self.limits.max_head_bytes)
        try:
            super().handle_one_request()
        except _HeadTooLarge as exc:  # parse_request answers it; this is the fallback
            self.close_connection = True
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, str(exc))

    def parse_request(self) -> bool:
        try:
            return super().parse_request()
        finally:
            self._reader.head_received()

    def log_error(self, format: str, *args: Any) -> None:
        if format.startswith("Request timed out") and self._reader.awaiting_first_byte():
            return  # a kept-alive connection left idle: closing it is routine
        super().log_error(format, *args)

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header(
            "Access-Control-Expose-Headers", "Accept-Ranges, Content-Length, Content-Range"
        )
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def do_OPTIONS(self) -> None:  # CORS preflight, e.g. for a Range header
        self.send_response(HTTPStatus.NO_CONTENT)
        self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Range, If-Range")
        self.send_header("Access-Control-Max-Age", "86400")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        p = Path(path)
        if p.suffix.lower() == ".xml" and p.parent == Path(self.directory, "feeds"):
            return FEED_TYPE
        name = p.name.lower()  # the longest role suffix first: .chapters.json before .json
        for role in sorted(ROLES.values(), key=lambda r: -len(r.suffix)):
            if name.endswith(role.suffix):
                return role.content_type
        return super().guess_type(path)

    def send_head(self) -> io.BytesIO | BinaryIO | None:
        self._remaining = None
        if self._bad_path():
            self.send_error(
                HTTPStatus.BAD_REQUEST,
                "Bad path",
                "The path holds a control character or bytes that are not UTF-8.",
            )
            return None
        path = self.translate_path(self.path)
        if self._hidden(path):
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        if os.path.isdir(path):
            if not urllib.parse.urlsplit(self.path).path.endswith("/"):
                return super().send_head()  # redirect to add the slash
            for index in ("index.html", "index.htm"):
                if os.path.isfile(os.path.join(path, index)):
                    path = os.path.join(path, index)
                    break
            else:
                return self.list_directory(path)
        if path.endswith("/"):
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        try:
            f = open(path, "rb")  # closed by do_GET / do_HEAD
        except (OSError, ValueError):  # ValueError: what _bad_path missed, never a traceback
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        try:
            return self._send_file_head(f, path)
        except BaseException:
            f.close()
            raise

    def _send_file_head(self, f: BinaryIO, path: str) -> BinaryIO | None:
        st = os.fstat(f.fileno())
        size = st.st_size
        last_modified = self.date_time_string(int(st.st_mtime))
        etag = f'"{st.st_mtime_ns:x}-{size:x}"'

        byte_range: ByteRange | None = None
        header = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if header is not None and (if_range is None or if_range.strip() in (etag, last_modified)):
            try:
                byte_range = parse_range(header, size)
            except RangeNotSatisfiable:
                f.close()
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None

        if byte_range is None:
            self.send_response(HTTPStatus.OK)
            start, length = 0, size
        else:
            self.send_response(HTTPStatus.PARTIAL_CONTENT)
            self.send_header("Content-Range", byte_range.content_range(size))
            start, length = byte_range.start, byte_range.length
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", last_modified)
        self.send_header("ETag", etag)
        self.end_headers()
        f.seek(start)
        self._remaining = length
        return f

    def copyfile(self, source: SupportsRead[AnyStr], outputfile: SupportsWrite[AnyStr]) -> None:
        """Copy at most ``self._remaining`` bytes, one bounded chunk at a time.

        Written to the socket with ``send`` rather than ``sendall``: each send
        waits at most the idle timeout for the client to make room, so a slow
        download that keeps moving is never cut off, while one whose client has
        stopped reading is (``sendall``'s timeout covers the whole chunk).
        """
        remaining = self._remaining
        try:
            while remaining is None or remaining > 0:
                want = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
                chunk = source.read(want)
                if not chunk:
                    break
                if outputfile is self.wfile and isinstance(chunk, bytes):
                    self._send(memoryview(chunk))
                else:
                    outputfile.write(chunk)
                if remaining is not None:
                    remaining -= len(chunk)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True  # the player moved on (seek, skip): normal
            return
        if remaining:
            # The file shrank while we sent it: the response is short, so end
            # the connection rather than let the client misread the next one.
            self.close_connection = True

    def _send(self, data: memoryview) -> None:
        """Send it all, as long as the client keeps taking bytes.

        A send waits for room in the kernel's buffer, and the kernel makes room
        only once the client has taken a third of it: on loopback that can be a
        megabyte. So a send that times out is forgiven if the bytes still queued
        for the client went down meanwhile; only a client that took nothing for a
        whole idle timeout is dropped.
        """
        queued = _unsent(self.connection)
        while data:
            try:
                data = data[self.connection.send(data) :]
            except TimeoutError:
                now = _unsent(self.connection)
                if queued is None or now is None or now >= queued:
                    raise  # nothing taken for a whole idle timeout
                queued = now
            else:
                queued = _unsent(self.connection)

    def _bad_path(self) -> bool:
        target = self.path.split("?", 1)[0].split("#", 1)[0]
        try:
            decoded = urllib.parse.unquote(target, errors="surrogatepass")
        except UnicodeDecodeError:
            decoded = "\udcff"  # not UTF-8 even with surrogates allowed
        return bool(_BAD_PATH.search(self.path) or _BAD_PATH.search(decoded))

    def _hidden(self, path: str) -> bool:
        try:
            parts = Path(path).relative_to(self.directory).parts
        except ValueError:
            return True
        return any(part.startswith(".") for part in parts)


_BUSY_BODY = b"The preview server is serving as many connections as it allows; retry shortly.\n"
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Retry-After: 1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    + f"Content-Length: {len(_BUSY_BODY)}\r\n".encode()
    + b"Cache-Control: no-store\r\n"
    b"Connection: close\r\n"
    b"\r\n" + _BUSY_BODY
)


class PreviewServer(ThreadingHTTPServer):
    """One thread per connection, at most ``limits.max_connections`` of them."""

    daemon_threads = True
    request_queue_size = 64  # a burst of connections waits to be accepted (or refused)

    def __init__(
        self,
        server_address: tuple[str, int],
        handler: Any,
        limits: Limits | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self._lock = threading.Lock()
        self._active = 0
        super().__init__(server_address, handler)

    @property
    def active_connections(self) -> int:
        with self._lock:
            return self._active

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            full = self._active >= self.limits.max_connections
            if not full:
                self._active += 1
        if full:
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)  # starts the thread
        except BaseException:
            self._release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release()

    def _release(self) -> None:
        with self._lock:
            self._active -= 1

    def _refuse(self, request: socket.socket) -> None:
        """503 and close, on the accepting thread and without ever waiting on the client."""
        try:
            request.setblocking(False)
            try:
                request.recv(65536)  # read what came, so closing is a FIN, not a reset
            except (BlockingIOError, InterruptedError):
                pass
            request.send(_BUSY)  # a fresh socket's empty buffer takes it whole
        except OSError:
            pass  # gone already
        self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client hung up mid-response; not worth a traceback
        super().handle_error(request, client_address)


class PreviewServer6(PreviewServer):
    address_family = socket.AF_INET6


def make_server(
    root: Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    limits: Limits | None = None,
) -> PreviewServer:
    """A ready, not yet running, server for ``root`` (port 0 picks a free port)."""
    root = root.resolve()
    if not root.is_dir():
        raise InputError.at(
            root,
            "is not a folder, so there is nothing to preview.",
            "Run `make publish` first, or pass the published folder with --root.",
        )
    handler = partial(PreviewHandler, directory=str(root))
    server_class = PreviewServer6 if ":" in host else PreviewServer
    try:
        return server_class((host, port), handler, limits)
    except OSError as exc:
        raise StorycastError.at(
            None,
            f"cannot listen on {host} port {port}: {exc.strerror or exc}.",
            "Choose another port with --port, or stop the program that is using it.",
        ) from exc


def base_url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    if isinstance(host, bytes):
        host = host.decode()
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def feed_urls(root: Path, url: str) -> list[str]:
    feeds = root / "feeds"
    return [url + "feeds/" + urllib.parse.quote(p.name) for p in sorted(feeds.glob("*.xml"))]


def serve(root: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve ``root`` until Ctrl+C, after printing its URL and its feeds' URLs."""
    server = make_server(root, host, port)
    with server:
        url = base_url(server)
        print(f"Serving {root} at {url}")
        feeds = feed_urls(root, url)
        for feed in feeds:
            print(f"  feed: {feed}")
        if not feeds:
            print("  no feeds yet under feeds/ (run `make publish` first)")
        print("Press Ctrl+C to stop.", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("\nStopped.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.store.preview",
        description="Serve the published folder with Range support for podcast apps.",
    )
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="folder to serve")
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    args = parser.parse_args(argv)
    try:
        serve(args.root, args.host, args.port)
    except StorycastError as exc:
        print(f"storycast preview: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
