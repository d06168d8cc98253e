"""What is under a map besides the raster tiles: the web page's background and banner, and the
paper map's fallback when there are neither tiles nor OSM data (bundled N03 outlines).

The tiles themselves (fetching, paper raster, pack) are in
:mod:`civicmap.render.tiles`; this module decides what the page and the paper
show with them and how the map says so. Banner texts are fixed templates here,
filled with ``str.replace`` — never a template engine or ``str.format``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from civicmap import wording
from civicmap._files import write_folder
from civicmap._outputs import TILES_MARKER, is_tile_folder
from civicmap.area import municipalities_in, n03_credit
from civicmap.errors import SourceError
from civicmap.i18n import _
from civicmap.render import tiles as _tiles
from civicmap.render._fonts import draw_text, text_width
from civicmap.render.paper.geometry import Rect
from civicmap.render.paper.texts import wrap
from civicmap.render.tiles import (
    RasterInfo,
    draw_paper_tiles,
    frame_lonlat_bounds,
    list_pack_tiles,
    pack_for,
    read_pack_manifest,
    read_pack_tile,
    tile_credits,
)
from civicmap.schema import Credit
from civicmap.spec.mapfile import MapSpec

if TYPE_CHECKING:  # mapdata reads its credits from here: a type only, no import cycle
    from civicmap.mapdata import MapData

log = logging.getLogger(__name__)


#: What a credit says when its data's date is not known (never a guess, never today).
NO_DATE = wording.Names("credit.no_date")
#: What a map prints for a source whose map file gives no credit (never its file's name).
UNSTATED = wording.Names("credit.unstated")


def shown_credit(credit: Credit, *, language: str) -> str:
    """The credit text a map shows: the one the map file gives, else "source not stated".

    A source without ``credit:`` is named by its file (``Credit.stated`` false); that name is
    the builder's (「避難所一覧_田中修正.xlsx」) and says nothing to a reader, so the public sees
    the words for an unstated source, and ``check`` and ``build`` tell the builder to add one.
    """
    return credit.credit if credit.stated else UNSTATED.get(language, UNSTATED["en"])


def credit_lines(data: MapData) -> list[str]:
    """Every credit of the map as one printable line, each saying its data's date.

    The one wording for paper, web and exports: a credit without a known date says
    so (「日付不明」), once, on its own line, rather than borrowing another date. The
    承認番号 line is a permission, not data: it carries no date.
    """
    return lines_of(map_credits(data), language=data.language)


def lines_of(credits: Sequence[Credit], *, language: str) -> list[str]:
    """``credits`` as printable lines (see :func:`credit_lines`), in the map's ``language``."""
    unknown = NO_DATE.get(language, NO_DATE["en"])
    lines = []
    for c in credits:
        shown = replace(c, credit=shown_credit(c, language=language))
        lines.append(
            shown.line() if c.date or c.source == "approval" else f"{shown.line()} / {unknown}"
        )
    return list(dict.fromkeys(lines))  # two unstated files of one date: one line


def background_credits(data: MapData) -> list[Credit]:
    """Credits for what is under the map: its tiles, its 承認番号, and N03 when used.

    The tiles are checked first (:func:`~civicmap.render.tiles.tiles_usable`): a
    paper map whose tile server cannot be reached neither shows nor credits them.
    """
    _tiles.tiles_usable(data.spec)
    out = tile_credits(data.spec)
    if uses_n03(data):
        out.append(n03_credit(language=data.language))
    return out


def map_credits(data: MapData) -> list[Credit]:
    """Every credit a map prints: :meth:`MapData.credits` with what lies under the map.

    The one place the renderers ask for credits, so the tiles' date (learnt while
    drawing them) and the N03 line reach paper, web and exports alike.
    """
    return data.credits(background=background_credits(data))


def web_credits(data: MapData) -> tuple[list[str], set[str]]:
    """The web page's credit lines, and the tile sources among them (their ids).

    A web page shows the tiles as served, never reprojected, cropped or lightened as
    the paper does, so its tile credit names only the source
    (「出典：国土地理院 地理院タイル（淡色地図）」, with its date), without the line
    GSI's terms ask for processed tiles (「地理院タイルを加工して作成」); paper and
    exports keep that line (:func:`credit_lines`). The page's tile layers of that
    source then leave the attribution bar to this line (:mod:`civicmap.render.web`),
    so it names the tiles once, with their date.
    """
    lang = data.language
    credits = map_credits(data)
    source = data.spec.basemap.source
    credited: set[str] = set()
    if source is not None:
        printed = source.credit_in(lang)
        web = replace(source, processed="").credit_in(lang)
        for i, c in enumerate(credits):
            if c.source == source.id and c.credit == printed:
                credits[i] = replace(c, credit=web)
                credited.add(source.id)
    return lines_of(credits, language=lang), credited


# --------------------------------------------------------------------------- web map

#: The web map's banner texts: what background the page shows (never from data).
BANNERS = wording.Table("banner")


def banner_text(kind: str, language: str, **values: str) -> str:
    # fixed templates from BANNERS filled with replace(): never str.format on our side
    text = BANNERS.get(language, BANNERS["ja"])[kind]
    for k, v in values.items():
        text = text.replace("{" + k + "}", v)
    return text


def web_background(
    spec: MapSpec,
    *,
    drawn_osm: bool,
    use_pack: bool,
    folder: str | None = None,
    mode: str = "auto",
    bounds: tuple[float, float, float, float] | None = None,
) -> dict[str, Any] | None:
    """The web map's background from ``basemap.tiles``: online URL, pack tiles inlined or in a folder.

    Parameters
    ----------
    drawn_osm : bool
        Whether the page also has the basemap drawn from OSM data (the fallback).
    use_pack : bool
        A self-contained page (``outputs.web.self_contained``) or offline mode: take the tiles
        from the pack, when it has them (never OSM's tiles: they are not stored).
    folder : str, optional
        The tile folder's name beside the page (``<name>_tiles``); None when the
        page is rendered without a file (then the tiles can only be inlined).
    mode : str
        ``outputs.web.offline_tiles``: ``auto`` inlines the pack's tiles as data
        URIs while they fit :data:`_tiles.WEB_INLINE_LIMIT` and uses the folder
        when they do not (a folder has no size limit, and the page stays small);
        ``inline`` only inlines (whole zooms, coarsest first, up to the limit);
        ``folder`` always uses the folder.
    bounds : tuple, optional
        The map's area (west, south, east, north): the folder gets the pack's
        tiles touching it, at every zoom the pack holds.

    Returns
    -------
    dict or None
        None when the map names no tiles (the web map's own default applies).
        Else ``{"tile": {id, url, attribution, maxNativeZoom, minNativeZoom,
        title, inline | local+bounds}, "banner": text while the tiles show,
        "fallback": text when they cannot load ("" when nothing is left)}``,
        and with a folder ``"folder": {"name": ..., "files": {"z/x/y": reader}}``:
        what the writer writes (:func:`write_tile_folder`), each reader returning
        the pack tile's checked bytes (never a path to copy: a pack is untrusted).
    """
    import base64

    source = spec.basemap.source
    if source is None:
        return None
    lang = spec.language
    name = source.name.get(lang, source.name["ja"])
    fallback = banner_text("osm", lang) if drawn_osm else ""
    tile = {
        "id": source.id,
        "url": source.url,
        "attribution": source.attribution_in(lang),
        "maxNativeZoom": source.max_zoom,
        "minNativeZoom": source.min_zoom,
        "title": name,
    }
    pack = pack_for(spec)
    manifest = read_pack_manifest(pack, source) if source.storable else None
    if use_pack and manifest is not None:
        # listed and read as untrusted data: a link, FIFO or changed tile is refused
        by_zoom: dict[int, list[tuple[int, int, int]]] = {}
        sizes: dict[int, int] = {}
        for key, size in list_pack_tiles(pack, source).items():
            by_zoom.setdefault(key[0], []).append(key)
            sizes[key[0]] = sizes.get(key[0], 0) + size
        date = str(manifest.get("fetched", ""))[:10]
        too_big = sum(sizes.values()) > _tiles.WEB_INLINE_LIMIT
        if folder and by_zoom and (mode == "folder" or (mode == "auto" and too_big)):
            files = {
                k: partial(_pack_tile_bytes, pack, source, manifest, k)
                for k in folder_tiles(by_zoom, bounds)
            }
            if files:
                return _folder_background(tile, files, folder, lang, name, date, bounds)
            log.warning(_("the pack holds no tile of the map's area: the web map uses them online"))
        # whole zooms, coarsest first, while they fit the limit (the paper's
        # detailed zoom of a large atlas may not: the page then stops there)
        kept: list[int] = []
        total = 0
        for z in sorted(by_zoom):
            if total + sizes[z] > _tiles.WEB_INLINE_LIMIT:
                break
            kept.append(z)
            total += sizes[z]
        if kept:
            inline = {}
            for z in kept:
                for t in by_zoom[z]:
                    inline["/".join(map(str, t))] = "data:image/png;base64," + (
                        base64.b64encode(_pack_tile_bytes(pack, source, manifest, t)).decode()
                    )
            tile.update(url="", inline=inline, minNativeZoom=min(kept), maxNativeZoom=max(kept))
            if len(kept) < len(by_zoom):
                log.warning(
                    _(
                        "the self-contained web page inlines the pack's tiles of zooms %(kept)s (%(value).1f "
                        "MB); the more detailed zooms would pass %(value2).0f MB (offline_tiles: folder keeps "
                        "them all)"
                    ), {"kept": kept, "value": total / 1e6, "value2": _tiles.WEB_INLINE_LIMIT / 1e6},
                )  # fmt: skip
            return {"tile": tile, "banner": banner_text("pack", lang, name=name, date=date),
                    "fallback": fallback}  # fmt: skip
        log.warning(
            _(
                "the pack's tiles are more than a self-contained web page inlines (%(value).0f MB "
                "per zoom); the web map uses them online"
            ),
            {"value": _tiles.WEB_INLINE_LIMIT / 1e6},
        )
    return {"tile": tile, "banner": banner_text("online", lang, name=name), "fallback": fallback}


def _pack_tile_bytes(pack: Path, source: Any, manifest: dict, key: tuple[int, int, int]) -> bytes:
    """A listed pack tile's bytes, checked (:func:`civicmap.render.tiles.read_pack_tile`)."""
    body = read_pack_tile(pack, source, manifest, *key)
    if body is None:  # listed a moment ago: removed meanwhile
        raise SourceError(
            _("offline pack %(pack)s: the tile %(tile)s disappeared while it was read")
            % {"pack": pack, "tile": "/".join(map(str, key))}
        )
    return body


def folder_tiles(
    by_zoom: dict[int, list[tuple[int, int, int]]], bounds: tuple[float, float, float, float] | None
) -> list[tuple[int, int, int]]:
    """The pack's tiles touching ``bounds`` (all of them without bounds), as ``(z, x, y)``.

    Zooms from the coarsest up to the first gap: the page asks a zoom past the
    folder's last one from that one (scaled), so a gap would be a hole.
    """
    out: list[tuple[int, int, int]] = []
    zooms = sorted(by_zoom)
    run = [z for i, z in enumerate(zooms) if z - zooms[0] == i]
    for z in run:
        wanted = None if bounds is None else set(_tiles.tiles_for_bounds(bounds, z))
        out += [key for key in by_zoom[z] if wanted is None or key in wanted]
    return out


def _folder_background(
    tile: dict,
    files: dict[tuple[int, int, int], Callable[[], bytes]],
    folder: str,
    lang: str,
    name: str,
    date: str,
    bounds: tuple[float, float, float, float] | None,
) -> dict[str, Any]:
    """The page's tile layer reading ``<folder>/{z}/{x}/{y}.png`` beside it, relative.

    The layer asks only inside ``bounds`` (the map's area, whose tiles the folder
    holds at every zoom), so the page never asks for a tile the folder cannot have.
    """
    from urllib.parse import quote

    keys = list(files)
    zooms = sorted({k[0] for k in keys})
    if bounds is None:
        boxes = [_tiles.tile_lonlat_bounds(*k) for k in keys]
        bounds = (min(b[0] for b in boxes), min(b[1] for b in boxes),
                  max(b[2] for b in boxes), max(b[3] for b in boxes))  # fmt: skip
    w, s, e, n = bounds
    tile.update(
        url=quote(folder) + "/{z}/{x}/{y}.png",  # relative: works from file:// and a web server
        local=True,
        bounds=[[round(s, 6), round(w, 6)], [round(n, 6), round(e, 6)]],
        minNativeZoom=zooms[0],
        maxNativeZoom=zooms[-1],
    )
    return {
        "tile": tile,
        "banner": banner_text("folder", lang, name=name, date=date),
        # the page without its folder (only the HTML copied): say what is missing and the fix
        "fallback": banner_text("folder_missing", lang, folder=folder),
        "folder": {"name": folder, "files": {"/".join(map(str, k)): f for k, f in files.items()}},
    }


def write_tile_folder(
    target: Path, files: dict[str, Path | Callable[[], bytes]], *, overwrite: bool
) -> Path:
    """Write the tile folder ``target`` (``z/x/y.png``) all at once: temporary folder, then rename.

    A failure leaves the old folder (or none) as it was, never half a folder. Inside a
    build (an open output batch) the finished folder is renamed with the page and the
    other outputs, all or none, so the old page never meets a new folder.
    An existing folder is replaced only with ``overwrite``, like every output;
    temporary folders a killed run left next to it are removed first.

    Raises
    ------
    OutputExistsError
        ``target`` exists and ``overwrite`` is false.
    OutputRefusedError
        ``target`` is not a tile folder civicmap wrote, or is an input (never replaced).
    OutputWriteError
        The folder cannot be written (disk full, read-only ...), naming it.
    """
    target = Path(target)
    # only a tile folder we wrote is replaced; never an input, a file, a stranger's folder
    write_folder(
        target,
        {key + ".png": src for key, src in files.items()},
        overwrite=overwrite,
        ours=is_tile_folder,
        marker=TILES_MARKER,
    )
    log.info(_("tile folder: %(path)s (%(n)d tiles)"), {"path": target, "n": len(files)})
    return target


# --------------------------------------------------------------------------- no background at all

#: The note a paper map without tiles or OSM data prints in its frame.
NO_BACKGROUND_NOTE = wording.Names("paper.no_background")


def _lines(geom: Any) -> Iterator[list[tuple[float, float]]]:
    """Every ring or line of a (multi)polygon's boundary as coordinate lists."""
    b = geom.boundary if geom.geom_type in ("Polygon", "MultiPolygon") else geom
    for part in getattr(b, "geoms", [b]):
        yield list(part.coords)


@lru_cache(maxsize=256)
def _projected(geom: Any, crs: Any) -> Any:
    """``geom`` (degrees) in the paper's ``crs``, remembered.

    Every sheet of an atlas, its overview and every layout a starter or the
    readability check tries draws the same municipalities again; projecting
    one took about a millisecond each time (shapes are immutable: shared safely).
    """
    import geopandas as gpd

    return gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(crs).iloc[0]


def draw_outline_background(
    c: Any,
    data: MapData,
    frame: Any,
    crs: Any,
    *,
    avoid: tuple = (),
    drawn: list | None = None,
    note_pt: float = 7.0,
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
    from reportlab.lib import colors
    from shapely.geometry import box

    ext = box(*frame.extent)
    west, south, east, north = frame_lonlat_bounds(frame.extent, crs)
    munis = municipalities_in((west, south, east, north))
    names = []
    c.saveState()
    c.setStrokeColor(colors.HexColor("#868e96"))
    c.setLineWidth(1.2)
    c.setDash(6, 2)
    for _code, name, geom in munis:
        g = _projected(geom, crs)
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
    area = _projected(data.area.geometry, crs)
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
    # At most 38 % of the frame wide, so it leaves the middle of the edge to an
    # atlas page's neighbour box ("↑50ページ").
    lines = wrap(note, max(r.w * 0.38, note_pt * 12), lambda t: text_width(t, note_pt))
    lh = note_pt * 1.25
    nw = max(text_width(line, note_pt) for line in lines) + 4
    nh = len(lines) * lh + note_pt * 0.5
    # The first corner the page has not reserved (an atlas page's scale bar sits bottom left).
    for x, y in ((r.x + 2, r.y + 2), (r.x + 2, r.y1 - nh - 2), (r.x1 - nw - 2, r.y + 2)):
        box = Rect(x, y, nw, nh)
        if not any(box.intersects(a) for a in avoid):
            for i, line in enumerate(lines):
                draw_text(c, x + 2, y + nh - note_pt * 1.1 - i * lh, line, note_pt, halo=2)
            if drawn is not None:
                drawn.append(box)
            break
    return names


def draw_paper_background(
    c: Any,
    data: MapData,
    frame: Any,
    crs: Any,
    *,
    avoid: tuple = (),
    drawn: list | None = None,
    note_pt: float = 7.0,
) -> RasterInfo | None:
    """The paper hook: tiles under everything, or, with no tiles and no OSM, the N03 outlines.

    ``avoid`` and ``drawn``: see :func:`draw_outline_background` (labels keep clear of
    what the page reserves, and tell the page where they went); ``note_pt``: the
    size of its note (the sheet's type floor).
    """
    info = draw_paper_tiles(c, data.spec, frame, crs)
    if info is None and data.basemap is None:
        draw_outline_background(c, data, frame, crs, avoid=avoid, drawn=drawn, note_pt=note_pt)
    return info


def uses_n03(data: MapData) -> bool:
    """Whether a map shows bundled N03 data (its area, or the no-background outlines)."""
    if getattr(data.area, "kind", "") == "municipality":
        return True
    src = data.spec.basemap.source
    no_tiles = src is None or not src.storable or not _tiles.tiles_usable(data.spec)
    return data.basemap is None and no_tiles and data.spec.paper is not None
