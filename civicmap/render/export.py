"""Exports for other tools: a ``.umap`` uMap imports as it is, GeoJSON and KML.

- ``.umap``: uMap's own export layout (``type: umap``, map ``properties``,
  ``geometry`` = centre, one ``layers[]`` FeatureCollection per civicmap layer
  with its style in ``_umap_options``, per-feature ``_umap_options`` for
  approximate places). Credits go to uMap's ``shortCredit``/``longCredit``.
- GeoJSON: one FeatureCollection, every feature with its layer and
  simplestyle properties (``marker-color``, ``marker-symbol``) so other
  viewers (GitHub, geojson.io) colour it too.
- KML: one ``Folder`` per layer with a shared ``Style``, in the shape Google
  My Maps imports (one layer per folder).
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from civicmap import fields, settings, wording
from civicmap._files import check_writable, write_text_atomic
from civicmap.errors import CivicMapError
from civicmap.hazards import texts as hazard_texts
from civicmap.i18n import _
from civicmap.mapdata import LayerData, MapData
from civicmap.render._rows import Row, frame_rows
from civicmap.render.background import credit_lines
from civicmap.render.symbols import (
    category_counts,
    category_looks,
    kept_categories,
    svg_path,
    taken_symbols,
)
from civicmap.schema import APPROXIMATE, OSM_LICENCE, OSM_LICENCE_URL

log = logging.getLogger(__name__)

FORMATS = ("umap", "geojson", "kml")
SUFFIXES = {"umap": ".umap", "geojson": ".geojson", "kml": ".kml"}
_DIGITS = 7


#: Control characters (C0, DEL, C1) and what XML 1.0 can never hold (surrogates,
#: U+FFFE/U+FFFF). Tab and newline are kept where a text may have lines.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAKS = re.compile("[\t\n]+")


def clean_text(value: Any, *, lines: bool = True) -> str:
    """A text as every export may write it: no control characters.

    Why: a map file's own texts (title, subtitle, layer titles) and data cells may
    hold control characters (a pasted form feed, a stray NUL). XML 1.0 cannot
    hold them, so one in a title made the whole KML unreadable; JSON viewers
    show them as garbage. Tab and newline are kept when ``lines`` (texts shown
    as paragraphs); with ``lines=False`` (one-line names) they become a space.
    ``\r`` goes: a line ends with ``\n`` in what we write.
    """
    text = _CONTROL.sub("", str(value).replace("\r\n", "\n"))
    return text if lines else _LINE_BREAKS.sub(" ", text).strip()


def clean_tree(obj: Any) -> Any:
    """``obj`` (JSON-like: dicts, lists, scalars) with :func:`clean_text` on every string."""
    if isinstance(obj, str):
        return clean_text(obj)
    if isinstance(obj, dict):
        return {clean_text(k): clean_tree(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_tree(v) for v in obj]
    return obj


def _html_lines(lines: list[str]) -> str:
    """Lines as a KML description: HTML-escaped, joined by ``<br>``.

    KML viewers (Google Earth, My Maps) read a description as HTML: data text put
    there as plain text would be markup (a name ``<img src=x onerror=...>`` runs).
    Escaped here for HTML, then ElementTree escapes it again for XML.
    """
    return "<br>".join(html.escape(clean_text(line, lines=False)) for line in lines)


def _value(v: Any) -> Any:
    """A cell as a JSON value (None for missing)."""
    if v is None:
        return None
    if isinstance(v, float):
        return None if math.isnan(v) else v
    if isinstance(v, (bool, int, str)):
        return v
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(v, "item"):
        return v.item()
    return str(v)


def _round(coords: Any) -> Any:
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [round(float(c), _DIGITS) for c in coords]
    return [_round(c) for c in coords]


def _geometry(geom) -> dict:
    gi = geom.__geo_interface__
    if gi["type"] == "GeometryCollection":
        return {"type": "GeometryCollection", "geometries": [_geometry(g) for g in geom.geoms]}
    return {"type": gi["type"], "coordinates": _round(gi["coordinates"])}


def _properties(row: pd.Series, whole: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A feature's values as export properties; ``whole``: columns written as integers."""
    out = {}
    for k, v in row.items():
        if k == "geometry" or k in _INTERNAL:
            continue
        val = _value(v)
        if val is None or val == "":
            continue
        if k in whole and isinstance(val, float):
            val = int(val)
        out[str(k)] = val
    return out


#: Columns civicmap uses to draw, not data: a feature's own style is exported as the
#: target's own style (uMap ``_umap_options``), never as properties.
_INTERNAL = frozenset({"style_color", "style_fill", "style_weight", "style_dash", "drawn_as"})


def whole_number_columns(frame: pd.DataFrame) -> frozenset[str]:
    """Columns of numbers that are all whole (ids, counts) though pandas holds them as floats.

    Why: a column of integers with one empty cell becomes float in pandas, and the
    exports wrote ``12345.0`` for an id; these are written as integers.
    """
    out = set()
    for col in frame.columns:
        if col == "geometry" or not pd.api.types.is_float_dtype(frame[col]):
            continue
        values = frame[col].dropna()
        if len(values) and bool(((values % 1) == 0).all()) and bool((values.abs() < 2**53).all()):
            out.add(str(col))
    return frozenset(out)


def _features(layer: LayerData) -> list[tuple[Row, dict]]:
    rows = []
    for _i, row in frame_rows(layer.features):
        if row.geometry is None or row.geometry.is_empty:
            continue
        rows.append((row, _geometry(row.geometry)))
    return rows


#: The property holding what each hazard says at a shelter site (``hazards:``).
HAZARD_PROPERTY = "hazards"


def _hazard_text(data: MapData, layer_id: str, label: Any) -> str:
    """What each hazard says at one site, one line per hazard (「洪水：想定浸水深 3–5 m / …」).

    Every export carries it (GeoJSON/KML/uMap property ``hazards``, the KML
    description, the uMap popup), so a site flagged on the maps is flagged there too.
    """
    if data.hazards is None:
        return ""
    return " / ".join(data.hazards.lines_for(layer_id, label))


def _centre_zoom(data: MapData) -> tuple[list[float], int]:
    w, s, e, n = data.area.geometry.bounds
    # Zoom at which the area's larger side fits ~1000 px of 256-px tiles.
    span = max(e - w, (n - s) / max(math.cos(math.radians((n + s) / 2)), 0.1), 1e-6)
    zoom = int(max(3, min(18, math.floor(math.log2(360 * 1000 / 256 / span)))))
    return [round((w + e) / 2, _DIGITS), round((s + n) / 2, _DIGITS)], zoom


def to_geojson(data: MapData) -> dict[str, Any]:
    """All layers as one FeatureCollection with style and layer as properties."""
    feats = []
    for layer in data.layers:
        style = layer.spec.style
        title = layer.spec.title_in(data.language)
        cat_styles = _category_styles(data, layer)
        whole = whole_number_columns(layer.features)
        for row, geom in _features(layer):
            props = _properties(row, whole)
            if hazard := _hazard_text(data, layer.id, row.name):
                props[HAZARD_PROPERTY] = hazard
            st = cat_styles.get(fields.text(row.get("category")))
            colour = fields.text(row.get("style_color")) or (st.color if st else style.color)
            props.update(
                {
                    "layer": layer.id,
                    "layer_title": title,
                    "marker-color": colour,
                    "marker-symbol": st.symbol if st else style.symbol,
                    "stroke": colour,
                    "fill": style.fill or colour,
                }
            )
            # uMap reads a feature's own style from here when this file is imported into
            # one of its layers ("Replace layer content"); other tools ignore it
            umap = ({"color": st.color} if st else {}) | _own_style(row)
            if umap:
                props["_umap_options"] = umap
            feats.append({"type": "Feature", "properties": props, "geometry": geom})
    return clean_tree(
        {
            "type": "FeatureCollection",
            "name": str(data.spec.title),
            "civicmap": {
                "title": str(data.spec.title),
                "layers": [
                    {
                        "id": layer.id,
                        "title": layer.spec.title_in(data.language),
                        "style": layer.spec.style.as_dict(),
                    }
                    for layer in data.layers
                ],
                "credits": credit_lines(data),
                "built": data.built,  # the data date: the next print's change list starts here
            },
            "features": feats,
        }
    )


def _category_styles(data: MapData, layer: LayerData) -> dict:
    """``{category: CategoryStyle}`` of the layer's places (``{}`` when it has none).

    The web map's style table (:func:`~civicmap.render.symbols.category_looks`, with
    its category budget and the symbols the map's other layers use), so an exported
    place looks in uMap as it did on our page; past the budget, the rest share the
    layer's own look as they share the page's "Other" row.
    """
    counts = category_counts(layer.features)
    if not counts:
        return {}
    spec = layer.spec
    order = spec.category_order(list(counts))
    kept = kept_categories(spec, counts, settings.max_categories_web)
    taken = taken_symbols([lay.spec for lay in data.layers], but=layer.id)
    looks = category_looks(spec, order, taken=taken, present=counts, kept=kept)
    if all((st.color, st.symbol) == (spec.style.color, spec.style.symbol) for st in looks):
        return {}  # the layer's own look for all: the layer's style says it once
    return {st.name: st for st in looks}


#: uMap's icon class for every layer: the Default pin shows ``iconUrl`` (our symbol) inside.
_UMAP_ICON_CLASS = "Default"


def umap_icon_url(symbol: str) -> str:
    """Our marker symbol as a white SVG ``data:image`` URL, for uMap's ``iconUrl``.

    uMap (3.8, ``modules/icon.js``) draws an ``iconUrl`` starting with ``data:image``
    as an ``<img>`` inside its pin, coloured by ``color``: so every layer and category
    keeps its own shape in uMap, with no Font Awesome or remote icon to fetch.
    """
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="-2 -2 24 24" width="24" height="24">'
        f'<path d="{svg_path(symbol, size=20)}" fill="#ffffff" stroke="#333333" '
        'stroke-width="1"/></svg>'
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("ascii")).decode("ascii")


#: Characters that must not appear in a link put into uMap's ``[[url|text]]`` syntax.
_UMAP_LINK_BAD = set("[]|{}")


#: Labels of the columns a merged site adds (the web map's words, ``render/web.py``): without
#: them uMap's popups showed the raw key ("designations: 指定避難所…"), found with uMap 3.7.3.
_SITE_LABELS = {
    "designations": wording.Names("export.designations"),
    "other_names": wording.Names("export.other_names"),
}


def _popup_template(layer: LayerData, language: str, row: pd.Series | None = None) -> str:
    """uMap's popup template (``{column}`` fields, uMap's Markdown) from the layer's popup.

    Fields are shown under their display labels (電話番号 for ``TEL``). With ``row``,
    the template of that one feature: fields it has no value for are left out, so
    uMap shows no "受入対象者: " lines with nothing after them, and safe telephone /
    e-mail values become ``[[tel:…|…]]`` links (uMap links bare https URLs itself).
    """
    spec = layer.spec
    # a folded file layer's places keep their own popup (see LayerSpec.popup_for)
    popup = spec.popup if row is None else spec.popup_for(fields.text(row.get("category")))
    if isinstance(popup, str):
        return popup
    cols = layer.features.columns
    lines = ["# {name}"]
    for c in popup:
        if c == "name":
            continue
        names = fields.ALIASES.get(c, (c,))
        col = next(
            (n for n in names if n in cols and (row is None or fields.text(row.get(n)) != "")),
            None,
        )
        if col is None:
            continue
        lab = fields.label(c, language, given=spec.column_label(c, language))
        if lab == c and c in _SITE_LABELS:
            lab = _SITE_LABELS[c].get(language, _SITE_LABELS[c]["ja"])
        value = "{" + col + "}"
        if row is not None:
            href = fields.link_for(col, fields.text(row.get(col)))
            if href and not href.startswith("http") and not (_UMAP_LINK_BAD & set(href)):
                value = f"[[{href}|{{{col}}}]]"
        lines.append(f"**{lab}**: {value}")
    return "\n".join(lines)


def _umap_licence(data: MapData) -> dict[str, Any]:
    """uMap's ``licence``: an object ``{name, url}`` (uMap's About panel links ``url`` with
    ``name``); OpenStreetMap's ODbL when the map uses OSM data, else the one licence all the
    layers' credits name, else none (uMap then says no licence has been set)."""
    if data.uses_osm:
        return {"licence": {"name": OSM_LICENCE, "url": OSM_LICENCE_URL}}
    named = {(c.licence, c.url) for layer in data.layers for c in layer.credits if c.licence}
    if len({name for name, _url in named}) == 1:
        name, url = sorted(named, key=lambda n: (not n[1], n[1]))[0]
        return {"licence": {"name": name, "url": url}}
    return {}


def _layer_uuid(data: MapData, layer_id: str) -> str:
    """A layer's uMap id: the same UUID on every export of this map, so a layer of an
    exported file is told by its id from the other layers and from earlier exports."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"civicmap:{data.spec.title}:{layer_id}"))


def _line_style(style: Any) -> dict[str, Any]:
    """A layer's line and area options in uMap's names (only those the layer sets)."""
    out: dict[str, Any] = {}
    if style.weight:
        out["weight"] = style.weight
    if style.dash:
        out["dashArray"] = style.dash
    if style.fill_opacity is not None:
        out["fillOpacity"] = style.fill_opacity
    return out


def _own_style(row: pd.Series) -> dict[str, Any]:
    """A feature's own style (read from uMap or KML) as uMap's ``_umap_options``."""
    out: dict[str, Any] = {}
    colour = fields.text(row.get("style_color"))
    if colour:
        out["color"] = colour
    fill = fields.text(row.get("style_fill"))
    if fill:
        out["fillColor"] = fill
    weight = _value(row.get("style_weight"))
    if isinstance(weight, int | float) and weight > 0:
        out["weight"] = weight
    dash = fields.text(row.get("style_dash"))
    if dash:
        out["dashArray"] = dash
    return out


def to_umap(data: MapData) -> dict[str, Any]:
    """The map in uMap's export layout (what uMap 2.x/3.x "import a uMap file" reads)."""
    centre, zoom = _centre_zoom(data)
    layers = []
    next_id = 0
    for rank, layer in enumerate(data.layers):
        style = layer.spec.style
        cat_styles = _category_styles(data, layer)
        whole = whole_number_columns(layer.features)
        features = []
        for row, geom in _features(layer):
            props = _properties(row, whole)
            hazard = _hazard_text(data, layer.id, row.name)
            if hazard:
                props[HAZARD_PROPERTY] = hazard
            if not props.get("name"):
                # unnamed: named by its kind, as on the web map (never an id)
                cat = fields.text(row.get("category"))
                props["name"] = (
                    layer.spec.category_title(cat, data.language)
                    if cat
                    else layer.spec.title_in(data.language)
                )
            opts: dict[str, Any] = {}
            if cat_styles:
                st = cat_styles.get(fields.text(row.get("category")))
                if st is not None:
                    opts.update(color=st.color, iconUrl=umap_icon_url(st.symbol))
            own = layer.spec.popup_for(fields.text(row.get("category")))
            if isinstance(own, str) and own != layer.spec.popup:
                opts["popupContentTemplate"] = own  # a folded file layer's own template
            if not isinstance(own, str):
                opts["popupContentTemplate"] = _popup_template(layer, data.language, row)
                if hazard:  # the web popup's ハザード row, in uMap's popup too
                    label = hazard_texts(data.language)["hazard"]
                    opts["popupContentTemplate"] += f"\n**{label}**: {{{HAZARD_PROPERTY}}}"
            if row.get(APPROXIMATE) is True:
                opts.update({"iconClass": "Ball", "opacity": 0.5, "dashArray": "5,5"})
            opts.update(_own_style(row))
            if opts:
                props["_umap_options"] = opts
            next_id += 1  # whole numbers, unique in the map (uMap looks features up by id)
            features.append({"type": "Feature", "id": next_id, "properties": props,
                             "geometry": geom})  # fmt: skip
        layers.append(
            {
                "type": "FeatureCollection",
                "features": features,
                "_umap_options": {
                    "name": layer.spec.title_in(data.language),
                    "description": layer.spec.description.get(data.language, ""),
                    "displayOnLoad": True,
                    "browsable": True,
                    "inCaption": True,
                    "id": _layer_uuid(data, layer.id),
                    "rank": rank,
                    "color": style.color,
                    "fillColor": style.fill or style.color,
                    **_line_style(style),
                    "iconClass": _UMAP_ICON_CLASS,
                    "iconUrl": umap_icon_url(style.symbol),
                    "labelKey": layer.spec.label or "name",
                    "showLabel": None,
                    "popupTemplate": "Default",
                    "popupContentTemplate": _popup_template(layer, data.language),
                    "type": "Cluster"
                    if layer.spec.cluster is True
                    or (
                        not isinstance(layer.spec.cluster, bool)
                        and len(features) > int(layer.spec.cluster)
                    )
                    else "Default",
                    "civicmap_id": layer.id,
                    "civicmap_symbol": style.symbol,
                },
            }
        )
    return clean_tree(
        {
            "type": "umap",
            "uri": "",
            "properties": {
                "name": str(data.spec.title),
                "description": str(data.spec.subtitle or ""),
                "zoom": zoom,
                "center": {"type": "Point", "coordinates": centre},
                **_umap_licence(data),
                "shortCredit": "© OpenStreetMap contributors" if data.uses_osm else "",
                "longCredit": "\n".join(credit_lines(data)),
                "captionBar": True,
                "scaleControl": True,
                "fullscreenControl": True,
                "searchControl": True,
                "locateControl": True,
                "datalayersControl": True,
                "slideshow": {},
                "tilelayer": {},
                "limitBounds": {},
            },
            "geometry": {"type": "Point", "coordinates": centre},
            "layers": layers,
        }
    )


_KML_NS = "http://www.opengis.net/kml/2.2"


def _kml_colour(hex_colour: str, alpha: str = "ff") -> str:
    """#rrggbb → KML's aabbggrr."""
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    return f"{alpha}{h[4:6]}{h[2:4]}{h[0:2]}".lower()


def _kml_coords(coords) -> str:
    return " ".join(f"{x},{y}" for x, y, *_ in coords)


def _kml_geometry(parent: ET.Element, geom) -> None:
    t = geom.geom_type
    if t == "Point":
        ET.SubElement(
            ET.SubElement(parent, "Point"), "coordinates"
        ).text = f"{geom.x:.7f},{geom.y:.7f}"
    elif t == "LineString":
        ET.SubElement(ET.SubElement(parent, "LineString"), "coordinates").text = _kml_coords(
            geom.coords
        )
    elif t == "Polygon":
        poly = ET.SubElement(parent, "Polygon")
        outer = ET.SubElement(ET.SubElement(poly, "outerBoundaryIs"), "LinearRing")
        ET.SubElement(outer, "coordinates").text = _kml_coords(geom.exterior.coords)
        for ring in geom.interiors:
            inner = ET.SubElement(ET.SubElement(poly, "innerBoundaryIs"), "LinearRing")
            ET.SubElement(inner, "coordinates").text = _kml_coords(ring.coords)
    else:  # Multi* and collections
        multi = ET.SubElement(parent, "MultiGeometry")
        for g in geom.geoms:
            _kml_geometry(multi, g)


def _kml_label(layer: LayerData, column: str, language: str) -> str:
    """A column's label in the map's language (種別, 住所, 電話番号 …), else the column."""
    return fields.label(column, language, given=layer.spec.column_label(column, language))


class _Labels(dict):
    """A layer's column labels by column, each looked up once (every placemark repeats them)."""

    def __init__(self, layer: LayerData, language: str) -> None:
        super().__init__()
        self.layer = layer
        self.language = language

    def __missing__(self, column: str) -> str:
        self[column] = shown = _kml_label(self.layer, column, self.language)
        return shown


def _kml_value(value: Any, language: str) -> Any:
    """A value as a KML viewer should show it: true/false as はい/いいえ (yes/no)."""
    if isinstance(value, bool):
        return wording.text(language, "kml.yes" if value else "kml.no")
    return value


def to_kml(data: MapData) -> str:
    """KML with one Folder (and one Style) per layer, as Google My Maps imports it.

    Every text goes through :func:`clean_text` (no control characters: they make
    the file unreadable), and descriptions, which KML viewers show as HTML, are
    escaped for HTML too (:func:`_html_lines`).
    """
    ET.register_namespace("", _KML_NS)
    kml = ET.Element("kml", {"xmlns": _KML_NS})
    doc = ET.SubElement(kml, "Document")
    ET.SubElement(doc, "name").text = clean_text(data.spec.title, lines=False)
    ET.SubElement(doc, "description").text = _html_lines(credit_lines(data))
    for layer in data.layers:
        colour = layer.spec.style.color
        style = ET.SubElement(doc, "Style", {"id": f"style-{layer.id}"})
        icon_style = ET.SubElement(style, "IconStyle")
        ET.SubElement(icon_style, "color").text = _kml_colour(colour)
        icon = ET.SubElement(icon_style, "Icon")
        ET.SubElement(
            icon, "href"
        ).text = "https://www.gstatic.com/mapspro/images/stock/503-wht-blank_maps.png"
        ET.SubElement(ET.SubElement(style, "LineStyle"), "color").text = _kml_colour(colour)
        ET.SubElement(ET.SubElement(style, "PolyStyle"), "color").text = _kml_colour(colour, "4d")
    for layer in data.layers:
        folder = ET.SubElement(doc, "Folder")
        ET.SubElement(folder, "name").text = clean_text(
            layer.spec.title_in(data.language), lines=False
        )
        whole = whole_number_columns(layer.features)
        lang = data.language
        labels = _Labels(layer, lang)
        for row, _geom in _features(layer):
            pm = ET.SubElement(folder, "Placemark")
            ET.SubElement(pm, "name").text = clean_text(row.get("name") or "", lines=False)
            props = _properties(row, whole)
            if hazard := _hazard_text(data, layer.id, row.name):
                props[HAZARD_PROPERTY] = hazard
            desc = [
                f"{labels[k]}: {_kml_value(props[k], lang)}"
                for k in ("category", "address")
                if k in props
            ]
            if hazard:
                desc.append(f"{hazard_texts(data.language)['hazard']}: {hazard}")
            if row.get(APPROXIMATE) is True:
                desc.append(wording.text(data.language, "web.approximate"))
            if desc:
                ET.SubElement(pm, "description").text = _html_lines(desc)
            ET.SubElement(pm, "styleUrl").text = f"#style-{layer.id}"
            ext = ET.SubElement(pm, "ExtendedData")
            for k, v in props.items():
                if k == "name":
                    continue
                d = ET.SubElement(ext, "Data", {"name": clean_text(k, lines=False)})
                shown = labels[k]
                if shown != k:  # the label Google Earth shows for the field
                    ET.SubElement(d, "displayName").text = clean_text(shown, lines=False)
                ET.SubElement(d, "value").text = clean_text(_kml_value(v, lang))
            _kml_geometry(pm, row.geometry)
    ET.indent(kml, space=" ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(kml, encoding="unicode") + "\n"


def only_layers(data: MapData, wanted: list[str] | tuple[str, ...]) -> MapData:
    """``data`` with only the layers named in ``wanted`` (by id or by title), in map order.

    Why: uMap replaces one layer's content with its own import option ("Replace layer
    content"), one layer at a time; an export of that one layer is what it takes.

    Raises
    ------
    CivicMapError
        A name that is no layer of the map, listing the layers' titles.
    """
    if not wanted:
        return data
    lang = data.language
    names = {layer.id: layer for layer in data.layers}
    names.update({layer.spec.title_in(lang): layer for layer in data.layers})
    missing = [w for w in wanted if w not in names]
    if missing:
        raise CivicMapError(
            _("no layer %(name)r in this map; its layers are: %(layers)s")
            % {
                "name": missing[0],
                "layers": ", ".join(layer.spec.title_in(lang) for layer in data.layers),
            }
        )
    keep = {names[w].id for w in wanted}
    return replace(data, layers=[layer for layer in data.layers if layer.id in keep])


def export_text(data: MapData, *, fmt: str) -> str:
    """The export as text (JSON for umap/geojson, XML for kml)."""
    if fmt == "umap":
        return json.dumps(to_umap(data), ensure_ascii=False, indent=1)
    if fmt == "geojson":
        return json.dumps(to_geojson(data), ensure_ascii=False, indent=1)
    if fmt == "kml":
        return to_kml(data)
    raise CivicMapError(
        _("export format: got %(fmt)r, expected one of %(value)s")
        % {"fmt": fmt, "value": ", ".join(FORMATS)}
    )


def write_export(data: MapData, path: Path, *, fmt: str, overwrite: bool) -> Path:
    """Write ``data`` as ``fmt`` (umap, geojson, kml) to ``path``, atomically."""
    if fmt not in FORMATS:
        raise CivicMapError(
            _("export format: got %(fmt)r, expected one of %(value)s")
            % {"fmt": fmt, "value": ", ".join(FORMATS)}
        )
    path = Path(path)
    check_writable(path, overwrite=overwrite)
    text = export_text(data, fmt=fmt)
    write_text_atomic(path, text, overwrite=overwrite)
    log.info(
        _("%(fmt)s export: %(path)s (%(sum)d features)"),
        {"fmt": fmt, "path": path, "sum": sum(len(x.features) for x in data.layers)},
    )
    return path
