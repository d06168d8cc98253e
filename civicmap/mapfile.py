"""Map files: title, area, where OSM data comes from, layers and outputs.

A map file is YAML (every key is in ``docs/reference.md``)::

    title: 西早稲田 子育て・防災マップ
    area: {municipality: "13104"}
    osm: {file: data/area.osm.pbf}
    layers: [childcare, shelters]
    outputs:
      web: {file: out/map.html}
      paper: {file: out/map.pdf, size: A4, orientation: portrait}

:func:`load_map` validates the whole file and raises one
:class:`~civicmap.errors.ConfigError` listing every problem, each naming the
file, the key and what is allowed. Relative paths are relative to the map file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from civicmap._validate import Checker, load_yaml
from civicmap.errors import ConfigError
from civicmap.layers import LayerSpec, builtin_dir, load_layer, parse_layer, parse_source

MAP_KEYS = {
    "title": "the map's title (required)",
    "subtitle": "a line under the title",
    "language": "ja or en: titles, labels and fixed text",
    "area": "where: {bbox}, {point, radius}, {boundary}, {municipality}, {osm_file}, {place}",
    "osm": "where OSM data comes from: {file: extract} or {overpass: true, overpass_url: ..., pack: folder}",
    "basemap": "{draw: true|false}: draw roads, buildings, water and parks from OSM",
    "layers": "list of built-in layer ids, layer file paths, or {use: id, extra_sources: [...]}",
    "outputs": "{web: {...}, paper: {...}, umap: {...}, geojson: {...}, kml: {...}}",
    "notes": "text for the paper map's notes box (連絡先, 集合場所, ...)",
    "home": "[lat, lon] or {point: [lat, lon], disaster: 津波}: nearest shelters on foot",
}
AREA_KINDS = {
    "bbox": "[west, south, east, north] in degrees",
    "point": "[lat, lon], with radius: metres",
    "boundary": "path to a GeoJSON/GeoPackage/Shapefile polygon file",
    "municipality": '全国地方公共団体コード, 5 or 6 digits (e.g. "13104")',
    "osm_file": "path to an .osm/.osm.bz2/.osm.pbf extract: its bounds",
    "place": "a place name, resolved online (Nominatim)",
}
AREA_OPTIONS = {"radius", "buffer", "name"}
OUTPUT_KEYS: dict[str, set[str]] = {
    "web": {"file", "offline", "tiles", "cluster", "labels"},
    "paper": {
        "file",
        "size",
        "orientation",
        "scale",
        "png",
        "large_print",
        "qr",
        "atlas",
        "overlap",
        "max_pages",
        "fit",
    },
    "umap": {"file"},
    "geojson": {"file"},
    "kml": {"file"},
}
PAPER_SIZES = ("A4", "A3", "B4", "B5")


@dataclass(frozen=True)
class MapSpec:
    """A validated map file."""

    title: str
    area: dict[str, Any]
    layers: tuple[LayerSpec, ...]
    outputs: dict[str, dict[str, Any]]
    base_dir: Path
    file: str = "<map>"
    subtitle: str = ""
    language: str = "ja"
    osm: dict[str, Any] = field(default_factory=dict)
    basemap: dict[str, Any] = field(default_factory=lambda: {"draw": True})
    notes: str = ""
    home: tuple[float, float] | None = None
    home_disaster: str | None = None

    def path(self, relative: str | Path) -> Path:
        """A path from the map file, made absolute against the map's folder."""
        p = Path(relative)
        return p if p.is_absolute() else self.base_dir / p

    def output_path(self, kind: str) -> Path | None:
        out = self.outputs.get(kind)
        return self.path(out["file"]) if out and out.get("file") else None


def _check_area(ck: Checker, area: Any, base_dir: Path) -> dict[str, Any]:
    if not isinstance(area, Mapping):
        ck.add("area", f"got {area!r}, expected a mapping with one of: {', '.join(AREA_KINDS)}")
        return {}
    kinds = [k for k in area if k in AREA_KINDS]
    ck.unknown_keys("area", area, {**AREA_KINDS, **dict.fromkeys(AREA_OPTIONS)})
    if len(kinds) != 1:
        ck.add(
            "area",
            f"got {', '.join(kinds) or 'none'}; give exactly one of: "
            + "; ".join(f"{k} ({v})" for k, v in AREA_KINDS.items()),
        )
        return dict(area)
    kind = kinds[0]
    v = area[kind]
    if kind == "bbox":
        if not (
            isinstance(v, list)
            and len(v) == 4
            and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
        ):
            ck.add("area.bbox", f"got {v!r}, expected [west, south, east, north] in degrees")
        elif not (v[0] < v[2] and v[1] < v[3]):
            ck.add("area.bbox", f"got {v!r}: west must be < east and south < north")
        elif not (
            -180 <= v[0] <= 180 and -90 <= v[1] <= 90 and -180 <= v[2] <= 180 and -90 <= v[3] <= 90
        ):
            ck.add("area.bbox", f"got {v!r}: longitudes must be in -180..180, latitudes in -90..90")
    elif kind == "point":
        if not (isinstance(v, list) and len(v) == 2 and all(isinstance(x, int | float) for x in v)):
            ck.add("area.point", f"got {v!r}, expected [lat, lon]")
        elif not (-90 <= v[0] <= 90 and -180 <= v[1] <= 180):
            ck.add("area.point", f"got {v!r}: expected [lat, lon] with lat in -90..90")
        if "radius" not in area:
            ck.add("area.radius", "missing; a point area needs radius: metres (e.g. 800)")
    elif kind in ("boundary", "osm_file"):
        if not isinstance(v, str):
            ck.add(f"area.{kind}", f"got {v!r}, expected a file path")
        elif not (base_dir / v).exists():
            ck.add(f"area.{kind}", f"file not found: {base_dir / v}")
    elif kind == "municipality":
        code = str(v)
        if not (code.isdigit() and len(code) in (5, 6)):
            ck.add(
                "area.municipality",
                f'got {v!r}, expected a 5- or 6-digit 全国地方公共団体コード as a string, e.g. "13104"',
            )
    elif kind == "place" and not isinstance(v, str):
        ck.add("area.place", f"got {v!r}, expected a place name")
    if "radius" in area:
        ck.number("area.radius", area["radius"], minimum=1, maximum=100_000)
    if "buffer" in area:
        ck.number("area.buffer", area["buffer"], minimum=0, maximum=100_000)
    out = dict(area)
    out["kind"] = kind
    if kind == "municipality":
        out["municipality"] = str(v)
    return out


def _check_outputs(ck: Checker, outputs: Any) -> dict[str, dict[str, Any]]:
    if outputs is None:
        return {}
    if not isinstance(outputs, Mapping):
        ck.add("outputs", f"got {outputs!r}, expected a mapping: {', '.join(OUTPUT_KEYS)}")
        return {}
    result: dict[str, dict[str, Any]] = {}
    for kind, opts in outputs.items():
        if kind not in OUTPUT_KEYS:
            ck.add(f"outputs.{kind}", f"unknown output; expected one of {', '.join(OUTPUT_KEYS)}")
            continue
        if isinstance(opts, str):
            opts = {"file": opts}
        if not isinstance(opts, Mapping):
            ck.add(f"outputs.{kind}", f"got {opts!r}, expected {{file: path, ...}}")
            continue
        ck.unknown_keys(f"outputs.{kind}", opts, OUTPUT_KEYS[kind])
        if not isinstance(opts.get("file"), str):
            ck.add(f"outputs.{kind}.file", "missing; give the output file's path")
        if kind == "paper":
            size = str(opts.get("size", "A4")).upper()
            ck.choice("outputs.paper.size", size, PAPER_SIZES)
            ck.choice(
                "outputs.paper.orientation",
                opts.get("orientation", "portrait"),
                ("portrait", "landscape"),
            )
            if "scale" in opts and opts["scale"] != "fit":
                ck.number("outputs.paper.scale", opts["scale"], minimum=500, maximum=200_000)
            opts = {**opts, "size": size}
            _check_paper(ck, opts)
        result[kind] = dict(opts)
    return result


def _check_paper(ck: Checker, opts: Mapping[str, Any]) -> None:
    """The paper keys the checks above do not cover, validated once by PaperOptions."""
    from civicmap.errors import ConfigError
    from civicmap.render.paper.options import PaperOptions

    try:
        PaperOptions.from_dict(dict(opts), file=ck.file)
    except ConfigError as e:
        seen = ("outputs.paper.size", "outputs.paper.orientation", "outputs.paper.scale")
        for problem in e.problems:
            if problem.key not in seen:
                ck.add(problem.key, problem.message)


def _parse_layer_entry(ck: Checker, i: int, entry: Any, base_dir: Path) -> LayerSpec | None:
    key = f"layers[{i}]"
    try:
        if isinstance(entry, str):
            return load_layer(entry, base_dir=base_dir)
        if isinstance(entry, Mapping) and "use" in entry:
            ck.unknown_keys(key, entry, {"use", "extra_sources"})
            layer = load_layer(str(entry["use"]), base_dir=base_dir)
            extra = []
            raw_extra = entry.get("extra_sources") or []
            if not isinstance(raw_extra, list):
                ck.add(f"{key}.extra_sources", f"got {raw_extra!r}, expected a list of sources")
                raw_extra = []
            for j, s in enumerate(raw_extra):
                spec = parse_source(ck, f"{key}.extra_sources[{j}]", s, base_dir)
                if spec:
                    extra.append(spec)
            return layer.with_extra_sources(tuple(extra))
        if isinstance(entry, Mapping):
            before = len(ck.problems)
            layer = parse_layer(entry, file=key, base_dir=base_dir, ck=ck)
            return layer if len(ck.problems) == before else None
    except ConfigError as exc:
        for p in exc.problems:
            ck.add(f"{key}", str(p))
        return None
    ck.add(
        key,
        f"got {entry!r}, expected a layer id, a layer file path, or {{use: id, extra_sources: [...]}}",
    )
    return None


def parse_map(raw: Any, *, file: str, base_dir: Path) -> MapSpec:
    """Validate a parsed map document; raise :class:`ConfigError` with every problem."""
    ck = Checker(file)
    if not isinstance(raw, Mapping):
        ck.add("", f"got {type(raw).__name__}, expected a mapping with title, area, layers")
        ck.raise_if_any()
    ck.unknown_keys("", raw, MAP_KEYS)
    title = raw.get("title")
    if title is None:
        ck.add("title", "missing; give the map a title")
    elif not isinstance(title, str | int | float):
        ck.add("title", f"got {title!r}, expected text")
    language = raw.get("language", "ja")
    ck.choice("language", language, ("ja", "en"))
    area = raw.get("area")
    if area is None:
        ck.add("area", "missing; give one of: " + ", ".join(AREA_KINDS))
        area_spec: dict[str, Any] = {}
    else:
        area_spec = _check_area(ck, area, base_dir)
    osm = raw.get("osm") or {}
    if not isinstance(osm, Mapping):
        ck.add("osm", f"got {osm!r}, expected {{file: extract}} or {{overpass: true}}")
        osm = {}
    ck.unknown_keys("osm", osm, {"file", "overpass", "overpass_url", "pack"})
    if "file" in osm and not (base_dir / str(osm["file"])).exists():
        ck.add("osm.file", f"file not found: {base_dir / str(osm['file'])}")
    if "file" in osm and (osm.get("overpass") or osm.get("pack")):
        ck.add("osm", "give either file: (a local extract) or overpass: true / pack:, not both")
    if "overpass" in osm and not isinstance(osm["overpass"], bool):
        ck.add("osm.overpass", f"got {osm['overpass']!r}, expected true or false")
    url = osm.get("overpass_url")
    if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        ck.add(
            "osm.overpass_url",
            f"got {url!r}, expected an http(s) URL such as https://overpass-api.de/api/interpreter",
        )
    if "pack" in osm and not isinstance(osm["pack"], str):
        ck.add(
            "osm.pack",
            f"got {osm['pack']!r}, expected a folder path for the offline pack (civicmap fetch)",
        )
    basemap = raw.get("basemap", {"draw": True})
    if isinstance(basemap, bool):
        basemap = {"draw": basemap}
    if not isinstance(basemap, Mapping):
        ck.add("basemap", f"got {basemap!r}, expected {{draw: true|false}}")
        basemap = {"draw": True}
    ck.unknown_keys("basemap", basemap, {"draw"})
    layers: list[LayerSpec] = []
    raw_layers = raw.get("layers")
    if raw_layers is None:
        ck.add("layers", "missing; give a list of layers, e.g. [childcare, shelters]")
    elif not isinstance(raw_layers, list) or not raw_layers:
        ck.add("layers", f"got {raw_layers!r}, expected a non-empty list")
    else:
        for i, entry in enumerate(raw_layers):
            layer = _parse_layer_entry(ck, i, entry, base_dir)
            if layer is not None:
                if any(existing.id == layer.id for existing in layers):
                    ck.add(
                        f"layers[{i}]", f"layer id {layer.id!r} appears twice; ids must be unique"
                    )
                layers.append(layer)
    outputs = _check_outputs(ck, raw.get("outputs"))
    home = raw.get("home")
    home_disaster = None
    if isinstance(home, Mapping):
        ck.unknown_keys("home", home, {"point", "disaster"})
        home_disaster = home.get("disaster")
        if home_disaster is not None:
            from civicmap.schema import DISASTER_TYPES

            allowed = [*DISASTER_TYPES, *DISASTER_TYPES.values()]
            if not ck.choice("home.disaster", home_disaster, allowed):
                home_disaster = None
        home = home.get("point")
    if home is not None and not (
        isinstance(home, list)
        and len(home) == 2
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in home)
        and -90 <= home[0] <= 90
        and -180 <= home[1] <= 180
    ):
        ck.add(
            "home", f"got {home!r}, expected [lat, lon] or {{point: [lat, lon], disaster: 津波}}"
        )
        home = None
    ck.raise_if_any()
    return MapSpec(
        title=str(title),
        subtitle=str(raw.get("subtitle", "")),
        language=language,
        area=area_spec,
        layers=tuple(layers),
        outputs=outputs,
        base_dir=base_dir,
        file=file,
        osm=dict(osm),
        basemap=dict(basemap),
        notes=str(raw.get("notes", "")),
        home=tuple(home) if home else None,
        home_disaster=str(home_disaster) if home_disaster else None,
    )


def load_map(path: str | Path) -> MapSpec:
    """Load and validate a map file.

    Raises
    ------
    ConfigError
        Listing every problem in the file at once.
    """
    p = Path(path)
    raw = load_yaml(p)
    return parse_map(raw, file=str(p), base_dir=p.parent.resolve())


__all__ = ["MapSpec", "builtin_dir", "load_map", "parse_map"]
