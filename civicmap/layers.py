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

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from civicmap._validate import Checker, is_colour, load_yaml
from civicmap.errors import ConfigError, Problem
from civicmap.i18n import _
from civicmap.tagfilter import FilterSyntaxError, TagFilter

#: Paper-map marker shapes; each layer gets a different one so layers stay
#: apart when printed in black and white.
SYMBOLS = ("circle", "square", "triangle", "diamond", "star", "hexagon", "cross", "pentagon")

#: Keys allowed in each kind of source (beyond the kind itself).
FILE_SOURCE_KEYS = {
    "path": "file path, relative to the layer or map file that names it",
    "category": "category for every row, or {column: NAME} to take it from a column",
    "columns": "override detected columns: {lat, lon, name, name_kana, address, category, x, y}",
    "encoding": "force a text encoding instead of detecting it (e.g. cp932)",
    "layout": "force a known layout instead of detecting it",
    "credit": "{source, credit, licence, date, url}: printed on every map using this layer",
    "geocode": "true to geocode rows that have an address but no coordinates",
    "join": "{path, on, columns}: attach a table without coordinates by name",
    "filter": "{column: value-or-list}: keep only matching rows",
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
    "categories": "display order and English names: [{name, en}]",
}
STYLE_KEYS = {"color", "icon", "symbol", "fill"}
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
    style: dict[str, str]
    label: str | None = "name"
    popup: tuple[str, ...] | str = ("name", "address")
    index: tuple[str, ...] = ("address",)
    cluster: bool | int = 200
    description: dict[str, str] = field(default_factory=dict)
    categories: tuple[dict[str, str], ...] = ()
    notes: str = ""
    file: str = ""

    def title_in(self, language: str) -> str:
        """The title in ``language``, falling back to Japanese, then the id."""
        return self.title.get(language) or self.title.get("ja") or self.id

    def category_title(self, category: str, language: str) -> str:
        """A category's display name in ``language`` (``en`` from ``categories``)."""
        if language == "ja":
            return category
        for c in self.categories:
            if c.get("name") == category:
                return c.get(language) or category
        return category

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
    ck.add(key, _("got %(value)r, expected a string or {ja: ..., en: ...}") % {"value": value})
    return {}


def parse_source(ck: Checker, key: str, raw: Any, base_dir: Path) -> SourceSpec | None:
    """Validate one ``sources`` entry; record problems in ``ck``."""
    if not isinstance(raw, Mapping) or len(raw) != 1:
        ck.add(
            key,
            _("got %(raw)r; expected one mapping with one kind: ") % {"raw": raw}
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
        ck.add(f"{key}.{kind}", _("got %(opts)r, expected a mapping of options") % {"opts": opts})
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
                ck.add(rk, _("got %(rule)r, expected {name: ..., match: ...}") % {"rule": rule})
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
        elif not (base_dir / str(opts["path"])).exists():
            ck.add(
                f"{key}.{kind}.path",
                _("file not found: %(value)s (paths are relative to %(base_dir)s)")
                % {"value": base_dir / str(opts["path"]), "base_dir": base_dir},
            )
        credit = opts.get("credit")
        if credit is not None:
            if isinstance(credit, Mapping):
                ck.unknown_keys(
                    f"{key}.{kind}.credit", credit, {"source", "credit", "licence", "date", "url"}
                )
            elif not isinstance(credit, str):
                ck.add(
                    f"{key}.{kind}.credit",
                    _("got %(credit)r, expected a string or a mapping") % {"credit": credit},
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
            % {"lid": lid},
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
            _("got %(raw_sources)r, expected a non-empty list") % {"raw_sources": raw_sources},
        )
    else:
        for i, s in enumerate(raw_sources):
            spec = parse_source(ck, k(f"sources[{i}]"), s, base_dir)
            if spec:
                sources.append(spec)
    style = dict(raw.get("style") or {})
    if not isinstance(raw.get("style", {}), Mapping):
        ck.add(k("style"), _("expected a mapping {color, icon, symbol}"))
        style = {}
    ck.unknown_keys(k("style"), style, STYLE_KEYS)
    style.setdefault("color", "#1c7ed6")
    style.setdefault("symbol", "circle")
    style.setdefault("icon", "circle")
    if not is_colour(style["color"]):
        ck.add(
            k("style.color"),
            _("got %(color)r, expected a hex colour like #d6336c") % {"color": style["color"]},
        )
    if "fill" in style and not is_colour(style["fill"]):
        ck.add(
            k("style.fill"),
            _("got %(fill)r, expected a hex colour like #ffffff") % {"fill": style["fill"]},
        )
    ck.choice(k("style.symbol"), style["symbol"], SYMBOLS)
    label = raw.get("label", "name")
    if label is not False and label is not None and not isinstance(label, str):
        ck.add(k("label"), _("got %(label)r, expected a column name or false") % {"label": label})
    popup = raw.get("popup", ["name", "address"])
    if isinstance(popup, list):
        if not all(isinstance(p, str) for p in popup):
            ck.add(k("popup"), _("expected a list of column names"))
        popup = tuple(str(p) for p in popup)
    elif not isinstance(popup, str):
        ck.add(
            k("popup"),
            _("got %(popup)r, expected a list of columns or a template string") % {"popup": popup},
        )
        popup = ("name",)
    index = raw.get("index", ["address"])
    if not isinstance(index, list) or not all(isinstance(p, str) for p in index):
        ck.add(k("index"), _("got %(index)r, expected a list of column names") % {"index": index})
        index = ["address"]
    cluster = raw.get("cluster", 200)
    if not isinstance(cluster, bool | int):
        ck.add(
            k("cluster"),
            _("got %(cluster)r, expected true, false or a whole number") % {"cluster": cluster},
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
    if own:
        ck.raise_if_any()
    return LayerSpec(
        id=str(lid),
        title=title,
        sources=tuple(sources),
        style={k2: str(v) for k2, v in style.items()},
        label=None if label in (False, None) else str(label),
        popup=popup,
        index=tuple(index),
        cluster=cluster,
        description=description,
        categories=tuple({k2: str(v) for k2, v in c.items()} for c in cats),
        notes=str(raw.get("notes", "")),
        file=file,
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
    if not path.exists():
        ids = builtin_layer_ids()
        close = difflib.get_close_matches(ref_s, ids, n=1, cutoff=0.6)
        if close:
            msg = _(
                "no built-in layer %(id)r; did you mean %(close)r? "
                "(or give a path to a layer .yaml file)"
            ) % {"id": ref_s, "close": close[0]}
        else:
            msg = _(
                "no built-in layer %(id)r; built-in layers are: %(ids)s "
                "(or give a path to a layer .yaml file)"
            ) % {"id": ref_s, "ids": ", ".join(ids)}
        raise ConfigError([Problem("<layers>", ref_s, msg)])
    raw = load_yaml(path)
    return parse_layer(raw, file=f"built-in layer {path.name}", base_dir=path.parent)
