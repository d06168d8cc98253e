"""The only module that talks to the network.

Every request names civicmap in its User-Agent, has a timeout, is retried a
bounded number of times with growing waits on 429/502/503/504, connection
errors, timeouts and truncated bodies, and goes through a response cache keyed
by a hash of the request, so a repeated query is answered from disk and
offline mode can answer from what was fetched before.

Overpass gets extra politeness: before a query its ``/api/status`` endpoint is
asked for a free slot (and the wait it announces is honoured), and the
``osm_base`` timestamp of each answer is kept next to the cached body so maps
can print "OSM data as of ...".

A cache entry is two files written atomically, the body first and then a small
JSON "meta" file holding the body's SHA-256. An entry counts only when both are
present and agree, so an interrupted run never leaves a usable half entry.
JSON answers (geocoder, place search) are stored with their SHA-256 too. A
damaged entry is asked for again when online and reported, naming the file
and ``--refresh``, when offline.

Each attempt goes through :func:`civicmap._transport.request_once`: redirects
only to the same host, answers capped in size (``settings.overpass_max_bytes``,
``settings.http_max_bytes``) and one deadline for the whole request
(``settings.overpass_deadline``, ``settings.http_deadline``). Overpass answers
that state an error (JSON ``error``/``remark``, an XML runtime-error remark,
an HTML page) raise :class:`OverpassAnswerError` and are never cached.

One *run* (a command, see :func:`network_run`) remembers what the network
said (issue #30): the first failure to connect to a host at all (no DNS,
refused, unreachable, TLS) marks it unreachable, and every later request to it
fails at once with the same message instead of a retry storm; retries of
"try later" answers (429, 502-504, timeouts in mid-answer) are bounded per run
(``settings.max_retries_per_run``) as well as per request. Every message names
the service that failed (:data:`SERVICES`) and the fix for that service.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import requests

from civicmap import _transport, settings
from civicmap._files import write_bytes_atomic, write_text_atomic
from civicmap._packfiles import PACK_MANIFEST_MAX_BYTES, read_pack_entry
from civicmap._transport import (
    HostUnreachableError,
    PrivateAddressError,
    deadline_error,
    excerpt,
    host_key,
    redact,
    request_once,
)
from civicmap.errors import NetworkError, OfflineError
from civicmap.i18n import N_, _

log = logging.getLogger(__name__)

#: Version of the JSON cache entry layout (``{format, sha256, data}``).
_CACHE_FORMAT = 2

#: HTTP statuses worth retrying: rate limited, gateway timeout, overloaded.
RETRY_STATUSES = frozenset({429, 502, 503, 504})

_OSM_BASE_XML = re.compile(rb'<meta\s[^>]*osm_base="([^"]+)"')
_OSM_BASE_JSON = re.compile(rb'"timestamp_osm_base"\s*:\s*"([^"]+)"')
_REMARK_XML = re.compile(rb"<remark>(.*?)</remark>", re.S)
_REMARK_JSON = re.compile(rb'"remark"\s*:\s*"((?:[^"\\]|\\.)*)"')
_SLOTS_NOW = re.compile(r"(\d+) slots? available now")
_SLOT_AFTER = re.compile(r"Slot available after: \S+, in (-?\d+) seconds?")


class _RetryableError(Exception):
    """One attempt failed in a way another attempt may fix."""


# --- services and runs ----------------------------------------------------------


@dataclass(frozen=True)
class Service:
    """A kind of server civicmap asks: its name and the fix when it fails, for messages."""

    name: str
    fix: str
    #: Where the user writes this server's address: what a redirect to another host
    #: tells them to change (empty: the map file, where the address was written).
    setting: str = ""

    def label(self) -> str:
        return _(self.name)

    def advice(self) -> str:
        return _(self.fix)

    def where(self) -> str:
        return self.setting or _("the map file, where this address is written")


#: Every kind of server civicmap asks, by key (``service=`` of :func:`send`).
SERVICES: dict[str, Service] = {
    "overpass": Service(
        N_("Overpass"),
        N_(
            "try again later or use another Overpass server (--overpass-url / "
            "osm.overpass_url); with no network, run `civicmap fetch MAP.yaml` on a machine "
            "that has it and build from that pack with --offline, or use a local extract "
            "(osm: {file: ...})"
        ),
        "--overpass-url / osm.overpass_url",
    ),
    "gsi-tiles": Service(
        N_("GSI tiles"),
        N_(
            "run `civicmap fetch MAP.yaml` on a machine with the network to store the tiles "
            "in an offline pack, then build from it with --offline; or use basemap.tiles: none"
        ),
        "basemap.tiles",
    ),
    "tiles": Service(
        N_("the background tile server"),
        N_(
            "check the tile URL (basemap.tiles) and the network; or run `civicmap fetch "
            "MAP.yaml` on a machine with the network and build from that pack with "
            "--offline; or use basemap.tiles: none"
        ),
        "basemap.tiles",
    ),
    "geocoder": Service(
        N_("GSI address search"),
        N_(
            "give the rows 緯度 and 経度 columns, or build once with the network (the "
            "answers are kept in the cache, and later builds, --offline too, use them)"
        ),
        "settings.geocoder_url",
    ),
    "place-search": Service(
        N_("place-name search (Nominatim)"),
        N_(
            "use area: {municipality: CODE} or {bbox: [...]} instead, or build once with the "
            "network (the answer is kept in the cache)"
        ),
        "settings.nominatim_url",
    ),
    "http": Service(N_("the server"), N_("check the address and the network, or try again later")),
}


def service(key: str) -> Service:
    return SERVICES.get(key, SERVICES["http"])


@dataclass
class NetworkRun:
    """What one run (a command) knows about the network, shared by all its requests.

    Attributes
    ----------
    offline : bool
        ``--offline``: no request at all in this run, whatever a caller passes.
    allow_private : bool
        ``--allow-private-urls``: URLs from map files may reach loopback and
        private addresses (a group's own server on the local network).
    trusted : tuple of str
        URLs the user named on the command line (``--overpass-url``): their
        servers are trusted like the settings' own.
    retries_left : int or None
        Retries of "try later" answers still allowed in this run (None: no run
        budget, only the per-request ``settings.max_retries``).
    unreachable : dict
        ``host:port`` → (time, message) of hosts no connection could be made to.
    """

    offline: bool = False
    allow_private: bool = False
    trusted: tuple[str, ...] = ()
    retries_left: int | None = None
    unreachable: dict[str, tuple[float, HostUnreachableError]] = field(default_factory=dict)
    told: set[str] = field(default_factory=set)
    lock: Any = field(default_factory=threading.Lock, repr=False)

    def take_retry(self) -> bool:
        """Whether one more retry is allowed in this run (and count it)."""
        with self.lock:
            if self.retries_left is None:
                return True
            if self.retries_left <= 0:
                return False
            self.retries_left -= 1
            return True


_DEFAULT_RUN = NetworkRun()
_RUNS: list[NetworkRun] = []


def current_run() -> NetworkRun:
    """The run requests belong to now (a process-wide default outside :func:`network_run`)."""
    return _RUNS[-1] if _RUNS else _DEFAULT_RUN


@contextlib.contextmanager
def network_run(
    *, offline: bool = False, allow_private: bool = False, trusted: tuple[str, ...] = ()
) -> Iterator[NetworkRun]:
    """One command's network state: unreachable hosts, the retry budget, its switches.

    Why a run and not a parameter: the switches must reach every request a
    command makes (Overpass, street network, tiles, geocoder, area look-up)
    through code that knows nothing of them, and "this host is down" must be
    learnt once for all of them. A nested call joins the outer run. Not
    per-thread: the tile fetcher's threads belong to the run that started them.
    """
    if _RUNS:
        yield _RUNS[-1]
        return
    run = NetworkRun(
        offline=bool(offline),
        allow_private=bool(allow_private),
        trusted=tuple(u for u in trusted if u),
        retries_left=settings.max_retries_per_run,
    )
    _RUNS.append(run)
    try:
        yield run
    finally:
        _RUNS.remove(run)


def warn_once(key: str, message: str) -> None:
    """Log ``message`` as a warning once per run for ``key`` (a service and host)."""
    run = current_run()
    with run.lock:
        if key in run.told:
            return
        run.told.add(key)
    log.warning(message)  # already translated by the caller


def _origin(url: str) -> str:
    return host_key(url)


def private_allowed(url: str, *, from_map: bool) -> bool:
    """Whether ``url`` may reach a loopback or private address.

    Always for the settings' own servers and URLs named on the command line;
    for a URL from a map file (``from_map``) only with ``--allow-private-urls``
    or ``settings.allow_private_urls``.
    """
    run = current_run()
    if not from_map or settings.allow_private_urls or run.allow_private:
        return True
    mine = (settings.overpass_url, settings.geocoder_url, settings.nominatim_url, *run.trusted)
    return _origin(url) in {_origin(u) for u in mine if u}


def shown_host(key: str) -> str:
    """``host:port`` as messages show it: without a default port."""
    host, _sep, port = key.rpartition(":")
    return host if port in ("80", "443", "0") else key


def unreachable_message(exc: HostUnreachableError, svc: Service) -> str:
    host = shown_host(exc.host)
    return _("%(service)s (%(host)s) could not be reached: %(why)s. %(fix)s") % {
        "service": svc.label(),
        "host": host,
        "why": exc.why(),
        "fix": svc.advice()[:1].upper() + svc.advice()[1:],
    }


def known_unreachable(url: str) -> HostUnreachableError | None:
    """The failure that marked ``url``'s host unreachable in this run, if it did."""
    run = current_run()
    with run.lock:
        hit = run.unreachable.get(host_key(url))
        if hit is None:
            return None
        # outside a command (a notebook) a dropped Wi-Fi is not remembered for long
        memory = settings.unreachable_memory if _RUNS else min(60.0, settings.unreachable_memory)
        if time.monotonic() - hit[0] > memory:
            del run.unreachable[host_key(url)]
            return None
        return hit[1]


def _mark_unreachable(exc: HostUnreachableError) -> None:
    run = current_run()
    with run.lock:
        run.unreachable[exc.host] = (time.monotonic(), exc)


def _down(exc: HostUnreachableError, svc: Service) -> HostUnreachableError:
    """``exc`` with the message for ``svc`` (what failed, and the fix)."""
    out = HostUnreachableError(exc.host, exc.kind, exc.detail)
    out.args = (unreachable_message(exc, svc),)
    return out


def probe(url: str, *, service_key: str = "http", from_map: bool = False) -> None:
    """Make sure ``url``'s server can be connected to, without asking it anything.

    Raises
    ------
    HostUnreachableError
        With the message for the service (and the host is marked for the run).
    PrivateAddressError
        A map file's URL at a private address, not allowed.
    OfflineError
        In offline mode.
    """
    svc = service(service_key)
    known = known_unreachable(url)
    if known is not None:
        raise _down(known, svc)
    try:
        _transport.probe(
            url,
            allow_private=private_allowed(url, from_map=from_map),
            timeout=min(settings.http_timeout, 10.0),
        )
    except HostUnreachableError as exc:
        _mark_unreachable(exc)
        raise _down(exc, svc) from None


def cache_key(method: str, url: str, params: dict | None = None) -> str:
    """A stable hash of a request (method, URL and sorted parameters)."""
    blob = json.dumps([method.upper(), url, sorted((params or {}).items())], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _cache_path(key: str) -> Path:
    return Path(settings.cache_folder) / "http" / f"{key}.json"


def _wait(seconds: float) -> None:
    seconds = max(0.0, min(float(seconds), settings.max_wait))
    if seconds:
        log.info(_("waiting %(seconds).1f s before the next request"), {"seconds": seconds})
        time.sleep(seconds)


def _backoff(attempt: int, resp: requests.Response | None = None) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): doubling, or Retry-After if longer."""
    delay = settings.backoff_base * (2**attempt)
    if resp is not None:
        after = resp.headers.get("Retry-After", "")
        if after.strip().isdigit():
            delay = max(delay, float(after))
    return min(delay, settings.max_wait)


def send(
    method: str,
    url: str,
    *,
    params: dict | None = None,
    data: dict | None = None,
    timeout: float | None = None,
    check_body: Any = None,
    before_attempt: Any = None,
    max_bytes: int | None = None,
    deadline: float | None = None,
    service_key: str = "http",
    from_map: bool = False,
    retries: int | None = None,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """Send one request with bounded retries; return the successful response.

    Every answer is read in pieces and stopped past ``max_bytes``; the whole
    request (all attempts and the waits between them) must end within
    ``deadline`` seconds, which a watchdog enforces by shutting the socket
    down, so a server that sends one byte every few seconds cannot hold a
    build. Redirects are followed only to the same host (see
    :func:`civicmap._transport.same_host`): a query is never re-sent to a server the user did not
    name, and internal addresses (169.254.169.254) are never reached.

    A host no connection could be made to is not asked again in this run
    (:func:`network_run`); retries are bounded per request and per run.

    Parameters
    ----------
    method, url : str
        The request.
    params, data : dict, optional
        Query-string and form parameters.
    timeout : float, optional
        Read timeout in seconds (default ``settings.http_timeout``): the
        longest silence between two pieces of the answer.
    check_body : callable, optional
        Called with the body bytes; raise :class:`ValueError` for a body that is
        truncated (retried like a 504), or a :class:`NetworkError` for an
        answer that is an error (raised at once).
    before_attempt : callable, optional
        Called before each attempt (Overpass uses it to wait for a free slot).
    max_bytes : int, optional
        Largest answer accepted (default ``settings.http_max_bytes``).
    deadline : float, optional
        Seconds the whole request may take (default ``settings.http_deadline``).
    service_key : str
        Which :data:`SERVICES` entry the URL is: messages name it and its fix.
    from_map : bool
        The URL comes from a map file: loopback and private addresses are
        refused unless allowed (:func:`private_allowed`).
    retries : int, optional
        Retries of this request (default ``settings.max_retries``).
    headers : dict, optional
        Further request headers (a remote source's conditional GET); a 304 answer is
        returned like a 200, for the caller to keep its copy.

    Raises
    ------
    HostUnreachableError
        No connection could be made (now or earlier in this run); not retried.
    NetworkError
        After the bounded retries; at once on a non-retryable
        HTTP error (400 bad query, 404 wrong URL), a redirect to another host,
        an answer over ``max_bytes``, a refused address or a passed deadline;
        each message names the service, the URL and the fix.
    """
    svc = service(service_key)
    retries = settings.max_retries if retries is None else max(0, int(retries))
    attempts = retries + 1
    limit = settings.http_max_bytes if max_bytes is None else max_bytes
    seconds = settings.http_deadline if deadline is None else deadline
    end = time.monotonic() + seconds
    read_timeout = timeout or settings.http_timeout
    allow_private = private_allowed(url, from_map=from_map)
    run = current_run()
    last = ""
    shown = redact(url)
    tried = 0
    for attempt in range(attempts):
        known = known_unreachable(url)
        if known is not None:
            raise _down(known, svc)
        if before_attempt is not None:
            before_attempt()
            known = known_unreachable(url)
            if known is not None:
                raise _down(known, svc)
        resp = None
        tried += 1
        try:
            resp = request_once(
                method, url, params=params, data=data, read_timeout=read_timeout,
                max_bytes=limit, end=end, deadline=seconds, allow_private=allow_private,
                fix=svc.advice(), moved_fix=svc.where(), headers=headers,
            )  # fmt: skip
            if resp.status_code in RETRY_STATUSES:
                raise _RetryableError(f"HTTP {resp.status_code} {excerpt(resp.reason, 60)}")
            if resp.status_code >= 400:
                detail = _error_detail(resp.content)
                what = {
                    "service": svc.label(),
                    "method": method,
                    "url": shown,
                    "status": f"HTTP {resp.status_code} {excerpt(resp.reason, 60)}",
                    "detail": f" ({detail})" if detail else "",
                }
                if resp.status_code == 400:
                    raise NetworkError(
                        _(
                            "%(method)s %(url)s (%(service)s) failed: %(status)s%(detail)s; check the query"
                        )
                        % what
                    )
                if service_key == "overpass":
                    fix = _("check the URL (settings, map file or --overpass-url)")
                else:
                    fix = svc.advice()
                raise NetworkError(
                    _("%(method)s %(url)s (%(service)s) failed: %(status)s%(detail)s; %(fix)s")
                    % {**what, "fix": fix}
                )
            if check_body is not None:
                try:
                    check_body(resp.content)
                except ValueError as exc:
                    raise _RetryableError(excerpt(str(exc))) from None
            return resp
        except HostUnreachableError as exc:
            _mark_unreachable(exc)
            raise _down(exc, svc) from None
        except PrivateAddressError:
            raise
        except _RetryableError as exc:
            last = str(exc)
        except requests.Timeout:
            last = _("no answer within %(seconds)s s (timeout)") % {"seconds": f"{read_timeout:g}"}
        except requests.exceptions.ChunkedEncodingError:
            last = _("the answer was cut off before its end (truncated)")
        except requests.RequestException as exc:
            last = _("connection failed (%(error)s)") % {"error": type(exc).__name__}
        if attempt + 1 >= attempts or not run.take_retry():
            break
        delay = _backoff(attempt, resp)
        if time.monotonic() + delay >= end:
            raise deadline_error(method, url, seconds, last, fix=svc.advice())
        log.warning(
            _("%(method)s %(url)s (%(service)s): %(last)s; retry %(n)d of %(of)d in %(wait).1f s"),
            {"service": svc.label(), "method": method, "url": shown, "last": last,
             "n": attempt + 1, "of": retries, "wait": delay},
        )  # fmt: skip
        _wait(delay)
    raise NetworkError(
        _(
            "%(method)s %(url)s (%(service)s) failed %(n)d times (last: %(last)s); the server "
            "may be busy: %(fix)s"
        )
        % {
            "service": svc.label(),
            "method": method,
            "url": shown,
            "n": tried,
            "last": last,
            "fix": svc.advice(),
        }
    )


def _error_detail(body: bytes) -> str:
    m = _REMARK_XML.search(body[:20000]) or re.search(
        rb"<p><strong[^>]*>Error</strong>: (.*?)</p>", body[:20000], re.S
    )
    if m:
        return excerpt(m.group(1))
    return ""


_REFRESH: contextvars.ContextVar[bool] = contextvars.ContextVar("civicmap_refresh", default=False)


@contextlib.contextmanager
def refreshing(on: bool = True) -> Iterator[None]:
    """Within this block, requests ignore cached answers and ask the server again.

    Why a context rather than a parameter: ``civicmap build --refresh`` must
    reach every request a build makes (Overpass, the street network, the
    geocoder, place search) without threading a flag through every source.
    New answers replace the cached ones once they have arrived whole.
    Offline packs are not affected: remake one with ``civicmap fetch --overwrite``.
    """
    token = _REFRESH.set(bool(on) or _REFRESH.get())
    try:
        yield
    finally:
        _REFRESH.reset(token)


def refresh_asked() -> bool:
    """Whether this run asked every server again (:func:`refreshing`, ``--refresh``)."""
    return _REFRESH.get()


def is_offline(offline: bool | None = None) -> bool:
    """Whether a request must be answered without the network.

    ``offline`` is what the caller passed down (the CLI's ``--offline``,
    ``build(..., offline=True)``); ``None`` means the caller did not say, and
    then :data:`civicmap.settings.offline` (``CIVICMAP_OFFLINE``) is the
    default for Python users. A run opened with ``offline=True``
    (:func:`network_run`, the CLI's ``--offline``) is offline whatever is passed.
    """
    if current_run().offline:
        return True
    return settings.offline if offline is None else bool(offline)


def _damaged(path: Path, reason: str) -> str:
    return _("the cache entry %(path)s is damaged (%(why)s)") % {"path": path, "why": reason}


def _read_json_entry(path: Path) -> tuple[Any, str]:
    """(data, "") for a whole cache entry, (None, why) for a damaged one."""
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        return None, _damaged(
            path, _("not readable JSON: %(error)s") % {"error": type(exc).__name__}
        )
    if not (isinstance(doc, dict) and doc.get("format") == _CACHE_FORMAT and "data" in doc):
        return None, _damaged(path, _("not a civicmap cache entry, or one of an older version"))
    if _json_digest(doc["data"]) != doc.get("sha256"):
        return None, _damaged(path, _("does not match its checksum"))
    return doc["data"], ""


def _json_digest(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def get_json(
    url: str,
    *,
    params: dict | None = None,
    refresh: bool = False,
    offline: bool | None = None,
    service_key: str = "http",
    what: str = "",
    validate: Any = None,
) -> Any:
    """GET ``url`` and return its JSON body, from the cache when possible.

    ``offline=True`` answers only from the cache; ``None`` takes the default
    :data:`civicmap.settings.offline` (the CLI always passes its choice).

    A cache entry holds the answer with its SHA-256; a damaged entry (cut
    short, edited, from an older version) is fetched again when online and
    reported, naming the file, when offline.

    ``validate`` is called with the parsed answer and raises :class:`ValueError`
    when it is not what the service answers (a proxy's page, a broken server):
    such an answer is an error and is never cached, so the next build asks again.
    ``what`` names the request in messages (an address, a place name).

    Raises
    ------
    OfflineError
        In offline mode when the cache does not hold this request, or holds
        it damaged.
    NetworkError
        When the request fails after the bounded retries, or the answer is not valid.
    """
    svc = service(service_key)
    key = cache_key("GET", url, params)
    path = _cache_path(key)
    damaged = ""
    if settings.use_cache and not (refresh or _REFRESH.get()) and path.exists():
        data, damaged = _read_json_entry(path)
        if not damaged and validate is not None:
            try:
                validate(data)
            except ValueError:
                data, damaged = None, _damaged(path, _("not a valid answer"))
        if not damaged:
            return data
    if is_offline(offline):
        if damaged:
            raise OfflineError(
                _(
                    "offline mode: %(damaged)s; run the build once with the network and "
                    "--refresh (civicmap build MAP.yaml --refresh) to fetch it again, or delete "
                    "the file"
                )
                % {"damaged": damaged}
            )
        if service_key != "http":
            raise OfflineError(
                _(
                    "offline mode: the %(service)s answer for %(what)s is not in the cache, "
                    "and offline nothing is asked: %(fix)s"
                )
                % {"service": svc.label(), "what": what or "?", "fix": svc.advice()}
            )
        raise OfflineError(
            _(
                "offline mode: no cached response for GET %(url)s %(params)s; run once with "
                "the network (or without --offline / CIVICMAP_OFFLINE) to fetch it"
            )
            % {"url": redact(url), "params": params or ""}
        )

    if damaged:
        log.warning(_("%(damaged)s; asking the server again"), {"damaged": damaged})

    def parse(body: bytes) -> None:
        json.loads(body)

    resp = send("GET", url, params=params, check_body=parse, service_key=service_key)
    data = resp.json()
    if validate is not None:
        try:
            validate(data)
        except ValueError as exc:
            raise NetworkError(
                _(
                    "%(service)s answered %(what)s with something else than its answers "
                    "(%(why)s: %(start)s); nothing was cached. %(fix)s"
                )
                % {
                    "service": svc.label(),
                    "what": what or redact(url),
                    "why": excerpt(str(exc), 80),
                    "start": excerpt(resp.content, 60),
                    "fix": svc.advice(),
                }
            ) from None
    if settings.use_cache:
        entry = {"format": _CACHE_FORMAT, "sha256": _json_digest(data), "data": data}
        write_text_atomic(path, json.dumps(entry, ensure_ascii=False), overwrite=True)
    return data


# --- Overpass ---------------------------------------------------------------


@dataclass(frozen=True)
class OverpassResponse:
    """An Overpass answer and where it came from.

    Attributes
    ----------
    body : bytes
        The response body as sent by the server (OSM XML or Overpass JSON).
    osm_base : str
        The server's ``osm_base`` timestamp: how current the OSM data is.
    key : str
        The cache key of the request.
    from_cache : bool
        Whether the answer came from the cache (or a pack) rather than the network.
    from_pack : bool
        Whether the answer came from an offline pack.
    """

    body: bytes
    osm_base: str
    key: str
    from_cache: bool = False
    from_pack: bool = False


def osm_base_of(body: bytes) -> str:
    """The ``osm_base`` timestamp in an Overpass XML or JSON body, or ``""``."""
    head = body[:4096]
    m = _OSM_BASE_XML.search(head) or _OSM_BASE_JSON.search(head)
    return m.group(1).decode("ascii", "replace") if m else ""


def check_overpass_body(body: bytes) -> None:
    """Raise ValueError when an Overpass body is truncated (retryable).

    Overpass streams its answer; a connection cut mid-way leaves XML without
    ``</osm>`` or JSON that does not parse.
    """
    stripped = body.rstrip()
    if stripped.startswith(b"{"):
        try:
            json.loads(stripped)
        except ValueError:
            raise ValueError(_("truncated JSON answer")) from None
    elif not stripped.endswith(b"</osm>"):
        raise ValueError(_("truncated XML answer (no closing </osm>)"))


def overpass_error(body: bytes) -> str:
    """The runtime error Overpass reports inside a 200 answer (``<remark>``), or ``""``."""
    tail = body[-4096:]
    m = _REMARK_XML.search(tail) or _REMARK_JSON.search(tail)
    if not m:
        return ""
    text = m.group(1).decode("utf-8", "replace").strip()
    return text if "error" in text.lower() else ""


class OverpassAnswerError(NetworkError):
    """Overpass answered, but with an error instead of data (never cached, not retried)."""


_HTML_START = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!doctype\s+html|<html|<head|<body)", re.I)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
_TAG = re.compile(r"<[^>]*>")


def _html_text(body: bytes) -> str:
    """The error an HTML page states: Overpass's ``Error:`` line, else its title or text."""
    detail = _error_detail(body)
    if detail:
        return detail
    m = _TITLE.search(body[:20000])
    text = m.group(1).decode("utf-8", "replace") if m else ""
    if not text.strip():
        raw = body[:20000].decode("utf-8", "replace")
        raw = re.sub(r"(?is)<(script|style)[^>]*>.*?</\1>", " ", raw)
        text = _TAG.sub(" ", raw)
    return _one_line(text) or "no text"


def _one_line(text: str, limit: int = 160) -> str:
    return excerpt(text, limit)


def check_overpass_answer(body: bytes) -> None:
    """Refuse an Overpass answer that is an error or cut short.

    Raises
    ------
    OverpassAnswerError
        For an error stated by the server in a 200 answer: ``remark`` or
        ``error`` in JSON, a runtime-error ``<remark>`` in XML, an HTML page
        (a proxy's or Overpass's own error page), a JSON answer of the wrong
        shape, or a body that is neither OSM XML nor JSON. Not retried:
        asking again gets the same answer.
    ValueError
        For an answer cut off before its end (retried).
    """
    head = body[:4096].lstrip()
    if head.startswith((b"{", b"[")):
        try:
            doc = json.loads(body)
        except ValueError:
            raise ValueError(_("truncated JSON answer")) from None
        if not isinstance(doc, dict):
            raise OverpassAnswerError(
                _("the JSON answer is a %(kind)s, not an Overpass answer object")
                % {"kind": type(doc).__name__}
            )
        error = doc.get("error")
        if error:
            raise OverpassAnswerError(_("error: %(error)s") % {"error": _one_line(str(error))})
        remark = str(doc.get("remark") or "")
        if "error" in remark.lower():
            raise OverpassAnswerError(_one_line(remark))
        if not isinstance(doc.get("elements"), list):
            raise OverpassAnswerError(_("the JSON answer has no 'elements' list"))
        return
    if _HTML_START.match(head):
        raise OverpassAnswerError(
            _("an HTML page instead of OSM data: %(text)s") % {"text": _html_text(body)}
        )
    if head.startswith(b"<"):
        error = overpass_error(body)
        if error:
            raise OverpassAnswerError(_one_line(error))
        check_overpass_body(body)
        return
    if not head:
        raise ValueError(_("empty answer"))
    raise OverpassAnswerError(
        _("neither OSM XML nor Overpass JSON: %(start)s")
        % {"start": _one_line(head[:200].decode("utf-8", "replace"), 80)}
    )


def status_url(interpreter_url: str) -> str:
    """The ``/api/status`` URL next to an ``/api/interpreter`` URL."""
    base = interpreter_url.rstrip("/")
    if base.endswith("/interpreter"):
        return base[: -len("interpreter")] + "status"
    return base.rsplit("/", 1)[0] + "/status"


def slot_wait(status_text: str) -> float | None:
    """Seconds until a query slot is free, from an ``/api/status`` text.

    ``0`` when a slot is free now, ``None`` when the text says neither (a
    server without rate limiting, or another format).
    """
    m = _SLOTS_NOW.search(status_text)
    if m and int(m.group(1)) > 0:
        return 0.0
    waits = [max(0, int(w)) for w in _SLOT_AFTER.findall(status_text)]
    if waits:
        return float(min(waits))
    return 0.0 if m else None


def wait_for_slot(interpreter_url: str) -> None:
    """Ask Overpass's ``/api/status`` for a free slot and wait the announced time.

    A server without the endpoint (many private instances) is simply used.
    Waits are capped at ``settings.max_wait``.
    """
    if not settings.overpass_check_status:
        return
    if known_unreachable(interpreter_url) is not None:
        return  # the query itself says so
    url = status_url(interpreter_url)
    try:
        resp = request_once(
            "GET", url, params=None, data=None, read_timeout=min(settings.http_timeout, 10.0),
            max_bytes=64 * 1024, end=time.monotonic() + 15.0, deadline=15.0,
            allow_private=private_allowed(interpreter_url, from_map=True),
        )  # fmt: skip
    except HostUnreachableError as exc:
        _mark_unreachable(exc)  # the query is not sent: the caller reports it once
        return
    except (requests.RequestException, NetworkError) as exc:
        log.debug("%s: no status (%s); sending the query anyway", redact(url), exc)
        return
    if resp.status_code != 200:
        log.debug("%s: HTTP %s; sending the query anyway", url, resp.status_code)
        return
    wait = slot_wait(resp.text)
    if wait:
        log.info(_("Overpass has no free slot; it says to wait %(wait).0f s"), {"wait": wait})
        _wait(wait)


def _overpass_paths(key: str, folder: Path | None = None) -> tuple[Path, Path]:
    base = (folder or Path(settings.cache_folder) / "overpass") / key
    return base.with_suffix(".osm"), base.with_suffix(".json")


def read_entry(key: str, folder: Path | None = None) -> OverpassResponse | None:
    """A complete stored Overpass answer (cache or pack folder), or ``None``.

    An entry whose body is missing or does not match its recorded SHA-256
    (an interrupted write, a hand-edited file) is ignored; see
    :func:`check_entry` for the reason.
    """
    return check_entry(key, folder)[0]


def check_entry(
    key: str, folder: Path | None = None, *, from_pack: bool = False, sha256: str | None = None
) -> tuple[OverpassResponse | None, str]:
    """A stored Overpass answer and, when it cannot be used, why.

    Returns ``(answer, "")`` for a whole entry, ``(None, "")`` when there is
    no entry, and ``(None, reason)`` for a damaged one (body cut short or
    changed, meta file unreadable), the reason naming the file.

    With ``from_pack`` the two files are entries of an offline pack, which
    anyone may have made: each is read with
    :func:`civicmap._packfiles.read_pack_entry` (a regular file inside the
    pack, never a link, a FIFO or a device; size-capped), and the body must
    also match ``sha256``, the checksum the pack manifest records (None: a
    pack from before checksums).

    Raises
    ------
    SourceError
        With ``from_pack``: an entry that is not a plain file inside the pack,
        or is over the size limit.
    """
    body_path, meta_path = _overpass_paths(key, folder)
    if from_pack and folder is not None:
        return _check_pack_entry(key, folder, sha256)
    if not meta_path.exists():
        return None, ""  # never completed: the meta file is written last
    try:
        meta = json.loads(meta_path.read_bytes())
    except (OSError, ValueError) as exc:
        return None, _("%(path)s is damaged (not readable JSON: %(error)s)") % {
            "path": meta_path,
            "error": type(exc).__name__,
        }
    if not isinstance(meta, dict):
        return None, _("%(path)s is damaged (not a checksum record)") % {"path": meta_path}
    try:
        body = body_path.read_bytes()
    except OSError:
        return None, _("%(path)s is missing although %(meta)s records it") % {
            "path": body_path,
            "meta": meta_path.name,
        }
    return _whole_entry(key, body, meta, body_path, from_pack=from_pack)


def _whole_entry(
    key: str, body: bytes, meta: dict, body_path: Path, *, from_pack: bool
) -> tuple[OverpassResponse | None, str]:
    if hashlib.sha256(body).hexdigest() != meta.get("sha256"):
        return None, _("%(path)s is damaged (does not match its checksum)") % {"path": body_path}
    osm_base = meta.get("osm_base", "")
    return OverpassResponse(
        body=body,
        osm_base=osm_base if isinstance(osm_base, str) else "",
        key=key,
        from_cache=True,
        from_pack=from_pack,
    ), ""


def _check_pack_entry(
    key: str, pack: Path, sha256: str | None
) -> tuple[OverpassResponse | None, str]:
    """:func:`check_entry` for an offline pack: every file read as untrusted data."""
    body_path, meta_path = _overpass_paths(key, pack)
    raw = read_pack_entry(pack, meta_path.name, max_bytes=PACK_MANIFEST_MAX_BYTES)
    if raw is None:
        return None, ""
    try:
        meta = json.loads(raw)
    except ValueError as exc:
        return None, _("%(path)s is damaged (not readable JSON: %(error)s)") % {
            "path": meta_path,
            "error": type(exc).__name__,
        }
    if not isinstance(meta, dict):
        return None, _("%(path)s is damaged (not a checksum record)") % {"path": meta_path}
    limit = int(settings.overpass_max_bytes)
    body = read_pack_entry(pack, body_path.name, max_bytes=limit)
    if body is None:
        return None, _("%(path)s is missing although %(meta)s records it") % {
            "path": body_path,
            "meta": meta_path.name,
        }
    if sha256 is not None and hashlib.sha256(body).hexdigest() != sha256:
        return None, _(
            "%(path)s is damaged (does not match the checksum the pack manifest records)"
        ) % {"path": body_path}
    return _whole_entry(key, body, meta, body_path, from_pack=True)


def drop_entry(key: str, folder: Path | None = None) -> None:
    """Remove a cached Overpass answer (one the build could not read), meta file first."""
    body_path, meta_path = _overpass_paths(key, folder)
    for path in (meta_path, body_path):
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning(
                _("%(path)s: could not remove the unusable cache entry (%(error)s)"),
                {"path": path, "error": exc},
            )


def write_entry(
    key: str, response: OverpassResponse, folder: Path | None = None, *, extra: dict | None = None
) -> Path:
    """Store an Overpass answer: body first, then the meta file that makes it count."""
    body_path, meta_path = _overpass_paths(key, folder)
    write_bytes_atomic(body_path, response.body)
    meta = {
        "sha256": hashlib.sha256(response.body).hexdigest(),
        "bytes": len(response.body),
        "osm_base": response.osm_base,
        **(extra or {}),
    }
    write_text_atomic(meta_path, json.dumps(meta, ensure_ascii=False, indent=1, sort_keys=True))
    return body_path


def overpass_key(query: str, url: str) -> str:
    """The cache key of an Overpass query sent to ``url``."""
    return cache_key("POST", url, {"data": query})


def overpass(
    query: str,
    *,
    url: str | None = None,
    refresh: bool = False,
    what: str = "",
    offline: bool | None = None,
) -> OverpassResponse:
    """Run an Overpass QL query; answer from the cache when possible.

    Parameters
    ----------
    query : str
        Overpass QL.
    url : str, optional
        The interpreter endpoint (default ``settings.overpass_url``).
    refresh : bool
        Ignore the cache and ask the server again (the new answer replaces the
        cached one only once it has arrived whole).
    what : str
        What the query is for (``layer childcare``), used in messages.
    offline : bool, optional
        Answer only from the cache, never ask the server; ``None`` takes the
        default :data:`civicmap.settings.offline`. Passed down from the CLI's
        ``--offline`` or ``build(..., offline=True)``, so no global state is
        changed for one run.

    Raises
    ------
    OfflineError
        In offline mode when the cache does not hold the query.
    NetworkError
        When the server keeps failing, or stops the query with a runtime error.
    """
    url = url or settings.overpass_url
    key = overpass_key(query, url)
    label = _(" for %(what)s") % {"what": what} if what else ""
    damaged = ""
    if settings.use_cache and not (refresh or _REFRESH.get()):
        hit, damaged = check_entry(key)
        if hit is not None:
            log.info(
                _("Overpass%(label)s: answered from the cache (OSM data as of %(base)s)"),
                {"label": label, "base": hit.osm_base or "?"},
            )
            return hit
    if is_offline(offline):
        if damaged:
            raise OfflineError(
                _(
                    "offline mode: the cached Overpass answer%(label)s is unusable: %(damaged)s; "
                    "run `civicmap build MAP.yaml --refresh` (or `civicmap fetch MAP.yaml`) "
                    "with the network to fetch it again"
                )
                % {"label": label, "damaged": damaged}
            )
        raise OfflineError(
            _(
                "offline mode: the Overpass answer%(label)s is not in the cache (%(folder)s); "
                "run `civicmap fetch MAP.yaml` with the network first, or build without "
                "--offline / CIVICMAP_OFFLINE"
            )
            % {"label": label, "folder": settings.cache_folder}
        )
    if damaged:
        log.warning(
            _("Overpass%(label)s: %(damaged)s; asking the server again"),
            {"label": label, "damaged": damaged},
        )
    log.info(_("Overpass%(label)s: querying %(url)s"), {"label": label, "url": redact(url)})
    timeout = settings.overpass_http_timeout or settings.overpass_timeout + 15
    deadline = settings.overpass_deadline or settings.overpass_timeout + 120
    try:
        resp = send(
            "POST",
            url,
            data={"data": query},
            timeout=timeout,
            check_body=check_overpass_answer,
            before_attempt=lambda: wait_for_slot(url),
            max_bytes=settings.overpass_max_bytes,
            deadline=deadline,
            service_key="overpass",
            from_map=True,
        )
    except OverpassAnswerError as exc:
        text = str(exc).rstrip(".")
        if re.search(r"timed out|out of memory|ran out of memory", text, re.I):
            fix = _("Make the area smaller, or raise settings.overpass_timeout / overpass_maxsize")
        else:
            fix = _(
                "Check the server address (--overpass-url / osm.overpass_url) and the query, "
                "or try again later or another server"
            )
        raise OverpassAnswerError(
            _(
                "Overpass at %(url)s stopped the query%(label)s: %(text)s. Nothing was cached. %(fix)s"
            )
            % {"url": redact(url), "label": label, "text": text, "fix": fix}
        ) from None
    body = resp.content
    result = OverpassResponse(body=body, osm_base=osm_base_of(body), key=key)
    if settings.use_cache:
        write_entry(
            key,
            result,
            extra={"url": url, "fetched": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")},
        )
    return result


# --- binary GETs (map tiles) --------------------------------------------------


def get_bytes(
    url: str,
    *,
    check_body: Any = None,
    timeout: float | None = None,
    offline: bool | None = None,
    service_key: str = "http",
    from_map: bool = False,
    max_bytes: int | None = None,
    deadline: float | None = None,
    retries: int | None = None,
) -> bytes:
    """GET ``url`` and return its body: user agent, timeout and bounded retries of :func:`send`.

    No response cache here: the caller (``civicmap.render.tiles``) keeps its own
    per-tile disk cache and offline pack, and refuses to call this offline.

    Raises
    ------
    OfflineError
        In offline mode (the caller must answer from its cache or pack).
    HostUnreachableError
        The server cannot be connected to (now, or earlier in this run).
    NetworkError
        When the request fails after the bounded retries, or at once on 404.
    """
    return get_dated(
        url, check_body=check_body, timeout=timeout, offline=offline, service_key=service_key,
        from_map=from_map, max_bytes=max_bytes, deadline=deadline, retries=retries,
    )[0]  # fmt: skip


def get_dated(
    url: str,
    *,
    check_body: Any = None,
    timeout: float | None = None,
    offline: bool | None = None,
    service_key: str = "http",
    from_map: bool = False,
    max_bytes: int | None = None,
    deadline: float | None = None,
    retries: int | None = None,
) -> tuple[bytes, str]:
    """Like :func:`get_bytes`, with the answer's own date: ``(body, "YYYY-MM-DD" or "")``.

    The date is the server's ``Last-Modified`` (when the data was made), else its
    ``Date`` (when it was served), in UTC: what a tile credit prints, the same
    whether the map is built online or from a pack (never our clock).
    """
    if is_offline(offline):
        raise OfflineError(_("offline mode: not fetching GET %(url)s") % {"url": redact(url)})
    resp = send(
        "GET", url, check_body=check_body, timeout=timeout, service_key=service_key,
        from_map=from_map, max_bytes=max_bytes, deadline=deadline, retries=retries,
    )  # fmt: skip
    return resp.content, header_date(resp.headers)


def header_date(headers: Any) -> str:
    """``Last-Modified``, else ``Date``, of an HTTP answer as ``YYYY-MM-DD`` (UTC); ``""``."""
    for name in ("Last-Modified", "Date"):
        try:
            when = parsedate_to_datetime(str(headers.get(name) or ""))
        except (TypeError, ValueError, IndexError):
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return when.astimezone(dt.UTC).strftime("%Y-%m-%d")
    return ""
