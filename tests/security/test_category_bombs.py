"""A layer with thousands of categories (a nearly unique category column, a hostile file).

Every category would get its own colour, symbol, legend row and filter checkbox: a
paper legend of many pages, a web legend of thousands of rows. Past the category
budget (``settings.max_categories_paper`` / ``max_categories_web``) the largest keep
their look and the rest share one row "その他", each place still drawn and searchable.
The CSV is generated here (no payload file committed).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

from click.testing import CliRunner

from civicmap import settings
from civicmap.cli import main

N = 2000  # distinct categories; the places past N are all in 種別0, the largest
PLACES = N + 100


def _map(folder: Path, *, kinds: int, categories: str = "", places: int = PLACES) -> Path:
    """A CSV of ``places`` places in ``kinds`` categories (種別0 the largest), one layer."""
    rows = ["name,lat,lon,category"]
    for i in range(places):
        kind = i % kinds if i < N else 0
        rows.append(
            f"場所{i},{35.70 + (i // 50) * 5e-4:.5f},{139.70 + (i % 50) * 5e-4:.5f},種別{kind}"
        )
    (folder / "places.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "places.yaml").write_text(
        "id: places\ntitle: {ja: 施設, en: Places}\nsources:\n  - csv: {path: places.csv}\n"
        f'style: {{color: "#2f9e44", symbol: circle}}\n{categories}',
        encoding="utf-8",
    )
    (folder / "map.yaml").write_text(
        "title: 地図\narea: {bbox: [139.69, 35.69, 139.73, 35.73]}\nosm: false\n"
        "basemap: {draw: false}\nlayers: [places.yaml]\n"
        "outputs:\n  web: {file: out/map.html}\n  geojson: {file: out/map.geojson}\n"
        "  paper: {file: out/map.pdf, size: A4, orientation: portrait, unreadable: print}\n",
        encoding="utf-8",
    )
    return folder / "map.yaml"


def _build(mapfile: Path):
    start = time.monotonic()
    res = CliRunner().invoke(main, ["--lang", "en", "build", str(mapfile)], catch_exceptions=False)
    return res, time.monotonic() - start


def _page_styles(folder: Path) -> list[dict]:
    page = (folder / "out" / "map.html").read_text(encoding="utf-8")
    block = re.search(r'id="civicmap-data">(.*?)</script>', page, re.S)
    (layer,) = json.loads(block.group(1))["layers"]
    return layer["styles"]


def _pdf_text(folder: Path) -> str:
    out = subprocess.run(
        ["pdftotext", "-layout", str(folder / "out" / "map.pdf"), "-"],
        capture_output=True,
        check=True,
        text=True,
    )
    return out.stdout


def test_two_thousand_categories_give_a_legend_within_the_budget(tmp_path):
    res, seconds = _build(_map(tmp_path, kinds=N))
    assert res.exit_code == 0, res.output
    assert seconds < 240
    # web: at most the budget of legend rows (the filter's checkboxes are these rows)
    styles = _page_styles(tmp_path)
    assert len(styles) <= settings.max_categories_web
    rest = N - (settings.max_categories_web - 1)  # each of them one place
    assert styles[-1]["title"] == f"その他（{rest}種類・{rest}件）"  # the map's language: ja
    assert sum(s["count"] for s in styles) == PLACES  # every place counted in a row
    assert styles[0]["title"] == "種別0"  # the largest category keeps its own row
    # every place drawn, its category text kept in the export
    feats = json.loads((tmp_path / "out" / "map.geojson").read_text(encoding="utf-8"))["features"]
    assert len(feats) == PLACES
    assert {f["properties"]["category"] for f in feats} >= {"種別1999", "種別0"}
    # paper: the legend names only budgeted categories, with the rest in one row
    text = _pdf_text(tmp_path)
    legend_rows = set(re.findall(r"種別\d+ \(\d+\)", text))
    assert len(legend_rows) <= settings.max_categories_paper - 1
    rest = N - (settings.max_categories_paper - 1)
    assert f"その他（{rest}種類・{rest}件）" in text
    # one warning naming the layer and the fix
    assert res.output.count(f"“Places” has {N} categories") == 1, res.output
    assert "layer file's categories:" in res.output


def test_five_categories_keep_one_row_each(tmp_path):
    # under the budget the place count plays no part: 200 places, not the bomb's 2,100
    res, _s = _build(_map(tmp_path, kinds=5, places=200))
    assert res.exit_code == 0, res.output
    styles = _page_styles(tmp_path)
    assert [s["title"] for s in styles] == [f"種別{k}" for k in range(5)]
    assert len({(s["color"], s["symbol"]) for s in styles}) == 5
    assert "その他" not in _pdf_text(tmp_path)
    assert "Other" not in res.output


def test_the_layer_files_categories_list_keeps_its_rows(tmp_path):
    declared = "categories:\n  - {name: 種別1777}\n  - {name: 種別1500, color: '#123456'}\n"
    res, _s = _build(_map(tmp_path, kinds=N, categories=declared))
    assert res.exit_code == 0, res.output
    titles = [s["title"] for s in _page_styles(tmp_path)]
    assert titles[:3] == ["種別1777", "種別1500", "種別0"]
    text = _pdf_text(tmp_path)
    assert "種別1777" in text and "種別1500" in text
