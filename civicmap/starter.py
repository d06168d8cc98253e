"""A starter map file from what a user has: a data file, an area, built-in layers.

``civicmap init`` writes the text this module makes. The file is commented in
Japanese (the people who edit it are Japanese volunteers), builds as it is,
and shows the keys a user is most likely to change next. Every value taken
from data (column names, file names, place names) is written by PyYAML's own
emitter as a double-quoted scalar (line breaks and control characters
escaped), and comments carry only printable text: data never becomes YAML
syntax (a file name with a newline cannot add a key).

A starter should make a good first map, so it keeps every column the reader
detected, takes the legend from the detected category column, names the map
after the data's kind and place (「富山市 保育施設マップ」), marks a shelter
list ``role: shelter``, and tries the paper layouts on the real data (one
sheet, then grid atlases) to propose the first one the readability check
passes.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from civicmap.errors import CivicMapError, ConfigError, Problem
from civicmap.i18n import _
from civicmap.pipeline import collect
from civicmap.render.paper.atlas import atlas_outline, index_pages_needed
from civicmap.render.paper.plan import entries_reused
from civicmap.render.paper.readability import MAX_PER_CELL
from civicmap.render.paper.render import layouts_only, render_paper
from civicmap.render.paper.renderer import Renderer
from civicmap.sources import kind_for_path, read_path
from civicmap.spec.layers import CUD_CATEGORY_COLOURS
from civicmap.spec.mapfile import parse_map
from civicmap.spec.paper import PaperOptions

log = logging.getLogger(__name__)

#: Columns a reader adds or uses for placing; never offered as popup fields.
_SKIP = re.compile(
    r"^(column_\d+|approximate|geometry)$|ID$|コード$|緯度|経度|^lat|^lon|^x$|^y$", re.I
)

#: A starter layer's colour, from the CUD set the built-in layers use (colour-vision safe):
#: blue, and for shelter lists the built-in shelters layer's green.
PLACE_COLOUR = CUD_CATEGORY_COLOURS[2]  # #005aff
SHELTER_COLOUR = CUD_CATEGORY_COLOURS[1]  # #03af7a, the built-in shelters layer


@dataclass
class StarterData:
    """What ``init`` learnt from a data file."""

    path: Path
    kind: str
    layer_id: str
    title: str
    rows: int
    bounds: tuple[float, float, float, float]
    columns: dict[str, str | list[str]]
    extras: list[str] = field(default_factory=list)
    #: What the places are (「保育施設」, 「避難場所」), "" when the data does not say.
    what: str = ""
    #: Where they are (「富山市」, 「石川県」), "" when the data does not say.
    place: str = ""
    #: A shelter list: the layer gets ``role: shelter`` (home routes rank its places).
    shelter: bool = False
    #: Whether the reader found categories (a category column or the file's layout).
    has_categories: bool = False

    @property
    def map_title(self) -> str:
        """「富山市 保育施設マップ」: the data's place and kind, else the file's name."""
        if self.what:
            return f"{self.place} {self.what}マップ".strip()
        return f"{self.place} {self.path.stem}".strip()


class _QuotedDumper(yaml.SafeDumper):
    """Every string double-quoted: PyYAML escapes line breaks and control characters."""


_QuotedDumper.add_representer(
    str, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
)


def _q(value: object) -> str:
    """A value as one line of YAML flow text that reads back unchanged.

    PyYAML's emitter writes it (``"a: b #c\\n"``, ``["x", "y"]``), so quoting
    is the YAML library's, not string pasting.
    """
    text = yaml.dump(
        value,
        Dumper=_QuotedDumper,
        allow_unicode=True,
        default_flow_style=True,
        width=math.inf,
        explicit_end=False,
    )
    text = text.removesuffix("\n").removesuffix("\n...").rstrip("\n")
    if "\n" in text:  # never: the emitter escapes line breaks inside quotes
        raise ValueError("multi-line YAML for a one-line value")
    return text


def _comment(text: str) -> str:
    """Text for a ``#`` comment: anything not printable (line breaks too) becomes ``?``."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _layer_id(stem: str) -> str:
    lid = re.sub(r"[^a-z0-9_-]+", "_", stem.lower()).strip("_-")
    return lid if lid and lid[0].isalnum() else "my_data"


def read_starter_data(path: str | Path) -> StarterData:
    """Read a data file once to learn its columns, row count and extent.

    Raises
    ------
    SourceError
        When the file cannot be read (the reader's message names the fix).
    ConfigError
        When no row has a place (no coordinate columns): a map cannot be started from it.
    """
    path = Path(path)
    kind = kind_for_path(path)
    result = read_path(path, layer=_layer_id(path.stem), options={})
    frame = result.features
    if frame.empty:
        raise ConfigError(
            [
                Problem(
                    str(path),
                    "",
                    _(
                        "no row has a place (coordinates) to put on a map; run civicmap check "
                        "%(file)s to see why, or give coordinate columns such as 緯度/経度"
                    )
                    % {"file": path},
                )
            ]
        )
    info = result.info or {}
    cols = dict(info.get("columns") or {})
    used = {n for v in cols.values() for n in (v if isinstance(v, list) else [v]) if n}
    extras = []
    for c in frame.columns:
        name = str(c)
        if name in used or name in ("layer", "category", "name", "name_kana", "address"):
            continue
        if name in ("source", "source_ref", "capacity") or _SKIP.search(name):
            continue
        if name.startswith("serves_"):
            continue
        values = frame[c].dropna().astype(str).str.strip()
        values = values[values != ""]
        if values.nunique() > 1 or (len(frame) == 1 and len(values)):
            extras.append(name)
        if len(extras) == 3:
            break
    layer_id = _layer_id(path.stem)
    categories = {str(v) for v in frame["category"].dropna().unique()} - {"", layer_id}
    what, shelter = _what(path, info, frame)
    w, s, e, n = (float(v) for v in frame.total_bounds)
    return StarterData(
        path=path,
        kind=kind,
        layer_id=layer_id,
        title=what or path.stem,
        rows=len(frame),
        # rounded outwards, so the rounding never leaves an edge point outside
        bounds=(
            math.floor(w * 1e5) / 1e5,
            math.floor(s * 1e5) / 1e5,
            math.ceil(e * 1e5) / 1e5,
            math.ceil(n * 1e5) / 1e5,
        ),
        # every column the reader found (an address from two columns stays a list)
        columns={
            k: (list(v) if isinstance(v, (list, tuple)) else v)
            for k, v in cols.items()
            if v and isinstance(v, (str, list, tuple))
        },
        extras=extras,
        what=what,
        place=_place(frame),
        shelter=shelter,
        has_categories=bool(categories),
    )


#: Kinds of places a starter names its map after: (name, words in the file's name,
#: categories or headers, shelter list?). The first kind found wins.
_KINDS: tuple[tuple[str, re.Pattern[str], bool], ...] = (
    ("避難場所", re.compile(r"避難|shelter|evacuation|hinan", re.I), True),
    (
        "保育施設",
        re.compile(r"保育|幼稚園|こども園|nursery|childcare|kindergarten|hoiku", re.I),
        False,
    ),
    ("病院", re.compile(r"病院|診療所|hospital|clinic", re.I), False),
    ("AED", re.compile(r"AED", re.I), False),
    ("公衆トイレ", re.compile(r"トイレ|toilet", re.I), False),
    ("給水所", re.compile(r"給水|water", re.I), False),
    ("公園", re.compile(r"公園|park", re.I), False),
)
#: Layouts that are shelter lists by definition (see civicmap.sources.layouts).
_SHELTER_LAYOUTS = {"standard_evacuation", "gsi"}


def _what(path: Path, info: dict[str, Any], frame: pd.DataFrame) -> tuple[str, bool]:
    """What the places are (「保育施設」) and whether the list is of shelters.

    Looked for, in this order, in the file's layout, its name, its categories
    and its column names: a municipality's file name is often a code
    (``170003_evacuation_space.csv``) and its headers say the rest.
    """
    if info.get("layout") in _SHELTER_LAYOUTS:
        return "避難場所", True
    texts = [
        path.stem,
        " ".join(str(v) for v in frame["category"].dropna().unique()[:50]),
        " ".join(str(c) for c in info.get("headers") or frame.columns),
    ]
    for text in texts:
        for name, words, shelter in _KINDS:
            if words.search(text):
                return name, shelter
    return "", False


_MUNICIPALITY_COLUMN = re.compile(r"市区町村(名)?$|市町村(名)?$|^自治体名$|^地方公共団体名$")
_PREFECTURE_COLUMN = re.compile(r"都道府県(名)?$")
_ADDRESS_PLACE = re.compile(
    r"^(?P<pref>東京都|北海道|(?:京都|大阪)府|\S{2,3}県)?(?P<city>\S+?(?:市|区|町|村))"
)
#: Share of the places that must lie in one municipality for the title to name it.
_PLACE_SHARE = 0.8


def _common(values: pd.Series) -> tuple[str, float]:
    """The most common non-empty value and its share of the rows."""
    v = values.dropna().astype(str).str.strip()
    v = v[v != ""]
    if v.empty:
        return "", 0.0
    counts = v.value_counts()
    return str(counts.index[0]), float(counts.iloc[0]) / len(values)


def _place(frame: pd.DataFrame) -> str:
    """Where the places are: the municipality most of them share, else the prefecture.

    Read from a municipality or prefecture column when the file has one (the
    自治体標準 layouts do), else from the start of the addresses.
    """
    municipality = prefecture = ""
    for col in frame.columns:
        name = str(col)
        if not municipality and _MUNICIPALITY_COLUMN.search(name):
            value, share = _common(frame[col])
            if share >= _PLACE_SHARE:
                municipality = value
        elif not prefecture and _PREFECTURE_COLUMN.search(name):
            value, share = _common(frame[col])
            if share >= _PLACE_SHARE:
                prefecture = value
    if not municipality and "address" in frame:
        found = frame["address"].dropna().astype(str).str.strip().str.extract(_ADDRESS_PLACE)
        value, share = _common(found["city"]) if len(found) else ("", 0.0)
        if share >= _PLACE_SHARE:
            municipality = value
        if not prefecture and len(found):
            value, share = _common(found["pref"])
            prefecture = value if share >= _PLACE_SHARE else ""
    return municipality or prefecture


@dataclass(frozen=True)
class PaperChoice:
    """The paper layout a starter proposes, and why (written as a comment above it)."""

    size: str = "A4"
    atlas: bool = False
    scale: int | None = None
    #: ``data``: one sheet zoomed to the places (the area given is larger than the data).
    fit: str = "area"
    pages: int = 1
    #: The one-sheet scale that was too crowded (why an atlas), 0 when not tried.
    crowded_scale: int = 0

    def options(self) -> dict[str, Any]:
        """``outputs.paper`` options (without ``file``)."""
        out: dict[str, Any] = {"size": self.size, "orientation": "portrait"}
        if self.atlas:
            out.update(atlas=True, scale=self.scale)
        elif self.fit != "area":
            out["fit"] = self.fit
        return out

    def lines(self, file: str) -> list[str]:
        """The ``paper:`` line of the starter, with its comment."""
        opts = ", ".join(f"{k}: {_q(v) if isinstance(v, str) else str(v).lower()}"
                         for k, v in self.options().items())  # fmt: skip
        head = []
        if self.fit == "data":
            head = [
                "  # 範囲全体を 1 枚に入れると地点が混み合うため、地点のある所に寄せています（fit: data）。",
            ]
        if self.atlas:
            head = [
                f"  # 1 枚の紙（1:{self.crowded_scale:,}）では地点が混み合って番号が読めないため、",
                f"  # 1:{self.scale:,} の地図帳（{self.size}、{self.pages} ページ。1 ページ目は全体図）にしています。",
                "  # 範囲を狭めれば 1 枚にできます（atlas: false）。",
            ]
        return [*head, f"  paper: {{file: {file}, {opts}}}"]


#: Grid-atlas scales a starter tries, largest first (fewest pages).
_ATLAS_SCALES = (100000, 50000, 40000, 25000, 10000, 5000)


@contextlib.contextmanager
def _quiet_paper_logs() -> Iterator[None]:
    """Hold back the paper renderer's warnings while layouts are only being tried."""
    names = [n for n in logging.root.manager.loggerDict if n.startswith("civicmap.render")]
    loggers = [logging.getLogger(n) for n in names]

    def drop(_record: logging.LogRecord) -> bool:
        return False

    for lg in loggers:
        lg.addFilter(drop)
    try:
        yield
    finally:
        for lg in loggers:
            lg.removeFilter(drop)


def choose_paper(text: str, *, map_path: Path) -> PaperChoice:
    """The first paper layout of the starter map that the readability check passes.

    Builds the map's data offline (local files only) and lays the paper map
    out in memory: one A4 sheet (the whole area, then zoomed to the
    places), then grid atlases on A4 and A3 at falling
    scales (within the atlas page limit). 159 nurseries on one A4 sheet of a
    city print as a hairball; a 10-page atlas at 1:50,000 is readable. An
    atlas is drawn only when its plan (page count, fullest square of paper)
    leaves it a chance, and every trial shares the map's numbered places, so
    a prefecture's list takes a few seconds rather than twenty. When
    nothing can be tried (the area or the OSM data needs the network) or
    nothing passes, one A4 sheet, and the build's own check says what to do.
    """
    spec = parse_map(yaml.safe_load(text), file=str(map_path), base_dir=map_path.parent.resolve())
    try:
        data = collect(spec, offline=True)
    except CivicMapError as exc:
        log.info(_("the starter's paper layouts were not tried: %(why)s"), {"why": exc})
        return PaperChoice()

    def options(choice: PaperChoice) -> PaperOptions:
        # measured as drawn (no inset, no refusal): the first build must pass as it is
        trial = {**choice.options(), "unreadable": "print"}
        return PaperOptions.from_dict(trial, file=str(map_path))

    def readable(choice: PaperChoice) -> tuple[bool, Any]:
        try:
            _pdf, plan = render_paper(data, options=options(choice))
        except ConfigError:  # e.g. more atlas pages than allowed
            return False, None
        return not plan.readability.unreadable, plan

    # every trial lays out the same places, and is only measured (no PDF is kept)
    with _quiet_paper_logs(), entries_reused(), layouts_only():
        ok, plan = readable(PaperChoice())
        if ok or plan is None:
            return PaperChoice()
        single = int(plan.scale)
        ok, _plan = readable(PaperChoice(fit="data"))  # an area larger than the places
        if ok:
            return PaperChoice(fit="data")
        for size in ("A4", "A3"):
            scales = [s for s in _ATLAS_SCALES if s < single]
            if not scales:
                continue
            # The sheets and markers of each scale are planned without drawing: a scale over
            # the page limit or with an over-full square is unreadable as drawn too, so only
            # the first scale these leave open is drawn and measured in full.
            planner = Renderer(data, options(PaperChoice(size=size, atlas=True, scale=scales[0])))
            index_pages = index_pages_needed(planner)  # the same at every scale
            for scale in scales:
                outline = atlas_outline(planner, scale)
                if outline.sheets + 1 + index_pages > planner.opts.max_pages:
                    # over the page limit: the more detailed scales left on this paper have
                    # more pages still
                    break
                if outline.peak_density > MAX_PER_CELL:
                    continue
                choice = PaperChoice(size=size, atlas=True, scale=scale)
                ok, atlas_plan = readable(choice)
                if atlas_plan is None:
                    break
                if ok:
                    return PaperChoice(
                        size=size,
                        atlas=True,
                        scale=scale,
                        pages=int(atlas_plan.pages),
                        crowded_scale=single,
                    )
    return PaperChoice()


def _rel(path: Path, base: Path) -> str:
    """``path`` relative to the map file's folder (map files name files relative to themselves)."""
    try:
        return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return path.resolve().as_posix()


def starter_text(
    *,
    map_path: Path,
    data: StarterData | None = None,
    municipality: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    place: str | None = None,
    osm_file: Path | None = None,
    layers: tuple[str, ...] = (),
    title: str | None = None,
    paper: PaperChoice | None = None,
) -> str:
    """The commented starter map file (YAML text) for what the user has.

    Parameters
    ----------
    map_path : Path
        Where the map file will be written; paths inside it are relative to its folder.
    data : StarterData, optional
        A data file to show as a layer of its own (no OSM needed).
    municipality, bbox, place : optional
        The area (全国地方公共団体コード, [west, south, east, north], or a place
        name looked up online). Without one, the area is the data's extent,
        else the OSM extract's bounds.
    osm_file : Path, optional
        A local OSM extract for built-in layers and the basemap (offline).
    layers : tuple of str
        Built-in layer ids (validated by the caller).
    paper : PaperChoice, optional
        The paper layout :func:`choose_paper` found readable (default: one A4 sheet).
    """
    base = map_path.parent
    if not (data or municipality or bbox or place or osm_file):
        raise ConfigError(
            [
                Problem(
                    "civicmap init",
                    "",
                    _(
                        "nothing to start from: give a data file (civicmap init mydata.csv), "
                        "an area (--area 13104, --bbox W,S,E,N or --place NAME), or an OSM "
                        "extract (--osm-file area.osm.pbf)"
                    ),
                )
            ]
        )
    name = title or (data.map_title if data else None) or place or "わたしたちの地図"
    out_stem = data.layer_id if data else "map"
    lines = [
        "# civicmap の地図ファイル（civicmap init で作成）",
        "# 使い方: civicmap check この.yaml で確かめてから civicmap build この.yaml で作ります。",
        "# 書き方の詳細: docs/reference.md（キーの一覧）。「#」から行末まではメモで、地図には出ません。",
        "# 字下げは半角スペースで書いてください（タブは使えません）。",
        "",
        "# 地図のタイトル。紙の地図の上とウェブ地図のタブに出ます。",
        f"title: {_q(name)}",
        "# 地図に出す文字の言語（ja または en）。コマンドの言語は --lang で変えます。",
        "language: ja",
        "",
        "# 地図の範囲。次のどれか一つを書きます:",
        '#   municipality: "13104"（全国地方公共団体コード） / bbox: [西, 南, 東, 北]（度）',
        "#   point: [緯度, 経度] と radius: メートル / boundary: 境界ファイル / osm_file: 抽出ファイル",
        "#   place: 地名（調べるのにネットワークが必要）",
        "# buffer: メートル で範囲を外側に広げられます。",
    ]
    if municipality:
        lines.append(f"area: {{municipality: {_q(str(municipality))}}}")
    elif bbox:
        lines.append(f"area: {{bbox: {_q([float(v) for v in bbox])}}}")
    elif place:
        lines.append(f"area: {{place: {_q(place)}}}  # ネットワークが必要です")
    elif data is not None:
        lines.append("# いまはデータの地点が全部入る四角形に 300 m の余白を足しています。")
        lines.append(f"area: {{bbox: {_q(list(data.bounds))}, buffer: 300}}")
    else:
        lines.append(f"area: {{osm_file: {_q(_rel(osm_file, base))}}}")
    lines += ["", "# OpenStreetMap（OSM）のデータをどこから読むか。"]
    if osm_file is not None:
        lines += [
            "# 手元の抽出ファイルから読みます（ネットワーク不要）。",
            f"osm: {{file: {_q(_rel(osm_file, base))}}}",
        ]
    elif layers:
        lines += [
            "# 組み込みレイヤーは OSM から地点を取ります。ここでは Overpass API に問い合わせます",
            "# （ネットワークが必要）。先に civicmap fetch この.yaml でオフライン用パックを作れば、",
            "# 以後は --offline で作れます。",
            "osm: {overpass: true}",
        ]
    else:
        lines += [
            "# false: OSM を使わず、下のファイルの地点だけで作ります（ネットワーク不要）。",
            "# 組み込みレイヤー（civicmap layers で一覧）を足すときは、osm: {file: 抽出ファイル}",
            "# または osm: {overpass: true} に書き換えてください。",
            "osm: false",
        ]
    lines += ["", "# 地図に載せるレイヤー。上から順に凡例に並びます。", "layers:"]
    for lid in layers:
        lines.append(f"  - {lid}  # 組み込みレイヤー")
    if data is not None:
        cols = data.columns
        popup = [
            "name",
            *(["category"] if data.has_categories else []),
            *(["address"] if cols.get("address") else []),
            *data.extras,
        ]
        source: dict[str, object] = {"path": _rel(data.path, base)}
        lines += [
            _comment(f"  # {data.path.name} の {data.rows} 件の地点"),
            f"  - id: {_q(data.layer_id)}",
            f"    title: {_q(data.title)}",
        ]
        if data.shelter:
            lines += [
                "    # 避難先のレイヤー: home: を書くと自宅から近い順に経路を示します。",
                "    role: shelter",
            ]
        lines += [
            "    sources:",
            f"      - {data.kind}:",
            f"          path: {_q(source['path'])}",
        ]
        if data.kind == "csv" and cols:
            found = ", ".join(f"{k}: {_q(v)}" for k, v in cols.items())
            lines += [
                "          # 見つけた列。違っていたら直してください（lat=緯度, lon=経度, name=名称,",
                "          # address=住所、いくつかの列なら [列1, 列2]、category=凡例の分類）。",
                f"          columns: {{{found}}}",
            ]
        if not data.has_categories:
            lines.append(f"          category: {_q(data.title)}  # 凡例に出る分類名")
        lines += [
            "    # 色（#RRGGBB）と紙の地図の記号（circle, square, triangle, diamond, star, cross,",
            "    # pentagon, hexagon）。白黒印刷でも見分けられるよう記号を変えましょう。",
            # the built-in palette (CUD): shelters in the shelters layer's green, others blue
            f"    style: {{color: {_q(SHELTER_COLOUR if data.shelter else PLACE_COLOUR)}, "
            f"symbol: {'triangle' if data.shelter else 'circle'}}}",
            "    # 出典（地図に印刷されます）: ないとファイル名が出典として載ります。",
            '    # 例: credit: {source: "富山市", credit: "出典：富山市オープンデータ"}、date: "2024-04-01"',
            "    # 地点に添える名前（false で出さない）",
            "    label: name",
            "    # クリックしたときに出す列（name, address は共通の列名、ほかはファイルの列名）",
            f"    popup: {_q(popup)}",
            "    # 紙の地図の索引に載せる列",
            f"    index: {_q(['address'] if cols.get('address') else [])}",
        ]
    lines += [
        "",
        "# 書き出すもの。web はブラウザで開く地図、paper は印刷用 PDF（A4/A3/B4/B5）。",
        "# umap / geojson / kml も書けます。",
        "outputs:",
        f"  web: {{file: {_q('out/' + out_stem + '.html')}, self_contained: true}}",
        *(paper or PaperChoice()).lines(_q("out/" + out_stem + ".pdf")),
        "",
    ]
    return "\n".join(lines)
