"""Addresses → approximate points, through the GSI address search (or another geocoder).

Only used when a layer asks for it (``geocode: true``): a geocoded point is an
estimate of the address, not the door, so every result is flagged
``approximate`` and maps mark it. Requests go through :mod:`civicmap._http`,
which caches them, so a second build asks nothing of the server.
"""

from __future__ import annotations

import logging
import unicodedata

from civicmap import _http, settings
from civicmap._transport import HostUnreachableError
from civicmap.errors import CivicMapError
from civicmap.i18n import _

log = logging.getLogger(__name__)


def normalise_address(address: str) -> str:
    """NFKC and single spaces, so the same address is asked (and cached) once."""
    return " ".join(unicodedata.normalize("NFKC", str(address)).split())


def check_answer(data: object) -> None:
    """Raise ValueError unless ``data`` is an address-search answer (a list of point features).

    Why: an answer that is not one (a proxy's JSON, a broken server's ``{}``)
    must be an error and never cached, or every later build, offline too,
    would repeat it.
    """
    if not isinstance(data, list):
        raise ValueError(_("not a list of matches"))
    for hit in data[:1]:
        try:
            lon, lat = hit["geometry"]["coordinates"][:2]
            float(lon), float(lat)
        except (KeyError, TypeError, ValueError, IndexError):
            raise ValueError(_("a match without a point")) from None


def geocode_one(
    address: str, *, offline: bool | None = None
) -> tuple[tuple[float, float] | None, str]:
    """Geocode one address: ``((lon, lat), matched title)`` or ``(None, reason)``.

    The geocoder answers a JSON list of ``{geometry: {coordinates: [lon, lat]},
    properties: {title}}`` (the GSI address search format); the first hit wins.
    ``offline``: the run's choice (``None`` takes ``settings.offline``); offline, only
    addresses asked before (in the cache) are found.
    """
    query = normalise_address(address)
    try:
        data = _http.get_json(
            settings.geocoder_url,
            params={"q": query},
            offline=offline,
            service_key="geocoder",
            what=repr(query),
            validate=check_answer,
        )
    except HostUnreachableError as exc:
        # said once on the console (each row's reason says it again in the report)
        _http.warn_once(f"geocoder {exc.host}", str(exc))
        return None, _("geocoder failed for %(query)r: %(error)s") % {"query": query, "error": exc}
    except CivicMapError as exc:
        return None, _("geocoder failed for %(query)r: %(error)s") % {"query": query, "error": exc}
    if not data:
        return None, _("the geocoder found no match for address %(query)r") % {"query": query}
    first = data[0]
    try:
        lon, lat = first["geometry"]["coordinates"][:2]
        point = (float(lon), float(lat))
    except (KeyError, TypeError, ValueError, IndexError):
        return None, _("the geocoder answered %(answer)r for %(query)r, expected a point") % {
            "answer": str(first)[:80],
            "query": query,
        }
    title = str((first.get("properties") or {}).get("title", ""))
    return point, title


def geocode_many(
    addresses: list[str], *, offline: bool | None = None
) -> dict[str, tuple[tuple[float, float] | None, str]]:
    """Geocode each distinct address once; address → result of :func:`geocode_one`."""
    out: dict[str, tuple[tuple[float, float] | None, str]] = {}
    for a in addresses:
        key = normalise_address(a)
        if key not in out:
            out[key] = geocode_one(a, offline=offline)
    log.info(
        _("geocoded %(n)d distinct addresses (%(sum)d found)"),
        {"n": len(out), "sum": sum(1 for v in out.values() if v[0] is not None)},
    )
    return out
