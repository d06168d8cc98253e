"""The interactive web map: one HTML file, clear on a phone, working offline.

Folium gives the page scaffold (the Leaflet map, the mobile viewport); the
layers themselves are drawn by our own small script
(``render/assets/civicmap.js``) from one JSON payload, because per-marker
Folium objects make a 10,000-point map tens of megabytes and Folium's
GeoJSON popups put data into HTML unescaped. Every text from data reaches the
page only through ``textContent`` (or escaped), never as HTML.

With ``outputs.web.offline: true`` every script and style is inlined (from the
npm packages ``python -m civicmap.render.assets install`` fetched), so the
file works from ``file://`` with no network; the background is then drawn from
the OSM data of the area itself (:attr:`MapData.basemap`).
"""

from __future__ import annotations

import html
import json
import logging
import math
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
from branca.element import CssLink, Element, Figure, JavascriptLink, MacroElement
from jinja2 import Template

from civicmap._files import check_writable, write_text_atomic
from civicmap.errors import ConfigError, Problem
from civicmap.mapdata import LayerData, MapData
from civicmap.render import assets
from civicmap.render._routes import ordered_routes
from civicmap.render.symbols import svg_path
from civicmap.schema import APPROXIMATE, DISASTER_TYPES

log = logging.getLogger(__name__)

_OWN = Path(__file__).with_name("assets")

#: Online background tiles and the attribution each requires.
TILES: dict[str, dict[str, Any]] = {
    "gsi": {
        "url": "https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png",
        "attribution": '<a href="https://maps.gsi.go.jp/development/ichiran.html" '
        'target="_blank" rel="noopener">地理院タイル</a>（淡色地図）',
        "maxNativeZoom": 18,
        "title": {"ja": "地理院地図（淡色）", "en": "GSI pale map"},
    },
    "osm": {
        "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "attribution": '&copy; <a href="https://www.openstreetmap.org/copyright" '
        'target="_blank" rel="noopener">OpenStreetMap</a> contributors',
        "maxNativeZoom": 19,
        "title": {"ja": "OpenStreetMap 標準", "en": "OpenStreetMap standard"},
    },
}
TILE_CHOICES = (*TILES, "none")

#: Fixed texts of the page, by language.
TEXTS: dict[str, dict[str, str]] = {
    "ja": {
        "legend": "凡例",
        "search": "名前で検索",
        "no_match": "見つかりません",
        "locate": "現在地を表示",
        "locate_popup": "現在地（誤差 {distance} {unit}）",
        "fullscreen": "全画面表示",
        "fullscreen_exit": "全画面表示を終了",
        "approximate": "位置はおおよそ（住所から推定）",
        "edge": "OSMデータの範囲（外側は背景が途切れます）",
        "basemap": "OSMデータから描いた地図",
        "no_tiles": "背景タイルなし",
        "offline_note": "ネットワークに接続できないため、OSMデータから描いた背景を表示しています",
        "credits": "出典",
        "count": "{n}件",
        "name": "名称",
        "category": "種別",
        "address": "住所",
        "layers": "レイヤー",
        "background": "背景地図",
        "disasters": "対応",
        "home": "自宅",
        "routes": "避難所までの道のり",
        "walk_route": "徒歩ルート（近い順）",
        "nearest_walk": "徒歩で最も近い避難所",
        "straight_route": "直線距離・道順ではありません",
        "walk": "徒歩 {min}分 / {m} m",
        "straight": "直線 {m} m",
        "straight_only": "直線 {m} m（直線距離・道順ではありません）",
        "designations": "指定",
        "other_names": "同じ場所",
        "rank": "徒歩で近い順 {n}",
        "rank_straight": "直線で近い順 {n}",
    },
    "en": {
        "legend": "Legend",
        "search": "Search by name",
        "no_match": "No match",
        "locate": "Show where I am",
        "locate_popup": "You are within {distance} {unit}",
        "fullscreen": "Full screen",
        "fullscreen_exit": "Exit full screen",
        "approximate": "Approximate location (from the address)",
        "edge": "Extent of the OSM data (no background outside)",
        "basemap": "Map drawn from OSM data",
        "no_tiles": "No background tiles",
        "offline_note": "No network: the background is drawn from the OSM data of the area",
        "credits": "Sources",
        "count": "{n}",
        "name": "Name",
        "category": "Category",
        "address": "Address",
        "layers": "Layers",
        "background": "Background",
        "disasters": "Serves",
        "home": "Home",
        "routes": "Walking to shelters",
        "walk_route": "Walking route (by distance)",
        "nearest_walk": "Nearest shelter on foot",
        "straight_route": "Straight line, not a walking route",
        "walk": "{min} min walk / {m} m",
        "straight": "straight line {m} m",
        "straight_only": "straight line {m} m (no walking route: not the way to walk)",
        "designations": "Designations",
        "other_names": "Also here",
        "rank": "No. {n} nearest on foot",
        "rank_straight": "No. {n} nearest in a straight line",
    },
}
_FIELD_TEXT = ("name", "category", "address", "designations", "other_names")
_COORD_DIGITS = 6  # ~0.1 m: more only makes the file bigger


def _problem(key: str, message: str) -> ConfigError:
    return ConfigError([Problem("<map>", f"outputs.web.{key}", message)])


def _options(data: MapData, options: dict) -> dict[str, Any]:
    """Checked web options with defaults (offline, tiles, cluster, labels)."""
    opts = dict(options or {})
    out: dict[str, Any] = {}
    for key in ("offline",):
        v = opts.get(key, False)
        if not isinstance(v, bool):
            raise _problem(key, f"got {v!r}, expected true or false")
        out[key] = v
    tiles = opts.get("tiles", "gsi" if data.language == "ja" else "osm")
    if tiles is False or tiles is None:
        tiles = "none"
    if tiles not in TILE_CHOICES:
        raise _problem("tiles", f"got {tiles!r}, expected one of {', '.join(TILE_CHOICES)}")
    out["tiles"] = tiles
    for key in ("cluster", "labels"):
        v = opts.get(key)
        if v is not None and not isinstance(v, bool):
            raise _problem(key, f"got {v!r}, expected true or false (or leave it out)")
        out[key] = v
    return out


def _text(value: Any) -> str:
    """A cell as display text; empty for missing values."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    if isinstance(value, bool):
        return "✓" if value else ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value).strip()


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def popup_rows(layer: LayerData, row: pd.Series, *, language: str) -> list[list[str]] | str:
    """What a feature's popup shows: ``[[label, value], ...]`` or the filled template text.

    Empty values are left out (a popup of blanks helps nobody); the values are
    plain text, escaped by the page when shown.
    """
    spec = layer.spec
    texts = TEXTS[language]
    if isinstance(spec.popup, str):
        values = _Blank({str(k): _text(v) for k, v in row.items() if k != "geometry"})
        values["name"] = display_name(row, language=language)
        values["category"] = spec.category_title(_text(row.get("category")), language)
        from civicmap._fields import TemplateError, fill_template

        try:  # field names only: no attribute/index access on data (never str.format)
            return fill_template(spec.popup, values)
        except TemplateError as exc:
            raise ConfigError(
                [
                    Problem(
                        spec.file or spec.id,
                        "popup",
                        f"template {spec.popup!r} cannot be filled: {exc}; "
                        "use {column} fields and double braces {{ }} for literal braces",
                    )
                ]
            ) from exc
    rows = []
    for col in spec.popup:
        if col == "name":
            continue  # the popup's heading
        if col == "disasters" and col not in row.index:
            served = served_disasters(row, language=language)
            if served:
                rows.append([texts["disasters"], served])
            continue
        if col not in row.index:
            continue
        value = _text(row[col])
        if col == "category":
            value = spec.category_title(value, language)
        if value:
            rows.append([texts.get(col, col) if col in _FIELD_TEXT else col, value])
    return rows


def served_disasters(row: pd.Series, *, language: str) -> str:
    """The ``disasters`` pseudo-field: which disasters a place serves, e.g. ``洪水・地震``.

    Read from the boolean ``serves_<key>`` columns
    (:data:`~civicmap.schema.DISASTER_TYPES`); unknown (missing) counts as not served.
    """
    names = [
        ja if language == "ja" else key.replace("_", " ")
        for key, ja in DISASTER_TYPES.items()
        if row.get(f"serves_{key}") is True or row.get(f"serves_{key}") == 1
    ]
    return ("・" if language == "ja" else ", ").join(names)


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
    for _, r in order.iterrows():
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


def display_name(row: pd.Series, *, language: str) -> str:
    """The name to show: ``name:en`` from OSM on English maps where present."""
    if language == "en":
        en = _text(row.get("name:en"))
        if en:
            return en
    return _text(row.get("name"))


def _round(geom: dict) -> dict:
    def r(c):
        if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
            return [round(c[0], _COORD_DIGITS), round(c[1], _COORD_DIGITS)]
        return [r(x) for x in c]

    if geom["type"] == "GeometryCollection":
        # KML MultiGeometry of mixed kinds / GeoJSON GeometryCollection: L.geoJSON draws it
        return {"type": "GeometryCollection", "geometries": [_round(g) for g in geom["geometries"]]}
    return {"type": geom["type"], "coordinates": r(geom["coordinates"])}


def layer_payload(layer: LayerData, *, language: str, options: dict) -> dict[str, Any]:
    """One layer as the page's script draws it: style, texts and features."""
    spec = layer.spec
    feats = layer.features
    n = len(feats)
    cluster = options.get("cluster")
    if cluster is None:
        cluster = spec.cluster if isinstance(spec.cluster, bool) else n > int(spec.cluster)
    labels = options.get("labels")
    if labels is None:
        labels = spec.label is not None and n <= 2000
    labels = bool(labels) and spec.label is not None
    points: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    approx = APPROXIMATE in feats.columns
    for i, (_, row) in enumerate(feats.iterrows()):
        geom = row.geometry
        if geom is None or geom.is_empty:
            log.warning("layer %s: %s has no geometry; not drawn", spec.id, row.get("source_ref"))
            continue
        pt = geom if geom.geom_type == "Point" else geom.representative_point()
        name = display_name(row, language=language)
        item: dict[str, Any] = {
            "ll": [round(pt.y, _COORD_DIGITS), round(pt.x, _COORD_DIGITS)],
            "n": name,
            "p": popup_rows(layer, row, language=language),
        }
        if language == "en" and name != _text(row.get("name")):
            item["o"] = _text(row.get("name"))
        if labels:
            item["l"] = name if spec.label == "name" else _text(row.get(spec.label))
        if approx and row[APPROXIMATE] is True:
            item["a"] = 1
        if geom.geom_type != "Point":
            shapes.append(_round(geom.__geo_interface__))
            item["s"] = len(shapes) - 1
        item["i"] = i
        points.append(item)
    return {
        "id": spec.id,
        "title": spec.title_in(language),
        "color": spec.style.get("color", "#1c7ed6"),
        "fill": spec.style.get("fill", ""),
        "symbol": spec.style.get("symbol", "circle"),
        "path": svg_path(spec.style.get("symbol", "circle"), size=20),
        "cluster": bool(cluster),
        "labels": labels,
        "count": len(points),
        "features": points,
        "shapes": shapes,
    }


_BASEMAP_COLUMNS = ("kind", "name")


def basemap_payload(basemap: gpd.GeoDataFrame | None) -> dict[str, Any] | None:
    """The OSM basemap as a compact GeoJSON FeatureCollection (kind, name)."""
    if basemap is None or basemap.empty:
        return None
    feats = []
    for kind, name, geom in zip(
        basemap["kind"], basemap.get("name", ""), basemap.geometry, strict=False
    ):
        if geom is None or geom.is_empty:
            continue
        feats.append(
            {
                "type": "Feature",
                "properties": {"k": str(kind), "n": _text(name)},
                "geometry": _round(geom.__geo_interface__),
            }
        )
    # Draw order: areas first, then lines, then stations on top.
    order = {k: i for i, k in enumerate(
        ("park", "water", "school", "building", "path", "road_minor", "road_major", "railway", "station")
    )}  # fmt: skip
    feats.sort(key=lambda f: order.get(f["properties"]["k"], 0))
    return {"type": "FeatureCollection", "features": feats}


def _background(data: MapData, opts: dict) -> dict[str, Any]:
    """The map's own tile layer (``basemap.tiles``, unless ``outputs.web.tiles`` is given) and
    the banner: ``banner`` while the chosen background shows, ``fallback`` when its tiles
    cannot load; "" says nothing (online tiles credit themselves; no background, no banner).
    """
    from civicmap import settings
    from civicmap.render.background import banner_text, web_background

    drawn = data.basemap is not None
    fallback = TEXTS[data.language]["offline_note"] if drawn else ""
    if "tiles" not in (data.spec.outputs.get("web") or {}):
        bg = web_background(
            data.spec, drawn_osm=drawn, use_pack=opts["offline"] or settings.offline
        )
        if bg is not None:
            online = not bg["tile"].get("inline")
            return {"tile": bg["tile"], "banner": "" if online else bg["banner"],
                    "fallback": fallback}  # fmt: skip
    if opts["tiles"] == "none":
        text = banner_text("osm", data.language) if drawn else ""
        return {"banner": text, "fallback": text}
    return {"banner": "", "fallback": fallback}


def payload(data: MapData, *, options: dict) -> dict[str, Any]:
    """Everything the page's script needs, as one JSON-able dict."""
    lang = data.language
    opts = _options(data, options)
    w, s, e, n = data.area.geometry.bounds
    tiles = [
        {"id": key, "url": t["url"], "attribution": t["attribution"],
         "maxNativeZoom": t["maxNativeZoom"], "title": t["title"][lang]}
        for key, t in TILES.items()
    ]  # fmt: skip
    tile = opts["tiles"]
    banner = _background(data, opts)  # basemap.tiles and the banner (render/background.py)
    if banner.get("tile"):
        tiles.insert(0, banner.pop("tile"))
        tile = tiles[0]["id"]
    edge = None
    if data.data_edge is not None and not data.data_edge.is_empty:
        edge = _round(data.data_edge.boundary.__geo_interface__)
    return {
        "lang": lang,
        "title": str(data.spec.title),
        "subtitle": str(data.spec.subtitle or ""),
        "texts": TEXTS[lang],
        "bounds": [[s, w], [n, e]],
        "tiles": tiles,
        "tile": tile,
        "background": banner,
        "offline": opts["offline"],
        "layers": [layer_payload(layer, language=lang, options=opts) for layer in data.layers],
        "basemap": basemap_payload(data.basemap),
        "edge": edge,
        "credits": [c.line() for c in data.credits()],
        "built": data.built.strftime("%Y-%m-%d"),
        "routes": routes_payload(
            data.routes, data.spec.home, language=lang, notes=getattr(data, "route_notes", [])
        ),
    }


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


def render_html(data: MapData, *, options: dict) -> str:
    """The whole web map as one HTML document.

    Raises
    ------
    AssetsMissingError
        ``offline: true`` and the Leaflet files are not installed.
    ConfigError
        A web option has a value we do not know.
    """
    opts = _options(data, options)
    if opts["offline"]:
        assets.require_installed()
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
        if opts["offline"]:
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
    fig.header.add_child(
        _Raw(_inline_script((_OWN / "civicmap.js").read_text(encoding="utf-8"))),
        name="civicmap_js",
    )
    data_json = script_json(payload(data, options=opts))
    fig.html.add_child(
        _Raw(f'<script type="application/json" id="{_DATA_ID}">' + data_json + "</script>"),
        name="civicmap_data",
    )
    m.add_child(_CivicLayers())
    _stable_ids(fig, data_json)
    page = fig.render()
    return page.replace("<html>", f'<html lang="{lang}">', 1)


def write_web(data: MapData, path: Path, *, options: dict, overwrite: bool) -> Path:
    """Write the web map to ``path`` (atomically; refuses to replace it unless ``overwrite``)."""
    path = Path(path)
    check_writable(path, overwrite=overwrite)
    page = render_html(data, options=options)
    write_text_atomic(path, page, overwrite=overwrite)
    log.info("web map: %s (%.0f kB)", path, len(page.encode("utf-8")) / 1024)
    return path
