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
  (:class:`_Watch`), which wakes the blocked read in whatever phase it is;
- **destination** (issue #31): a URL from a map file (a custom tile server,
  ``osm.overpass_url``) may not reach a loopback, link-local (169.254.169.254)
  or private address unless the user allows it (``--allow-private-urls``,
  ``settings.allow_private_urls``); the address is checked when resolved and
  again on the connected socket, so DNS cannot swap it in between;
- **connection failures** (issue #30): a failure to connect at all (the name
  does not resolve, the connection is refused or unreachable, TLS fails) is
  raised as :class:`HostUnreachableError`, never retried: the caller marks the host
  down for the rest of the run instead of asking again per tile or per request.

Messages name a URL only through :func:`redact` (no ``user:pass@``, no key or
token in the query) and quote a server's answer only through :func:`excerpt`.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from civicmap import settings
from civicmap.errors import NetworkError
from civicmap.i18n import _

log = logging.getLogger(__name__)

#: Query parameters whose values are never printed (API keys, tokens, signatures).
_SECRET_PARAM = re.compile(r"key|token|secret|pass|sig|auth|credential", re.I)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def redact(url: str, limit: int = 120) -> str:
    """``url`` as messages may show it: no ``user:pass@``, secret query values masked, short.

    A tile URL such as ``https://user:pw@tiles.example/{z}/{x}/{y}.png?key=abc``
    prints as ``https://tiles.example/{z}/{x}/{y}.png?key=***``.
    """
    try:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = host + (f":{parts.port}" if parts.port else "")
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode(
                [(k, "***" if _SECRET_PARAM.search(k) else v) for k, v in pairs], safe="{}/:,*"
            )
        text = urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except ValueError:  # not a URL at all: show its start without anything after an @
        text = str(url).rsplit("@", 1)[-1]
    text = _CONTROL.sub(" ", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def excerpt(text: str | bytes, limit: int = 160) -> str:
    """At most ``limit`` characters of a server's answer, on one line (never a whole body)."""
    if isinstance(text, bytes):
        text = text[: limit * 4].decode("utf-8", "replace")
    text = " ".join(_CONTROL.sub(" ", str(text)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def host_key(url: str) -> str:
    """``host:port`` of ``url``: what one connection failure marks unreachable."""
    parts = urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    except ValueError:
        port = 0
    return f"{(parts.hostname or '').lower()}:{port}"


class HostUnreachableError(NetworkError):
    """No connection could be made to a host (DNS, refused, unreachable, TLS, connect timeout).

    Never retried: :mod:`civicmap._http` marks the host down for the rest of
    the run. ``kind`` is one of ``dns``, ``refused``, ``unreachable``, ``tls``,
    ``timeout``; ``host`` is :func:`host_key` of the URL.
    """

    def __init__(self, host: str, kind: str | None = None, detail: str = ""):
        if kind is None:  # remade from a message alone (a caller adding a hint to it)
            self.host, self.kind, self.detail = "", "unreachable", ""
            super().__init__(host)
            return
        self.host = host
        self.kind = kind
        self.detail = detail
        super().__init__(f"{host}: {self.why()}")

    def why(self) -> str:
        """The failure in words, in the current language."""
        texts = {
            "dns": _("the server name could not be looked up (no network, or no DNS)"),
            "refused": _("the connection was refused"),
            "unreachable": _("the network or the server is unreachable"),
            "tls": _("the secure connection (TLS) failed"),
            "timeout": _("no connection could be made in time"),
        }
        return texts.get(self.kind, texts["unreachable"])


class PrivateAddressError(NetworkError):
    """A URL from a map file points at a loopback, link-local or private address."""


def _classify(exc: BaseException) -> str:
    """The :class:`HostUnreachableError` kind of an exception raised while connecting."""
    seen: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and e not in seen:
        seen.append(e)
        e = e.__cause__ or e.__context__
    for e in seen:
        if isinstance(e, socket.gaierror) or type(e).__name__ == "NameResolutionError":
            return "dns"
    for e in seen:
        if isinstance(e, ssl.SSLError | ssl.CertificateError) or "SSL" in type(e).__name__:
            return "tls"
        if isinstance(e, ConnectionRefusedError):
            return "refused"
        if isinstance(e, TimeoutError | socket.timeout) or "Timeout" in type(e).__name__:
            return "timeout"
    return "unreachable"


def is_public(address: str) -> bool:
    """Whether an IP address is a public one (not loopback, link-local, private, reserved ...)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _private_error(url: str, address: str) -> PrivateAddressError:
    return PrivateAddressError(
        _(
            "%(url)s points at %(address)s, a local or private network address; civicmap does "
            "not send requests there from a map file (it could reach this computer's or the "
            "network's internal services). If you run that server yourself, allow it with "
            "--allow-private-urls"
        )
        % {"url": redact(url), "address": address}
    )


def _uses_proxy(url: str) -> bool:
    """Whether ``requests`` would send ``url`` through a proxy from the environment."""
    from requests.utils import get_environ_proxies

    try:
        return bool(get_environ_proxies(url))
    except Exception:  # an odd proxy setting: treat as none
        return False


def check_destination(url: str, *, allow_private: bool) -> bool:
    """Refuse ``url`` when it resolves to a non-public address and that is not allowed.

    Returns whether the connected socket's peer must be checked too (no proxy
    in between). Raises :class:`HostUnreachableError` when the name cannot be
    looked up (no network), :class:`PrivateAddressError` for a refused address.
    """
    if allow_private:
        return False
    host = (urlsplit(url).hostname or "").strip("[]")
    if _uses_proxy(url):  # the proxy resolves the name; only a literal address is checked here
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if host.lower() in ("localhost", "localhost.localdomain") or host.endswith(
                ".localhost"
            ):
                raise _private_error(url, host) from None
            return False
        if not is_public(host):
            raise _private_error(url, host)
        return False
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise HostUnreachableError(host_key(url), _classify(exc), type(exc).__name__) from None
    for info in infos:
        address = str(info[4][0])
        if not is_public(address):
            raise _private_error(url, address)
    return True


def probe(url: str, *, allow_private: bool, timeout: float) -> None:
    """Connect to ``url``'s server (TCP, and TLS for https) without sending a request.

    Used before a paper map credits its background tiles: with no network the
    name does not resolve and :class:`HostUnreachableError` is raised at once, so
    the map is laid out with its fallback background and no tile credit.
    Behind a proxy nothing is checked (the proxy decides).
    """
    check_peer = check_destination(url, allow_private=allow_private)
    if not check_peer and _uses_proxy(url):
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise HostUnreachableError(host_key(url), _classify(exc), type(exc).__name__) from None
    try:
        if check_peer and not is_public(str(sock.getpeername()[0])):
            raise _private_error(url, str(sock.getpeername()[0]))
        if parts.scheme == "https":
            ctx = ssl.create_default_context()
            try:
                ctx.wrap_socket(sock, server_hostname=host).close()
            except (OSError, ssl.SSLError) as exc:
                raise HostUnreachableError(host_key(url), "tls", type(exc).__name__) from None
    finally:
        sock.close()


def deadline_error(
    method: str, url: str, seconds: float, last: str = "", *, fix: str = ""
) -> NetworkError:
    """The request took longer than its deadline; ``fix`` says what to do for this service."""
    return NetworkError(
        _(
            "%(method)s %(url)s gave no complete answer within %(seconds)s s%(last)s; the "
            "server is too slow or stalled: %(fix)s"
        )
        % {
            "method": method,
            "url": redact(url),
            "seconds": f"{seconds:g}",
            "last": _(" (last: %(last)s)") % {"last": last} if last else "",
            "fix": fix
            or _(
                "try again later or use another server (--overpass-url / osm.overpass_url); "
                "the limit is settings.overpass_deadline (Overpass) or settings.http_deadline"
            ),
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

    def __init__(self, *, check_peer: bool = False, url: str = "") -> None:
        self.sockets: list[socket.socket] = []
        self.fired = False
        self.lock = threading.Lock()
        #: Check the connected socket's address (no proxy between us and the server).
        self.check_peer = check_peer
        self.url = url
        #: The exception a connection attempt raised (the server could not be reached).
        self.connect_error: BaseException | None = None
        #: A connected socket's refused address.
        self.refused: PrivateAddressError | None = None

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
    if watch is None:
        return
    watch.add(sock)
    if watch.check_peer and sock is not None:
        try:
            peer = str(sock.getpeername()[0])
        except OSError:
            return
        if not is_public(peer):  # DNS answered differently this time: refuse before sending
            watch.refused = _private_error(watch.url, peer)
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass
            raise OSError(f"refused address {peer}")


def _connect(conn: Any, connect: Any) -> None:
    """Connect ``conn``; remember why a connection could not be made at all."""
    watch = getattr(_active, "watch", None)
    try:
        connect()
    except BaseException as exc:
        if watch is not None and watch.connect_error is None and not watch.fired:
            watch.connect_error = exc
        raise
    _register(conn.sock)


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    def connect(self) -> None:
        _connect(self, super().connect)


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def connect(self) -> None:
        _connect(self, super().connect)


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
    allow_private: bool = True,
    fix: str = "",
    moved_fix: str = "",
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """One attempt: same-host redirects only, the body read up to ``max_bytes``, cut at ``end``.

    ``headers`` are sent besides the User-Agent (a conditional GET's ``If-None-Match``).

    ``allow_private=False`` (a URL from a map file) refuses loopback, link-local
    and private addresses, checked on the name and on the connected socket.
    ``fix`` is the advice a passed deadline gives (it depends on the service);
    ``moved_fix`` names where the user writes the address (a redirect to another host
    tells them to change it there).

    Raises
    ------
    HostUnreachableError
        No connection could be made at all (not worth a retry in this run).
    PrivateAddressError
        The URL resolves to an address that is not allowed.
    NetworkError
        A redirect to another host, too many redirects, an answer larger than
        ``max_bytes`` or the deadline passed (none of them worth a retry).
    requests.RequestException
        Problems after the connection was made, for the caller's retries.
    """
    remaining = end - time.monotonic()
    if remaining <= 0:
        raise deadline_error(method, url, deadline, fix=fix)
    check_peer = check_destination(url, allow_private=allow_private)
    watch = _Watch(check_peer=check_peer, url=url)
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
                headers={**(headers or {}), "User-Agent": settings.user_agent},
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
                        "the new address is right, use it directly (%(where)s)"
                    )
                    % {
                        "method": method,
                        "url": redact(url),
                        "target": redact(target),
                        "where": moved_fix or _("where this address is written"),
                    }
                )
            hops += 1
            if hops > settings.max_redirects:
                raise NetworkError(
                    _(
                        "%(method)s %(url)s: more than %(n)d redirects "
                        "(settings.max_redirects); use the final address directly"
                    )
                    % {"method": method, "url": redact(url), "n": settings.max_redirects}
                )
            if resp.status_code in (301, 302, 303) and method != "HEAD":
                method, data = "GET", None  # as browsers and requests do
            current, params = target, None
        resp._content = _read_capped(resp, max_bytes, method, url)
        return resp
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError):
        if watch.refused is not None:
            raise watch.refused from None
        if watch.fired:
            raise deadline_error(method, url, deadline, fix=fix) from None
        if watch.connect_error is not None:
            exc = watch.connect_error
            raise HostUnreachableError(
                host_key(current), _classify(exc), type(exc).__name__
            ) from None
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
            % {"method": method, "url": redact(url), "mb": f"{max_bytes / 1e6:g}", "size": size}
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
