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
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

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
}
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
    "style": "{color, icon, symbol, fill}",
    "label": "column shown as the marker label, or false",
    "popup": "list of columns, or a template string with {column} fields",
    "index": "list of columns printed in the paper map's index",
    "cluster": "cluster markers on the web map: true, false, or a count above which to cluster",
    "categories": "display order, English names and styles: [{name, en, color, symbol}]",
    "role": "what the layer is for beyond drawing: shelter (home routes rank its places)",
    "labels": "display labels for columns: {column: label} or {column: {ja, en}}",
}
#: Layer roles: what the pipeline does with a layer beyond drawing it.
ROLES = {"shelter": "its places are shelters: home routes rank them, co-located ones merge"}
STYLE_KEYS = {"color", "icon", "symbol", "fill"}
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

    def as_dict(self) -> dict[str, str]:
        """The style as a layer file writes it under ``style:`` (``fill`` only when set).

        What the exports embed (``.umap``'s layer list), so a style read back from an
        export is one a layer file could hold.
        """
        out = {"color": self.color, "symbol": self.symbol, "icon": self.icon}
        if self.fill:
            out["fill"] = self.fill
        return out

    def for_categories(self, names: list[str]) -> list[CategoryStyle]:
        """Colour and symbol of each category in ``names`` (in display order).

        A category the layer file styles keeps that style; the others get derived
        ones by their position, so two categories differ in shape *and* colour and the
        same category looks the same on every map using the layer.
        """
        given = {n: (c, s) for n, c, s in self.category_overrides}
        out = []
        for i, name in enumerate(names):
            c, s = given.get(name, ("", ""))
            out.append(
                CategoryStyle(
                    name=name,
                    color=c or derived_colour(self.color, i),
                    symbol=s or derived_symbol(self.symbol, i),
                )
            )
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
        )


_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class SourceSpec:
    """One source of a layer: its kind and its options (paths already resolved)."""

    kind: str
    options: dict[str, Any]
    base_dir: Path
    tag_filter: TagFilter | None = None
    category_rules: tuple[tuple[str, TagFilter], ...] = ()

    @property
    def path(self) -> Path | None:
        p = self.options.get("path")
        return (self.base_dir / p) if p else None


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

    @property
    def builtin(self) -> bool:
        """A layer of the built-in library (its popup lists fields of many kinds of data)."""
        return self.file.startswith(BUILTIN_FILE)

    def title_in(self, language: str) -> str:
        """The title in ``language``: the file's, the glossary's (built-in layers), Japanese, the id."""
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
        for n in present or []:
            if n and n not in names:
                names.append(n)
        return names

    def category_title(self, category: str, language: str) -> str:
        """A category's display name in ``language`` (``en`` from ``categories``)."""
        if language == "ja":
            return category
        for c in self.categories:
            if c.get("name") == category and c.get(language):
                return c[language]
        # the built-in categories (指定避難所 …) are glossary entries in every language
        return wording.translate(language, "category", category)

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
        opts = {"path": opts}
    if not isinstance(opts, Mapping):
        ck.add(
            f"{key}.{kind}",
            _("got %(opts)r, expected a mapping of options") % {"opts": Short(opts)},
        )
        return None
    ck.unknown_keys(f"{key}.{kind}", opts, SOURCE_KEYS[kind])
    opts = dict(opts)
    tag_filter = None
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
    else:
        if not opts.get("path"):
            ck.add(f"{key}.{kind}.path", _("missing; give the file's path"))
        elif not path_exists(base_dir / str(opts["path"])):
            ck.add(
                f"{key}.{kind}.path",
                _("file not found: %(value)s (paths are relative to %(base_dir)s)")
                % {"value": shorten(base_dir / str(opts["path"]), 200), "base_dir": base_dir},
            )
        if "date" in opts:
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
    )


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
