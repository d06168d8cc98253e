"""What goes where, without drawing: the numbered places, the routes, the plan tests read back.

The index order and numbers are decided here once, so every page and the
index agree on them.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from civicmap import settings, wording
from civicmap.mapdata import LayerData, MapData
from civicmap.render._colocate import colocated
from civicmap.render._routes import ordered_routes
from civicmap.render._rows import frame_rows
from civicmap.render.paper.geometry import AtlasPage, Grid, MapFrame, Rect, ScaleBar
from civicmap.render.paper.hazards import hazard_details
from civicmap.render.paper.index_keys import Prefixes, log_same_sites, same_sites, sort_reading
from civicmap.render.paper.left_off import is_left_off
from civicmap.render.paper.placement import NumberLabel
from civicmap.render.paper.shapes import is_shape
from civicmap.render.paper.texts import (
    DISASTER,
    INDEX_ALIASES,
    TEXT,
    disaster_strip,
    kana_key,
)
from civicmap.render.place_names import place_name
from civicmap.render.routes_table import route_hazard
from civicmap.render.symbols import (
    CategoryStyle,
    OtherStyle,
    category_counts,
    category_looks,
    kept_categories,
    own_colour,
    place_look,
    taken_symbols,
    warn_category_budget,
)
from civicmap.schema import APPROXIMATE, DISASTER_TYPES

log = logging.getLogger(__name__)

#: Places of different layers closer than this (metres) print as one place.
COLOCATED_M = 10.0


@dataclass
class Entry:
    """One numbered place: what the index prints and where its marker goes."""

    number: int
    layer: LayerData
    category: str
    name: str
    sort_key: str
    details: list[str]
    approximate: bool
    xy: tuple[float, float]  # projected metres
    ref: str = ""  # grid reference ("B3", or "p2 B3" in an atlas)
    page: int | None = None  # atlas page number
    source_ref: str = ""  # the feature's source_ref (routes name shelters by it)
    #: Other layers' places at this same spot (a school that is both 指定避難所 and
    #: 指定緊急避難場所): drawn in this one marker, listed in this one index entry.
    also: list[LayerData] = field(default_factory=list)
    also_refs: list[str] = field(default_factory=list)  # their source_refs
    #: The sort reading came from the analyser, not a カナ column (the index says so).
    reading_derived: bool = False
    #: Colour and symbol from the style table (web and paper read the same one).
    look: CategoryStyle | None = None
    #: (layer id, row label) of this place and of the places drawn with it: how
    #: :func:`civicmap.render.numbering.place_numbers` gives the web the same numbers.
    keys: list[tuple[str, Any]] = field(default_factory=list)


@dataclass
class RouteLeg:
    """One route from the map's home point to a shelter, as the paper map draws and lists it."""

    rank: int  # 1 = nearest on foot (straight fallbacks after the walked routes)
    name: str
    number: int | None  # the shelter's index number, when it is on the map
    walk: bool  # a walked route (False: a straight line, no street route known)
    nearest: bool  # the nearest shelter on foot: drawn solid
    walk_m: float | None
    walk_min: float | None
    straight_m: float
    coords: list[tuple[float, float]]  # projected metres
    home: str = ""  # which home (homes: several meeting points), for the route table
    note: str = ""  # a qualified designation, e.g. "洪水: 2階以上可" (upstairs only)
    hazard: str = ""  # what the map's hazards say there, e.g. "洪水：想定区域外"


@dataclass
class FramePlan:
    """A map frame drawn on one PDF page."""

    pdf_page: int  # 1-based
    frame: MapFrame
    grid: Grid
    atlas: AtlasPage | None = None
    numbers: list[NumberLabel] = field(default_factory=list)
    #: Numbers with no room on this frame, listed apart: (number, grid cell, marker on page).
    unplaced: list[tuple[int, str, tuple[float, float]]] = field(default_factory=list)
    neighbour_boxes: list[Rect] = field(default_factory=list)  # atlas: "→12ページ" boxes


@dataclass
class PaperPlan:
    """The layout actually drawn; tests compare it with what the PDF shows."""

    size: str
    orientation: str
    page_w: float
    page_h: float
    scale: int
    crs: str
    large_print: bool
    language: str
    entries: list[Entry] = field(default_factory=list)
    frames: list[FramePlan] = field(default_factory=list)
    scale_bar: ScaleBar | None = None
    scale_bar_rect: Rect | None = None
    atlas_pages: list[AtlasPage] = field(default_factory=list)
    atlas_left_out: int = 0  # grid sheets with no place, not printed
    atlas_areas: dict[int, str] = field(default_factory=dict)  # area atlas: page → area name
    page_scales: dict[int, int] = field(default_factory=dict)  # area atlas: page → 1:N
    pages: int = 0
    index_pages: list[int] = field(default_factory=list)
    routes: list[RouteLeg] = field(default_factory=list)
    home: tuple[float, float] | None = None  # projected metres
    readability: Any = None  # readability.Readability of the map pages
    insets: list[Any] = field(default_factory=list)  # inset.InsetPlan: the sheet's 拡大図
    #: What the readability check changed (an inset, an atlas instead of the sheet), or "".
    note: str = ""


# --------------------------------------------------------------------------- entries


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return ""
    return str(v).strip()


def _flags(row: pd.Series) -> dict[str, bool | None]:
    out: dict[str, bool | None] = {}
    for k in DISASTER_TYPES:
        v = row.get(f"serves_{k}")
        out[k] = True if (v is True or v == 1) else (False if (v is False or v == 0) else None)
    return out


def details(
    row: pd.Series, columns: tuple[str, ...], lang: str, *, strip: bool = False
) -> list[str]:
    """The index lines of one place; ``strip``: the ○/× strip of the disasters it serves."""
    t = TEXT[lang]
    out: list[str] = []
    if strip and (line := disaster_strip(_flags(row), lang)):
        out.append(line)
    for col in columns:
        value, label = "", ""
        if col in ("disasters", "serves"):
            if strip:
                continue  # the strip says it
            served = [
                DISASTER[lang][k]
                for k in DISASTER_TYPES
                if row.get(f"serves_{k}") is True or row.get(f"serves_{k}") == 1
            ]
            if served:
                value, label = wording.list_sep(lang).join(served), t["serves"]
        elif col in INDEX_ALIASES or any(col in v for v in INDEX_ALIASES.values()):
            alias = (
                col
                if col in INDEX_ALIASES
                else next(k for k, v in INDEX_ALIASES.items() if col in v)
            )
            names = (col,) if col not in INDEX_ALIASES else INDEX_ALIASES[col]
            value = next((s for s in (_text(row.get(n)) for n in names) if s), "")
            label = t[alias]
        else:
            value = _text(row.get(col))
            if col == "designations":
                value = wording.translate_list(lang, "category", value)
            label = "" if col in ("address", "name", "category", "designations") else col
            if col == "other_names" and value:
                label = "＋"  # other facilities at the same site
        if value:
            line = f"{label} {value}" if label else value
            if line not in out:
                out.append(line)
    return out


def build_entries(
    data: MapData,
    crs: str,
    *,
    tolerance_m: float = COLOCATED_M,
    prefixes: Prefixes | None = None,
) -> list[Entry]:
    """Every place of every layer, in index order and numbered 1..n.

    Order: layer (map file order), category (the layer's declared order, then
    others by reading), then 五十音 by the reading of the name without its
    ``prefixes`` (``name_kana`` where known, else read by the analyser).
    Places of several layers within ``tolerance_m`` are one entry (see ``Entry.also``),
    and so are names of one site after the prefixes (see :func:`same_sites`).
    """
    prefixes = prefixes or Prefixes()
    looks = layer_looks(data)
    lang = data.paper_language
    # a place's details (address, disasters served, designations) in the sheet's first
    # language: a bilingual sheet doubles its headings and legend, not every index line
    detail_lang = wording.base(lang)
    entries: list[Entry] = []
    # Places at one spot across layers: the first (map-file order) carries the
    # others; they get no entry, number or marker of their own.
    merged: dict[tuple[str, object], tuple[str, object]] = {}
    for g in colocated(data, tolerance_m=tolerance_m):
        first = (g.members[0].layer_id, g.members[0].row)
        for m in g.members[1:]:
            merged[(m.layer_id, m.row)] = first
    carried: dict[tuple[str, object], list[tuple[LayerData, pd.Series]]] = {}
    by_id = {layer.id: layer for layer in data.layers}
    for (layer_id, label), first in merged.items():  # only the merged rows, not every row
        layer = by_id[layer_id]
        carried.setdefault(first, []).append((layer, layer.features.loc[label]))
    for layer in data.layers:
        f = layer.features
        if f.empty:
            continue
        proj = f.geometry.to_crs(crs)
        pts = [g if g.geom_type == "Point" else g.representative_point() for g in proj]
        declared = [c.get("name") for c in layer.spec.categories]
        rows = []
        for (label, row), pt in zip(frame_rows(f), pts, strict=True):
            if pt is None or pt.is_empty or (layer.id, label) in merged or is_shape(row):
                continue  # a line or an area is drawn as itself (render/paper/shapes.py)
            if is_left_off(row):
                continue  # print_if: closed, unknown or stale places stay off paper
            name = _text(row.get("name")) or _text(row.get("source_ref"))
            kana = _text(row.get("name_kana"))
            cat = _text(row.get("category"))
            key, derived = sort_reading(name, kana, prefixes)
            rows.append(
                Entry(
                    number=0,
                    layer=layer,
                    category=cat,
                    name=place_name(row, name, lang),
                    sort_key=kana_key(key),
                    reading_derived=derived,
                    details=details(
                        row,
                        layer.spec.index,
                        detail_lang,
                        strip=layer.spec.role == "shelter",
                    )
                    + hazard_details(data, layer.id, label),
                    approximate=bool(row.get(APPROXIMATE) is True or row.get(APPROXIMATE) == 1),
                    xy=(pt.x, pt.y),
                    source_ref=_text(row.get("source_ref")),
                    look=own_colour(
                        row,
                        place_look(
                            layer.spec, looks[layer.id], cat, _text(row.get("designations"))
                        ),
                    ),
                    keys=[(layer.id, label)],
                )
            )
            for other, orow in carried.get((layer.id, label), []):
                e = rows[-1]
                if other not in e.also:
                    e.also.append(other)
                oname = _text(orow.get("name"))
                title = other.spec.title_in(lang)
                line = wording.words(lang)["punct.plus"].replace("{text}", title)
                if oname and oname != name:
                    line += wording.paren(lang, oname)
                e.details.insert(0, line)
                e.also_refs.append(_text(orow.get("source_ref")))
                e.keys.append((other.id, orow.name))
        cat_rank = {c: i for i, c in enumerate(declared)}
        rows.sort(  # the categories past the budget last, together: one index heading
            key=lambda e: (
                isinstance(e.look, OtherStyle),
                cat_rank.get(e.category, len(cat_rank)),
                "" if isinstance(e.look, OtherStyle) else kana_key(e.category),
                e.sort_key,
                e.name,
            )
        )
        entries.extend(rows)
    entries = _one_entry_per_site(entries, prefixes, lang)
    for i, e in enumerate(entries, start=1):
        e.number = i
    return entries


#: While :func:`entries_reused` is open: (data, crs, prefixes, entries) made for the last map.
_reused: ContextVar[list[Any] | None] = ContextVar("civicmap_entries_reused", default=None)


@contextlib.contextmanager
def entries_reused() -> Iterator[None]:
    """Within this block, the entries of one map are built once and copied for each layout.

    ``civicmap init`` lays the same data out on several papers and scales: the
    projected points, readings and index lines do not change between them, and
    building them was a large part of every trial. Only ``ref`` and ``page`` are
    set by a drawing, so each layout gets copies of its own. A block inside
    another shares the outer one's.
    """
    if _reused.get() is not None:  # already inside one: keep what it made
        yield
        return
    token = _reused.set([])
    try:
        yield
    finally:
        _reused.reset(token)


def entries_for(data: MapData, crs: Any, *, prefixes: Prefixes) -> list[Entry]:
    """:func:`build_entries`, made once per map inside :func:`entries_reused` (copies)."""
    kept = _reused.get()
    if kept is None:
        return build_entries(data, crs, prefixes=prefixes)
    if not (kept and kept[0] is data and kept[1] == str(crs) and kept[2] == prefixes):
        kept[:] = [data, str(crs), prefixes, build_entries(data, crs, prefixes=prefixes)]
    return [replace(e) for e in kept[3]]


def layer_looks(data: MapData) -> dict[str, dict[str, CategoryStyle]]:
    """Each layer's categories → colour and symbol, from the style table the web map uses."""
    specs = [layer.spec for layer in data.layers]
    out: dict[str, dict[str, CategoryStyle]] = {}
    for layer in data.layers:
        counts = category_counts(layer.features)
        present = list(counts)
        order = layer.spec.category_order(present)
        taken = taken_symbols(specs, but=layer.id)
        kept = kept_categories(layer.spec, counts, settings.max_categories_paper)
        if kept is not None:  # past the budget: the rest share one look and legend row
            warn_category_budget(layer, counts)
        looks = category_looks(layer.spec, order, taken=taken, present=present, kept=kept)
        out[layer.id] = {st.name: st for st in looks}
    return out


def _one_entry_per_site(entries: list[Entry], prefixes: Prefixes, lang: str) -> list[Entry]:
    """Fold entries whose names match after the prefixes within 100 m into the first one.

    The prefecture's list says 金沢市芳斎公民館 where GSI's says 芳斎公民館, 79 m
    apart: one site, so one marker, one number and one entry (said on the console).
    """
    dup = same_sites(((e.name, e.xy) for e in entries), prefixes)
    if not dup:
        return entries
    pairs: list[tuple[str, str, float]] = []
    for i, j in sorted(dup.items()):
        e, keep = entries[i], entries[j]
        pairs.append((keep.name, e.name, math.dist(e.xy, keep.xy)))
        keep.also_refs.extend([e.source_ref, *e.also_refs])
        keep.keys.extend(e.keys)
        for other in [e.layer, *e.also]:
            if other is not keep.layer and other not in keep.also:
                keep.also.append(other)
                title = other.spec.title_in(lang)
                line = wording.words(lang)["punct.plus"].replace("{text}", title)
                if e.name != keep.name:
                    line += wording.paren(lang, e.name)
                keep.details.insert(0, line)
    log_same_sites(pairs)
    return [e for i, e in enumerate(entries) if i not in dup]


def build_route_legs(data: MapData, crs, entries: list[Entry]) -> list[RouteLeg]:
    """The map's home routes, nearest on foot first, with the shelters' index numbers."""
    proj = ordered_routes(data.routes, crs)
    if proj is None:
        return []
    numbers = {
        e.source_ref: e.number
        for e in entries
        if getattr(e.layer.spec, "role", None) == "shelter" or e.layer.id.startswith("shelter")
    }
    numbers.update({r: e.number for e in entries for r in e.also_refs if r})
    # "2階以上可" and the like: the route table says it next to the shelter, as the index does
    notes = {
        _text(ref): _text(up)
        for layer in data.layers
        if "upstairs_only" in layer.features.columns
        for ref, up in zip(
            layer.features["source_ref"], layer.features["upstairs_only"], strict=True
        )
        if _text(up)
    }
    legs: list[RouteLeg] = []
    homes = list(dict.fromkeys(proj["place_ref"])) if "place_ref" in proj.columns else []
    per_home: dict[str, int] = {}
    for _, r in proj.iterrows():
        walk = bool(r["walked"])
        ref = _text(r.get("place_ref"))
        per_home[ref] = i = per_home.get(ref, 0) + 1
        geom = r.geometry
        legs.append(
            RouteLeg(
                rank=i,
                name=_text(r.get("shelter_name")),
                number=numbers.get(_text(r.get("shelter_ref"))),
                walk=walk,
                nearest=bool(r["nearest"]),
                walk_m=float(r["walk_m"]) if walk else None,
                walk_min=float(r["walk_min"]) if walk else None,
                straight_m=float(r["straight_m"]),
                coords=list(geom.coords) if geom is not None and not geom.is_empty else [],
                home=_text(r.get("place_name")) if len(homes) > 1 else "",
                note=notes.get(_text(r.get("shelter_ref")), ""),
                hazard=route_hazard(data, _text(r.get("shelter_ref"))),
            )
        )
    return legs
