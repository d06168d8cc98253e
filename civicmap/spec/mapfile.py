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

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from civicmap import settings, wording
from civicmap._validate import Checker, load_yaml
from civicmap._yaml import Short
from civicmap.errors import ConfigError
from civicmap.i18n import _
from civicmap.schema import DISASTER_TYPES
from civicmap.spec.area import AREA_KINDS, AreaSpec, check_area
from civicmap.spec.basemap import Basemap, parse_basemap
from civicmap.spec.hazards import HazardSpec, parse_disaster, parse_hazards
from civicmap.spec.layers import LayerSpec, builtin_dir, load_layer, parse_layer, parse_source
from civicmap.spec.osm import OsmSource, parse_osm
from civicmap.spec.paper import PaperOptions
from civicmap.spec.site import SITE_KEYS, SiteOptions
from civicmap.spec.web import WebOptions

log = logging.getLogger(__name__)

MAP_KEYS = {
    "title": "the map's title (required)",
    "subtitle": "a line under the title",
    "language": "the map's language(s): ja, ja-easy, en, zh-Hans, zh-Hant, ko, vi, pt, tl, ne, or a list (one paper map and web page each)",
    "area": "where: {bbox}, {point, radius}, {boundary}, {municipality}, {osm_file}, {place}",
    "osm": "where OSM data comes from: {file: extract} or {overpass: true, overpass_url: ..., pack: folder}, or false (no OSM)",
    "basemap": "{tiles: gsi-pale|gsi-std|none|URL, attribution: ..., draw: osm|false, approval: 承認番号}",
    "layers": "list of built-in layer ids, layer file paths, or {use: id, extra_sources: [...]}",
    "outputs": "{web: {...}, paper: {...}, site: {...}, umap: {...}, geojson: {...}, kml: {...}}",
    "notes": "text for the paper map's notes box (連絡先, 集合場所, ...)",
    "home": "[lat, lon] or {point: [lat, lon], disaster: 津波}: nearest shelters on foot",
    "homes": "several starting points: {points: [{name, point: [lat, lon]}], file: points.csv, geocode: true, disaster: 津波}",
    "hazards": "hazard zones to overlay and check shelters against: [{file: A31a-23_17_20.geojson, kind: flood}]",
    "disaster": "one disaster's view: only the shelters suited to it, its hazards drawn (洪水, 津波 ...)",
}
OUTPUT_KEYS: dict[str, set[str]] = {
    # "offline" is the older name of "self_contained" (spec/web.py warns and reads it)
    "web": {"file", "self_contained", "offline", "tiles", "cluster", "labels", "offline_tiles"},
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
        "index_ignore",
        "unreadable",
        "index",
        "changes_since",
        "languages",
    },
    # a static folder for any web host, offline on a phone after one visit (spec/site.py)
    "site": set(SITE_KEYS),
    "umap": {"file"},
    "geojson": {"file"},
    "kml": {"file"},
}
PAPER_SIZES = ("A4", "A3", "B4", "B5")
#: The outputs drawn once per language of ``language: [ja, en, …]``.
LANGUAGE_OUTPUTS = ("web", "paper")


@dataclass(frozen=True)
class MapSpec:
    """A validated map file."""

    title: str
    area: AreaSpec
    layers: tuple[LayerSpec, ...]
    #: The output file of each output kind (web, paper, umap, geojson, kml), as written.
    outputs: dict[str, str]
    base_dir: Path
    file: str = "<map>"
    subtitle: str = ""
    #: The language this map is drawn in (the first of ``languages``).
    language: str = "ja"
    #: Every language the map file asks for, first = :attr:`language`; each further one
    #: gets its own paper map and web page (:meth:`language_outputs`).
    languages: tuple[str, ...] = ()
    #: Set by :meth:`in_language`: (language, file name) of every language's web page.
    pages: tuple[tuple[str, str], ...] = ()
    osm: OsmSource = field(default_factory=OsmSource)
    basemap: Basemap = field(default_factory=Basemap)
    #: ``outputs.paper`` validated once at load (None without a paper output).
    paper: PaperOptions | None = None
    #: ``outputs.web`` validated once at load (None without a web output).
    web: WebOptions | None = None
    #: ``outputs.site`` validated once at load (None without a site output).
    site: SiteOptions | None = None
    notes: str = ""
    home: tuple[float, float] | None = None
    home_disaster: str | None = None
    #: ``homes:`` points as (name, lat, lon), and a CSV of points (名称, 緯度, 経度).
    homes: tuple[tuple[str, float, float], ...] = ()
    homes_file: str | None = None
    #: Geocode rows of the homes CSV that have an address but no coordinates (online).
    homes_geocode: bool = False
    #: ``hazards:`` validated once at load (see :mod:`civicmap.spec.hazards`).
    hazards: tuple[HazardSpec, ...] = ()
    #: ``disaster:``: the per-disaster view (a ``serves_<key>`` key such as ``flood``), or None.
    disaster: str | None = None
    #: Run option, never read from the map file: ``True`` answers every request from the
    #: offline pack, local files and the cache; ``None`` takes ``settings.offline``. Set by
    #: ``build(..., offline=True)``, ``batch(..., offline=True)`` or ``--offline``.
    offline: bool | None = None

    def path(self, relative: str | Path) -> Path:
        """A path from the map file, made absolute against the map's folder."""
        p = Path(relative)
        return p if p.is_absolute() else self.base_dir / p

    def output_path(self, kind: str) -> Path | None:
        """The absolute path of output ``kind``, or None when the map has no such output."""
        file = self.outputs.get(kind)
        return self.path(file) if file else None

    def output_targets(self, kind: str) -> list[Path]:
        """Every file output ``kind`` writes (the paper map's PNG too, each language's)."""
        path = self.output_path(kind)
        if path is None:
            return []
        paths = [path, *(self.path(f) for f in self.language_outputs(kind).values())]
        if kind == "paper" and self.paper is not None and self.paper.png:
            return [q for p in paths for q in (p, p.with_suffix(".png"))]
        return paths

    def language_outputs(self, kind: str) -> dict[str, str]:
        """The output file of ``kind`` for each further language: ``map.pdf`` → ``map.vi.pdf``.

        Only the paper map and the web page speak; the exports carry the data as it is.
        """
        file = self.outputs.get(kind)
        if not file or kind not in LANGUAGE_OUTPUTS:
            return {}
        if kind == "paper" and self.one_paper_file:
            return {}  # one bilingual sheet, or one PDF with a section per language
        p = Path(file)
        return {lang: str(p.with_name(f"{p.stem}.{lang}{p.suffix}")) for lang in self.languages[1:]}

    def in_language(self, language: str) -> MapSpec:
        """This map drawn in ``language`` alone, its paper map and page at that language's names."""
        if language == self.language:
            return replace(self, languages=(language,), pages=self.web_pages())
        paper = easy_paper(self.paper) if language == "ja-easy" else self.paper
        outputs = {
            kind: self.language_outputs(kind)[language]
            for kind in self.outputs
            if self.language_outputs(kind)
        }
        return replace(
            self,
            language=language,
            languages=(language,),
            outputs=outputs,
            pages=self.web_pages(),
            paper=paper,
        )

    @property
    def one_paper_file(self) -> bool:
        """Whether the paper maps of all the languages are one PDF (bilingual or sections)."""
        return (
            self.paper is not None
            and self.paper.languages != "separate"
            and len(self.languages) > 1
        )

    @property
    def paper_language(self) -> str:
        """The language the paper map prints in: :attr:`language`, or a pair such as
        ``ja+vi`` (:func:`civicmap.wording.pair`) with ``outputs.paper.languages: bilingual``."""
        if (
            self.paper is not None
            and self.paper.languages == "bilingual"
            and len(self.languages) == 2
        ):
            return wording.pair(*self.languages)
        return self.language

    def web_pages(self) -> tuple[tuple[str, str], ...]:
        """(language, file name) of the web page in each language: the page's language switch."""
        if self.pages:
            return self.pages
        file = self.outputs.get("web")
        if not file or len(self.languages) < 2:
            return ()
        others = self.language_outputs("web")
        return ((self.language, Path(file).name), *((k, Path(v).name) for k, v in others.items()))

    def pack_dir(self) -> Path:
        """The offline pack folder: ``osm.pack``, else ``settings.default_pack`` beside the map."""
        return self.path(self.osm.pack or settings.default_pack)


def _check_outputs(
    ck: Checker, outputs: Any
) -> tuple[dict[str, dict[str, Any]], PaperOptions | None]:
    """Check ``outputs:``; return each output's options (``file`` included) and the paper's."""
    paper = None
    if outputs is None:
        return {}, None
    if not isinstance(outputs, Mapping):
        ck.add(
            "outputs",
            _("got %(outputs)r, expected a mapping: %(items)s")
            % {"outputs": Short(outputs), "items": ", ".join(OUTPUT_KEYS)},
        )
        return {}, None
    result: dict[str, dict[str, Any]] = {}
    for kind, opts in outputs.items():
        if kind not in OUTPUT_KEYS:
            ck.add(
                f"outputs.{kind}",
                _("unknown output; expected one of %(items)s") % {"items": ", ".join(OUTPUT_KEYS)},
            )
            continue
        if isinstance(opts, str):
            opts = {"file": opts}
        if not isinstance(opts, Mapping):
            ck.add(
                f"outputs.{kind}",
                _("got %(opts)r, expected {file: path, ...}") % {"opts": Short(opts)},
            )
            continue
        ck.unknown_keys(f"outputs.{kind}", opts, OUTPUT_KEYS[kind])
        if kind == "site":  # a folder, not a file: checked by SiteOptions (parse_map)
            result[kind] = dict(opts)
            continue
        if not isinstance(opts.get("file"), str):
            ck.add(f"outputs.{kind}.file", _("missing; give the output file's path"))
        elif not opts["file"].strip() or opts["file"].endswith(("/", "\\")):
            ck.add(
                f"outputs.{kind}.file",
                _("got %(file)r, expected a file name (e.g. out/map.%(value)s)")
                % {"file": opts["file"], "value": _EXT.get(kind, kind)},
            )
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
            paper = _check_paper(ck, opts)
        result[kind] = dict(opts)
    return result, paper


_EXT = {"web": "html", "paper": "pdf"}


def _check_output_files(ck: Checker, outputs: dict[str, dict[str, Any]], base_dir: Path) -> None:
    """Two outputs naming the same file would overwrite each other: refuse at load."""
    seen: dict[str, str] = {}
    for kind, opts in outputs.items():
        file = opts.get("folder" if kind == "site" else "file")
        if not isinstance(file, str) or not file.strip():
            continue
        path = Path(file).expanduser()
        path = path if path.is_absolute() else base_dir / path
        names = [(f"outputs.{kind}.{'folder' if kind == 'site' else 'file'}", path)]
        if kind == "paper" and opts.get("png") is True:
            names.append(("outputs.paper.png", path.with_suffix(".png")))
        for key, p in names:
            norm = os.path.normcase(os.path.abspath(p))
            if norm in seen:
                ck.add(
                    key,
                    _("%(file)r is also written by %(value)s; give each output its own file")
                    % {"file": file, "value": seen[norm]},
                )
            else:
                seen[norm] = key


def _check_paper(ck: Checker, opts: Mapping[str, Any]) -> PaperOptions | None:
    """The paper keys the checks above do not cover, validated once by PaperOptions."""
    try:
        return PaperOptions.from_dict(dict(opts), file=ck.file)
    except ConfigError as e:
        seen = ("outputs.paper.size", "outputs.paper.orientation", "outputs.paper.scale")
        for problem in e.problems:
            if problem.key not in seen:
                ck.add(problem.key, problem.message)
        return None


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
                ck.add(
                    f"{key}.extra_sources",
                    _("got %(raw_extra)r, expected a list of sources")
                    % {"raw_extra": Short(raw_extra)},
                )
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
        _(
            "got %(entry)r, expected a layer id, a layer file path, or {use: id, extra_sources: [...]}"
        )
        % {"entry": Short(entry)},
    )
    return None


def easy_paper(paper: PaperOptions | None) -> PaperOptions | None:
    """The paper options of a sheet in やさしい日本語: always large print.

    Its furigana share each line's height with the text (render/_ruby.py): printed large,
    the text stays at 6.6 pt and more and the readings at 3.3 pt and more.
    """
    return replace(paper, large_print=True) if paper is not None else None


def _check_languages(ck: Checker, raw: Any) -> tuple[str, ...]:
    """``language:``: one language or a list of them (each once), ``("ja",)`` when invalid."""
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        ck.add("language", _("got an empty list; give ja, or a list such as [ja, ja-easy, en]"))
        return ("ja",)
    out: list[str] = []
    for i, lang in enumerate(items):
        key = f"language[{i}]" if isinstance(raw, list) else "language"
        if not ck.choice(key, lang, wording.LANGUAGES):
            continue
        if lang in out:
            ck.add(key, _("%(lang)s appears twice; name each language once") % {"lang": lang})
            continue
        out.append(lang)
    return tuple(out) or ("ja",)


def _check_bilingual(ck: Checker, languages: tuple[str, ...]) -> None:
    """``outputs.paper.languages: bilingual``: Japanese first and exactly one other language.

    A sheet holds two languages side by side at most, and its place names, 五十音 index
    and map labels are Japanese: the first language must be ``ja``.
    """
    key = "outputs.paper.languages"
    given = ", ".join(languages)
    others = [lang for lang in languages if lang not in wording.JAPANESE]
    second = others[0] if others else "en"
    if len(languages) != 2:
        ck.add(key, _(
            "bilingual prints Japanese and exactly one more language, and the map has "
            "language: [%(given)s]; give language: [ja, %(second)s], or languages: separate "
            "(a paper map per language)"
        ) % {"given": given, "second": second})  # fmt: skip
    elif languages[0] != wording.SOURCE:
        ck.add(key, _(
            "bilingual prints Japanese first, and the map has language: [%(given)s]; give "
            "language: [ja, %(second)s], or languages: separate (a paper map per language)"
        ) % {"given": given, "second": second})  # fmt: skip
    elif languages[1] in wording.JAPANESE:
        ck.add(key, _(
            "bilingual pairs Japanese with a language that is not Japanese, and the map has "
            "language: [%(given)s]; give language: [ja, en] (or vi, ko ...), or languages: "
            "separate (a paper map per language)"
        ) % {"given": given})  # fmt: skip


def _check_sections(ck: Checker, languages: tuple[str, ...], paper: PaperOptions) -> None:
    """``outputs.paper.languages: sections``: two languages or more, each a single sheet.

    An atlas numbers its pages from 1 and its index points at them (``p3 B2``): the
    sections of one PDF would share those numbers, so an atlas keeps a PDF per language.
    """
    key = "outputs.paper.languages"
    if len(languages) < 2:
        ck.add(key, _(
            "sections puts each language's paper map in one PDF, and the map has one "
            "language (%(given)s); give language: [ja, en] (or more), or remove languages"
        ) % {"given": languages[0]})  # fmt: skip
    if paper.atlas is not None or paper.unreadable == "atlas":
        ck.add(key, _(
            "sections puts each language's single sheet in one PDF, and an atlas numbers its "
            "own pages; use languages: separate (a PDF per language) with an atlas"
        ))  # fmt: skip


def parse_map(raw: Any, *, file: str, base_dir: Path) -> MapSpec:
    """Validate a parsed map document; raise :class:`ConfigError` with every problem."""
    ck = Checker(file)
    if not isinstance(raw, Mapping):
        ck.add(
            "",
            _("got %(type)s, expected a mapping with title, area, layers")
            % {"type": type(raw).__name__},
        )
        ck.raise_if_any()
    ck.unknown_keys("", raw, MAP_KEYS)
    title = raw.get("title")
    if title is None:
        ck.add("title", _("missing; give the map a title"))
    elif not isinstance(title, str | int | float):
        ck.add("title", _("got %(title)r, expected text") % {"title": Short(title)})
    languages = _check_languages(ck, raw.get("language", "ja"))
    language = languages[0]
    area = raw.get("area")
    area_spec: AreaSpec | None = None
    if area is None:
        ck.add("area", _("missing; give one of: ") + ", ".join(AREA_KINDS))
    else:
        area_spec = check_area(ck, area, base_dir)
    osm_off = raw.get("osm") is False  # osm: false: no OSM data, layers use their own files
    osm = parse_osm(ck, raw.get("osm"), area=area_spec, base_dir=base_dir)
    try:
        basemap = parse_basemap(
            dict(raw["basemap"]) if isinstance(raw.get("basemap"), Mapping) else raw.get("basemap"),
            file=file,
        )
    except ConfigError as exc:
        for p in exc.problems:
            ck.problems.append(p)
        basemap = Basemap()
    if osm_off:
        basemap = replace(basemap, draw=False)  # osm: false: no OSM at all, nor the drawn basemap
    layers: list[LayerSpec] = []
    raw_layers = raw.get("layers")
    if raw_layers is None:
        ck.add("layers", _("missing; give a list of layers, e.g. [childcare, shelters]"))
    elif not isinstance(raw_layers, list) or not raw_layers:
        ck.add(
            "layers",
            _("got %(raw_layers)r, expected a non-empty list") % {"raw_layers": Short(raw_layers)},
        )
    else:
        for i, entry in enumerate(raw_layers):
            layer = _parse_layer_entry(ck, i, entry, base_dir)
            if layer is not None:
                if any(existing.id == layer.id for existing in layers):
                    ck.add(
                        f"layers[{i}]",
                        _("layer id %(id)r appears twice; ids must be unique") % {"id": layer.id},
                    )
                layers.append(layer)
    outputs, paper = _check_outputs(ck, raw.get("outputs"))
    if paper is not None and paper.languages == "bilingual":
        _check_bilingual(ck, languages)
    elif paper is not None and paper.languages == "sections":
        _check_sections(ck, languages, paper)
    if language == "ja-easy":
        paper = easy_paper(paper)
    _check_output_files(ck, outputs, base_dir)
    home = raw.get("home")
    home_disaster = None
    if isinstance(home, Mapping):
        ck.unknown_keys("home", home, {"point", "disaster"})
        home_disaster = home.get("disaster")
        if home_disaster is not None:
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
            "home",
            _("got %(home)r, expected [lat, lon] or {point: [lat, lon], disaster: 津波}")
            % {"home": Short(home)},
        )
        home = None
    homes, homes_file, homes_disaster = _check_homes(ck, raw.get("homes"))
    homes_geocode = isinstance(raw.get("homes"), Mapping) and raw["homes"].get("geocode") is True
    if homes_disaster is not None:
        if home_disaster is not None and home_disaster != homes_disaster:
            ck.add("homes.disaster", _(
                "got %(homes_disaster)r but home.disaster is %(home_disaster)r; give one "
                "disaster for the map"
            ) % {"homes_disaster": homes_disaster, "home_disaster": home_disaster})  # fmt: skip
        home_disaster = homes_disaster
    web = None
    if "web" in outputs:
        try:
            web = WebOptions.from_dict(outputs["web"], file=file, language=language)
        except ConfigError as exc:
            for problem in exc.problems:
                ck.add(problem.key, problem.message)
    site = None
    if "site" in outputs:
        try:
            site = SiteOptions.from_dict(outputs["site"], file=file)
        except ConfigError as exc:
            ck.problems.extend(exc.problems)
    if site is not None and site.url and paper is not None and paper.qr is None:
        paper = replace(paper, qr=site.url)  # the printed sheet leads to the phone map
    hazards: tuple[HazardSpec, ...] = ()
    try:
        hazards = parse_hazards(raw.get("hazards"), file=file, base_dir=base_dir)
    except ConfigError as exc:
        ck.problems.extend(exc.problems)
    disaster = None
    try:
        disaster = parse_disaster(raw.get("disaster"), file=file)
    except ConfigError as exc:
        ck.problems.extend(exc.problems)
    if disaster is not None and home_disaster is None:
        home_disaster = DISASTER_TYPES[disaster]  # the view's disaster is the routes' too
    elif disaster is not None and home_disaster not in (disaster, DISASTER_TYPES[disaster]):
        ck.add("disaster", _(
            "got %(disaster)r but home.disaster is %(home_disaster)r; give one disaster for "
            "the map"
        ) % {"disaster": DISASTER_TYPES[disaster], "home_disaster": home_disaster})  # fmt: skip
    if osm_off:
        layers = _without_osm(ck, layers)  # says once which layers lose their OSM sources
    ck.raise_if_any()
    assert area_spec is not None  # a missing or bad area is a problem raised above
    return MapSpec(
        title=str(title),
        subtitle=str(raw.get("subtitle", "")),
        language=language,
        languages=languages,
        area=area_spec,
        layers=tuple(layers),
        outputs={
            kind: opts["folder"] if kind == "site" else opts["file"]
            for kind, opts in outputs.items()
        },
        base_dir=base_dir,
        file=file,
        osm=osm,
        basemap=basemap,
        paper=paper,
        web=web,
        site=site,
        notes=str(raw.get("notes", "")),
        home=tuple(home) if home else None,
        home_disaster=str(home_disaster) if home_disaster else None,
        homes=homes,
        homes_file=homes_file,
        homes_geocode=homes_geocode,
        hazards=hazards,
        disaster=disaster,
    )


def _is_point(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in value)
        and -90 <= value[0] <= 90
        and -180 <= value[1] <= 180
    )


def _check_homes(
    ck: Checker, raw: Any
) -> tuple[tuple[tuple[str, float, float], ...], str | None, str | None]:
    """``homes:``: a list of points, or {points, file, disaster}; every problem reported."""
    if raw is None:
        return (), None, None
    if isinstance(raw, list):
        raw = {"points": raw}
    if not isinstance(raw, Mapping):
        ck.add("homes", _(
            "got %(raw)r, expected {points: [{name: 集合場所, point: [lat, lon]}], file: "
            "points.csv, disaster: 津波}"
        ) % {"raw": raw})  # fmt: skip
        return (), None, None
    ck.unknown_keys("homes", raw, {"points", "file", "disaster", "geocode"})
    if "geocode" in raw and not isinstance(raw["geocode"], bool):
        ck.add(
            "homes.geocode",
            _("got %(geocode)r, expected true or false") % {"geocode": raw["geocode"]},
        )
    disaster = raw.get("disaster")
    if disaster is not None:
        if not ck.choice("homes.disaster", disaster, [*DISASTER_TYPES, *DISASTER_TYPES.values()]):
            disaster = None
    points: list[tuple[str, float, float]] = []
    raw_points = raw.get("points") or []
    if not isinstance(raw_points, list):
        ck.add(
            "homes.points",
            _("got %(raw_points)r, expected a list of {name, point: [lat, lon]}")
            % {"raw_points": raw_points},
        )
        raw_points = []
    for i, p in enumerate(raw_points):
        name, point = f"{i + 1}", p
        if isinstance(p, Mapping):
            ck.unknown_keys(f"homes.points[{i}]", p, {"name", "point"})
            name, point = str(p.get("name") or i + 1), p.get("point")
        if not _is_point(point):
            ck.add(f"homes.points[{i}]", _(
                "got %(point)r, expected [lat, lon] in degrees, e.g. {name: 集合場所A, point: "
                "[36.56, 136.65]}"
            ) % {"point": point})  # fmt: skip
            continue
        points.append((name, float(point[0]), float(point[1])))
    file = raw.get("file")
    if file is not None and not isinstance(file, str):
        ck.add(
            "homes.file",
            _("got %(file)r, expected a CSV path (名称, 緯度, 経度 columns)") % {"file": file},
        )
        file = None
    if not points and not file:
        ck.add("homes", _("no points and no file; give points: [...] or file: points.csv"))
    return tuple(points), file, str(disaster) if disaster else None


def _without_osm(ck: Checker, layers: list[LayerSpec]) -> list[LayerSpec]:
    """``osm: false``: drop every OSM source; a built-in layer keeps only its ``extra_sources``.

    A layer left with no source at all is a problem naming the fix, not an
    empty layer drawn in silence. Said once per map, in the log.
    """
    kept: list[LayerSpec] = []
    dropped: list[str] = []
    for i, layer in enumerate(layers):
        files = tuple(s for s in layer.sources if s.kind != "osm")
        if len(files) != len(layer.sources):
            dropped.append(layer.id)
        if not files:
            ck.add(
                f"layers[{i}]",
                _(
                    "layer %(id)r takes its places only from OpenStreetMap, and the map says "
                    "osm: false; give it your own file ({use: %(use)s, extra_sources: [{csv: "
                    "{path: your.csv}}]}), or remove osm: false"
                )
                % {"id": layer.id, "use": layer.id},
            )
        kept.append(replace(layer, sources=files))
    if dropped:
        log.info(
            _("osm: false: no OpenStreetMap data; layers %(ids)s use only their own files"),
            {"ids": ", ".join(dropped)},
        )
    return kept


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
