"""A starter map file from what a user has: a data file, an area, built-in layers.

``civicmap init`` writes the text this module makes. The file is commented in
Japanese (the people who edit it are Japanese volunteers), builds as it is,
and shows the keys a user is most likely to change next. Every value taken
from data (column names, file names, place names) is written as a quoted JSON
string, which YAML reads back as the same text: data never becomes YAML syntax.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from civicmap.errors import ConfigError, Problem
from civicmap.i18n import _
from civicmap.sources import kind_for_path, read_path

#: Columns a reader adds or uses for placing; never offered as popup fields.
_SKIP = re.compile(
    r"^(column_\d+|approximate|geometry)$|ID$|コード$|緯度|経度|^lat|^lon|^x$|^y$", re.I
)


@dataclass
class StarterData:
    """What ``init`` learnt from a data file."""

    path: Path
    kind: str
    layer_id: str
    title: str
    rows: int
    bounds: tuple[float, float, float, float]
    columns: dict[str, str | None]
    extras: list[str] = field(default_factory=list)


def _q(value: object) -> str:
    """A value as a quoted JSON scalar or flow list: valid YAML that reads back unchanged."""
    return json.dumps(value, ensure_ascii=False)


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
    cols = dict(result.info.get("columns") or {})
    used = {v for v in cols.values() if isinstance(v, str)}
    extras = []
    for c in frame.columns:
        name = str(c)
        if name in used or name in ("layer", "category", "name", "name_kana", "address"):
            continue
        if name in ("source", "source_ref") or _SKIP.search(name):
            continue
        values = frame[c].dropna().astype(str).str.strip()
        values = values[values != ""]
        if values.nunique() > 1 or (len(frame) == 1 and len(values)):
            extras.append(name)
        if len(extras) == 3:
            break
    w, s, e, n = (float(v) for v in frame.total_bounds)
    return StarterData(
        path=path,
        kind=kind,
        layer_id=_layer_id(path.stem),
        title=path.stem,
        rows=len(frame),
        # rounded outwards, so the rounding never leaves an edge point outside
        bounds=(
            math.floor(w * 1e5) / 1e5,
            math.floor(s * 1e5) / 1e5,
            math.ceil(e * 1e5) / 1e5,
            math.ceil(n * 1e5) / 1e5,
        ),
        columns={k: v for k, v in cols.items() if isinstance(v, str)},
        extras=extras,
    )


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
    name = title or (data.title if data else None) or place or "わたしたちの地図"
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
        popup = ["name", *(["address"] if cols.get("address") else []), *data.extras]
        source: dict[str, object] = {"path": _rel(data.path, base)}
        lines += [
            f"  # {data.path.name} の {data.rows} 件の地点",
            f"  - id: {_q(data.layer_id)}",
            f"    title: {_q(data.title)}",
            "    sources:",
            f"      - {data.kind}:",
            f"          path: {_q(source['path'])}",
        ]
        if data.kind == "csv" and cols:
            found = ", ".join(f"{k}: {_q(v)}" for k, v in cols.items())
            lines += [
                "          # 見つけた列。違っていたら直してください（lat=緯度, lon=経度, name=名称,",
                "          # address=住所）。",
                f"          columns: {{{found}}}",
            ]
        lines += [
            f"          category: {_q(data.title)}  # 凡例に出る分類名",
            "    # 色（#RRGGBB）と紙の地図の記号（circle, square, triangle, diamond, star, cross,",
            "    # pentagon, hexagon）。白黒印刷でも見分けられるよう記号を変えましょう。",
            '    style: {color: "#1c7ed6", symbol: circle}',
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
        f"  web: {{file: {_q('out/' + out_stem + '.html')}, offline: true}}",
        f"  paper: {{file: {_q('out/' + out_stem + '.pdf')}, size: A4, orientation: portrait}}",
        "",
    ]
    return "\n".join(lines)
