"""The map's area: one polygon in EPSG:4326, however the user named it.

Kinds: a bbox, a point with a radius, a boundary file, a 全国地方公共団体コード
(resolved offline from the bundled 国土数値情報 N03 boundaries), the bounds of an
OSM extract, or a place name (resolved online). Every kind accepts
``buffer: metres`` to grow the area (e.g. to reach shelters just outside a ward).
"""

from __future__ import annotations

import functools
import json
import logging
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pyproj
import shapely
from shapely import box
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from civicmap import _http, settings, wording
from civicmap.errors import AreaError, CivicMapError
from civicmap.i18n import _
from civicmap.schema import CRS, Credit, estimate_utm_crs
from civicmap.spec.area import AreaSpec

if TYPE_CHECKING:  # a type only: the map spec imports this module's neighbours
    from civicmap.spec.mapfile import MapSpec

log = logging.getLogger(__name__)

#: The credit of the bundled N03 boundaries (国土数値情報 行政区域), per map language (the
#: glossaries' ``credit.n03``): 「国土数値情報（行政区域データ）国土交通省」.
N03_CREDIT = wording.Names("credit.n03")
#: The year of the bundled N03 boundaries, printed with their credit.
N03_YEAR = "2021"


def n03_credit(*, language: str = wording.SOURCE) -> Credit:
    """The credit a map prints when it draws the bundled N03 outlines (no background).

    Worded in the map's ``language``; a language without a glossary reads the Japanese one.
    """
    text = N03_CREDIT.get(language, N03_CREDIT[wording.SOURCE])
    return Credit(source="N03", credit=text, date=N03_YEAR)


@dataclass(frozen=True)
class Area:
    """A resolved area.

    Attributes
    ----------
    geometry : shapely geometry
        Polygon or MultiPolygon in EPSG:4326.
    name : str
        Human name (ward name for a municipality, file name for a boundary).
    kind : str
        Which kind of area spec produced it.
    code : str
        The 6-digit 全国地方公共団体コード for municipality areas, else empty.
    """

    geometry: BaseGeometry
    name: str
    kind: str
    code: str = ""

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in degrees."""
        return tuple(self.geometry.bounds)  # type: ignore[return-value]

    def metric_crs(self) -> pyproj.CRS:
        """The local UTM zone: distances and buffers are computed there, never in degrees."""
        return estimate_utm_crs(gpd.GeoSeries([self.geometry.centroid], crs=CRS))

    def buffered(self, metres: float) -> Area:
        """This area grown by ``metres`` (computed in the local UTM zone)."""
        if not metres:
            return self
        crs = self.metric_crs()
        g = gpd.GeoSeries([self.geometry], crs=CRS).to_crs(crs).buffer(metres).to_crs(CRS)
        return Area(g.iloc[0], self.name, self.kind, self.code)

    def to_frame(self) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame({"name": [self.name]}, geometry=[self.geometry], crs=CRS)


def check_digit(code5: str) -> str:
    """The check digit of a 5-digit 全国地方公共団体コード (weights 6..2, modulus 11)."""
    total = sum(int(d) * w for d, w in zip(code5, (6, 5, 4, 3, 2), strict=True))
    return str((11 - total % 11) % 10)


def normalise_code(code: str) -> str:
    """Return the 5-digit code for a 5- or 6-digit 全国地方公共団体コード.

    Raises
    ------
    AreaError
        If the code is not 5 or 6 digits or its check digit is wrong.
    """
    c = str(code).strip()
    if not (c.isdigit() and len(c) in (5, 6)):
        raise AreaError(
            _("municipality code %(code)r: expected 5 or 6 digits, e.g. 13104 or 131041")
            % {"code": code}
        )
    if len(c) == 6:
        expected = check_digit(c[:5])
        if c[5] != expected:
            raise AreaError(
                _(
                    "municipality code %(code)r: check digit is %(digit)s, expected %(expected)s (did you mean %(prefix)s%(expected)s, or the 5-digit %(prefix)s?)"
                )
                % {"code": code, "digit": c[5], "expected": expected, "prefix": c[:5]}
            )
        c = c[:5]
    return c


def _n03_files() -> dict[str, Path]:
    folder = Path(str(resources.files("civicmap.data") / "n03"))
    return {p.name: p for p in folder.glob("N03-*.json")}


@functools.lru_cache(maxsize=8)
def _load_n03(path: Path) -> dict[str, list[dict[str, Any]]]:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    by_code: dict[str, list[dict[str, Any]]] = {}
    for feat in doc["features"]:
        code = feat["properties"].get("N03_007")
        if code:
            by_code.setdefault(code, []).append(feat)
    return by_code


def _designated_city_wards(
    by_code: dict[str, list[dict[str, Any]]], c5: str
) -> list[dict[str, Any]]:
    """The wards of a 政令指定都市 (14130 川崎市 → 14131 … 14137), which N03 holds instead of the city.

    N03 has no polygon for the city itself; its wards carry the city's name in
    ``N03_003``. Empty when ``c5`` is not such a city.
    """
    if not c5.endswith("0"):
        return []
    first = next(
        (by_code[f"{int(c5) + k:05d}"] for k in range(1, 10) if f"{int(c5) + k:05d}" in by_code),
        None,
    )
    if not first:
        return []
    city = first[0]["properties"].get("N03_003") or ""
    if not city.endswith("市") or not str(first[0]["properties"].get("N03_004") or "").endswith(
        "区"
    ):
        return []
    wards = [
        f
        for code, feats in by_code.items()
        if code[:2] == c5[:2]
        for f in feats
        if f["properties"].get("N03_003") == city
    ]
    return [
        {**f, "properties": {**f["properties"], "N03_003": None, "N03_004": city}} for f in wards
    ]


def municipality(code: str) -> Area:
    """The N03 boundary of a municipality, offline.

    The prefecture's own (more detailed) file is used when bundled, else the
    simplified all-Japan file.
    """
    c5 = normalise_code(code)
    files = _n03_files()
    candidates = [p for name, p in sorted(files.items()) if name.startswith(f"N03-21_{c5[:2]}_")]
    candidates += [p for name, p in sorted(files.items()) if name == "N03-21_210101.json"]
    for path in candidates:
        feats = _load_n03(path).get(c5) or _designated_city_wards(_load_n03(path), c5)
        if feats:
            geom = unary_union([shape(f["geometry"]) for f in feats]).buffer(0)
            p = feats[0]["properties"]
            name = "".join(x for x in (p.get("N03_003"), p.get("N03_004")) if x) or p.get(
                "N03_001", c5
            )
            return Area(geom, name, "municipality", c5 + check_digit(c5))
    raise AreaError(
        _(
            "municipality code %(code)r is not in the bundled N03 boundaries (2021); check the code, or use area: {boundary: your-file.geojson} instead"
        )
        % {"code": code}
    )


def municipalities_in(
    bounds: tuple[float, float, float, float],
) -> list[tuple[str, str, BaseGeometry]]:
    """(code, name, boundary) of every bundled N03 municipality touching ``bounds`` (degrees).

    For a paper map with no background at all (no tiles, no OSM): the
    municipality outlines and names are what we ship. A prefecture's own file
    wins over the simplified all-Japan file for the same code.
    """
    files = _n03_files()
    order = [p for n, p in sorted(files.items()) if n != "N03-21_210101.json"]
    order += [p for n, p in sorted(files.items()) if n == "N03-21_210101.json"]
    frame = box(*bounds)
    west, south, east, north = bounds
    out: dict[str, tuple[str, str, BaseGeometry]] = {}
    for path in order:
        for code, (name, geoms, (x0, y0, x1, y1)) in _n03_outlines(path).items():
            if code in out or x0 > east or x1 < west or y0 > north or y1 < south:
                continue
            if not any(g.intersects(frame) for g in geoms):
                continue
            out[code] = (code, name, _n03_boundary(path, code))
    return sorted(out.values())


@functools.lru_cache(maxsize=8)
def _n03_outlines(
    path: Path,
) -> dict[str, tuple[str, tuple[BaseGeometry, ...], tuple[float, float, float, float]]]:
    """Per code of one N03 file: the name, the polygons and their joint bounds, made once.

    An atlas draws the outlines on every sheet; turning ~2,000 GeoJSON features into
    shapes per sheet was most of the time of a 40-page atlas without a background.
    """
    outlines = {}
    for code, feats in _load_n03(path).items():
        geoms = tuple(shape(f["geometry"]) for f in feats)
        p = feats[0]["properties"]
        name = "".join(x for x in (p.get("N03_003"), p.get("N03_004")) if x) or code
        outlines[code] = (name, geoms, tuple(shapely.total_bounds(geoms)))
    return outlines


@functools.lru_cache(maxsize=512)
def _n03_boundary(path: Path, code: str) -> BaseGeometry:
    """One municipality's polygons of ``path`` joined (shapes are immutable: shared safely)."""
    return unary_union(_n03_outlines(path)[code][1]).buffer(0)


def osm_file_bounds(path: Path) -> BaseGeometry:
    """The declared bounds of an OSM extract, or the extent of its tagged features.

    Not the extent of every node: an extract cut by a bounding polygon keeps
    the far nodes of long ways and relations, which would stretch a 0.6 km
    extract into a 1:50,000 map with everything in one square centimetre.
    Tagged nodes and the nodes of tagged ways are what the map draws.
    """
    import osmium

    try:
        header = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING).header()
    except RuntimeError as exc:
        raise AreaError(
            _("%(path)s: cannot read as an OSM extract (%(exc)s)") % {"path": path, "exc": exc}
        ) from None
    b = header.box()
    if b.valid():
        return box(b.bottom_left.lon, b.bottom_left.lat, b.top_right.lon, b.top_right.lat)
    minx = miny = float("inf")
    maxx = maxy = float("-inf")
    # Tagged nodes that no way uses are the extract's own points of interest:
    # a bbox download holds them only inside its box, while the nodes of the
    # ways it touches reach far outside. The nodes of tagged ways count only
    # when there are too few such points.
    poi: dict[int, tuple[float, float]] = {}
    in_ways: set[int] = set()
    way_nodes: list[tuple[float, float]] = []
    fp = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
    for obj in fp:
        if obj.is_node():
            if len(obj.tags) and obj.location.valid():
                poi[obj.id] = (obj.location.lon, obj.location.lat)
            continue
        in_ways.update(n.ref for n in obj.nodes)
        if len(obj.tags):
            way_nodes.extend(
                (n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()
            )
    points = [xy for nid, xy in poi.items() if nid not in in_ways]
    if len(points) < 3:
        points = list(poi.values()) + way_nodes
    for lon, lat in points:
        minx, maxx = min(minx, lon), max(maxx, lon)
        miny, maxy = min(miny, lat), max(maxy, lat)
    if minx == float("inf"):
        raise AreaError(
            _(
                "%(path)s: the extract declares no bounds and has no tagged nodes or ways; "
                "give area: {bbox: [west, south, east, north]} instead"
            )
            % {"path": path}
        )
    return box(minx, miny, maxx, maxy)


def boundary_file(path: Path) -> BaseGeometry:
    """The union of a boundary file's polygons: the map area of ``area: {file: …}``.

    Read by :func:`read_polygons`, like area atlases and batches, so one file gives
    one area whatever names it (CRS from ``.prj``, Shift_JIS shapefiles).
    """
    polys = read_polygons(path)
    return unary_union(polys.geometry.values).buffer(0)


def _check_place_answer(data: Any) -> None:
    """Raise ValueError unless ``data`` is a Nominatim GeoJSON answer (never cached otherwise)."""
    if not isinstance(data, dict) or not isinstance(data.get("features", []), list):
        raise ValueError(_("not a GeoJSON answer"))
    for feat in data.get("features", [])[:1]:
        if not isinstance(feat, dict) or not isinstance(feat.get("geometry"), dict):
            raise ValueError(_("a match without a geometry"))


def place(name: str, *, offline: bool | None = None) -> Area:
    """Resolve a place name online (Nominatim), with a clear error when offline.

    ``offline=True`` answers only from the cache (``None``: ``settings.offline``).
    """
    try:
        results = _http.get_json(
            settings.nominatim_url,
            params={"q": name, "format": "geojson", "polygon_geojson": 1, "limit": 1},
            offline=offline,
            service_key="place-search",
            what=repr(name),
            validate=_check_place_answer,
        )
    except CivicMapError as exc:
        raise AreaError(
            _(
                "area: place %(name)r needs the network to look up, and that failed (%(exc)s). Offline, use area: {municipality: CODE}, {bbox: [...]}, or {osm_file: ...}"
            )
            % {"name": name, "exc": exc}
        ) from None
    feats = results.get("features") or []
    if not feats:
        raise AreaError(
            _("area: place %(name)r was not found; check the spelling or use a bbox")
            % {"name": name}
        )
    geom = shape(feats[0]["geometry"])
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        geom = box(*feats[0].get("bbox", geom.buffer(0.005).bounds))
    return Area(geom, name, "place")


def resolve_area(spec: AreaSpec, *, base_dir: Path, offline: bool | None = None) -> Area:
    """Turn a validated ``area:`` (:class:`~civicmap.spec.area.AreaSpec`) into an :class:`Area`.

    ``offline`` reaches the place-name lookup, the only kind that needs the network.
    """
    kind, value = spec.kind, spec.value
    if kind == "bbox":
        area = Area(box(*value), spec.name or "bbox", "bbox")
    elif kind == "point":
        lat, lon = value
        centre = Area(Point(lon, lat), spec.name or f"{lat:.5f}, {lon:.5f}", "point")
        area = centre.buffered(float(spec.radius))
    elif kind == "boundary":
        path = base_dir / value
        area = Area(boundary_file(path), spec.name or path.stem, "boundary")
    elif kind == "municipality":
        area = municipality(str(value))
    elif kind == "osm_file":
        path = base_dir / value
        area = Area(osm_file_bounds(path), spec.name or path.name, "osm_file")
    elif kind == "place":
        area = place(str(value), offline=offline)
    else:  # pragma: no cover - validated earlier
        raise AreaError(_("unknown area kind %(kind)r") % {"kind": kind})
    if spec.name:
        area = Area(area.geometry, spec.name, area.kind, area.code)
    buffer = float(spec.buffer or 0)
    return area.buffered(buffer) if buffer else area


def map_area(spec: MapSpec) -> Area:
    """The map's area as a build gets it: the one look-up ``build`` and ``check`` share.

    The place-name look-up follows the map's offline mode (``spec.offline``). Any
    failure (a place that cannot be looked up with no network, a missing file)
    is an :class:`~civicmap.errors.AreaError`: the build cannot go on without
    its area, so ``check`` reports the same text as a problem, never as a warning.
    """
    return resolve_area(spec.area, base_dir=spec.base_dir, offline=spec.offline)


def _text_encoding(frame: gpd.GeoDataFrame) -> str | None:
    """The encoding of a DBF read as latin-1: utf-8 or cp932 when every text decodes so.

    Japanese shapefiles (e-Stat 小地域, 国土数値情報) usually carry Shift_JIS attributes
    and no ``.cpg``; GDAL then reads them as latin-1 and every name becomes mojibake.
    """
    values = [
        v
        for col in frame.columns
        if col != frame.geometry.name
        for v in frame[col].dropna().tolist()
        if isinstance(v, str) and not v.isascii()
    ]
    if not values:
        return None
    for enc in ("utf-8", "cp932"):
        try:
            for v in values:
                v.encode("latin-1").decode(enc)
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        return enc
    return None


def _why_invalid(geom: BaseGeometry) -> str:
    """What is wrong with an invalid polygon, in the reader's words (GEOS says it in English)."""
    reason = shapely.is_valid_reason(geom) or ""
    if "Self-intersection" in reason:
        return _("its outline crosses itself")
    if "Too few points" in reason:
        return _("a ring has too few points (a sliver)")
    return _("its rings overlap or are broken")


def _repair_polygons(
    polys: gpd.GeoDataFrame, *, path: Path, repairs: dict[int, str] | None
) -> gpd.GeoDataFrame:
    """Invalid polygons made valid (polygonal parts only); empty ones left out; both reported.

    Official boundary files have them: one 町丁目 of e-Stat's 鳥取県 file (琴浦町 太一垣国主)
    crosses itself, and a batch over the prefecture lost that area to a GEOS error. Shapely's
    ``make_valid`` (``structure`` method) keeps the area the outline encloses; collapsed
    parts (lines, points of a sliver) are dropped, as an area has no use for them.
    ``repairs`` is filled with a note per repaired row (its position in the result).
    """
    geoms = polys.geometry.values
    empty = shapely.is_empty(geoms) | shapely.is_missing(geoms)
    invalid = ~empty & ~shapely.is_valid(geoms)
    notes: dict[int, str] = {}
    if invalid.any():
        fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
        for i, before, after in zip(invalid.nonzero()[0], geoms[invalid], fixed, strict=True):
            if shapely.is_empty(after):
                empty[i] = True
                continue
            spot = shapely.get_coordinates(shapely.get_point(shapely.get_exterior_ring(
                shapely.get_geometry(before, 0)), 0))[0]  # fmt: skip
            where = re.search(r"\[([-0-9.]+) ([-0-9.]+)\]", shapely.is_valid_reason(before) or "")
            if where:
                spot = (float(where.group(1)), float(where.group(2)))
            notes[int(i)] = _("boundary repaired: %(why)s near %(lon).5f, %(lat).5f") % {
                "why": _why_invalid(before),
                "lon": spot[0],
                "lat": spot[1],
            }
            log.warning(
                _("%(path)s: feature %(row)d has an invalid polygon, %(note)s"),
                {"path": path, "row": int(polys.index[i]) + 1, "note": notes[int(i)]},
            )
        geoms = geoms.copy()
        geoms[invalid & ~empty] = fixed[~shapely.is_empty(fixed)]
        polys = polys.set_geometry(gpd.GeoSeries(geoms, index=polys.index, crs=polys.crs))
    for i in empty.nonzero()[0]:
        log.warning(
            _("%(path)s: feature %(row)d has no area (empty or only a line); it is left out"),
            {"path": path, "row": int(polys.index[i]) + 1},
        )
    keep = ~empty
    if repairs is not None:
        position = (keep.cumsum() - 1).tolist()
        repairs.update({position[i]: note for i, note in notes.items()})
    return polys[keep]


def read_polygons(
    path: Path, *, assume_lonlat: bool = True, repairs: dict[int, str] | None = None
) -> gpd.GeoDataFrame:
    """Every polygon of a boundary file (GeoJSON, shapefile, GeoPackage ...) in EPSG:4326.

    Invalid polygons (an outline that crosses itself, a sliver) are repaired and reported, and
    empty ones left out and reported (:func:`_repair_polygons`); ``repairs``, when given, is
    filled with the repair note of each row that was repaired (row position in the result).

    A shapefile without ``.cpg`` has its text decoded as UTF-8 or Shift_JIS, whichever
    fits every value; its ``.prj`` gives the CRS (e.g. JGD2000), and a file with no CRS
    at all is taken as longitude/latitude (``assume_lonlat``; when false, it is an error:
    a shapefile without ``.prj`` may hold metres).

    Raises
    ------
    AreaError
        The file cannot be read or holds no polygon.
    """
    path = Path(path)
    if not path.is_file():
        raise AreaError(_("%(path)s: boundary file not found") % {"path": path})
    try:
        if path.suffix.lower() in (".shp", ".dbf") and not path.with_suffix(".cpg").exists():
            gdf = gpd.read_file(path, encoding="latin1")
            enc = _text_encoding(gdf)
            if enc is not None:
                gdf = gpd.read_file(path, encoding=enc)
        else:
            gdf = gpd.read_file(path)
    except Exception as exc:
        raise AreaError(
            _("%(path)s: cannot read as a boundary file (%(exc)s)") % {"path": path, "exc": exc}
        ) from None
    if gdf.crs is None:
        if not assume_lonlat:
            raise AreaError(
                _("%(name)s has no coordinate system (.prj); add one or save it as GeoJSON")
                % {"name": path.name}
            )
        gdf = gdf.set_crs(CRS)
    gdf = gdf.to_crs(CRS)
    polys = gdf[gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    if not polys.empty:
        polys = _repair_polygons(polys, path=path, repairs=repairs)
    if polys.empty:
        raise AreaError(
            _("%(path)s: no polygons found (got %(types)s); a boundary file must contain polygons")
            % {"path": path, "types": ", ".join(map(str, gdf.geometry.geom_type.unique()))}
        )
    return polys.reset_index(drop=True)


def prefecture_municipalities(pref: str) -> gpd.GeoDataFrame:
    """The bundled N03 municipalities of a prefecture (2-digit code), one row each.

    Columns ``code`` (6-digit 全国地方公共団体コード with check digit) and ``name``
    (郡 + 市区町村 as printed on maps); islands of one municipality are one row.
    """
    p = str(pref).strip().zfill(2)
    if not (p.isdigit() and len(p) == 2 and 1 <= int(p) <= 47):
        raise AreaError(
            _("prefecture code %(code)r: expected 01 to 47, e.g. 17 for 石川県") % {"code": pref}
        )
    files = _n03_files()
    own = [path for name, path in sorted(files.items()) if name.startswith(f"N03-21_{p}_")]
    path = own[0] if own else files.get("N03-21_210101.json")
    if path is None:
        raise AreaError(_("prefecture %(code)s: no N03 boundaries are bundled") % {"code": p})
    rows = []
    for c5, feats in sorted(_load_n03(path).items()):
        if not c5.startswith(p):
            continue
        props = feats[0]["properties"]
        name = "".join(x for x in (props.get("N03_003"), props.get("N03_004")) if x)
        geom = unary_union([shape(f["geometry"]) for f in feats]).buffer(0)
        rows.append({"code": c5 + check_digit(c5), "name": name or c5, "geometry": geom})
    if not rows:
        raise AreaError(
            _("prefecture %(code)s: no municipalities in the bundled N03 boundaries") % {"code": p}
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
