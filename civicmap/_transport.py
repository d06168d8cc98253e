"""One HTTP request, bounded: same-host redirects, a size cap and a hard deadline.

:mod:`civicmap._http` builds retries, caching and Overpass politeness on top of
:func:`request_once`. Each bound answers an attack seen in review (issue #12):

- **redirects** are followed only to the same server (:func:`same_host`), so a
  307 cannot re-send a query to a host the user did not name and a 302 cannot
  reach an internal address such as 169.254.169.254 — the check runs before
  any connection to the new address;
- **size**: the body is read in 64 kB pieces and the request stopped as soon as
  it passes the cap (a ``Content-Length`` above the cap is refused unread);
  the cap counts decompressed bytes;
- **deadline**: read timeouts only bound the silence between two pieces, so a
  server dripping one byte every few seconds could hold a request for hours.
  A timer thread shuts the request's sockets down at the deadline
  (:class:`_Watch`), which wakes the blocked read in whatever phase it is.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from civicmap import settings
from civicmap.errors import NetworkError
from civicmap.i18n import _

log = logging.getLogger(__name__)


def deadline_error(method: str, url: str, seconds: float, last: str = "") -> NetworkError:
    return NetworkError(
        _(
            "%(method)s %(url)s gave no complete answer within %(seconds)s s%(last)s; the "
            "server is too slow or stalled: try again later or use another server "
            "(--overpass-url / osm.overpass_url); the limit is settings.overpass_deadline "
            "(Overpass) or settings.http_deadline"
        )
        % {
            "method": method,
            "url": url,
            "seconds": f"{seconds:g}",
            "last": _(" (last: %(last)s)") % {"last": last} if last else "",
        }
    )


def same_host(url: str, target: str) -> bool:
    """Whether a redirect from ``url`` to ``target`` stays on the same server.

    Same host name and port with the same scheme, or the same host moving
    from http to https on the default ports (a common, harmless upgrade).
    """
    a, b = urlsplit(url), urlsplit(target)
    if not b.hostname or (a.hostname or "").lower() != b.hostname.lower():
        return False
    default = {"http": 80, "https": 443}
    try:
        pa, pb = a.port or default.get(a.scheme), b.port or default.get(b.scheme)
    except ValueError:  # a port that is not a number
        return False
    if a.scheme == b.scheme:
        return pa == pb
    return (a.scheme, b.scheme) == ("http", "https") and (pa, pb) == (80, 443)


class _Watch:
    """The sockets of one attempt, shut down when its deadline passes.

    A read timeout only bounds the silence between two pieces of an answer;
    shutting the socket down from a timer thread wakes the blocked read at
    once, whichever phase (headers or body) it is in.
    """

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []
        self.fired = False
        self.lock = threading.Lock()

    def add(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self.lock:
            self.sockets.append(sock)
            fired = self.fired
        if fired:
            self._shut(sock)

    def fire(self) -> None:
        with self.lock:
            self.fired = True
            socks = list(self.sockets)
        for sock in socks:
            self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        try:  # at the fd level, also for a TLS socket
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass


_active = threading.local()


def _register(sock: socket.socket | None) -> None:
    watch = getattr(_active, "watch", None)
    if watch is not None:
        watch.add(sock)


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _register(self.sock)


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _register(self.sock)


class _WatchedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    """A requests adapter whose connections report their sockets to the current watch."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }


def request_once(
    method: str,
    url: str,
    *,
    params: dict | None,
    data: dict | None,
    read_timeout: float,
    max_bytes: int,
    end: float,
    deadline: float,
) -> requests.Response:
    """One attempt: same-host redirects only, the body read up to ``max_bytes``, cut at ``end``.

    Raises
    ------
    NetworkError
        A redirect to another host, too many redirects, an answer larger than
        ``max_bytes`` or the deadline passed (none of them worth a retry).
    requests.RequestException
        Connection problems, for the caller's retries.
    """
    remaining = end - time.monotonic()
    if remaining <= 0:
        raise deadline_error(method, url, deadline)
    watch = _Watch()
    timer = threading.Timer(remaining, watch.fire)
    timer.daemon = True
    _active.watch = watch
    timer.start()
    session = requests.Session()
    adapter = _WatchedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    current, hops = url, 0
    try:
        while True:
            resp = session.request(
                method,
                current,
                params=params,
                data=data,
                headers={"User-Agent": settings.user_agent},
                timeout=(min(settings.http_timeout, 30.0), read_timeout),
                allow_redirects=False,
                stream=True,
            )
            if not resp.is_redirect:
                break
            target = urljoin(resp.url, resp.headers.get("Location", ""))
            resp.close()
            if not same_host(current, target):
                raise NetworkError(
                    _(
                        "%(method)s %(url)s: the server redirected to another host "
                        "(%(target)s); civicmap follows redirects only on the same server. If "
                        "the new address is right, use it directly (--overpass-url / "
                        "osm.overpass_url / settings)"
                    )
                    % {"method": method, "url": url, "target": _short_url(target)}
                )
            hops += 1
            if hops > settings.max_redirects:
                raise NetworkError(
                    _(
                        "%(method)s %(url)s: more than %(n)d redirects "
                        "(settings.max_redirects); use the final address directly"
                    )
                    % {"method": method, "url": url, "n": settings.max_redirects}
                )
            if resp.status_code in (301, 302, 303) and method != "HEAD":
                method, data = "GET", None  # as browsers and requests do
            current, params = target, None
        resp._content = _read_capped(resp, max_bytes, method, url)
        return resp
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError):
        if watch.fired:
            raise deadline_error(method, url, deadline) from None
        raise
    finally:
        timer.cancel()
        _active.watch = None
        session.close()


def _read_capped(resp: requests.Response, max_bytes: int, method: str, url: str) -> bytes:
    """The body of ``resp``, read in pieces; stop as soon as it passes ``max_bytes``."""

    def too_big(size: str) -> NetworkError:
        resp.close()
        return NetworkError(
            _(
                "%(method)s %(url)s: the answer is larger than %(mb)s MB (%(size)s); make the "
                "map's area smaller or split it, or raise settings.overpass_max_bytes "
                "(Overpass) / settings.http_max_bytes if you trust the server"
            )
            % {"method": method, "url": url, "mb": f"{max_bytes / 1e6:g}", "size": size}
        )

    announced = resp.headers.get("Content-Length", "")
    if announced.isdigit() and int(announced) > max_bytes:
        raise too_big(_("%(mb)s MB announced") % {"mb": f"{int(announced) / 1e6:.1f}"})
    parts: list[bytes] = []
    total = 0
    for chunk in resp.iter_content(chunk_size=64 * 1024):
        total += len(chunk)
        if total > max_bytes:
            raise too_big("stopped reading there")
        parts.append(chunk)
    return b"".join(parts)


def _short_url(url: str, limit: int = 120) -> str:
    return url if len(url) <= limit else url[: limit - 1] + "…"
