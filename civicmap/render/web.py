"""The interactive web map: one HTML file, clear on a phone, working offline.

Folium gives the page scaffold (the Leaflet map, the mobile viewport); the
layers themselves are drawn by our own small script
(``render/assets/civicmap.js``) from one JSON payload, because per-marker
Folium objects make a 10,000-point map tens of megabytes and Folium's
GeoJSON popups put data into HTML unescaped. Every text from data reaches the
page only through ``textContent`` (or escaped), never as HTML.

With ``outputs.web.self_contained: true`` every script and style is inlined (from the
npm packages ``python -m civicmap.render.assets install`` fetched), so the
file works from ``file://`` with no network; the background is then drawn from
the OSM data of the area itself (:attr:`MapData.basemap`).
"""

from __future__ import annotations

import html
import json
import logging
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import CssLink, Element, Figure, JavascriptLink, MacroElement
from jinja2 import Template

from civicmap import _http, fields, settings, wording
from civicmap._fields import TemplateError, fill_template
from civicmap._files import check_writable, write_text_atomic
from civicmap._yaml import Short
from civicmap.errors import ConfigError, Problem
from civicmap.i18n import _
from civicmap.mapdata import LayerData, MapData
from civicmap.render import assets
from civicmap.render._colocate import Group, colocated
from civicmap.render._routes import ordered_routes
from civicmap.render._rows import frame_rows
from civicmap.render.background import banner_text, web_background, web_credits, write_tile_folder
from civicmap.render.numbering import place_numbers
from civicmap.render.place_names import place_name
from civicmap.render.symbols import (
    OWN_COLOUR,
    OtherStyle,
    category_looks,
    kept_categories,
    svg_path,
    taken_symbols,
    warn_category_budget,
)
from civicmap.render.web_filters import SCRIPT as FILTER_SCRIPT
from civicmap.render.web_filters import filters_payload
from civicmap.render.web_hazards import (
    add_popup_lines,
    add_suited,
    disaster_view_payload,
    hazards_payload_with_tiles,
    mark_suited,
)
from civicmap.render.web_languages import language_payload
from civicmap.schema import APPROXIMATE, DISASTER_TYPES
from civicmap.spec.basemap import REGISTRY, TileSource
from civicmap.spec.layers import dash_pattern
from civicmap.spec.web import WebOptions
from civicmap.status import CLOSED

log = logging.getLogger(__name__)

_OWN = Path(__file__).with_name("assets")


#: Online background tiles and the attribution each requires.
def _web_tiles() -> dict[str, dict[str, Any]]:
    """The layer switcher's tile sources, from the one registry in :mod:`civicmap.render.tiles`.

    ``gsi`` (the web option's historical name) is the registry's ``gsi-pale``.
    """
    ids = {"gsi": "gsi-pale", "osm": "osm"}
    return {
        key: {
            "source": src,
            "url": REGISTRY[src].url,
            "maxNativeZoom": REGISTRY[src].max_zoom,
            "title": REGISTRY[src].name,
        }
        for key, src in ids.items()
    }


TILES: dict[str, dict[str, Any]] = _web_tiles()

#: ``TEXTS[language][key]``: fixed texts of the page, from the glossaries (``web.*``).
TEXTS = wording.Table("web")
_FIELD_TEXT = ("name", "category", "address", "designations", "other_names")
_COORD_DIGITS = 6  # ~0.1 m: more only makes the file bigger
#: Maps with more places than this carry no index numbers: the paper index of such a
#: map is not what anyone reads beside the screen, and reading every name costs seconds.
_NUMBERED_MAX = 5000


def _options(data: MapData, options: WebOptions | None) -> WebOptions:
    """The options to draw with: as given, else the map's ``outputs.web``, else the defaults.

    Checked once, when the map file loaded (:attr:`MapSpec.web`); never here.
    """
    if options is not None:
        return options
    if data.spec.web is not None:
        return data.spec.web
    return WebOptions.defaults(language=data.language)


_text = fields.text


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def popup_rows(layer: LayerData, row: pd.Series, *, language: str) -> list[list[str]] | str:
    """What a feature's popup shows: ``[[label, value(, link)], ...]`` or the filled template.

    Columns are shown under their display label (the layer file's ``labels:``, a
    built-in one such as 電話番号 for ``TEL``, else the column name); shortcuts
    (``phone``, ``capacity``, ``email``, ``website``) take the first non-empty
    column they stand for. Empty values are left out (a popup of blanks helps
    nobody) and a row repeating one already shown is dropped. A third element is a
    safe link target (``https:``, ``tel:``, ``mailto:``) when the value is one. The
    values are plain text, escaped by the page when shown.
    """
    spec = layer.spec
    popup = spec.popup_for(_text(row.get("category")))  # a folded file layer's own popup
    if isinstance(popup, str):
        values = _Blank({str(k): _text(v) for k, v in row.items() if k != "geometry"})
        for key in fields.ALIASES:
            if key not in values or not values[key]:
                values[key] = fields.field_value(row, key)
        values["name"] = display_name(row, language=language, layer=layer)
        values["category"] = spec.category_title(_text(row.get("category")), language)
        values.setdefault("disasters", served_disasters(row, language=language))

        try:  # field names only: no attribute/index access on data (never str.format)
            return fill_template(popup, values)
        except TemplateError as exc:
            raise ConfigError(
                [
                    Problem(
                        spec.file or spec.id,
                        "popup",
                        _(
                            "template %(template)r cannot be filled: %(error)s; use {column} "
                            "fields and double braces {{ }} for literal braces"
                        )
                        % {"template": Short(popup), "error": exc},
                    )
                ]
            ) from exc
    rows: list[list[str]] = []
    seen: set[tuple[str, str]] = set()
    for col in popup:
        if col == "name":
            continue  # the popup's heading
        if col == "disasters" and col not in row.index:
            value = served_disasters(row, language=language)
        else:
            value = fields.field_value(row, col)
        if col == "category":
            value = spec.category_title(value, language)
        elif col == "designations":
            value = wording.translate_list(language, "category", value)
        value = fields.display_value(col, value, language)
        if not value:
            continue
        lab = fields.label(col, language, given=spec.column_label(col, language))
        if (lab, value) in seen:
            continue
        seen.add((lab, value))
        href = fields.link_for(col, value)
        rows.append([lab, value, href] if href else [lab, value])
    return rows


def served_disasters(row: pd.Series, *, language: str) -> str:
    """The ``disasters`` pseudo-field: which disasters a place serves, e.g. ``洪水・地震``.

    Read from the boolean ``serves_<key>`` columns
    (:data:`~civicmap.schema.DISASTER_TYPES`); unknown (missing) counts as not served.
    """
    names = [
        wording.words(language)[f"disaster.{key}"]
        for key in DISASTER_TYPES
        if row.get(f"serves_{key}") is True or row.get(f"serves_{key}") == 1
    ]
    return wording.list_sep(language).join(names)


def _metres(value: Any) -> str:
    return f"{round(float(value)):,}"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value)


def routes_payload(
    routes: gpd.GeoDataFrame | None,
    home: tuple[float, float] | None,
    *,
    language: str,
    notes: list[str] | None = None,
) -> dict[str, Any] | None:
    """The home point and its routes to the nearest shelters, as the page draws them.

    Routes are listed nearest on foot first (straight-line fallbacks, which
    have no walking distance, after them by straight distance); the first
    walked route is flagged ``nearest`` so the page draws it emphasised. Each
    route carries its own plain-text description (escaped by the page).
    Several homes: ``homes`` lists each (name, point) and each route says
    its home (``h``); ``notes`` is what the map must say about the routes
    (layers counted, sites without information, straight-line fallback).
    """
    order = ordered_routes(routes, "EPSG:4326")
    if order is None:
        return None
    t = TEXTS[language]
    items: list[dict[str, Any]] = []
    refs = list(dict.fromkeys(order["place_ref"])) if "place_ref" in order.columns else [""]
    homes: list[dict[str, Any]] = []
    for ref in refs:
        rows = order[order["place_ref"] == ref] if "place_ref" in order.columns else order
        g0 = rows.geometry.iloc[0]
        start = g0.coords[0] if g0 is not None and not g0.is_empty else None
        homes.append(
            {
                "n": _text(rows["place_name"].iloc[0]) if "place_name" in rows.columns else "",
                "ll": [round(start[1], _COORD_DIGITS), round(start[0], _COORD_DIGITS)]
                if start
                else None,
            }
        )
    for _i, r in order.iterrows():
        walk = bool(r["walked"])
        lines = []
        if walk:
            minutes = math.ceil(float(r["walk_min"]))
            lines.append(t["walk"].format(min=minutes, m=_metres(r["walk_m"])))
            lines.append(t["straight"].format(m=_metres(r["straight_m"])))
            lines.append(t["rank"].format(n=int(r["rank_walk"])))
        else:
            lines.append(t["straight_only"].format(m=_metres(r["straight_m"])))
            if not _missing(r.get("rank_straight")):
                lines.append(t["rank_straight"].format(n=int(r["rank_straight"])))
        geom = r.geometry
        items.append(
            {
                "n": _text(r.get("shelter_name")),
                "c": _text(r.get("shelter_category")),
                "g": [[round(y, _COORD_DIGITS), round(x, _COORD_DIGITS)] for x, y in geom.coords]
                if geom is not None and not geom.is_empty
                else [],
                "walk": walk,
                "nearest": bool(r["nearest"]),
                "t": lines,
                "h": refs.index(r["place_ref"]) if "place_ref" in order.columns else 0,
            }
        )
    if home is None:
        first = next((i["g"][0] for i in items if i["g"]), None)
        home_ll = first
    else:
        home_ll = [round(home[0], _COORD_DIGITS), round(home[1], _COORD_DIGITS)]
    return {"home": home_ll, "homes": homes, "items": items, "notes": list(notes or [])}


def display_name(row: pd.Series, *, language: str, layer: LayerData | None = None) -> str:
    """The name to show: ``name:en`` from OSM on English maps where present.

    A place with no name is named by its kind (its category, else the layer's
    title, e.g. 公衆トイレ), never by an OSM id: see :func:`is_unnamed`.
    """
    name = place_name(row, _text(row.get("name")), language)
    if name or layer is None:
        return name
    return _kind_name(layer, row, language)


def _kind_name(layer: LayerData, row: pd.Series, language: str) -> str:
    cat = _text(row.get("category"))
    if cat:
        return layer.spec.category_title(cat, language)
    return layer.spec.title_in(language)


def _round(geom: dict) -> dict:
    def r(c):
        if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
            return [round(c[0], _COORD_DIGITS), round(c[1], _COORD_DIGITS)]
        return [r(x) for x in c]

    if geom["type"] == "GeometryCollection":
        # KML MultiGeometry of mixed kinds / GeoJSON GeometryCollection: L.geoJSON draws it
        return {"type": "GeometryCollection", "geometries": [_round(g) for g in geom["geometries"]]}
    return {"type": geom["type"], "coordinates": r(geom["coordinates"])}


def category_styles(
    layer: LayerData, *, language: str, taken: frozenset[str] = frozenset()
) -> tuple[list[dict[str, Any]], dict]:
    """The layer's categories as the page draws them: ``([style, ...], {name: index})``.

    Each style has the category's name, display title, colour, symbol (SVG path) and
    how many features it has. Declared categories come first in declared order (so a
    category looks the same on every map using the layer); others follow by first
    appearance. Only categories with features are listed. Colours and symbols come
    from the one style table the paper map reads too (:func:`category_looks`);
    ``taken`` are the symbols of the map's other layers.
    """
    spec = layer.spec
    feats = layer.features
    cats = [_text(c) for c in feats["category"]] if "category" in feats.columns else []
    if not cats:
        cats = [""] * len(feats)
    counts: dict[str, int] = {}
    for c in cats:
        counts[c] = counts.get(c, 0) + 1
    order = spec.category_order(list(counts))
    kept = kept_categories(spec, counts, settings.max_categories_web)
    if kept is not None:
        warn_category_budget(layer, counts)
    table: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    other: dict[str, Any] | None = None
    for st in category_looks(spec, order, taken=taken, present=counts, kept=kept):
        if st.name not in counts:
            continue
        if isinstance(st, OtherStyle):  # past the budget: one shared row, one checkbox
            if other is None:
                other = {"name": "", "title": "", "color": st.color, "symbol": st.symbol,
                         "path": svg_path(st.symbol, size=20), "count": 0, "kinds": 0}  # fmt: skip
            other["count"] += counts[st.name]
            other["kinds"] += 1
            index[st.name] = -1
            continue
        index[st.name] = len(table)
        table.append(
            {
                "name": st.name,
                "title": spec.category_title(st.name, language) if st.name else "",
                "color": st.color,
                "symbol": st.symbol,
                "path": svg_path(st.symbol, size=20),
                "count": counts[st.name],
            }
        )
    if other is not None:
        other["title"] = wording.text(language, "legend.other").format(
            kinds=other.pop("kinds"), places=other["count"]
        )
        index.update({n: len(table) for n, k in index.items() if k == -1})
        table.append(other)
    return table, index


def _shape_style(row: Any) -> dict[str, Any]:
    """A line's or area's own width, dash and fill from its file (uMap ``_umap_options``)."""
    out: dict[str, Any] = {}
    weight = row.get("style_weight")
    if isinstance(weight, int | float) and not _missing(weight) and weight > 0:
        out["w"] = float(weight)
    dash = _text(row.get("style_dash"))
    if dash and dash_pattern(dash):
        out["d"] = dash
    fill = _text(row.get("style_fill"))
    if fill:
        out["f"] = fill
    return out


def _cluster_setting(spec_cluster: bool | int, option: bool | None, n: int) -> bool | str:
    """``True``/``False``, or ``"auto"``: the page clusters when markers would overlap."""
    if option is not None:
        return option
    if isinstance(spec_cluster, bool):
        return spec_cluster
    return True if n > int(spec_cluster) else "auto"


def _feature_item(
    layer: LayerData, row: pd.Series, *, language: str, style_index: dict
) -> dict[str, Any]:
    """The texts of one feature: name, popup rows, category style, search fields."""
    raw_name = _text(row.get("name"))
    name = display_name(row, language=language, layer=layer)
    item: dict[str, Any] = {
        "n": name,
        "p": popup_rows(layer, row, language=language),
        "k": style_index.get(_text(row.get("category")), 0),
    }
    if not raw_name and not place_name(row, "", language):
        item["u"] = 1  # unnamed: named by its kind
    if language != "ja" and raw_name and name != raw_name:
        item["o"] = raw_name
    kana = _text(row.get("name_kana"))
    if kana:
        item["r"] = kana
    for col in _ROMAJI:
        rm = _text(row.get(col))
        if rm:
            item["rm"] = rm
            break
    address = _text(row.get("address"))
    if address:
        item["ad"] = address
    return item


#: Columns that may hold a name in Latin letters (searched as typed, case-insensitive).
_ROMAJI = ("name:ja-Latn", "name:ja_rm", "name_romaji", "name:en")


def layer_payload(
    layer: LayerData,
    *,
    language: str,
    options: WebOptions | None = None,
    merged: dict | None = None,
    skip: set | None = None,
    styles: tuple[list[dict[str, Any]], dict] | None = None,
    numbers: dict | None = None,
) -> dict[str, Any]:
    """One layer as the page's script draws it: styles per category, texts and features.

    ``merged`` maps a row label to the other places drawn with it (co-located ones,
    see :func:`payload`), ``skip`` holds the rows drawn with another layer's marker.
    ``numbers`` maps a row label to its paper index number (``no``: shown on the
    printed markers, in popups and search results).
    """
    spec = layer.spec
    feats = layer.features
    merged = merged or {}
    skip = skip or set()
    n = len(feats)
    options = options if options is not None else WebOptions.defaults(language=language)
    cluster = _cluster_setting(spec.cluster, options.cluster, n)
    labels = options.labels
    if labels is None:
        labels = spec.label is not None and n <= 2000
    labels = bool(labels) and spec.label is not None
    table, style_index = styles or category_styles(layer, language=language)
    points: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    approx = APPROXIMATE in feats.columns
    for i, (label, row) in enumerate(frame_rows(feats)):
        geom = row.geometry
        if geom is None or geom.is_empty:
            log.warning(
                _("layer %(spec_id)s: %(value)s has no geometry; not drawn"),
                {"spec_id": spec.id, "value": row.get("source_ref")},
            )
            continue
        if label in skip:
            continue
        pt = geom if geom.geom_type == "Point" else geom.representative_point()
        item = _feature_item(layer, row, language=language, style_index=style_index)
        item["ll"] = [round(pt.y, _COORD_DIGITS), round(pt.x, _COORD_DIGITS)]
        if labels:
            if spec.label == "name":
                item["l"] = item["n"] if "u" not in item else ""
            else:
                item["l"] = fields.field_value(row, spec.label)
        if approx and row[APPROXIMATE] is True:
            item["a"] = 1
        if row.get("stale") is True or _text(row.get("status")) == CLOSED:
            item["g"] = 1  # greyed: checked too long ago (print_if.max_age), or closed
        own = _text(row.get(OWN_COLOUR))
        if own:
            item["c"] = own  # the feature's own colour in its file (uMap, My Maps)
        if geom.geom_type != "Point":
            shapes.append(_round(geom.__geo_interface__))
            item["s"] = len(shapes) - 1
            if _text(row.get("drawn_as")) in ("line", "area"):
                item["ss"] = _shape_style(row)  # drawn as its file styles it
        if label in merged:
            item["m"] = merged[label]
        if numbers and label in numbers:
            item["no"] = numbers[label]
        item["i"] = i
        points.append(item)
    return {
        "id": spec.id,
        "title": spec.title_in(language),
        "color": spec.style.color,
        "fill": spec.style.fill,
        "weight": spec.style.weight,
        "dash": spec.style.dash,
        "fillOpacity": spec.style.fill_opacity,
        "symbol": spec.style.symbol,
        "path": svg_path(spec.style.symbol, size=20),
        "styles": table,
        "cluster": cluster,
        "clusterAt": spec.cluster if not isinstance(spec.cluster, bool) else None,
        "labels": labels,
        "count": n,
        "features": points,
        "shapes": shapes,
        "drawn": _drawn_kind(feats),
        # what viewers can filter by, values per row ``i`` (render/web_filters.py)
        "filters": filters_payload(layer, language=language, texts=TEXTS[language]),
    }


def _drawn_kind(feats: gpd.GeoDataFrame) -> str:
    """``line`` or ``area`` when every feature of a layer is a drawn route or zone (its legend
    shows a line or an area, not a marker symbol); ``""`` otherwise."""
    if "drawn_as" not in feats.columns or feats.empty:
        return ""
    kinds = {_text(v) for v in feats["drawn_as"]}
    if not kinds <= {"line", "area"}:
        return ""
    return "line" if kinds == {"line"} else "area"


def _colocated_payload(
    data: MapData, styles: dict[str, tuple[list, dict]], *, language: str
) -> tuple[dict[str, dict], dict[str, set]]:
    """Which rows are drawn together: ``({layer: {row: [others]}}, {layer: {rows to skip}})``.

    A 指定避難所 and a 指定緊急避難場所 at one school become one marker (the first
    layer's) showing both symbols, whose popup lists each designation.
    """
    merged: dict[str, dict] = {layer.id: {} for layer in data.layers}
    skip: dict[str, set] = {layer.id: set() for layer in data.layers}
    if len(data.layers) < 2:
        return merged, skip
    groups: list[Group] = colocated(data)
    by_id = {layer.id: layer for layer in data.layers}
    for g in groups:
        first, *others = g.members
        extra = []
        for m in others:
            layer = by_id[m.layer_id]
            row = layer.features.loc[m.row]
            item = _feature_item(layer, row, language=language, style_index=styles[m.layer_id][1])
            item["L"] = m.layer_id
            item["i"] = int(layer.features.index.get_loc(m.row))  # its row, for the filters
            mark_suited(data, layer, m.row, item)  # its own disasters, for the view choice
            extra.append(item)
            skip[m.layer_id].add(m.row)
        merged[first.layer_id][first.row] = extra
    return merged, skip


#: Basemap coordinates are sent as whole units of 1e-5 degrees (about 1 m): finer
#: detail is invisible at street zoom and only makes the page bigger.
_BASEMAP_SCALE = 100_000
#: Simplification tolerance (degrees, about 1 m): drops vertices no one can see.
_BASEMAP_SIMPLIFY = 0.00001
#: Draw order: areas first, then lines, then stations on top.
_BASEMAP_ORDER = ("landuse", "park", "water", "school", "building", "path", "road_minor",
                  "road_major", "railway", "station")  # fmt: skip


def _encode_rings(rings: np.ndarray, origin: np.ndarray) -> list[list[int]]:
    """Rings/lines as flat integer deltas ``[x0, y0, dx1, dy1, ...]`` from ``origin``.

    Vectorised over all parts at once (a 16 km² city has ~100,000): rounded to
    1e-5 degrees, points repeated after rounding dropped, then deltas within each part.
    """
    if len(rings) == 0:
        return []
    coords, idx = shapely.get_coordinates(rings, return_index=True)
    q = np.round((coords - origin) * _BASEMAP_SCALE).astype(np.int64)
    first = np.ones(len(q), dtype=bool)
    first[1:] = idx[1:] != idx[:-1]
    keep = first.copy()
    keep[1:] |= np.any(q[1:] != q[:-1], axis=1)
    q, idx, first = q[keep], idx[keep], first[keep]
    d = q.copy()
    d[1:] -= q[:-1]
    d[first] = q[first]
    counts = np.bincount(idx, minlength=len(rings))
    flat = d.ravel().tolist()
    out = []
    pos = 0
    for c in counts.tolist():
        out.append(flat[pos : pos + 2 * c])
        pos += 2 * c
    return out


def basemap_payload(basemap: gpd.GeoDataFrame | None) -> dict[str, Any] | None:
    """The OSM basemap, compactly: per kind, each geometry as integer-delta parts.

    ``{"o": [lon0, lat0], "s": 100000, "k": [[kind, [[type, part, ...], ...]], ...]}``
    with type ``"P"`` (polygon: outer ring, holes), ``"L"`` (line parts) or ``"M"``
    (point). Rounded to ~1 m and simplified at ~1 m, with no per-feature JSON keys,
    this is a fraction of the GeoJSON it replaces (the drawn basemap used to be most
    of a city page); the page decodes it and draws it on one canvas.
    """
    if basemap is None or basemap.empty:
        return None
    w, s, _e, _n = basemap.total_bounds
    origin = np.array([math.floor(w * 1000) / 1000, math.floor(s * 1000) / 1000])
    geoms = shapely.simplify(basemap.geometry.values, _BASEMAP_SIMPLIFY, preserve_topology=True)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    kinds_all = basemap["kind"].astype(str).to_numpy()[ok]
    parts, owner = shapely.get_parts(geoms[ok], return_index=True)
    types = shapely.get_type_id(parts)  # 0 point, 1 line, 2 ring, 3 polygon
    part_kind = kinds_all[owner]
    by_kind: dict[str, list] = {}
    # Polygons: every ring of every polygon, grouped back per polygon.
    polys = np.flatnonzero(types == 3)
    rings, ring_owner = shapely.get_rings(parts[polys], return_index=True)
    encoded = _encode_rings(rings, origin)
    per_poly: list[list] = [["P"] for _ in range(len(polys))]
    for r, o in zip(encoded, ring_owner.tolist(), strict=True):
        per_poly[o].append(r)
    entries: list[tuple[int, list]] = [(int(polys[i]), e) for i, e in enumerate(per_poly)]
    lines = np.flatnonzero((types == 1) | (types == 2))
    entries += [
        (int(i), ["L", e]) for i, e in zip(lines, _encode_rings(parts[lines], origin), strict=True)
    ]
    points = np.flatnonzero(types == 0)
    entries += [
        (int(i), ["M", e])
        for i, e in zip(points, _encode_rings(parts[points], origin), strict=True)
    ]
    entries.sort(key=lambda pair: pair[0])  # the basemap's own order within a kind
    for i, e in entries:
        by_kind.setdefault(str(part_kind[i]), []).append(e)
    order = {k: i for i, k in enumerate(_BASEMAP_ORDER)}
    kinds = sorted(by_kind, key=lambda k: order.get(k, 0))
    return {"o": origin.tolist(), "s": _BASEMAP_SCALE, "k": [[k, by_kind[k]] for k in kinds]}


def _background(data: MapData, opts: WebOptions, tiles_dir: str | None = None) -> dict[str, Any]:
    """The map's own tile layer (``basemap.tiles``, unless ``outputs.web.tiles`` is given) and
    the banner: ``banner`` while the chosen background shows, ``fallback`` when its tiles
    cannot load; "" says nothing (online tiles credit themselves; no background, no banner).
    ``tiles_dir`` names the tile folder beside the page (``folder``: what to write there).
    """
    drawn = data.basemap is not None
    fallback = TEXTS[data.language]["offline_note"] if drawn else ""
    if not opts.tiles_given:
        bg = web_background(
            data.spec,
            drawn_osm=drawn,
            use_pack=opts.self_contained or _http.is_offline(getattr(data.spec, "offline", None)),
            folder=tiles_dir,
            mode=opts.offline_tiles,
            bounds=tuple(data.area.geometry.bounds),
        )
        if bg is not None and "folder" in bg:
            return bg  # the pack's tiles in a folder beside the page; its own fallback text
        if bg is not None:
            online = not bg["tile"].get("inline")
            return {"tile": bg["tile"], "banner": "" if online else bg["banner"],
                    "fallback": fallback}  # fmt: skip
    if opts.tiles == "none":
        text = banner_text("osm", data.language) if drawn else ""
        return {"banner": text, "fallback": text}
    return {"banner": "", "fallback": fallback}


def _tile_attribution(source: TileSource, language: str, credited: set[str]) -> str:
    """A tile layer's own attribution: none when the page's credits name its source.

    ``credited``: the ids of the tile sources the page's credit lines name
    (:func:`~civicmap.render.background.web_credits`). Those credits are in the attribution bar on every
    background, so the layer saying them again would credit GSI twice; a layer the
    map does not credit (OSM's tiles, for one) says its own while it shows.
    """
    if source.id in credited:
        return ""
    return source.attribution_in(language)


def payload(data: MapData, *, options: WebOptions | None = None) -> dict[str, Any]:
    """Everything the page's script needs, as one JSON-able dict."""
    return _payload(data, _options(data, options))[0]


def payload_with_tiles(
    data: MapData, *, options: WebOptions | None = None, tiles_dir: str
) -> tuple[dict[str, Any], dict | None]:
    """The page's payload and the pack's tiles for a folder ``tiles_dir`` beside it (or None).

    The site output (:mod:`civicmap.render.site`) draws the very same payload from a file,
    so its map, numbers, search and legend are the single-file page's.
    """
    return _payload(data, _options(data, options), tiles_dir)


def _payload(
    data: MapData, opts: WebOptions, tiles_dir: str | None = None
) -> tuple[dict[str, Any], dict | None]:
    """The page's payload, and the tile folder to write beside it (``{name, files}``) or None."""
    view = data  # the paper's numbers are those of the map's disaster: view
    if data.every_site is not None:  # disaster: the page keeps every site, hides some at load
        data = replace(data, layers=data.every_site)
    lang = data.language
    w, s, e, n = data.area.geometry.bounds
    # each source credited once: the map's tiles by the page's credit line (with its date,
    # in the legend and the attribution bar whichever background shows), not by their layer
    credits, credited = web_credits(data)
    tiles = [
        {"id": key, "url": t["url"],
         "attribution": _tile_attribution(REGISTRY[t["source"]], lang, credited),
         "maxNativeZoom": t["maxNativeZoom"], "title": t["title"][lang]}
        for key, t in TILES.items()
    ]  # fmt: skip
    tile = opts.tiles
    # basemap.tiles and the banner (render/background.py)
    banner = _background(data, opts, tiles_dir)
    folder = banner.pop("folder", None)
    if banner.get("tile"):
        own = banner.pop("tile")
        source = data.spec.basemap.source
        if source is not None:
            own["attribution"] = _tile_attribution(source, lang, credited)
        tiles.insert(0, own)
        tile = tiles[0]["id"]
    specs = [layer.spec for layer in data.layers]
    styles = {
        layer.id: category_styles(layer, language=lang, taken=taken_symbols(specs, but=layer.id))
        for layer in data.layers
    }
    merged, skip = _colocated_payload(data, styles, language=lang)
    # the paper index's numbers (render/numbering.py), so print and PDF agree
    numbers: dict[str, dict] = {layer.id: {} for layer in data.layers}
    if sum(len(layer.features) for layer in view.layers) <= _NUMBERED_MAX:
        for (layer_id, label), number in place_numbers(view).items():
            numbers.setdefault(layer_id, {})[label] = number
    edge = None
    if data.data_edge is not None and not data.data_edge.is_empty:
        edge = _round(data.data_edge.boundary.__geo_interface__)
    layer_payloads = [
        layer_payload(
            layer,
            language=lang,
            options=opts,
            merged=merged[layer.id],
            skip=skip[layer.id],
            styles=styles[layer.id],
            numbers=numbers[layer.id],
        )
        for layer in data.layers
    ]
    add_popup_lines(data, layer_payloads)  # what each hazard says at a shelter site
    add_suited(data, layer_payloads)  # the disasters each shelter site suits (the view choice)
    # the portal's hazard tiles from the pack, inlined or in the tile folder like the background's
    hazards, hazard_files = hazards_payload_with_tiles(
        data,
        use_pack=opts.self_contained or _http.is_offline(getattr(data.spec, "offline", None)),
        folder=tiles_dir if tiles_dir and opts.offline_tiles == "folder" else None,
    )
    if hazard_files:
        folder = folder or {"name": tiles_dir, "files": {}}
        folder["files"].update(hazard_files)
    return {
        "lang": lang,
        "title": str(data.spec.title),
        "subtitle": str(data.spec.subtitle or ""),
        "texts": TEXTS[lang],
        "bounds": [[s, w], [n, e]],
        "tiles": tiles,
        "tile": tile,
        "background": banner,
        "offline": opts.self_contained,
        "layers": layer_payloads,
        "hazards": hazards,  # 国土数値情報 zones and portal tiles, one overlay each
        "disasterView": disaster_view_payload(data, layer_payloads),
        "area": _round(data.area.geometry.boundary.__geo_interface__),
        "basemap": basemap_payload(data.basemap),
        "edge": edge,
        "credits": credits,
        "built": data.built,  # the newest known data date, "" when none (not shown)
        "routes": routes_payload(
            data.routes, data.spec.home, language=lang, notes=getattr(data, "route_notes", [])
        ),
    }, folder


def script_json(obj: Any) -> str:
    """JSON safe to put inside ``<script>``: ``<``, ``>``, ``&`` and line separators escaped."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _inline_script(text: str) -> str:
    return "<script>" + text.replace("</script", "<\\/script") + "</script>"


def _inline_style(text: str) -> str:
    return "<style>" + text.replace("</style", "<\\/style") + "</style>"


class _Raw(Element):
    """Text that enters the page exactly as given.

    branca compiles every ``Element(text)`` as a Jinja2 template, and a ``MacroElement``'s
    rendered script is wrapped in ``Element()`` and compiled a second time. Anything that
    holds text from data files or OSM therefore must never pass through either: a nursery
    called ``{{ lipsum.__globals__.os.popen('id').read() }}`` would run at build time.
    This element's ``render`` returns its text without any template step.
    """

    def __init__(self, text: str):
        super().__init__()
        self._text = text

    def render(self, **kwargs) -> str:
        return self._text


_DATA_ID = "civicmap-data"


class _CivicLayers(MacroElement):
    """Runs our page script on the Folium map.

    The template holds no data at all, only the map's variable name (made by folium from
    a fixed prefix and a hex id): the payload lives in a ``<script type="application/json">``
    block added as a :class:`_Raw` element, which the script parses in the browser.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        civicmap.draw({{ this._parent.get_name() }},
            JSON.parse(document.getElementById("civicmap-data").textContent));
        {% endmacro %}
        """
    )

    def __init__(self):
        super().__init__()
        self._name = "CivicLayers"


def _stable_ids(root: Element, content: str) -> None:
    """Give every folium/branca element an id derived from the page's content.

    folium names elements ``map_<random hex>``; the same map would then differ
    byte for byte on every build. Ids from a hash of the payload, numbered in
    tree order, keep them unique in the page and make a rebuild identical.
    """
    import hashlib

    base = hashlib.sha256(content.encode("utf-8")).hexdigest()
    todo, i = [root], 0
    while todo:
        el = todo.pop(0)
        el._id = hashlib.sha256(f"{base}:{i}".encode("ascii")).hexdigest()[:32]
        i += 1
        todo.extend(getattr(el, "_children", {}).values())


def _needs_network(language: str) -> str:
    """A notice that stays on the page only when Leaflet did not load (no network).

    A page that is not ``self_contained`` loads Leaflet from the CDN; opened without a
    network it would otherwise be blank, and a reader would not know why. The CDN scripts
    in the head run before this, so ``window.L`` tells whether they came.
    """
    text = html.escape(TEXTS[language]["needs_network"])
    return (
        f'<div id="cm-needs-network" class="cm-needs-network" role="alert">{text}</div>'
        '<script>if (window.L) document.getElementById("cm-needs-network").remove();</script>'
    )


def render_html(data: MapData, *, options: WebOptions | None = None) -> str:
    """The whole web map as one HTML document (pack tiles inlined, never a tile folder).

    Raises
    ------
    AssetsMissingError
        ``self_contained: true`` and the Leaflet files are not installed.
    ConfigError
        A web option has a value we do not know.
    """
    return _render(data, _options(data, options))[0]


def _render(
    data: MapData, opts: WebOptions, tiles_dir: str | None = None
) -> tuple[str, dict | None]:
    """The page, and the tile folder to write beside it (see :func:`_payload`)."""
    if opts.self_contained:
        assets.require_installed()
    # folium costs a third of a second to import: a command that writes no web page
    # (check, a paper map, --help) does not pay it
    import folium

    lang = data.language
    fig = Figure(title=html.escape(str(data.spec.title)))
    m = folium.Map(
        location=[data.area.geometry.centroid.y, data.area.geometry.centroid.x],
        zoom_start=16,
        tiles=None,
        control_scale=False,
        zoom_control=True,
    )
    # Only Leaflet and the plugins we use: no jQuery/Bootstrap/Font Awesome.
    m.default_js = []
    m.default_css = []
    fig.add_child(m)
    for key, pkg in assets.PACKAGES.items():
        if opts.self_contained:
            for css in assets.inline_css(key):
                fig.header.add_child(_Raw(_inline_style(css)), name=f"{key}_css")
            for i, js in enumerate(assets.inline_js(key)):
                fig.header.add_child(_Raw(_inline_script(js)), name=f"{key}_js{i}")
        else:
            for i, f in enumerate(pkg.css):
                fig.header.add_child(CssLink(assets.cdn_url(pkg, f)), name=f"{key}_css{i}")
            for i, f in enumerate(pkg.js):
                fig.header.add_child(JavascriptLink(assets.cdn_url(pkg, f)), name=f"{key}_js{i}")
    fig.header.add_child(
        _Raw(_inline_style((_OWN / "civicmap.css").read_text(encoding="utf-8"))),
        name="civicmap_css",
    )
    if not opts.self_contained:  # Leaflet from the CDN: say so where it did not load
        fig.html.add_child(_Raw(_needs_network(lang)), name="civicmap_needs_network")
    fig.header.add_child(
        _Raw(_inline_script((_OWN / "civicmap.js").read_text(encoding="utf-8"))),
        name="civicmap_js",
    )
    fig.header.add_child(
        _Raw(_inline_script(FILTER_SCRIPT.read_text(encoding="utf-8"))), name="civicmap_filters"
    )
    body, folder = _payload(data, opts, tiles_dir)
    data_json = script_json(body)
    fig.html.add_child(
        _Raw(f'<script type="application/json" id="{_DATA_ID}">' + data_json + "</script>"),
        name="civicmap_data",
    )
    languages = language_payload(data)  # the language switch and furigana (web_languages.py)
    if len(languages["pages"]) > 1 or languages["ruby"]:
        fig.header.add_child(
            _Raw(_inline_style((_OWN / "languages.css").read_text(encoding="utf-8"))),
            name="civicmap_languages_css",
        )
        fig.html.add_child(
            _Raw(
                '<script type="application/json" id="civicmap-languages">'
                + script_json(languages)
                + "</script>"
                + _inline_script((_OWN / "languages.js").read_text(encoding="utf-8"))
            ),
            name="civicmap_languages",
        )
    m.add_child(_CivicLayers())
    _stable_ids(fig, data_json)
    page = fig.render()
    tag = wording.BCP47.get(lang, lang)
    return page.replace("<html>", f'<html lang="{tag}">', 1), folder


def write_web(
    data: MapData, path: Path, *, options: WebOptions | None = None, overwrite: bool
) -> Path:
    """Write the web map to ``path`` (atomically; refuses to replace it unless ``overwrite``).

    An offline page whose pack tiles go in a folder (``outputs.web.offline_tiles``)
    also gets ``<name>_tiles/{z}/{x}/{y}.png`` beside it, written all at once
    (:func:`civicmap.render.background.write_tile_folder`) before the page.
    """
    path = Path(path)
    check_writable(path, overwrite=overwrite)
    page, folder = _render(data, _options(data, options), tile_folder_name(path))
    if folder is not None:
        write_tile_folder(path.parent / folder["name"], folder["files"], overwrite=overwrite)
    write_text_atomic(path, page, overwrite=overwrite)
    log.info(
        _("web map: %(path)s (%(value).0f kB)"),
        {"path": path, "value": len(page.encode("utf-8")) / 1024},
    )
    return path


def tile_folder_name(path: Path) -> str:
    """The tile folder beside the page ``path``: ``<name>_tiles`` (``map.html`` → ``map_tiles``)."""
    return f"{Path(path).stem}_tiles"
