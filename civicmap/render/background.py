"""What is under a map besides the raster tiles: the web page's background and banner, and the
paper map's fallback when there are neither tiles nor OSM data (bundled N03 outlines).

The tiles themselves (registry, fetching, paper raster, pack) are in
:mod:`civicmap.render.tiles`; this module decides what the page and the paper
show with them and how the map says so. Banner texts are fixed templates here,
filled with ``str.replace`` — never a template engine or ``str.format``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from civicmap.i18n import _
from civicmap.render import tiles as _tiles
from civicmap.render.tiles import (
    RasterInfo,
    draw_paper_tiles,
    frame_lonlat_bounds,
    pack_for,
    pack_tiles_dir,
    read_pack_manifest,
    source_for,
    tile_credits,
)
from civicmap.schema import Credit

log = logging.getLogger(__name__)


def background_credits(data: Any) -> list[Credit]:
    """Credits for what is under the map: its tiles, its 承認番号, and N03 when used."""
    out = tile_credits(data.spec)
    if uses_n03(data):
        from civicmap.area import N03_CREDIT

        out.append(Credit(source="N03", credit=N03_CREDIT, date="2021"))
    return out


# --------------------------------------------------------------------------- web map

#: The web map's banner texts: what background the page shows (never from data).
BANNERS = {
    "ja": {
        "online": "背景：{name}（オンライン）",
        "pack": "背景：{name}（{date} に保存したもの・オフライン）",
        "osm": "背景：OSMデータから描いた地図",
    },
    "en": {
        "online": "Background: {name} (online)",
        "pack": "Background: {name} (saved {date}, offline)",
        "osm": "Background: map drawn from OSM data",
    },
}


def banner_text(kind: str, language: str, **values: str) -> str:
    # fixed templates from BANNERS filled with replace(): never str.format on our side
    text = BANNERS.get(language, BANNERS["ja"])[kind]
    for k, v in values.items():
        text = text.replace("{" + k + "}", v)
    return text


def web_background(spec: Any, *, drawn_osm: bool, use_pack: bool) -> dict[str, Any] | None:
    """The web map's background from ``basemap.tiles``: online URL, or pack tiles inlined.

    Parameters
    ----------
    drawn_osm : bool
        Whether the page also has the basemap drawn from OSM data (the fallback).
    use_pack : bool
        An offline page (``outputs.web.offline`` or offline mode): take the tiles
        from the pack as data URIs, when the pack has them and they fit
        :data:`_tiles.WEB_INLINE_LIMIT`.

    Returns
    -------
    dict or None
        None when the map names no tiles (the web map's own default applies).
        Else ``{"tile": {id, url, attribution, maxNativeZoom, minNativeZoom,
        title, inline}, "banner": text while the tiles show, "fallback": text
        when they cannot load ("" when nothing is left)}``.
    """
    import base64

    source = source_for(spec.basemap)
    if source is None:
        return None
    lang = spec.language
    name = source.name.get(lang, source.name["ja"])
    fallback = banner_text("osm", lang) if drawn_osm else ""
    tile = {
        "id": source.id,
        "url": source.url,
        "attribution": source.attribution_html or _html_escape(source.credit),
        "maxNativeZoom": source.max_zoom,
        "minNativeZoom": source.min_zoom,
        "title": name,
    }
    manifest = read_pack_manifest(pack_for(spec), source) if source.offline else None
    if use_pack and manifest is not None:
        folder = pack_tiles_dir(pack_for(spec), source)
        by_zoom: dict[int, list[Path]] = {}
        for f in sorted(folder.rglob("*.png")):
            by_zoom.setdefault(int(f.parts[-3]), []).append(f)
        # whole zooms, coarsest first, while they fit the limit (the paper's
        # detailed zoom of a large atlas may not: the page then stops there)
        kept: list[int] = []
        total = 0
        for z in sorted(by_zoom):
            size = sum(f.stat().st_size for f in by_zoom[z])
            if total + size > _tiles.WEB_INLINE_LIMIT:
                break
            kept.append(z)
            total += size
        if kept:
            inline = {}
            for z in kept:
                for f in by_zoom[z]:
                    inline[f"{z}/{f.parts[-2]}/{f.stem}"] = "data:image/png;base64," + (
                        base64.b64encode(f.read_bytes()).decode("ascii")
                    )
            tile.update(url="", inline=inline, minNativeZoom=min(kept), maxNativeZoom=max(kept))
            if len(kept) < len(by_zoom):
                log.warning(
                    _(
                        "the offline web page inlines the pack's tiles of zooms %(kept)s (%(value).1f "
                        "MB); the more detailed zooms would pass %(value2).0f MB"
                    ), {"kept": kept, "value": total / 1e6, "value2": _tiles.WEB_INLINE_LIMIT / 1e6},
                )  # fmt: skip
            date = str(manifest.get("fetched", ""))[:10]
            return {"tile": tile, "banner": banner_text("pack", lang, name=name, date=date),
                    "fallback": fallback}  # fmt: skip
        log.warning(
            _(
                "the pack's tiles are more than an offline web page inlines (%(value).0f MB "
                "per zoom); the web map uses them online"
            ),
            {"value": _tiles.WEB_INLINE_LIMIT / 1e6},
        )
    return {"tile": tile, "banner": banner_text("online", lang, name=name), "fallback": fallback}


def _html_escape(text: str) -> str:
    import html

    return html.escape(text)


# --------------------------------------------------------------------------- no background at all

#: The note a paper map without tiles or OSM data prints in its frame.
NO_BACKGROUND_NOTE = {
    "ja": "背景地図なし（市区町村界と名称：国土数値情報、太い破線：地図の範囲）",
    "en": "No background map (municipal boundaries and names: N03; thick dashes: the map area)",
}


def _lines(geom: Any) -> Iterator[list[tuple[float, float]]]:
    """Every ring or line of a (multi)polygon's boundary as coordinate lists."""
    b = geom.boundary if geom.geom_type in ("Polygon", "MultiPolygon") else geom
    for part in getattr(b, "geoms", [b]):
        yield list(part.coords)


def draw_outline_background(
    c: Any, data: Any, frame: Any, crs: Any, *, avoid: tuple = (), drawn: list | None = None
) -> list[str]:
    """What we ship when there are neither tiles nor OSM data: N03 outlines, names, the area.

    Draws every bundled N03 municipality touching the frame (boundary and
    name), the map area's outline, and :data:`NO_BACKGROUND_NOTE` in the
    frame's corner, so a paper map of dots is still placed on the ground.
    Returns the municipality names drawn. A name whose label would touch one of the
    page rectangles in ``avoid`` (an overview's sheet numbers) is left out; the
    rectangles of the labels drawn are appended to ``drawn``, so the marker numbers
    placed later keep clear of them.
    """
    import geopandas as gpd
    from reportlab.lib import colors
    from shapely.geometry import box

    from civicmap.area import municipalities_in
    from civicmap.render._fonts import draw_text, text_width
    from civicmap.render._layout import Rect

    ext = box(*frame.extent)
    west, south, east, north = frame_lonlat_bounds(frame.extent, crs)
    munis = municipalities_in((west, south, east, north))
    names = []
    c.saveState()
    c.setStrokeColor(colors.HexColor("#868e96"))
    c.setLineWidth(1.2)
    c.setDash(6, 2)
    for _code, name, geom in munis:
        g = gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(crs).iloc[0]
        for line in _lines(g.intersection(ext.buffer(50))):
            if len(line) < 2:
                continue
            p = c.beginPath()
            p.moveTo(*frame.to_page(*line[0][:2]))
            for xy in line[1:]:
                p.lineTo(*frame.to_page(*xy[:2]))
            c.drawPath(p, stroke=1, fill=0)
        inside = g.intersection(ext)
        if not inside.is_empty:
            pt = inside.representative_point()
            x, y = frame.to_page(pt.x, pt.y)
            w = text_width(name, 16)
            box = Rect(x - w / 2 - 2, y - 5, w + 4, 22)
            fr = frame.rect  # keep clear of the grid letters along the frame's edges
            inner = box.x > fr.x + 14 and box.x1 < fr.x1 - 14 and box.y > fr.y + 14
            if not (inner and box.y1 < fr.y1 - 14) or any(box.intersects(a) for a in avoid):
                continue
            draw_text(
                c, x, y, name, 16, anchor="middle", bold=True, color=colors.HexColor("#adb5bd")
            )
            if drawn is not None:
                drawn.append(box)
            names.append(name)
    area = gpd.GeoSeries([data.area.geometry], crs="EPSG:4326").to_crs(crs).iloc[0]
    c.setStrokeColor(colors.HexColor("#495057"))
    c.setLineWidth(2)
    c.setDash(10, 4)
    for line in _lines(area):
        p = c.beginPath()
        p.moveTo(*frame.to_page(*line[0][:2]))
        for xy in line[1:]:
            p.lineTo(*frame.to_page(*xy[:2]))
        c.drawPath(p, stroke=1, fill=0)
    c.restoreState()
    r = frame.rect
    note = NO_BACKGROUND_NOTE.get(data.language, NO_BACKGROUND_NOTE["ja"])
    nw = text_width(note, 6.5) + 4
    # The first corner the page has not reserved (an atlas page's scale bar sits bottom left).
    for x, y in ((r.x + 2, r.y + 2), (r.x + 2, r.y1 - 12), (r.x1 - nw - 2, r.y + 2)):
        box = Rect(x, y, nw, 10)
        if not any(box.intersects(a) for a in avoid):
            draw_text(c, x + 2, y + 2, note, 6.5, halo=2)
            if drawn is not None:
                drawn.append(box)
            break
    return names


def draw_paper_background(
    c: Any, data: Any, frame: Any, crs: Any, *, avoid: tuple = (), drawn: list | None = None
) -> RasterInfo | None:
    """The paper hook: tiles under everything, or, with no tiles and no OSM, the N03 outlines.

    ``avoid`` and ``drawn``: see :func:`draw_outline_background` (labels keep clear of
    what the page reserves, and tell the page where they went).
    """
    info = draw_paper_tiles(c, data.spec, frame, crs)
    if info is None and data.basemap is None:
        draw_outline_background(c, data, frame, crs, avoid=avoid, drawn=drawn)
    return info


def uses_n03(data: Any) -> bool:
    """Whether a map shows bundled N03 data (its area, or the no-background outlines)."""
    if getattr(data.area, "kind", "") == "municipality":
        return True
    src = source_for(data.spec.basemap)
    return (
        data.basemap is None and (src is None or not src.offline) and "paper" in data.spec.outputs
    )
