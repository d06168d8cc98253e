"""Layer files: what a layer is, where its data comes from, and how it looks.

A layer file is YAML (see ``docs/reference.md`` for every key)::

    id: childcare
    title: {ja: 保育園・幼稚園・認定こども園, en: Childcare}
    sources:
      - osm: {match: {amenity: [kindergarten, childcare]}}
      - csv: {path: data/hoikuen.csv}
    style: {color: "#d6336c", icon: child, symbol: circle}
    label: name
    popup: [name, address, 電話番号]

Built-in layers live in the top-level ``layers/`` folder, shipped inside the
wheel as :mod:`civicmap.builtin_layers`; a map names them by id.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from civicmap import wording
from civicmap._validate import Checker, is_colour, load_yaml, path_exists, shorten
from civicmap._yaml import Short
from civicmap.errors import ConfigError, Problem
from civicmap.i18n import _
from civicmap.tagfilter import FilterSyntaxError, TagFilter

#: Paper-map marker shapes; each layer gets a different one so layers stay
#: apart when printed in black and white.
SYMBOLS = (
    "circle",
    "square",
    "triangle",
    "diamond",
    "star",
    "hexagon",
    "cross",
    "pentagon",
    "triangle_down",
)

#: Keys allowed in each kind of source (beyond the kind itself).
FILE_SOURCE_KEYS = {
    "path": "file path, relative to the layer or map file that names it",
    "url": "an http(s) address to fetch the file from instead of path (a remote source)",
    "refresh": "with url: how long a fetched copy is used before the server is asked again (1h)",
    "category": "category for every row, or {column: NAME} to take it from a column",
    "columns": "override detected columns: {lat, lon, name, name_kana, address, category, x, y}",
    "encoding": "force a text encoding instead of detecting it (e.g. cp932)",
    "layout": "force a known layout instead of detecting it",
    "credit": "{source, credit, licence, date, url}: printed on every map using this layer",
    "date": "the data's publication date (ISO: 2024-04-01, 2024-04 or 2024): dates the map",
    "geocode": "true to geocode rows that have an address but no coordinates",
    "join": "{path, on, columns}: attach a table without coordinates by name",
    "filter": "{column: value-or-list}: keep only matching rows",
    "sheet": "spreadsheet sheet to read: its name, or its number counting from 1",
    "header_row": "row holding the column names, counting from 1 (when the guess is wrong)",
    "crs": "coordinate system of the file: 平面直角座標系 zone 1-19, or EPSG code (6677, 4612, 4301)",
    "extent": "[west, south, east, north] in degrees, or world: accept places outside Japan",
    "layers": "uMap/KML: layers (default: each uMap layer or KML folder a map layer) or categories",
}
#: What ``layers:`` of a uMap or KML source may say: each of the file's layers (uMap
#: datalayers, child layers too; KML folders) becomes a layer of the map, as the file
#: shows it, or the file stays one layer with its layers as categories.
SOURCE_LAYER_MODES = ("layers", "categories")
#: Source kinds whose file has layers of its own (uMap datalayers, KML folders).
LAYERED_KINDS = ("umap", "kml")
SOURCE_KEYS: dict[str, dict[str, str]] = {
    "osm": {
        "match": "tag condition (AND/OR/NOT, see the reference)",
        "categories": "list of {name, en, match}: first match gives the category",
        "types": "element types to keep: node, way, relation (default: all)",
        "overpass_ql": "raw Overpass QL (from overpass turbo); Overpass only",
        "category": "category for features no category rule matches",
    },
    "csv": FILE_SOURCE_KEYS,
    "geojson": FILE_SOURCE_KEYS,
    "kml": FILE_SOURCE_KEYS,
    "umap": FILE_SOURCE_KEYS,
    "file": FILE_SOURCE_KEYS,
    "excel": FILE_SOURCE_KEYS,
    "shapefile": FILE_SOURCE_KEYS,
}

LAYER_KEYS = {
    "id": "layer id: lower-case letters, digits, _ and -",
    "title": "{ja: ..., en: ...} or one string",
    "description": "{ja: ..., en: ...} or one string",
    "notes": "why the layer's OSM tags were chosen (free text)",
    "sources": "list of sources, each {osm: ...}, {csv: ...}, {geojson: ...}, {kml: ...}, {umap: ...}",
    "style": "{color, icon, symbol, fill, fill_opacity, weight, dash}",
    "label": "column shown as the marker label, or false",
    "popup": "list of columns, or a template string with {column} fields",
    "index": "list of columns printed in the paper map's index",
    "cluster": "cluster markers on the web map: true, false, or a count above which to cluster",
    "categories": "display order, English names and styles: [{name, en, color, symbol}]",
    "role": "what the layer is for beyond drawing: shelter (home routes rank its places)",
    "labels": "display labels for columns: {column: label} or {column: {ja, en}}",
    "status": "{column, open: [words], closed: [words]}: each place 開設, 閉鎖 or 不明",
    "as_of": "{column}: when each place was last checked (a date and time column)",
    "print_if": "{status: [開設], max_age: 24h}: what the paper map prints (others are left off)",
    "filters": "what web map viewers can filter by: [category, {kind: flag, columns: [Temp]}, ...]",
}
#: A place's status: open, closed, or unknown (fail closed: anything not clearly said).
STATUSES = ("開設", "閉鎖", "不明")
STATUS_NAMES = {"open": "開設", "closed": "閉鎖", "unknown": "不明"}
#: Words a status column commonly holds (Google Forms, 紙マップ sheets); a layer's own
#: ``open:``/``closed:`` lists replace these.
DEFAULT_OPEN = ("開設", "開設中", "営業", "営業中", "開所", "開館", "利用可", "使用可", "可",
                "open", "yes", "○", "〇")  # fmt: skip
DEFAULT_CLOSED = ("閉鎖", "閉鎖中", "休業", "閉所", "閉館", "終了", "停止", "中止", "利用不可",
                  "使用不可", "不可", "closed", "no", "×")  # fmt: skip
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d)\s*$")
_AGE_HOURS = {"m": 1 / 60, "min": 1 / 60, "h": 1.0, "d": 24.0}
#: Layer roles: what the pipeline does with a layer beyond drawing it.
ROLES = {"shelter": "its places are shelters: home routes rank them, co-located ones merge"}
STYLE_KEYS = {"color", "icon", "symbol", "fill", "fill_opacity", "weight", "dash"}
#: Kinds of ``filters:`` entries: what the web map's viewer can filter a layer's places by.
FILTER_KINDS = {
    "category": "one checkbox per category of the layer",
    "flag": "one checkbox: only places whose column says yes (一時保育, 延長保育 ...)",
    "ages": "one checkbox per age (0歳 ... 5歳): only places that accept every checked age",
    "number": "a from-to range of a numeric column (定員)",
    "time": "a from-to range of a time-of-day column (開所時刻, 閉所時刻)",
    "disasters": "one checkbox per disaster the places serve (their serves_<type> columns)",
}
#: Keys of one ``filters:`` entry.
FILTER_KEYS = {
    "kind": "what the filter reads: " + ", ".join(FILTER_KINDS),
    "title": "{ja, en} or text: the filter's heading (default: the column's label)",
    "columns": "columns to read, the first one the data has wins (flag, number, time, ages)",
    "from": "ages: columns holding the first age accepted (AgeS, 受入開始年齢)",
    "to": "ages: columns holding the last age accepted (AgeE, 受入終了年齢)",
    "ages": "ages: [first, last] age offered as checkboxes (default [0, 5])",
}
#: The keys each kind of filter takes.
_FILTER_KIND_KEYS = {
    "category": {"kind", "title"},
    "disasters": {"kind", "title"},
    "flag": {"kind", "title", "columns"},
    "number": {"kind", "title", "columns"},
    "time": {"kind", "title", "columns"},
    "ages": {"kind", "title", "columns", "from", "to", "ages"},
}
#: The oldest age an ``ages`` filter may offer (school age and after-school care).
MAX_FILTER_AGE = 18
CATEGORY_KEYS = {"name", "en", "color", "symbol"}
DEFAULT_COLOR = "#1c7ed6"
#: ``LayerSpec.file`` of a built-in layer starts so (``built-in layer childcare.yaml``).
BUILTIN_FILE = "built-in layer"


def _hex_to_rgb(colour: str) -> tuple[float, float, float]:
    c = colour.lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    return tuple(int(c[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


#: Category colours: the カラーユニバーサルデザイン推奨配色セット ver.4 accent and base
#: colours (its published RGB values), without 紫 #990099, which is reserved for routes
#: (:data:`civicmap.render._routes.ROUTE_COLOUR`). The built-in layers use the accents.
CUD_CATEGORY_COLOURS = (
    "#ff4b00", "#03af7a", "#005aff", "#f6aa00", "#4dc4ff", "#804000", "#ff8082", "#fff100",
    "#84919e", "#77d9a8", "#c9ace6", "#ffca80", "#bfe4ff", "#d8f255", "#ffcabf", "#ffff80",
)  # fmt: skip


def derived_colour(base: str, position: int) -> str:
    """The ``position``-th category colour derived from a layer colour ``base``.

    Position 0 is the layer colour itself; later ones are the next colours of
    the CUD set after ``base`` (:data:`CUD_CATEGORY_COLOURS`), so categories are
    told apart by readers with colour-vision deficiencies too, and never take
    the routes' reserved colour.
    """
    if position == 0:
        return base
    key = base.lower()
    start = CUD_CATEGORY_COLOURS.index(key) + 1 if key in CUD_CATEGORY_COLOURS else 0
    others = [c for c in CUD_CATEGORY_COLOURS if c != key]
    first = start - 1 if key in CUD_CATEGORY_COLOURS else 0
    return others[(first + position - 1) % len(others)]


def derived_symbol(base: str, position: int) -> str:
    """The ``position``-th category symbol: the layer's own first, then the others in turn."""
    others = [s for s in SYMBOLS if s != base]
    return base if position == 0 else others[(position - 1) % len(others)]


@dataclass(frozen=True)
class CategoryStyle:
    """How one category of a layer is drawn (web map, exports): colour and symbol."""

    name: str
    color: str
    symbol: str


@dataclass(frozen=True)
class Style:
    """A layer's checked style: colour, symbol, icon name, fill and per-category overrides.

    One typed place for the defaults, instead of ``style.get("color", "#1c7ed6")``
    repeated in every renderer: read its attributes (``style.symbol``); there is no
    mapping view, so a misspelt name is an AttributeError, not a silent default.
    """

    color: str = DEFAULT_COLOR
    symbol: str = "circle"
    icon: str = "circle"
    fill: str = ""
    #: Explicit per-category colour/symbol from the layer file: ``(name, color, symbol)``,
    #: empty strings where the file gave none.
    category_overrides: tuple[tuple[str, str, str], ...] = ()
    #: How lines and area outlines are drawn: width in web pixels (0: the renderer's
    #: default), dash pattern as uMap and Leaflet write it (``"10,5"``; "" solid), and the
    #: opacity of area fills (None: the renderer's default).
    weight: float = 0.0
    dash: str = ""
    fill_opacity: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The style as a layer file writes it under ``style:`` (``fill`` only when set).

        What the exports embed (``.umap``'s layer list), so a style read back from an
        export is one a layer file could hold.
        """
        out: dict[str, Any] = {"color": self.color, "symbol": self.symbol, "icon": self.icon}
        if self.fill:
            out["fill"] = self.fill
        if self.fill_opacity is not None:
            out["fill_opacity"] = self.fill_opacity
        if self.weight:
            out["weight"] = self.weight
        if self.dash:
            out["dash"] = self.dash
        return out

    @classmethod
    def parse(cls, ck: Checker, key: str, raw: Any, categories: list[dict]) -> Style:
        """Check ``style:`` and the colour/symbol of ``categories:``; record problems in ``ck``."""
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            ck.add(
                key, _("got %(raw)r, expected a mapping {color, icon, symbol, fill}") % {"raw": raw}
            )
            raw = {}
        ck.unknown_keys(key, raw, STYLE_KEYS)
        color = str(raw.get("color", DEFAULT_COLOR))
        if not is_colour(color):
            ck.add(
                f"{key}.color",
                _("got %(color)r, expected a hex colour like #d6336c") % {"color": color},
            )
            color = DEFAULT_COLOR
        fill = str(raw.get("fill") or "")
        if fill and not is_colour(fill):
            ck.add(
                f"{key}.fill",
                _("got %(fill)r, expected a hex colour like #ffffff") % {"fill": fill},
            )
            fill = ""
        symbol = str(raw.get("symbol", "circle"))
        if symbol not in SYMBOLS:
            ck.choice(f"{key}.symbol", symbol, SYMBOLS)
            symbol = "circle"
        weight = raw.get("weight", 0)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 20:
            ck.add(
                f"{key}.weight",
                _("got %(value)r, expected a line width from 0 to 20 (pixels)")
                % {"value": Short(weight)},
            )
            weight = 0
        dash = str(raw.get("dash") or "")
        if dash and not dash_pattern(dash):
            ck.add(
                f"{key}.dash",
                _('got %(value)r, expected dash and gap lengths like "10,5"')
                % {"value": Short(dash)},
            )
            dash = ""
        fill_opacity = raw.get("fill_opacity")
        if fill_opacity is not None and (
            isinstance(fill_opacity, bool)
            or not isinstance(fill_opacity, int | float)
            or not 0 <= fill_opacity <= 1
        ):
            ck.add(
                f"{key}.fill_opacity",
                _("got %(value)r, expected a number from 0 to 1") % {"value": Short(fill_opacity)},
            )
            fill_opacity = None
        overrides = []
        for i, c in enumerate(categories):
            ckey = f"{key.rsplit('style', 1)[0]}categories[{i}]"
            cc, cs = str(c.get("color") or ""), str(c.get("symbol") or "")
            if cc and not is_colour(cc):
                ck.add(
                    f"{ckey}.color",
                    _("got %(cc)r, expected a hex colour like #d6336c") % {"cc": cc},
                )
                cc = ""
            if cs and cs not in SYMBOLS:
                ck.choice(f"{ckey}.symbol", cs, SYMBOLS)
                cs = ""
            if cc or cs:
                overrides.append((str(c["name"]), cc, cs))
        return cls(
            color=color,
            symbol=symbol,
            icon=str(raw.get("icon", "circle")),
            fill=fill,
            category_overrides=tuple(overrides),
            weight=float(weight),
            dash=dash,
            fill_opacity=None if fill_opacity is None else float(fill_opacity),
        )


_DASH = re.compile(r"^\s*\d+(\.\d+)?(\s*[, ]\s*\d+(\.\d+)?)*\s*$")


def dash_pattern(text: str) -> tuple[float, ...]:
    """Dash and gap lengths of a dash pattern (``"10,5"``, ``"10 5"``); ``()`` if not one.

    uMap and Leaflet write SVG's ``stroke-dasharray``; the paper map needs the numbers.
    """
    if not isinstance(text, str) or not _DASH.match(text):
        return ()
    parts = tuple(float(p) for p in re.split(r"[,\s]+", text.strip()) if p)
    return parts if any(parts) else ()


@dataclass(frozen=True)
class SourceLayer:
    """One layer of a layered file (a uMap datalayer, child layers too; a KML folder).

    What the file says about how the layer looks, read by the source
    (:mod:`civicmap.sources.umap`, :mod:`civicmap.sources.kml`); empty values where
    it says nothing, so our palette fills only those. Colours are ``#rrggbb``.
    """

    name: str
    color: str = ""
    fill: str = ""
    fill_opacity: float | None = None
    weight: float = 0.0
    dash: str = ""
    #: One of :data:`SYMBOLS` when the file's marker shape is one of ours ("" otherwise).
    symbol: str = ""
    #: The popup as the file shows it: a ``{column}`` template, a list of columns,
    #: or ``()`` when the file says nothing.
    popup: tuple[str, ...] | str = ()
    #: Categories the file colours itself (uMap Categorized values, rules): ``(name, colour)``
    #: in the file's legend order.
    categories: tuple[tuple[str, str], ...] = ()


def layer_from_source(
    parent: LayerSpec, src: SourceLayer, *, position: int, count: int
) -> LayerSpec:
    """The map layer for one of a file's layers: named, styled and ordered as the file has it.

    ``parent`` is the map file's layer naming the file; the ``position``-th of ``count``
    file layers gets the id ``<parent id>-<position + 1>`` (the parent's own id when the
    file has one layer), the file layer's name as title, its colours, line width, dash,
    popup and category colours. Where the file says nothing, the parent's style applies,
    with our palette's next colour and symbol per position (:func:`derived_colour`), so
    eight layers of a file stay apart on a black-and-white print too.
    """
    base = parent.style
    color = src.color or derived_colour(base.color, position)
    # features no rule or category value matches keep the layer's own colour (uMap's way)
    own_categories = [*src.categories, *([(src.name, color)] if src.categories else [])]
    symbol = src.symbol or derived_symbol(base.symbol, position)
    style = Style(
        color=color,
        symbol=symbol,
        icon=base.icon,
        fill=src.fill or base.fill,
        category_overrides=tuple((n, c, "") for n, c in own_categories if c),
        weight=src.weight or base.weight,
        dash=src.dash or base.dash,
        fill_opacity=src.fill_opacity if src.fill_opacity is not None else base.fill_opacity,
    )
    categories = tuple({"name": n} for n, _c in src.categories)
    return replace(
        parent,
        id=parent.id if count == 1 else f"{parent.id}-{position + 1}",
        title=parent.title if count == 1 else {"ja": src.name, "en": src.name},
        style=style,
        popup=src.popup or parent.popup,
        categories=categories or parent.categories,
    )


_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

#: Source kind → the file suffixes its reader takes (the first is the default), for the
#: file name a remote source's copy is stored under; ``file:`` picks its kind by these.
REMOTE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "csv": (".csv", ".tsv", ".txt"),
    "geojson": (".geojson", ".json"),
    "kml": (".kml", ".kmz"),
    "umap": (".umap",),
    "excel": (".xlsx", ".xlsm", ".xls", ".ods"),
}
#: How long a remote source's copy is used before its server is asked again, by default.
DEFAULT_REFRESH_SECONDS = 3600.0
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|min|m|s)", re.I)
_DURATION = re.compile(r"(?:\s*\d+(?:\.\d+)?\s*(?:d|h|min|m|s)\s*)+", re.I)
_UNIT_SECONDS = {"d": 86400.0, "h": 3600.0, "min": 60.0, "m": 60.0, "s": 1.0}
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def parse_duration(value: Any) -> float | None:
    """Seconds of a duration written ``30m``, ``1h``, ``1h30m``, ``2d`` or ``90s``; None if not one.

    A plain number is seconds (uMap's ``ttl`` is written so). Never negative.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    text = str(value).strip() if isinstance(value, str) else ""
    if not text or not _DURATION.fullmatch(text):
        return None
    return sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in _DURATION_PART.findall(text))


def remote_file_name(url: str, kind: str) -> str:
    """The file name a remote source's copy is kept under (cache and pack alike).

    The last part of the URL's path (``shelters.csv``), with a suffix the kind's reader
    takes: the name a map credits when the source gives no credit, and the same for a
    copy in the cache and in a pack, so a rebuild from the pack gives the same files.
    """
    last = unquote(PurePosixPath(urlsplit(url).path).name)
    name = re.sub(r"[^\w.\-]+", "_", last).strip("._")[:80] or "data"
    suffixes = REMOTE_SUFFIXES.get(kind, ())
    if suffixes and not name.lower().endswith(suffixes):
        name += suffixes[0]
    return name


@dataclass(frozen=True)
class RemoteSpec:
    """Where a remote source's file comes from (``url:``) and how often it is asked for again.

    Attributes
    ----------
    url : str
        The http(s) address, as written (may hold a token: show it only through
        :func:`civicmap._transport.redact`).
    refresh : float
        Seconds a fetched copy is used without asking the server (``refresh: 1h``).
    kind : str
        The reader the file goes to (``csv``, ``geojson``, ``kml``, ``umap``, ``excel``).
    name : str
        The file name of the stored copy (:func:`remote_file_name`).
    """

    url: str
    refresh: float
    kind: str
    name: str


@dataclass(frozen=True)
class SourceSpec:
    """One source of a layer: its kind and its options (paths already resolved)."""

    kind: str
    options: dict[str, Any]
    base_dir: Path
    tag_filter: TagFilter | None = None
    category_rules: tuple[tuple[str, TagFilter], ...] = ()
    #: ``url:`` given instead of ``path:``: fetched, cached and packed (civicmap.sources.remote).
    remote: RemoteSpec | None = None

    @property
    def path(self) -> Path | None:
        p = self.options.get("path")
        return (self.base_dir / p) if p else None

    @property
    def label(self) -> str:
        """How messages name this source: its file's name (a remote one's copy), else its kind."""
        if self.remote is not None:
            return self.remote.name
        return self.path.name if self.path is not None else self.kind


def _norm(text: Any) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip().lower()


@dataclass(frozen=True)
class StatusSpec:
    """``status:``: which column says whether a place is open, and in which words."""

    column: str
    open: tuple[str, ...] = DEFAULT_OPEN
    closed: tuple[str, ...] = DEFAULT_CLOSED

    def of(self, value: Any) -> str:
        """開設, 閉鎖 or 不明 for a cell: its exact word first, then a word it contains
        (closed words first: 営業終了 is closed); anything else, and a blank, is 不明."""
        text = _norm(value) if value is not None else ""
        if not text or text in ("nan", "none", "<na>"):
            return "不明"
        closed = [_norm(w) for w in self.closed]
        opened = [_norm(w) for w in self.open]
        if text in closed:
            return "閉鎖"
        if text in opened:
            return "開設"
        if any(len(w) > 1 and w in text for w in closed):
            return "閉鎖"
        if any(len(w) > 1 and w in text for w in opened):
            return "開設"
        return "不明"


@dataclass(frozen=True)
class PrintIf:
    """``print_if:``: what the paper map prints; the rest is left off and counted on it."""

    status: tuple[str, ...] = ("開設",)
    #: Places checked longer ago than this (``as_of``) are left off; None: no limit.
    max_age_hours: float | None = None
    #: ``max_age`` as the map file wrote it (``24h``), for the sheet's note.
    max_age: str = ""


def _parse_status(ck: Checker, key: str, raw: Any) -> StatusSpec | None:
    if isinstance(raw, str):
        raw = {"column": raw}
    if not isinstance(raw, Mapping) or not raw.get("column"):
        ck.add(key, _("got %(raw)r, expected {column: 状況, open: [営業中], closed: [休業]}")
               % {"raw": Short(raw)})  # fmt: skip
        return None
    ck.unknown_keys(key, raw, {"column", "open", "closed"})
    words = {}
    for name, default in (("open", DEFAULT_OPEN), ("closed", DEFAULT_CLOSED)):
        given = raw.get(name, default)
        if isinstance(given, str | int):
            given = [given]
        if not isinstance(given, list | tuple) or not given:
            ck.add(f"{key}.{name}", _("expected a list of the words the file uses, e.g. [営業中]"))
            given = default
        words[name] = tuple(str(w) for w in given)
    return StatusSpec(column=str(raw["column"]), open=words["open"], closed=words["closed"])


def _parse_print_if(ck: Checker, key: str, raw: Any) -> PrintIf | None:
    if not isinstance(raw, Mapping):
        ck.add(key, _("got %(raw)r, expected {status: [開設], max_age: 24h}") % {"raw": Short(raw)})
        return None
    ck.unknown_keys(key, raw, {"status", "max_age"})
    wanted = raw.get("status", ["開設"])
    if isinstance(wanted, str):
        wanted = [wanted]
    status: list[str] = []
    for w in wanted if isinstance(wanted, list) else []:
        name = STATUS_NAMES.get(str(w), str(w))
        if ck.choice(f"{key}.status", name, STATUSES):
            status.append(name)
    hours = None
    age = raw.get("max_age")
    if age is not None:
        m = _AGE.match(str(age))
        if not m:
            ck.add(f"{key}.max_age", _("got %(value)r, expected an age like 24h, 90m or 2d")
                   % {"value": Short(age)})  # fmt: skip
        else:
            hours = float(m.group(1)) * _AGE_HOURS[m.group(2)]
    return PrintIf(status=tuple(status), max_age_hours=hours, max_age=str(age or ""))


@dataclass(frozen=True)
class FilterSpec:
    """One filter a web map viewer can set on a layer (see :data:`FILTER_KINDS`).

    The page computes nothing from the data: the build reads ``columns`` (the first the
    layer's data has) into per-place values (:mod:`civicmap.render.web_filters`).
    """

    kind: str
    title: dict[str, str] = field(default_factory=dict)
    columns: tuple[str, ...] = ()
    from_columns: tuple[str, ...] = ()
    to_columns: tuple[str, ...] = ()
    ages: tuple[int, int] = (0, 5)

    def title_in(self, language: str) -> str:
        """The heading in ``language`` (then Japanese), "" when the file gave none."""
        return self.title.get(language) or self.title.get("ja") or ""


def _column_list(ck: Checker, key: str, value: Any) -> tuple[str, ...]:
    """A column name or a list of them; records a problem for anything else."""
    if isinstance(value, str) and value:
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    ck.add(
        key,
        _("got %(value)r, expected a column name or a list of them, e.g. [定員, Capall]")
        % {"value": Short(value)},
    )
    return ()


def parse_filter(ck: Checker, key: str, raw: Any) -> FilterSpec | None:
    """Check one ``filters:`` entry (a kind, or a mapping with ``kind:``); record problems."""
    if isinstance(raw, str):
        raw = {"kind": raw}
    if not isinstance(raw, Mapping):
        ck.add(
            key,
            _(
                "got %(raw)r, expected a kind (category, disasters) or a mapping {kind, columns, title}"
            )
            % {"raw": Short(raw)},
        )
        return None
    kind = raw.get("kind")
    if kind is None:
        ck.add(
            f"{key}.kind",
            _("missing; give one of %(kinds)s") % {"kinds": ", ".join(FILTER_KINDS)},
        )
        return None
    if not ck.choice(f"{key}.kind", kind, tuple(FILTER_KINDS)):
        return None
    ck.unknown_keys(key, raw, _FILTER_KIND_KEYS[kind])
    title = _lang_text(ck, f"{key}.title", raw["title"]) if "title" in raw else {}
    columns = _column_list(ck, f"{key}.columns", raw["columns"]) if "columns" in raw else ()
    if kind in ("flag", "number", "time") and "columns" not in raw:
        ck.add(
            f"{key}.columns",
            _("missing; give the columns to read, e.g. columns: [%(example)s]")
            % {"example": {"flag": "Temp, 一時保育", "number": "定員, Capall"}.get(kind, "Close")},
        )
    spec = FilterSpec(kind=str(kind), title=title, columns=columns)
    if kind != "ages":
        return spec
    starts = _column_list(ck, f"{key}.from", raw["from"]) if "from" in raw else ()
    ends = _column_list(ck, f"{key}.to", raw["to"]) if "to" in raw else ()
    if "to" in raw and "from" not in raw:
        ck.add(
            f"{key}.from",
            _("missing; to: needs from: (the columns of the first age accepted, e.g. AgeS)"),
        )
    elif "from" not in raw and "columns" not in raw:
        ck.add(
            key,
            _(
                "give from: and to: (the first and last age accepted, e.g. from: AgeS, to: AgeE) "
                "or columns: (one column such as 0歳〜5歳)"
            ),
        )
    ages = raw.get("ages", [0, 5])
    if (
        not isinstance(ages, list)
        or len(ages) != 2
        or not all(isinstance(a, int) and not isinstance(a, bool) for a in ages)
        or not 0 <= ages[0] <= ages[1] <= MAX_FILTER_AGE
    ):
        ck.add(
            f"{key}.ages",
            _("got %(value)r, expected [first, last] ages from 0 to %(max)d, e.g. [0, 5]")
            % {"value": Short(ages), "max": MAX_FILTER_AGE},
        )
        ages = [0, 5]
    return FilterSpec(
        kind="ages",
        title=title,
        columns=columns,
        from_columns=starts,
        to_columns=ends,
        ages=(int(ages[0]), int(ages[1])),
    )


@dataclass(frozen=True)
class LayerSpec:
    """A validated layer."""

    id: str
    title: dict[str, str]
    sources: tuple[SourceSpec, ...]
    style: Style
    label: str | None = "name"
    popup: tuple[str, ...] | str = ("name", "address")
    index: tuple[str, ...] = ("address",)
    cluster: bool | int = 200
    description: dict[str, str] = field(default_factory=dict)
    categories: tuple[dict[str, str], ...] = ()
    notes: str = ""
    file: str = ""
    role: str | None = None
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    #: ``status:``, ``as_of:`` (the column of check times) and ``print_if:``; see status.py.
    status: StatusSpec | None = None
    as_of: str | None = None
    print_if: PrintIf | None = None
    #: What web map viewers can filter the layer's places by, in the order shown.
    filters: tuple[FilterSpec, ...] = ()
    #: A popup per category, where a file's layers became this layer's categories
    #: (``layers: categories``, or the layers past the limit): each keeps its own popup.
    category_popups: tuple[tuple[str, tuple[str, ...] | str], ...] = ()

    def popup_for(self, category: str) -> tuple[str, ...] | str:
        """The popup of a place of ``category``: its file layer's own, else the layer's."""
        return self._category_popup.get(category, self.popup)

    @cached_property
    def _category_popup(self) -> dict[str, tuple[str, ...] | str]:
        """:attr:`category_popups` by name, built once: every place of a layer asks (web
        page, uMap export), and a uMap file may hold thousands of layers."""
        out: dict[str, tuple[str, ...] | str] = {}
        for name, popup in self.category_popups:
            out.setdefault(name, popup)  # the first of a name, as the scan found it
        return out

    @property
    def builtin(self) -> bool:
        """A layer of the built-in library (its popup lists fields of many kinds of data)."""
        return self.file.startswith(BUILTIN_FILE)

    def title_in(self, language: str) -> str:
        """The title in ``language``: the file's, the glossary's (built-in layers), Japanese, the id.

        A bilingual sheet's pair (``ja+vi``): both titles, 「保育園 / Nhà trẻ」 (one when the
        file gives no second).
        """
        if wording.is_pair(language):
            return wording.both(language, self.title_in)
        if self.title.get(language):
            return self.title[language]
        key = f"layer.{self.id}.title"
        if self.builtin and wording.has(key) and language in wording.LANGUAGES:
            return wording.text(language, key)
        return self.title.get("ja") or self.id

    def column_label(self, column: str, language: str) -> str:
        """The display label of a column from the layer file's ``labels:`` ("" if none)."""
        given = self.labels.get(column) or {}
        return given.get(language) or given.get("ja") or ""

    def category_order(self, present: list[str] | None = None) -> list[str]:
        """Category names in display order: declared ones, then others in ``present``."""
        names = [c["name"] for c in self.categories]
        # a set: thousands of categories are not n² list scans (present names are text;
        # a declared name YAML made a list equals none of them)
        seen = {n for n in names if isinstance(n, Hashable)}
        for n in present or []:
            if n and n not in seen:
                names.append(n)
                seen.add(n)
        return names

    def category_title(self, category: str, language: str) -> str:
        """A category's display name in ``language`` (``en`` from ``categories``; a pair: both)."""
        if wording.is_pair(language):
            return wording.both(language, lambda lang: self.category_title(category, lang))
        if language == "ja":
            return category
        for c in self.categories:
            if c.get("name") == category and c.get(language):
                return c[language]
        # the built-in categories (指定避難所 …) are glossary entries in every language
        return wording.translate(language, "category", category)

    @property
    def layered_source(self) -> SourceSpec | None:
        """The layer's one uMap or KML source whose own layers become map layers, or None.

        Only a layer with that single source: mixed with other sources, the file's
        layers stay categories of this layer (so does ``layers: categories``).
        """
        if len(self.sources) != 1:
            return None
        src = self.sources[0]
        suffix = src.path.suffix.lower() if src.path is not None else ""
        if src.kind in LAYERED_KINDS or (
            src.kind == "file" and suffix in (".umap", ".kml", ".kmz")
        ):
            return src
        return None

    def with_extra_sources(self, extra: tuple[SourceSpec, ...]) -> LayerSpec:
        from dataclasses import replace

        return replace(self, sources=(*self.sources, *extra))


def _lang_text(ck: Checker, key: str, value: Any) -> dict[str, str]:
    if isinstance(value, str):
        return {"ja": value, "en": value}
    if isinstance(value, Mapping):
        ck.unknown_keys(key, value, {"ja", "en"})
        out = {k: str(v) for k, v in value.items() if k in ("ja", "en") and v}
        if not out:
            ck.add(key, _("give at least one of ja, en"))
        return out
    ck.add(
        key, _("got %(value)r, expected a string or {ja: ..., en: ...}") % {"value": Short(value)}
    )
    return {}


_ISO_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def iso_date(value: Any) -> str | None:
    """A publication date as ISO text (``2024-04-01``, ``2024-04``, ``2024``), or None.

    YAML reads ``2024-04-01`` as a date and ``2024`` as a number; both are taken.
    None for anything else, or a day that does not exist (2024-02-30).
    """
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, bool):
        return None
    text = str(value).strip() if isinstance(value, (str, int)) else ""
    m = _ISO_DATE.fullmatch(text)
    if not m:
        return None
    year, month, day = (int(g) if g else 1 for g in m.groups())
    try:
        dt.date(year, month, day)
    except ValueError:
        return None
    return text


def parse_source(ck: Checker, key: str, raw: Any, base_dir: Path) -> SourceSpec | None:
    """Validate one ``sources`` entry; record problems in ``ck``."""
    if not isinstance(raw, Mapping) or len(raw) != 1:
        ck.add(
            key,
            _("got %(raw)r; expected one mapping with one kind: ") % {"raw": Short(raw)}
            + ", ".join(f"{{{k}: ...}}" for k in SOURCE_KEYS),
        )
        return None
    ((kind, opts),) = raw.items()
    if kind not in SOURCE_KEYS:
        ck.add(
            f"{key}.{kind}",
            _("unknown source kind; expected one of %(items)s") % {"items": ", ".join(SOURCE_KEYS)},
        )
        return None
    if opts is None:
        opts = {}
    if isinstance(opts, str) and kind != "osm":
        opts = {"url": opts} if _SCHEME.match(opts) else {"path": opts}
    if not isinstance(opts, Mapping):
        ck.add(
            f"{key}.{kind}",
            _("got %(opts)r, expected a mapping of options") % {"opts": Short(opts)},
        )
        return None
    ck.unknown_keys(f"{key}.{kind}", opts, SOURCE_KEYS[kind])
    opts = dict(opts)
    tag_filter = None
    remote = None
    rules: list[tuple[str, TagFilter]] = []
    if kind == "osm":
        if "match" not in opts and "overpass_ql" not in opts:
            ck.add(f"{key}.osm", _("give match: (a tag condition) or overpass_ql: (a raw query)"))
        if "match" in opts:
            try:
                tag_filter = TagFilter.parse(opts["match"], where=f"{key}.osm.match")
            except FilterSyntaxError as exc:
                ck.add(exc.key, str(exc))
        for i, rule in enumerate(opts.get("categories") or []):
            rk = f"{key}.osm.categories[{i}]"
            if not isinstance(rule, Mapping) or "name" not in rule or "match" not in rule:
                ck.add(
                    rk, _("got %(rule)r, expected {name: ..., match: ...}") % {"rule": Short(rule)}
                )
                continue
            ck.unknown_keys(rk, rule, {"name", "en", "match"})
            try:
                rules.append((str(rule["name"]), TagFilter.parse(rule["match"], where=rk)))
            except FilterSyntaxError as exc:
                ck.add(exc.key, str(exc))
        for t in opts.get("types") or []:
            ck.choice(f"{key}.osm.types", t, ("node", "way", "relation"))
    elif "url" in opts or "refresh" in opts:
        remote = _parse_remote(ck, f"{key}.{kind}", kind, opts)
    else:
        if not opts.get("path"):
            ck.add(
                f"{key}.{kind}.path", _("missing; give the file's path (or url: for a remote file)")
            )
        elif not path_exists(base_dir / str(opts["path"])):
            ck.add(
                f"{key}.{kind}.path",
                _("file not found: %(value)s (paths are relative to %(base_dir)s)")
                % {"value": shorten(base_dir / str(opts["path"]), 200), "base_dir": base_dir},
            )
    if kind != "osm":
        mode = opts.get("layers")
        if mode is not None and ck.choice(f"{key}.{kind}.layers", mode, SOURCE_LAYER_MODES):
            named = str(opts.get("path") or opts.get("url") or "").split("?")[0]
            if kind not in LAYERED_KINDS and Path(named).suffix.lower() not in (
                ".umap",
                ".kml",
                ".kmz",
            ):
                ck.add(
                    f"{key}.{kind}.layers",
                    _("only a uMap (.umap) or KML file has layers of its own; remove this key"),
                )
        if "date" in opts and remote is None:
            date = iso_date(opts["date"])
            if date is None:
                ck.add(
                    f"{key}.{kind}.date",
                    _(
                        "got %(value)r, expected the data's publication date as an ISO date "
                        "(2024-04-01, 2024-04 or 2024)"
                    )
                    % {"value": Short(opts["date"])},
                )
            else:
                opts["date"] = date
        credit = opts.get("credit")
        if credit is not None:
            if isinstance(credit, Mapping):
                ck.unknown_keys(
                    f"{key}.{kind}.credit", credit, {"source", "credit", "licence", "date", "url"}
                )
            elif not isinstance(credit, str):
                ck.add(
                    f"{key}.{kind}.credit",
                    _("got %(credit)r, expected a string or a mapping") % {"credit": Short(credit)},
                )
    return SourceSpec(
        kind=kind,
        options=opts,
        base_dir=base_dir,
        tag_filter=tag_filter,
        category_rules=tuple(rules),
        remote=remote,
    )


def _parse_remote(ck: Checker, key: str, kind: str, opts: dict[str, Any]) -> RemoteSpec | None:
    """Check ``url:`` and ``refresh:`` of a remote source; record problems in ``ck``."""
    url = opts.get("url")
    ok = True
    if "path" in opts:
        ck.add(key, _("give either path: (a file here) or url: (a file on a server), not both"))
        ok = False
    if url is None:
        ck.add(
            f"{key}.refresh", _("refresh: goes with url:; give the file's url: or remove refresh:")
        )
        return None
    parts = urlsplit(str(url)) if isinstance(url, str) else None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        ck.add(
            f"{key}.url",
            _(
                "got %(url)r, expected an http:// or https:// address such as "
                "https://example.jp/data/shelters.csv; for a file on this computer use path:"
            )
            % {"url": Short(redact_text(str(url)))},
        )
        ok = False
    refresh = DEFAULT_REFRESH_SECONDS
    if "refresh" in opts:
        seconds = parse_duration(opts["refresh"])
        if seconds is None:
            ck.add(
                f"{key}.refresh",
                _(
                    "got %(value)r, expected how long a fetched copy may be used, such as "
                    "30m, 1h, 1h30m or 1d (s, m, h, d)"
                )
                % {"value": Short(opts["refresh"])},
            )
            ok = False
        else:
            refresh = seconds
    if "date" in opts:
        ck.add(
            f"{key}.date",
            _(
                "a remote source is dated by when its copy was fetched (that time is "
                "printed); remove date:"
            ),
        )
        ok = False
    reader = kind
    if kind == "shapefile":
        ck.add(
            f"{key}.url",
            _(
                "a shapefile is several files and cannot be fetched from one address; "
                "download it and give its path:, or use the publisher's GeoJSON or CSV"
            ),
        )
        ok = False
    elif kind == "file":
        suffix = PurePosixPath(urlsplit(str(url)).path).suffix.lower() if parts else ""
        reader = next((k for k, sfx in REMOTE_SUFFIXES.items() if suffix in sfx), "")
        if ok and not reader:
            ck.add(
                f"{key}.url",
                _(
                    "the address does not say which kind of file it serves; write the source "
                    "as csv:, geojson:, kml:, umap: or excel: instead of file:"
                ),
            )
            ok = False
    if not ok:
        return None
    return RemoteSpec(
        url=str(url), refresh=refresh, kind=reader, name=remote_file_name(str(url), reader)
    )


def redact_text(url: str) -> str:
    """``url`` without ``user:password@`` (messages from a map file's key never show a password)."""
    return re.sub(r"(?<=://)[^/@\s]*@", "", url)


def parse_layer(raw: Any, *, file: str, base_dir: Path, ck: Checker | None = None) -> LayerSpec:
    """Validate a layer document; raise :class:`ConfigError` with every problem found."""
    own = ck is None
    ck = ck or Checker(file)
    prefix = "" if own else file

    def k(name):
        return f"{prefix}.{name}" if prefix else name

    if not isinstance(raw, Mapping):
        ck.add(
            prefix,
            _("got %(type)s, expected a mapping (id, title, sources, ...)")
            % {"type": type(raw).__name__},
        )
        ck.raise_if_any()
    ck.unknown_keys(prefix, raw, LAYER_KEYS)
    lid = raw.get("id")
    if lid is None:
        ck.add(k("id"), _("missing; give a short id like childcare"))
        lid = "?"
    elif not isinstance(lid, str) or not _ID.match(lid):
        ck.add(
            k("id"),
            _("got %(lid)r, expected lower-case letters, digits, _ and - (e.g. my_layer)")
            % {"lid": Short(lid)},
        )
    title = _lang_text(ck, k("title"), raw["title"]) if "title" in raw else {"ja": str(lid)}
    description = (
        _lang_text(ck, k("description"), raw["description"]) if "description" in raw else {}
    )
    sources: list[SourceSpec] = []
    raw_sources = raw.get("sources")
    if raw_sources is None:
        ck.add(
            k("sources"),
            _("missing; give at least one source, e.g. - osm: {match: {amenity: school}}"),
        )
    elif not isinstance(raw_sources, list) or not raw_sources:
        ck.add(
            k("sources"),
            _("got %(raw_sources)r, expected a non-empty list")
            % {"raw_sources": Short(raw_sources)},
        )
    else:
        for i, s in enumerate(raw_sources):
            spec = parse_source(ck, k(f"sources[{i}]"), s, base_dir)
            if spec:
                sources.append(spec)
    label = raw.get("label", "name")
    if label is not False and label is not None and not isinstance(label, str):
        ck.add(
            k("label"),
            _("got %(label)r, expected a column name or false") % {"label": Short(label)},
        )
    popup = raw.get("popup", ["name", "address"])
    if isinstance(popup, list):
        if not all(isinstance(p, str) for p in popup):
            ck.add(k("popup"), _("expected a list of column names"))
        popup = tuple(str(p) for p in popup)
    elif not isinstance(popup, str):
        ck.add(
            k("popup"),
            _("got %(popup)r, expected a list of columns or a template string")
            % {"popup": Short(popup)},
        )
        popup = ("name",)
    index = raw.get("index", ["address"])
    if not isinstance(index, list) or not all(isinstance(p, str) for p in index):
        ck.add(
            k("index"),
            _("got %(index)r, expected a list of column names") % {"index": Short(index)},
        )
        index = ["address"]
    cluster = raw.get("cluster", 200)
    if not isinstance(cluster, bool | int):
        ck.add(
            k("cluster"),
            _("got %(cluster)r, expected true, false or a whole number")
            % {"cluster": Short(cluster)},
        )
    categories = raw.get("categories") or []
    if not isinstance(categories, list) or not all(
        isinstance(c, Mapping) and "name" in c for c in categories
    ):
        ck.add(k("categories"), _("expected a list of {name: ..., en: ...}"))
        categories = []
    # OSM category rules also name categories (and their English names).
    cats = [dict(c) for c in categories]
    for s in raw_sources or []:
        if isinstance(s, Mapping) and isinstance(s.get("osm"), Mapping):
            for rule in s["osm"].get("categories") or []:
                if isinstance(rule, Mapping) and "name" in rule:
                    if not any(c.get("name") == rule["name"] for c in cats):
                        cats.append({"name": str(rule["name"]), "en": str(rule.get("en", ""))})
    role = raw.get("role")
    if role is not None and not ck.choice(k("role"), role, tuple(ROLES)):
        role = None
    status = _parse_status(ck, k("status"), raw["status"]) if "status" in raw else None
    as_of = raw.get("as_of")
    if isinstance(as_of, Mapping):
        ck.unknown_keys(k("as_of"), as_of, {"column"})
        as_of = as_of.get("column")
    if as_of is not None and not isinstance(as_of, str):
        ck.add(k("as_of"), _("got %(value)r, expected the column holding when each place was "
                             "last checked, e.g. 確認日時") % {"value": Short(as_of)})  # fmt: skip
        as_of = None
    print_if = _parse_print_if(ck, k("print_if"), raw["print_if"]) if "print_if" in raw else None
    if print_if is not None and print_if.status and status is None:
        ck.add(k("print_if.status"), _("needs status: (the column saying whether a place is open)"))
    if print_if is not None and print_if.max_age_hours is not None and as_of is None:
        ck.add(k("print_if.max_age"), _("needs as_of: (the column of when each place was checked)"))
    style = Style.parse(ck, k("style"), raw.get("style"), cats)
    for i, c in enumerate(categories):
        ck.unknown_keys(k(f"categories[{i}]"), c, CATEGORY_KEYS)
    labels: dict[str, dict[str, str]] = {}
    raw_labels = raw.get("labels") or {}
    if not isinstance(raw_labels, Mapping):
        ck.add(
            k("labels"),
            _("got %(raw_labels)r, expected {column: label}") % {"raw_labels": raw_labels},
        )
    else:
        for col, lab in raw_labels.items():
            labels[str(col)] = _lang_text(ck, k(f"labels.{col}"), lab)
    filters: list[FilterSpec] = []
    raw_filters = raw.get("filters")
    if raw_filters is not None and not isinstance(raw_filters, list):
        ck.add(
            k("filters"),
            _("got %(value)r, expected a list, e.g. [category, {kind: flag, columns: [Temp]}]")
            % {"value": Short(raw_filters)},
        )
    for i, f in enumerate(raw_filters if isinstance(raw_filters, list) else []):
        parsed = parse_filter(ck, k(f"filters[{i}]"), f)
        if parsed is not None:
            filters.append(parsed)
    if own:
        ck.raise_if_any()
    return LayerSpec(
        id=str(lid),
        title=title,
        sources=tuple(sources),
        style=style,
        label=None if label in (False, None) else str(label),
        popup=popup,
        index=tuple(index),
        cluster=cluster,
        description=description,
        categories=tuple({k2: str(v) for k2, v in c.items()} for c in cats),
        notes=str(raw.get("notes", "")),
        file=file,
        role=str(role) if role is not None else None,
        labels=labels,
        status=status,
        as_of=as_of or None,
        print_if=print_if,
        filters=tuple(filters),
    )


def builtin_dir() -> Path:
    """The folder holding the built-in layer files (inside the wheel or the checkout)."""
    return Path(str(resources.files("civicmap.builtin_layers")))


def builtin_layer_ids() -> list[str]:
    """Ids of the built-in layers, sorted."""
    return sorted(p.stem for p in builtin_dir().glob("*.yaml"))


def load_layer(ref: str | Path, *, base_dir: Path | None = None) -> LayerSpec:
    """Load a layer by built-in id or by path to a YAML file.

    Raises
    ------
    ConfigError
        With every problem in the file, or naming the unknown id and the
        built-in ids that exist.
    """
    ref_s = str(ref)
    if ref_s.endswith((".yaml", ".yml")) or "/" in ref_s or "\\" in ref_s:
        path = Path(ref_s)
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        raw = load_yaml(path)
        return parse_layer(raw, file=str(path), base_dir=path.parent)
    path = builtin_dir() / f"{ref_s}.yaml"
    if not path_exists(path):
        ids = builtin_layer_ids()
        close = difflib.get_close_matches(ref_s, ids, n=1, cutoff=0.6)
        if close:
            msg = _(
                "no built-in layer %(id)r; did you mean %(close)r? "
                "(or give a path to a layer .yaml file)"
            ) % {"id": Short(ref_s), "close": Short(close[0])}
        else:
            msg = _(
                "no built-in layer %(id)r; built-in layers are: %(ids)s "
                "(or give a path to a layer .yaml file)"
            ) % {"id": Short(ref_s), "ids": ", ".join(ids)}
        raise ConfigError([Problem("<layers>", shorten(ref_s, 60), msg)])
    raw = load_yaml(path)
    return parse_layer(raw, file=f"{BUILTIN_FILE} {path.name}", base_dir=path.parent)
