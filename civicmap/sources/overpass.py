"""Live OpenStreetMap data from an Overpass API server.

A map asks Overpass once for everything it needs (every layer's tag filter and
the basemap) in one query limited to the map's area, and reads the answer with
the same pyosmium reader as local extracts
(:func:`civicmap.sources.osmfile.read_osm_bytes`), so a layer built from
Overpass and from an extract of the same data has the same features, ids and
geometries.

The area filter is the bbox for rectangular areas and otherwise the boundary
polygon itself (``poly:"lat lon ..."``), simplified outwards to at most
``settings.overpass_max_vertices`` vertices: a ward's bbox would fetch a lot
of its neighbours.

Raw Overpass QL from overpass turbo (layer source option ``overpass_ql``) is
sent as written, with ``{{bbox}}`` and ``{{center}}`` filled from the area as
overpass turbo does; every tagged element of its answer becomes a feature.

Network access, retries, the cache and offline mode are in
:mod:`civicmap._http`; offline packs (``civicmap fetch``) are read here.
"""

from __future__ import annotations

import json
import logging
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from civicmap import _http, settings
from civicmap._packfiles import PACK_MANIFEST_MAX_BYTES, read_pack_entry, warn_old_pack
from civicmap._yaml import excerpt, shorten
from civicmap.errors import OfflineError, SourceError
from civicmap.i18n import _
from civicmap.schema import CRS
from civicmap.sources._osmschema import raw_frame
from civicmap.sources.osmfile import OsmExtract, read_osm_bytes
from civicmap.tagfilter import AnyTagged, TagFilter

if TYPE_CHECKING:
    from civicmap.area import Area
    from civicmap.spec.mapfile import MapSpec

log = logging.getLogger(__name__)

#: Name of the pack manifest inside a pack folder.
MANIFEST = "manifest.json"

#: Version of the pack layout; a reader refuses packs it does not know.
PACK_FORMAT = 1

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z]+)(?::[^}]*)?\s*\}\}")


@dataclass
class OverpassResult(OsmExtract):
    """What the Overpass queries for one map returned, read like an extract.

    The fields of :class:`~civicmap.sources.osmfile.OsmExtract` (``osm_base``
    is the oldest of the answers' timestamps; ``bounds`` stays ``None``, as
    Overpass data is complete inside the area), plus:

    Attributes
    ----------
    queries : list of (str, str)
        (what, query) for every query sent, in order (the offline pack stores these).
    """

    queries: list[tuple[str, str]] = field(default_factory=list)


# --- area filters -------------------------------------------------------------


def _is_rectangle(geom: BaseGeometry) -> bool:
    env = box(*geom.bounds)
    return env.area > 0 and geom.area / env.area > 0.995


def simplify_outwards(poly: Polygon, *, max_vertices: int, metric_crs) -> Polygon:
    """``poly`` with at most ``max_vertices`` vertices, still covering all of it.

    The polygon is grown by the simplification tolerance before it is
    simplified, so the result never cuts into the area. Tolerances are in
    metres (``metric_crs``), doubling from 5 m until the count fits.
    """
    outer = Polygon(poly.exterior)
    if len(outer.exterior.coords) - 1 <= max_vertices:
        return outer
    metric = gpd.GeoSeries([outer], crs=CRS).to_crs(metric_crs).iloc[0]

    def attempt(tol: float) -> Polygon:
        g = metric.buffer(tol, join_style="mitre").simplify(tol, preserve_topology=True)
        return Polygon(g.exterior) if g.geom_type == "Polygon" else g.convex_hull

    def fits(g: Polygon) -> bool:
        return len(g.exterior.coords) - 1 <= max_vertices

    lo, hi = 0.0, 5.0
    while not fits(attempt(hi)) and hi < 50_000:
        lo, hi = hi, hi * 2
    for _step in range(8):  # the smallest tolerance that fits, within a few percent
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if fits(attempt(mid)) else (mid, hi)
    simple = attempt(hi)
    return gpd.GeoSeries([simple], crs=metric_crs).to_crs(CRS).iloc[0]


def area_filters(area: Area, *, max_vertices: int | None = None) -> list[str]:
    """Overpass spatial filters covering ``area``: one bbox, or one ``poly:`` per part.

    Parameters
    ----------
    area : Area
        The map's area.
    max_vertices : int, optional
        Vertex budget of all ``poly:`` filters together (default
        ``settings.overpass_max_vertices``).
    """
    geom = area.geometry
    if _is_rectangle(geom):
        w, s, e, n = geom.bounds
        return [f"({s:.7f},{w:.7f},{n:.7f},{e:.7f})"]
    budget = max_vertices or settings.overpass_max_vertices
    parts = sorted(getattr(geom, "geoms", [geom]), key=lambda p: -p.area)
    if len(parts) > 4:
        parts = [geom.convex_hull]
    crs = area.metric_crs()
    out = []
    for part in parts:
        simple = simplify_outwards(part, max_vertices=max(8, budget // len(parts)), metric_crs=crs)
        coords = " ".join(f"{lat:.6f} {lon:.6f}" for lon, lat in list(simple.exterior.coords)[:-1])
        out.append(f'(poly:"{coords}")')
    return out


# --- queries ------------------------------------------------------------------


def build_query(
    filters: Mapping[str, TagFilter],
    area: Area,
    *,
    types: Mapping[str, set[str]] | None = None,
) -> str:
    """One Overpass QL query answering every filter inside ``area``.

    Each AND clause of each filter becomes one statement per area part; the
    union is recursed down (way nodes, relation members) and output with
    ``out body`` so the answer is sorted nodes, ways, relations, ready for
    the extract reader.
    """
    types = types or {}
    spatial = area_filters(area)
    lines: list[str] = []
    for name, tag_filter in filters.items():
        if not tag_filter.is_bounded():
            log.warning(
                _(
                    "filter %(name)s (%(tag_filter)s) requires no tag: Overpass will send "
                    "everything in the area"
                ),
                {"name": name, "tag_filter": tag_filter},
            )
        kinds = sorted(types.get(name) or {"nwr"})
        for selector in tag_filter.overpass_selectors():
            for kind in kinds:
                for sp in spatial:
                    line = f"  {kind}{selector}{sp};"
                    if line not in lines:
                        lines.append(line)
    head = f"[out:xml][timeout:{settings.overpass_timeout}][maxsize:{settings.overpass_maxsize}];"
    return "\n".join([head, "(", *lines, ");", "(._;>;);", "out body;"]) + "\n"


def fill_placeholders(ql: str, area: Area, *, where: str = "overpass_ql") -> str:
    """Fill overpass turbo's ``{{bbox}}`` and ``{{center}}`` from the area.

    Raises
    ------
    SourceError
        For a placeholder only overpass turbo can fill (``{{geocodeArea:...}}``).
    """
    w, s, e, n = area.bounds
    c = area.geometry.centroid

    def sub(m: re.Match) -> str:
        name = m.group(1)
        if name == "bbox":
            return f"{s:.7f},{w:.7f},{n:.7f},{e:.7f}"
        if name == "center":
            return f"{c.y:.7f},{c.x:.7f}"
        raise SourceError(
            _(
                "%(where)s: got %(value)s; civicmap fills only {{bbox}} and {{center}} from "
                "the map's area. Replace it (e.g. with ({{bbox}}))"
            )
            % {"where": where, "value": m.group(0)}
        )

    return _PLACEHOLDER.sub(sub, ql)


# --- answers ------------------------------------------------------------------


def _xml_attr_tags(el: ET.Element) -> dict[str, str]:
    return {t.get("k", ""): t.get("v", "") for t in el.findall("tag")}


def normalise_answer(
    body: bytes, *, label: str
) -> tuple[bytes, list[tuple[str, int, dict, object]]]:
    """Any Overpass answer (XML or JSON, any ``out`` mode) as sorted OSM XML.

    Raw queries from overpass turbo print results and their geometry in
    several batches (``out body; >; out skel qt;``) or inline (``out geom``);
    the extract reader needs each element once, nodes first. Elements that
    only carry a ``center`` (``out center``) cannot be rebuilt as lines or
    areas and are returned separately as point records.

    Raises
    ------
    SourceError
        When the answer is neither OSM XML nor Overpass JSON.
    """
    nodes: dict[int, tuple[float, float, dict]] = {}
    ways: dict[int, tuple[list[int], dict]] = {}
    rels: dict[int, tuple[list[tuple[str, int, str]], dict]] = {}
    centers: list[tuple[str, int, dict, object]] = []
    synthetic = [-1]

    def add_node(nid: int, lat: float, lon: float, tags: dict) -> None:
        lat, lon = float(lat), float(lon)
        if not (math.isfinite(lat) and math.isfinite(lon)):
            raise ValueError(
                _("node %(id)s has coordinates %(lat)s, %(lon)s")
                % {"id": nid, "lat": lat, "lon": lon}
            )
        old = nodes.get(nid)
        if old is None or (tags and not old[2]):
            nodes[nid] = (lat, lon, tags)

    def add_way(wid: int, refs: list[int], tags: dict) -> None:
        old = ways.get(wid)
        if old is None or (tags and not old[1]) or (refs and not old[0]):
            ways[wid] = (refs or (old[0] if old else []), tags or (old[1] if old else {}))

    def geom_way(coords: list[tuple[float, float]], refs: list[int] | None) -> list[int]:
        out = []
        for i, (lat, lon) in enumerate(coords):
            if refs and i < len(refs):
                nid = refs[i]
            else:
                nid = synthetic[0]
                synthetic[0] -= 1
            add_node(nid, lat, lon, nodes.get(nid, (0, 0, {}))[2])
            out.append(nid)
        return out

    text = body.lstrip()
    if text.startswith(b"{"):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise SourceError(
                _("%(label)s: the Overpass answer is not valid JSON (%(exc)s)")
                % {"label": label, "exc": exc}
            ) from None
        elements = doc.get("elements", []) if isinstance(doc, dict) else None
        if not isinstance(elements, list):
            raise SourceError(
                _(
                    "%(label)s: the Overpass JSON answer has no 'elements' list (got %(kind)s); "
                    "the server is not an Overpass API, check its URL"
                )
                % {"label": label, "kind": type(doc).__name__}
            )
        position = 0
        try:
            for position in range(len(elements)):
                el = elements[position]
                kind, oid, tags = el.get("type"), int(el.get("id", 0)), el.get("tags") or {}
                if not isinstance(tags, dict):
                    raise TypeError(f"tags is a {type(tags).__name__}, not an object")
                if kind == "node" and "lat" in el:
                    add_node(oid, el["lat"], el["lon"], tags)
                elif kind == "way":
                    refs = list(el.get("nodes") or [])
                    if el.get("geometry"):
                        refs = geom_way([(g["lat"], g["lon"]) for g in el["geometry"] if g], refs)
                    elif not refs and "center" in el:
                        centers.append(
                            ("way", oid, tags, Point(el["center"]["lon"], el["center"]["lat"]))
                        )
                        continue
                    add_way(oid, refs, tags)
                elif kind == "relation":
                    members = []
                    for m in el.get("members") or []:
                        if m.get("type") == "way" and m.get("geometry"):
                            refs = geom_way(
                                [(g["lat"], g["lon"]) for g in m["geometry"] if g], None
                            )
                            add_way(int(m["ref"]), refs, ways.get(int(m["ref"]), ([], {}))[1])
                        members.append((m.get("type", ""), int(m.get("ref", 0)), m.get("role", "")))
                    if not members and "center" in el:
                        centers.append(
                            ("relation", oid, tags, Point(el["center"]["lon"], el["center"]["lat"]))
                        )
                        continue
                    rels[oid] = (members, tags)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise SourceError(
                _(
                    "%(label)s: element %(position)s of the Overpass JSON answer is malformed "
                    "(%(kind)s: %(shorten)s): %(excerpt)s; the server's answer is not usable, try "
                    "another server"
                )
                % {
                    "label": label,
                    "position": position,
                    "kind": type(exc).__name__,
                    "shorten": shorten(str(exc), 80),
                    "excerpt": excerpt(elements[position]),
                }
            ) from None
    else:
        try:
            root = ET.fromstring(text)
        except ET.ParseError as exc:
            raise SourceError(
                _("%(label)s: the Overpass answer is not valid OSM XML (%(exc)s)")
                % {"label": label, "exc": exc}
            ) from None
        try:
            for el in root:
                if el.tag not in ("node", "way", "relation"):
                    continue
                oid, tags = int(el.get("id", "0")), _xml_attr_tags(el)
                if el.tag == "node" and el.get("lat") is not None:
                    add_node(oid, float(el.get("lat")), float(el.get("lon")), tags)
                elif el.tag == "way":
                    nds = el.findall("nd")
                    refs = [int(nd.get("ref")) for nd in nds]
                    if nds and nds[0].get("lat") is not None:
                        refs = geom_way(
                            [(float(nd.get("lat")), float(nd.get("lon"))) for nd in nds], refs
                        )
                    elif not refs and el.find("center") is not None:
                        ctr = el.find("center")
                        centers.append(
                            ("way", oid, tags, Point(float(ctr.get("lon")), float(ctr.get("lat"))))
                        )
                        continue
                    add_way(oid, refs, tags)
                elif el.tag == "relation":
                    members = []
                    for m in el.findall("member"):
                        ref = int(m.get("ref", "0"))
                        pts = m.findall("nd")
                        if m.get("type") == "way" and pts:
                            refs = geom_way(
                                [(float(p.get("lat")), float(p.get("lon"))) for p in pts], None
                            )
                            add_way(ref, refs, ways.get(ref, ([], {}))[1])
                        members.append((m.get("type", ""), ref, m.get("role", "")))
                    if not members and el.find("center") is not None:
                        ctr = el.find("center")
                        centers.append(
                            (
                                "relation",
                                oid,
                                tags,
                                Point(float(ctr.get("lon")), float(ctr.get("lat"))),
                            )
                        )
                        continue
                    rels[oid] = (members, tags)

        except (TypeError, ValueError) as exc:
            raise SourceError(
                _(
                    "%(label)s: an element of the Overpass XML answer is malformed (%(kind)s: "
                    "%(shorten)s); the server's answer is not usable, try another server"
                )
                % {"label": label, "kind": type(exc).__name__, "shorten": shorten(str(exc), 80)}
            ) from None

    def tag_xml(tags: dict) -> str:
        return "".join(
            f"<tag k={quoteattr(str(k))} v={quoteattr(str(v))}/>" for k, v in tags.items()
        )

    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="civicmap">']
    for nid in sorted(nodes):
        lat, lon, tags = nodes[nid]
        out.append(
            f'<node id="{nid}" version="1" lat="{lat:.7f}" lon="{lon:.7f}">{tag_xml(tags)}</node>'
        )
    for wid in sorted(ways):
        refs, tags = ways[wid]
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        out.append(f'<way id="{wid}" version="1">{nds}{tag_xml(tags)}</way>')
    for rid in sorted(rels):
        members, tags = rels[rid]
        ms = "".join(
            f'<member type="{t}" ref="{r}" role={quoteattr(role)}/>' for t, r, role in members
        )
        out.append(f'<relation id="{rid}" version="1">{ms}{tag_xml(tags)}</relation>')
    out.append("</osm>")
    return "\n".join(out).encode("utf-8"), centers


def read_answer(
    body: bytes,
    filters: Mapping[str, TagFilter | AnyTagged],
    *,
    label: str,
    types: Mapping[str, set[str]] | None = None,
    normalise: bool = False,
) -> OsmExtract:
    """Read an Overpass answer into raw OSM frames, one per filter.

    ``normalise`` re-sorts answers of raw queries first (see
    :func:`normalise_answer`); civicmap's own queries come sorted.
    """
    centers: list = []
    if normalise or body.lstrip().startswith(b"{"):
        body, centers = normalise_answer(body, label=label)
    ext = read_osm_bytes(body, filters, label=label, types=types)
    if centers:
        for name, f in filters.items():
            extra = [r for r in centers if f.matches(r[2])]
            if extra:
                ext.frames[name] = gpd.GeoDataFrame(
                    pd.concat([ext.frames[name], raw_frame(extra)], ignore_index=True), crs=CRS
                )
    return ext


# --- running --------------------------------------------------------------------


def endpoint(spec: MapSpec) -> str:
    """The Overpass URL a map uses: its ``osm.overpass_url``, else ``settings.overpass_url``."""
    return spec.osm.overpass_url or settings.overpass_url


def pack_folder(spec: MapSpec) -> Path | None:
    """The offline pack a map names (``osm: {pack: ...}``), if any."""
    value = spec.osm.pack
    return spec.path(value) if value else None


def read_manifest(folder: Path) -> dict:
    """The manifest of a pack.

    Raises
    ------
    SourceError
        When ``folder`` is not a pack, its manifest is damaged or has an unknown format.
    """
    path = folder / MANIFEST
    raw = read_pack_entry(folder, MANIFEST, max_bytes=PACK_MANIFEST_MAX_BYTES)
    if raw is None:
        raise SourceError(
            _("%(folder)s: not an offline pack (no %(manifest)s); make one with civicmap fetch")
            % {"folder": folder, "manifest": MANIFEST}
        )
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise SourceError(
            _(
                "%(path)s: not readable as a pack manifest (%(exc)s); the pack is damaged, "
                "fetch it again with civicmap fetch MAP.yaml --overwrite"
            )
            % {"path": path, "exc": exc}
        ) from None
    if not isinstance(manifest, dict):
        raise SourceError(
            _(
                "%(path)s: not a pack manifest (a JSON %(kind)s); the pack is damaged, fetch "
                "it again with civicmap fetch MAP.yaml --overwrite"
            )
            % {"path": path, "kind": type(manifest).__name__}
        )
    if manifest.get("format") != PACK_FORMAT:
        raise SourceError(
            _(
                "%(path)s: got pack format %(value)r, expected %(pack_format)s; fetch the pack "
                "again with this civicmap version"
            )
            % {"path": path, "value": manifest.get("format"), "pack_format": PACK_FORMAT}
        )
    return manifest


def run_query(
    query: str,
    *,
    what: str,
    url: str | None = None,
    pack: Path | None = None,
    refresh: bool = False,
    offline: bool | None = None,
) -> _http.OverpassResponse:
    """Answer one query from an offline pack when one exists, else from Overpass.

    ``offline=True`` never asks the server (``None``: ``settings.offline``).

    Raises
    ------
    SourceError
        When the pack's manifest is damaged or of another format.
    OfflineError
        When the pack exists but lacks this query (the map changed since
        ``civicmap fetch``), or offline mode has neither pack nor cache entry.
    """
    if pack is not None and (pack / MANIFEST).exists():
        manifest = read_manifest(pack)  # refuses a damaged pack or one of another format
        key = pack_key(query)
        sha256 = pack_checksum(manifest, key)
        if sha256 is None:
            warn_old_pack(pack)
        hit, damaged = _http.check_entry(key, pack, from_pack=True, sha256=sha256)
        if damaged and _http.is_offline(offline):
            raise OfflineError(
                _(
                    "offline pack %(pack)s: the answer for %(what)s is unusable: %(damaged)s; run "
                    "`civicmap fetch MAP.yaml --overwrite` with the network to make the pack again"
                )
                % {"pack": pack, "what": what, "damaged": damaged}
            )
        if damaged:
            log.warning(
                _(
                    "offline pack %(pack)s: the answer for %(what)s is unusable: %(damaged)s; "
                    "asking Overpass instead (remake the pack with civicmap fetch MAP.yaml "
                    "--overwrite)"
                ),
                {"pack": pack, "what": what, "damaged": damaged},
            )
            return _http.overpass(query, url=url, refresh=refresh, what=what, offline=offline)
        if hit is None:
            raise OfflineError(
                _(
                    "offline pack %(pack)s has no OSM data for %(what)s: the map (its area, layers "
                    "or tag filters) changed since the pack was made; run `civicmap fetch MAP.yaml "
                    "--overwrite` with the network to refresh it"
                )
                % {"pack": pack, "what": what}
            )
        log.info(
            _("%(what)s: from the offline pack %(pack)s (OSM data as of %(value)s)"),
            {"what": what, "pack": pack, "value": hit.osm_base or "?"},
        )
        return hit
    if pack is not None and _http.is_offline(offline):
        raise OfflineError(
            _(
                "offline mode: the offline pack %(pack)s named in the map does not exist; run "
                "`civicmap fetch MAP.yaml` with the network to make it"
            )
            % {"pack": pack}
        )
    return _http.overpass(query, url=url, refresh=refresh, what=what, offline=offline)


def pack_checksum(manifest: dict, key: str) -> str | None:
    """The SHA-256 the pack manifest records for the answer ``key``; None in an old pack.

    A pack made before checksums has no ``sha256`` in its ``queries``; a newer
    one that does not list ``key`` gets ``""``, which no answer matches.
    """
    queries = [q for q in manifest.get("queries") or [] if isinstance(q, dict)]
    if not any("sha256" in q for q in queries):
        return None
    return next((str(q.get("sha256")) for q in queries if q.get("key") == key), "")


def pack_key(query: str) -> str:
    """The name of a query's answer inside a pack (independent of the server used)."""
    return _http.cache_key("POST", "overpass", {"data": query})


def plan_for_map(
    spec: MapSpec,
    area: Area,
    filters: Mapping[str, TagFilter],
    *,
    types: Mapping[str, set[str]] | None = None,
) -> list[tuple[str, str, dict]]:
    """Every query the map needs: (what, query, {filter name: filter}).

    One combined query for all tag filters (layers and basemap), then one per
    raw ``overpass_ql`` source, named ``<layer>#ql<i>`` as the pipeline expects.
    """
    plan: list[tuple[str, str, dict]] = []
    if filters:
        names = sorted({k.split("#")[0] for k in filters if not k.startswith("_")})
        what = _("layers %(ids)s") % {"ids": ", ".join(names)} if names else ""
        if any(k.startswith("_") for k in filters):
            what = _("%(what)s and the basemap") % {"what": what} if what else _("the basemap")
        plan.append((what, build_query(filters, area, types=types), dict(filters)))
    for layer in spec.layers:
        for i, src in enumerate(layer.sources):
            ql = src.options.get("overpass_ql") if src.kind == "osm" else None
            if ql:
                where = f"layer {layer.id} sources[{i}].osm.overpass_ql"
                plan.append((_("layer %(id)s (overpass_ql)") % {"id": layer.id}, fill_placeholders(str(ql), area, where=where),
                             {f"{layer.id}#ql{i}": AnyTagged()}))  # fmt: skip
    return plan


def fetch_for_map(
    spec: MapSpec,
    area: Area,
    filters: Mapping[str, TagFilter],
    *,
    types: Mapping[str, set[str]] | None = None,
    refresh: bool = False,
) -> OverpassResult:
    """Everything the map needs from Overpass (or its offline pack), as raw frames.

    The endpoint is ``osm.overpass_url`` from the map, else
    ``settings.overpass_url`` (``CIVICMAP_OVERPASS_URL``); ``spec.offline``
    says whether the network may be used.
    """
    url = endpoint(spec)
    pack = pack_folder(spec)
    result = OverpassResult(frames={})
    bases = []
    for what, query, wanted in plan_for_map(spec, area, filters, types=types):
        resp = run_query(
            query, what=what, url=url, pack=pack, refresh=refresh, offline=spec.offline
        )
        raw = any(isinstance(f, AnyTagged) for f in wanted.values())
        try:
            ext = read_answer(
                resp.body, wanted, label=f"Overpass ({what})", types=types, normalise=raw
            )
        except SourceError:
            if not resp.from_pack:
                _http.drop_entry(resp.key)  # an unreadable answer must not answer the next build
            raise
        result.frames.update(ext.frames)
        result.problems.extend(ext.problems)
        result.rejected.update(ext.rejected)
        result.repaired.update(ext.repaired)
        result.queries.append((what, query))
        if resp.osm_base:
            bases.append(resp.osm_base)
    result.osm_base = min(bases) if bases else ""
    return result
