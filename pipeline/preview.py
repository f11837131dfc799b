"""`make preview`: serve the local published folder on 127.0.0.1.

A podcast app or browser on the same machine can subscribe to the feeds and play
the episodes exactly as they will be published. Podcast apps and browsers seek
and resume with HTTP Range requests (Apple requires byte-range support from
media servers), so this server honours them:

- ``Accept-Ranges: bytes`` on every file response; one range per request:
  ``bytes=a-b``, ``bytes=a-``, ``bytes=-n`` give 206 with ``Content-Range``;
  a range starting past the end gives 416 with ``Content-Range: bytes */size``.
  Several ranges in one header, a malformed header or a stale ``If-Range``
  are ignored and the whole file is sent (as RFC 9110 allows).
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
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import sys
import urllib.parse
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, AnyStr, BinaryIO

from .errors import InputError, StorycastError

if TYPE_CHECKING:
    import io

    from _typeshed import SupportsRead, SupportsWrite

DEFAULT_ROOT = Path("public")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
CHUNK_SIZE = 64 * 1024

FEED_TYPE = "application/rss+xml; charset=utf-8"
CONTENT_TYPES: dict[str, str] = {
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".mp4": "video/mp4",
    ".vtt": "text/vtt",
    ".srt": "application/x-subrip",
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
    """
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes" or "," in spec:
        return None
    match = _RANGE.fullmatch(spec)
    if match is None:
        return None
    first, last = match.groups()
    if first:
        start = int(first)
        end = int(last) if last else size - 1
        if last and end < start:
            return None  # invalid: RFC 9110 says ignore it
        if start >= size:
            raise RangeNotSatisfiable
        return ByteRange(start, min(end, size - 1))
    if not last:
        return None  # "bytes=-"
    suffix = int(last)
    if suffix == 0 or size == 0:
        raise RangeNotSatisfiable
    return ByteRange(max(size - suffix, 0), size - 1)


class PreviewHandler(SimpleHTTPRequestHandler):
    """Static files with Range support, CORS and podcast content types."""

    protocol_version = "HTTP/1.1"  # keep-alive: players send many range requests
    server_version = "storycast-preview"
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **CONTENT_TYPES}

    # Bytes still to send from the file returned by send_head; None = to its end.
    _remaining: int | None = None

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
        return super().guess_type(path)

    def send_head(self) -> io.BytesIO | BinaryIO | None:
        self._remaining = None
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
        except OSError:
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
        """Copy at most ``self._remaining`` bytes, one bounded chunk at a time."""
        remaining = self._remaining
        try:
            while remaining is None or remaining > 0:
                want = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
                chunk = source.read(want)
                if not chunk:
                    break
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

    def _hidden(self, path: str) -> bool:
        try:
            parts = Path(path).relative_to(self.directory).parts
        except ValueError:
            return True
        return any(part.startswith(".") for part in parts)


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client hung up mid-response; not worth a traceback
        super().handle_error(request, client_address)


class PreviewServer6(PreviewServer):
    address_family = socket.AF_INET6


def make_server(
    root: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
) -> ThreadingHTTPServer:
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
        return server_class((host, port), handler)
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
        prog="python -m pipeline.preview",
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
