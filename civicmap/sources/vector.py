"""Vector files people already have: GeoJSON, Google My Maps KML/KMZ, uMap exports.

Each becomes a table of properties plus geometry and then goes through the
same column detection as CSVs (:func:`civicmap.sources.opendata.finish_frame`),
so GSI shelter GeoJSON gets ``serves_*`` flags just like a 自治体標準 CSV, and
the ``layout``, ``columns``, ``category``, ``join`` and ``filter`` options work
as they do for CSVs (``encoding`` and ``geocode`` do not apply and are reported).

- KML: folders become categories, ``ExtendedData`` becomes columns, and HTML
  descriptions become plain text (tags dropped, ``<br>`` as newlines), which
  renderers then escape: nothing from the file is ever emitted as markup.
- .umap: the current layout (datalayers with ``_umap_options``, a UUID id,
  ``rank`` and ``fields``; per-feature ``_umap_options`` styles) and the legacy
  one (numeric ids, relative ``iconUrl``; pre-1.0 files use ``_storage``). Each
  datalayer's name becomes the category.
"""

from __future__ import annotations

import json
import logging
import zipfile
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar
from xml.etree import ElementTree as ET

import pandas as pd
from shapely.geometry import (
    GeometryCollection,
    LinearRing,
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
    shape,
)

from civicmap.errors import SourceError
from civicmap.schema import COLUMNS, RowProblem, SourceResult
from civicmap.sources import _guard, layouts
from civicmap.sources.opendata import _credit, finish_frame, join_and_filter, resolve_columns

log = logging.getLogger(__name__)

KML_NS = "{http://www.opengis.net/kml/2.2}"

#: CSV-only options: accepted in every file source, but with nothing to do here.
_CSV_ONLY = {
    "encoding": "the encoding of GeoJSON, KML and .umap files is read from the file itself",
    "geocode": "every feature of a GeoJSON, KML or .umap file already has its geometry",
}


def _records_result(
    records: list[dict[str, Any]],
    geometries: list,
    refs: list[int],
    *,
    path: Path,
    layer: str,
    options: Mapping[str, Any],
    rejected: list[RowProblem],
    info: dict[str, Any],
    rows: int,
    category_from_container: bool = False,
) -> SourceResult:
    """Turn property records + geometries into a SourceResult via the CSV column logic.

    ``category_from_container``: the records' ``category`` was filled from the
    KML folder or uMap datalayer, so it is the category column.
    """
    name = path.name
    if not records and category_from_container:
        # KML / .umap with nothing to draw: say why instead of failing later
        _guard.no_usable_feature(path, rows=rows, rejected=rejected)
    warnings: list[dict[str, Any]] = info.setdefault("warnings", [])
    for key, why in _CSV_ONLY.items():
        if options.get(key):
            warnings.append(
                {
                    "row": "",
                    "column": key,
                    "value": options[key],
                    "reason": f"{key}: ignored for {name} ({why}); remove it from the layer file",
                }
            )
    df = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    df = df.astype(object) if len(df.columns) else df
    df.index = pd.RangeIndex(len(df))  # positions in records / geometries / refs
    headers = [str(c) for c in df.columns]
    df.columns = headers
    cols = resolve_columns(headers, options, name=name, need_coords=False)
    cols["lat"] = cols["lon"] = None
    if category_from_container:
        cols["category"] = "category"
    layout = layouts.choose_layout(headers, options.get("layout"), name=name)
    df = join_and_filter(df, options, name=name, rejected=rejected, warnings=warnings, info=info)
    df["source_ref"] = [f"{name}:{refs[i]}" for i in df.index]
    out, notes = finish_frame(
        df,
        [geometries[i] for i in df.index],
        source=name,
        layer=layer,
        options=options,
        headers=headers,
        cols=cols,
        layout=layout,
    )
    info.update(
        {
            "encoding": "utf-8",
            "layout": layout,
            "columns": cols,
            "rows": rows,
            "mapped": len(out),
            **notes,
        }
    )
    return SourceResult(
        features=out.reset_index(drop=True),
        credit=_credit(options.get("credit"), path),
        rejected=rejected,
        repaired=[],
        info=info,
    )


def _load_json(path: Path) -> Any:
    # bounded read, nesting limit, one-line errors: see sources/_guard.py
    raw = _guard.read_input_bytes(path)
    _guard.check_not_binary(raw, name=str(path))
    return _guard.load_json(raw, name=str(path))


def _features_of(collection: Any, *, name: str) -> list:
    if isinstance(collection, Mapping) and collection.get("type") == "FeatureCollection":
        return list(collection.get("features") or [])
    if isinstance(collection, Mapping) and collection.get("type") == "Feature":
        return [collection]
    raise SourceError(
        f"{name}: got a JSON {type(collection).__name__} "
        f"(type {collection.get('type') if isinstance(collection, Mapping) else None!r}), "
        "expected a GeoJSON FeatureCollection"
    )


def _feature_rows(
    features: list,
    *,
    name: str,
    start: int,
    rejected: list[RowProblem],
    extra: Mapping[str, Any] | None = None,
) -> tuple[list[dict], list, list[int]]:
    records, geoms, refs = [], [], []
    for i, feat in enumerate(features, start=start):
        props = dict((feat or {}).get("properties") or {})
        geom = (feat or {}).get("geometry")
        label = props.get("name") or props.get("施設・場所名") or props.get("名称") or ""
        if not geom:
            rejected.append(
                RowProblem(name, i, f"feature has no geometry{f' ({label})' if label else ''}")
            )
            continue
        try:
            g = shape(geom)
        except Exception as exc:  # shapely raises several types for bad geometry
            rejected.append(RowProblem(name, i, f"unreadable geometry ({exc})"))
            continue
        if not _guard.finite_xy(g):
            rejected.append(
                RowProblem(name, i, "coordinates are not finite numbers (NaN or infinity)")
            )
            continue
        if g.is_empty:
            rejected.append(
                RowProblem(
                    name, i, f"feature has an empty geometry{f' ({label})' if label else ''}"
                )
            )
            continue
        rec = {k: v for k, v in props.items() if not str(k).startswith("_")}
        for k, v in list(rec.items()):
            if isinstance(v, dict | list):
                rec[k] = json.dumps(v, ensure_ascii=False)
        if extra:
            # a feature's own category (e.g. in a file civicmap exported) wins
            # over the one its folder or datalayer gives it
            for k, v in extra.items():
                if not rec.get(k):
                    rec[k] = v
        records.append(rec)
        geoms.append(g)
        refs.append(i)
    return records, geoms, refs


def read_geojson(path: Path, *, layer: str, options: dict | None = None) -> SourceResult:
    """Read a GeoJSON file; name, address and disaster flags are detected as in CSVs."""
    options = dict(options or {})
    path = Path(path)
    data = _load_json(path)
    features = _features_of(data, name=str(path))
    rejected: list[RowProblem] = []
    records, geoms, refs = _feature_rows(features, name=path.name, start=1, rejected=rejected)
    return _records_result(
        records,
        geoms,
        refs,
        path=path,
        layer=layer,
        options=options,
        rejected=rejected,
        info={},
        rows=len(features),
    )


# --- KML -------------------------------------------------------------------


class _TextOnly(HTMLParser):
    """Collect the text of an HTML fragment; block tags and <br> become newlines."""

    _BREAK: ClassVar[set[str]] = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self._BREAK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag in ("p", "div", "li", "tr"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML description: tags dropped, entities decoded, ``<br>`` → newline.

    The result is text, not markup: renderers escape it, so a description
    holding ``<script>`` can never run in a web map.
    """
    if not fragment:
        return ""
    p = _TextOnly()
    p.feed(fragment)
    p.close()
    lines = [" ".join(line.split()) for line in "".join(p.parts).splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _kml_coords(text: str | None) -> list[tuple[float, float]]:
    pts = []
    for tok in (text or "").split():
        parts = tok.split(",")
        if len(parts) >= 2:
            pts.append((float(parts[0]), float(parts[1])))
    return pts


def _kml_geometry(el: ET.Element):
    tag = el.tag.removeprefix(KML_NS)
    if tag == "Point":
        pts = _kml_coords(el.findtext(f"{KML_NS}coordinates"))
        return Point(pts[0]) if pts else None
    if tag == "LineString":
        pts = _kml_coords(el.findtext(f"{KML_NS}coordinates"))
        return LineString(pts) if len(pts) >= 2 else None
    if tag == "LinearRing":
        pts = _kml_coords(el.findtext(f"{KML_NS}coordinates"))
        return LineString(LinearRing(pts).coords) if len(pts) >= 3 else None
    if tag == "Polygon":
        outer = el.find(f"{KML_NS}outerBoundaryIs/{KML_NS}LinearRing/{KML_NS}coordinates")
        if outer is None:
            return None
        holes = [
            _kml_coords(h.text)
            for h in el.findall(f"{KML_NS}innerBoundaryIs/{KML_NS}LinearRing/{KML_NS}coordinates")
        ]
        shell = _kml_coords(outer.text)
        return Polygon(shell, [h for h in holes if len(h) >= 3]) if len(shell) >= 3 else None
    if tag == "MultiGeometry":
        parts = [g for g in (_kml_geometry(c) for c in el) if g is not None and not g.is_empty]
        if not parts:
            return None
        kinds = {p.geom_type for p in parts}
        if kinds == {"Point"}:
            return MultiPoint(parts)
        if kinds == {"LineString"}:
            return MultiLineString(parts)
        if kinds == {"Polygon"}:
            return MultiPolygon(parts)
        return GeometryCollection(parts)
    return None


def _kml_root(path: Path) -> ET.Element:
    # size/ratio-capped unzip, bounded read, nesting limit: see sources/_guard.py
    if path.suffix.lower() == ".kmz":
        if not zipfile.is_zipfile(path):
            raise SourceError(f"{path}: a .kmz must be a zip file holding doc.kml")
        raw = _guard.read_zip_member(path, suffix=".kml")
    else:
        raw = _guard.read_input_bytes(path)
    _guard.check_not_binary(raw, name=str(path))
    return _guard.parse_xml(raw, name=str(path))


def read_kml(path: Path, *, layer: str, options: dict | None = None) -> SourceResult:
    """Read a KML/KMZ (e.g. a Google My Maps export): folders → categories."""
    options = dict(options or {})
    path = Path(path)
    root = _kml_root(path)
    if not root.tag.startswith(KML_NS):
        raise SourceError(
            f"{path}: root element is {root.tag!r}, expected a KML 2.2 <kml> document"
        )
    records, geoms, refs = [], [], []
    rejected: list[RowProblem] = []
    counter = 0
    folders_seen: list[str] = []

    def walk(el: ET.Element, folder: str) -> None:
        nonlocal counter
        for child in el:
            tag = child.tag.removeprefix(KML_NS)
            if tag in ("Folder", "Document"):
                fname = (child.findtext(f"{KML_NS}name") or "").strip()
                if tag == "Folder" and fname:
                    folders_seen.append(fname)
                walk(child, fname if tag == "Folder" and fname else folder)
            elif tag == "Placemark":
                counter += 1
                rec = _placemark_record(child)
                rec["category"] = folder
                geom = None
                for g in child:
                    if g.tag.removeprefix(KML_NS) in (
                        "Point",
                        "LineString",
                        "Polygon",
                        "MultiGeometry",
                        "LinearRing",
                    ):
                        try:
                            geom = _kml_geometry(g)
                        except ValueError as exc:
                            rejected.append(
                                RowProblem(path.name, counter, f"unreadable coordinates ({exc})")
                            )
                            geom = False
                        break
                if geom is False:
                    continue
                if geom is not None and not _guard.finite_xy(geom):
                    rejected.append(
                        RowProblem(
                            path.name,
                            counter,
                            "coordinates are not finite numbers (NaN or infinity)",
                        )
                    )
                    continue
                if geom is None or geom.is_empty:
                    label = rec.get("name") or "(no name)"
                    rejected.append(
                        RowProblem(
                            path.name,
                            counter,
                            f"placemark {label!r} in folder {folder!r} has no geometry",
                        )
                    )
                    continue
                records.append(rec)
                geoms.append(geom)
                refs.append(counter)

    walk(root, "")
    info: dict[str, Any] = {"folders": folders_seen}
    if any("name" in r for r in records):
        # A placemark's <name> is the name Google My Maps and Google Earth show;
        # ExtendedData columns such as 名称 must not win over it.
        options["columns"] = {"name": "name", **(options.get("columns") or {})}
    return _records_result(
        records,
        geoms,
        refs,
        path=path,
        layer=layer,
        options=options,
        rejected=rejected,
        info=info,
        rows=counter,
        category_from_container=True,
    )


def _placemark_record(pm: ET.Element) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "name": (pm.findtext(f"{KML_NS}name") or "").strip(),
        "description": html_to_text(pm.findtext(f"{KML_NS}description") or ""),
    }
    addr = pm.findtext(f"{KML_NS}address")
    if addr:
        rec["address"] = addr.strip()
    for data in pm.iter(f"{KML_NS}Data"):
        key = data.get("name") or ""
        val = html_to_text(data.findtext(f"{KML_NS}value") or "")
        if key:
            rec[key if key not in COLUMNS else f"data_{key}"] = val
    for sd in pm.iter(f"{KML_NS}SimpleData"):
        key = sd.get("name") or ""
        if key:
            rec[key if key not in COLUMNS else f"data_{key}"] = (sd.text or "").strip()
    return rec


# --- uMap --------------------------------------------------------------------


def read_umap(path: Path, *, layer: str, options: dict | None = None) -> SourceResult:
    """Read a uMap backup (``.umap``): each datalayer's name becomes the category."""
    options = dict(options or {})
    path = Path(path)
    data = _load_json(path)
    if (
        not isinstance(data, Mapping)
        or data.get("type") != "umap"
        or not isinstance(data.get("layers"), list)
    ):
        raise SourceError(
            f"{path}: not a uMap backup; expected JSON with type 'umap' and a layers list "
            "(export it from uMap: Share → Download → full map backup)"
        )
    rejected: list[RowProblem] = []
    records, geoms, refs = [], [], []
    layer_names: list[str] = []
    warnings: list[dict[str, Any]] = []
    start = 1
    legacy = False
    for k, dl in enumerate(data["layers"], start=1):
        opts = dl.get("_umap_options")
        if opts is None and "_storage" in dl:
            opts, legacy = dl["_storage"], True
        opts = opts or {}
        lname = str(opts.get("name") or f"layer {k}")
        layer_names.append(lname)
        remote = (
            (opts.get("remoteData") or {}).get("url")
            if isinstance(opts.get("remoteData"), Mapping)
            else None
        )
        feats = list(dl.get("features") or [])
        if remote and not feats:
            warnings.append(
                {
                    "row": f"layer {lname}",
                    "column": "remoteData",
                    "value": remote,
                    "reason": f"datalayer {lname!r} loads remote data from {remote}; not read "
                    "(download that data and add it as its own source)",
                }
            )
        r, g, f = _feature_rows(
            feats, name=path.name, start=start, rejected=rejected, extra={"category": lname}
        )
        records += r
        geoms += g
        refs += f
        start += len(feats)
    info = {
        "umap_layers": layer_names,
        "umap_layout": "pre-1.0 (_storage)" if legacy else "_umap_options",
        "map_name": str((data.get("properties") or {}).get("name", "")),
        "warnings": warnings,
    }
    return _records_result(
        records,
        geoms,
        refs,
        path=path,
        layer=layer,
        options=options,
        rejected=rejected,
        info=info,
        rows=start - 1,
        category_from_container=True,
    )
