"""After a takedown, what listeners can still fetch: each removed file's public address
(``base_url`` + key) asked for as a podcast app would (HEAD, no credentials). Storage read
back empty says nothing of a CDN or other cache in front of it, which may keep serving a
copy until its own copy expires (media are published with a day's Cache-Control); the
producer is told which addresses to purge there."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

from pipeline import defaults
from pipeline.publish.manifest import public_url
from pipeline.records import Show


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a redirect is an answer of its own, not the file


def still_served(show: Show, keys: list[str]) -> tuple[dict[str, str], bool]:
    """Of ``keys`` (gone from storage), the public addresses that still answer with a file:
    address -> what answered. And whether they could be asked at all: an address that
    cannot be reached (no server there, as for a local folder's placeholder ``base_url``)
    stops the looking, and nothing is said of the rest."""
    if not show.base_url.startswith(("http://", "https://")) or not keys:
        return {}, False
    opener = urllib.request.build_opener(_NoRedirect)
    deadline = time.monotonic() + defaults.TAKEDOWN_SERVED_SECONDS
    found: dict[str, str] = {}
    for key in keys:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        url = public_url(show, key)
        request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "storycast"})
        try:
            with opener.open(request, timeout=min(left, defaults.TAKEDOWN_SERVED_TIMEOUT)) as r:
                if 200 <= r.status < 300:
                    found[url] = f"HTTP {r.status}" + (
                        f", from a cache ({r.headers['Age']} s old)" if r.headers.get("Age") else ""
                    )
        except urllib.error.HTTPError:
            continue  # 404, 403, 410, a redirect: not the file
        except (OSError, ValueError):
            return found, bool(found)  # nothing answers there: it cannot be checked
    return found, True
