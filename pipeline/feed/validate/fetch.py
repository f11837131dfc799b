"""Fetching a feed or its artwork: http(s) only, within a time limit from connecting to
the last byte; and reading a local feed file only if it is an ordinary file.
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import stat
import time
import urllib.error
import urllib.request
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from pipeline import defaults
from pipeline.errors import Problem
from pipeline.feed.validate.report import FeedReadError, _is_http_url


class _TimeUp(TimeoutError):
    """A fetch's time limit ran out (rather than one read timing out)."""


def _wait(timeout: float, deadline: float) -> float:
    """How long the next connect or read may wait: ``timeout``, but never past ``deadline``."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise _TimeUp("the time limit ran out")
    return min(timeout, left)


class _DeadlineReader(io.RawIOBase):
    """A response's socket, read with each wait bounded by :func:`_wait`.

    Every read of the status line, the headers and the body comes through here,
    so a server that sends a byte every few seconds runs into the deadline.
    """

    def __init__(self, raw: Any, sock: socket.socket, timeout: float, deadline: float) -> None:
        super().__init__()
        self._raw, self._sock, self._timeout, self._deadline = raw, sock, timeout, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        self._sock.settimeout(_wait(self._timeout, self._deadline))
        received: int | None = self._raw.readinto(buffer)
        return received

    def close(self) -> None:
        if not self.closed:
            self._raw.close()  # lets the socket close
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock: Any, *args: Any, timeout: float, deadline: float, **kw: Any) -> None:
        super().__init__(sock, *args, **kw)
        raw = self.fp.detach()  # the socket's file, which keeps the socket open until closed
        self.fp = io.BufferedReader(_DeadlineReader(raw, sock, timeout, deadline))


class _DeadlineHTTPConnection(http.client.HTTPConnection):
    """Connects by the deadline and reads its responses through :class:`_DeadlineReader`."""

    def __init__(self, *args: Any, deadline: float, **kw: Any) -> None:
        super().__init__(*args, **kw)
        given = self.timeout
        self._read_timeout = (
            float(given) if isinstance(given, int | float) else defaults.FEED_FETCH_TIMEOUT
        )
        self._deadline = deadline
        self.response_class = partial(  # type: ignore[assignment]
            _DeadlineResponse, timeout=self._read_timeout, deadline=deadline
        )

    def connect(self) -> None:
        # The TCP connect and, for https, the whole TLS handshake wait at most this.
        self.timeout = _wait(self._read_timeout, self._deadline)
        super().connect()


class _DeadlineHTTPSConnection(_DeadlineHTTPConnection, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: float) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = partial(_DeadlineHTTPConnection, deadline=self._deadline)
        return self.do_open(connection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: float) -> None:
        super().__init__()
        self._deadline = deadline
        self._tls = ssl.create_default_context()  # certificates and host names checked

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = partial(_DeadlineHTTPSConnection, deadline=self._deadline)
        return self.do_open(connection, req, context=self._tls)


class _RedirectRefused(urllib.error.URLError):
    """A redirect to something other than an http(s) URL."""


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http(s) URLs only (urllib's own follows ftp: too)."""

    max_redirections = 5

    def http_error_302(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any
    ) -> Any:
        location = headers.get("location") or headers.get("uri")
        if location:
            try:
                target = urljoin(req.full_url, location.strip())
            except ValueError:
                target = location
            if not _is_http_url(target):
                fp.close()
                raise _RedirectRefused(target)
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        if not _is_http_url(newurl):
            raise _RedirectRefused(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener(deadline: float) -> urllib.request.OpenerDirector:
    """urllib with http(s) only: no file:, ftp: or data: handler to reach, ever."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.UnknownHandler(),
        _HTTPHandler(deadline),
        _HTTPSHandler(deadline),
        urllib.request.HTTPDefaultErrorHandler(),
        _HttpOnlyRedirects(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def fetch_url(
    url: str,
    *,
    timeout: float = defaults.FEED_FETCH_TIMEOUT,
    time_limit: float = defaults.FEED_FETCH_TIME_LIMIT,
    deadline: float | None = None,
    max_bytes: int = defaults.FEED_FETCH_MAX_BYTES,
) -> bytes:
    """The body at an http(s) URL, at most ``max_bytes``; raises :class:`FeedReadError`.

    ``timeout`` bounds each wait (connecting, each read); ``time_limit`` the
    whole fetch, redirects included; ``deadline`` (a ``time.monotonic()`` value,
    the command's) can end it sooner. Only http(s) is fetched, and only http(s)
    redirects are followed.
    """
    if not _is_http_url(url):
        raise FeedReadError(Problem(None, f"{url}: only http and https URLs can be fetched."))
    started = time.monotonic()
    until = started + time_limit if deadline is None else min(started + time_limit, deadline)
    too_big = Problem(None, f"{url} is larger than {max_bytes} bytes; not read.", "Check the URL.")
    out_of_time = Problem(
        None,
        f"{url}: gave up after {max(until - started, 0):.1f} s, the time limit: the server had "
        "not sent its whole answer by then (it is too slow, or sends a trickle of bytes).",
        "Try again later, or allow more time with --time-limit SECONDS.",
    )
    try:
        request = urllib.request.Request(
            url,
            headers={
                "User-Agent": defaults.FEED_FETCH_USER_AGENT,
                "Accept": "application/rss+xml, application/xml;q=0.9, */*;q=0.5",
            },
        )
        _wait(timeout, until)
        with _opener(until).open(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FeedReadError(too_big)
            body: bytes = response.read(max_bytes + 1)
    except _RedirectRefused as exc:
        raise FeedReadError(
            Problem(
                None,
                f"{url}: redirected to {str(exc.reason)[:200]!r}, which is not an http(s) URL; "
                "not followed.",
            )
        ) from exc
    except urllib.error.HTTPError as exc:
        raise FeedReadError(
            Problem(None, f"{url}: the server answered {exc.code} {exc.reason}.")
        ) from exc
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, _TimeUp) or time.monotonic() >= until:
            raise FeedReadError(out_of_time) from exc
        raise FeedReadError(Problem(None, f"{url}: could not be fetched ({reason}).")) from exc
    if len(body) > max_bytes:
        raise FeedReadError(too_big)
    return body


def _read_regular_file(path: Path, max_bytes: int) -> bytes:
    """A regular file's bytes, at most ``max_bytes``: never a pipe, device or folder,
    which could block or never end; raises :class:`FeedReadError`."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise FeedReadError(
                Problem(path, "is not a regular file (a folder, pipe or device); not read.")
            )
        if st.st_size > max_bytes:
            raise FeedReadError(
                Problem(path, f"is {st.st_size} bytes, larger than {max_bytes}; not read.")
            )
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise FeedReadError(
            Problem(path, f"cannot be read: {exc.strerror or exc}.", "Check the path.")
        ) from exc
    if len(data) > max_bytes:
        raise FeedReadError(Problem(path, f"grew past {max_bytes} bytes while read; not read."))
    return data
