"""Atlases at the size people make them, built from real data and read back from the PDF.

金沢市's 719 GSI shelters and 富山市's 159 nurseries as grid atlases, 石川県's 1,516
指定緊急避難場所 as an atlas of its 19 municipalities (bundled N03), and 日吉津村's
町丁目 shapefile (JGD2000, Shift_JIS, no .cpg) as an area atlas.
"""

from __future__ import annotations

import functools
import html
import json
import math
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from paper_maps import kanazawa_raw, toyama_raw
from paths import ROOT, TESTS
from shapely.geometry import Point, shape
from shapely.ops import unary_union

from civicmap.errors import ConfigError
from civicmap.pipeline import collect
from civicmap.render.paper import render_paper
from civicmap.render.paper.geometry import Rect
from civicmap.spec.mapfile import parse_map
from civicmap.spec.paper import PaperOptions

DATA = TESTS / "data"
GSI = DATA / "shelters" / "gsi"
N03_17 = ROOT / "civicmap" / "data" / "n03" / "N03-21_17_210101.json"

pytestmark = [
    pytest.mark.pdf,
    pytest.mark.skipif(
        not all(shutil.which(t) for t in ("pdftotext", "pdfinfo", "pdftoppm")),
        reason="poppler-utils not installed",
    ),
]


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def _pages(path: Path) -> int:
    return int(re.search(r"Pages:\s+(\d+)", _run("pdfinfo", str(path)))[1])


def _page_text(path: Path, n: int, *flags: str) -> str:
    """Page ``n``'s text, exactly as ``pdftotext -f n -l n`` prints it (its form feed too).

    A booklet's pages are read again and again (each map page, the index twice): the
    document is read once per set of flags and cut at the form feeds pdftotext ends
    each page with. ``-bbox`` (one HTML document) is read a page at a time.
    """
    if "-bbox" in flags:
        return _run("pdftotext", *flags, "-f", str(n), "-l", str(n), str(path), "-")
    st = path.stat()  # a file written again is read again
    return _document_pages(str(path), st.st_mtime_ns, st.st_size, flags)[n - 1]


@functools.lru_cache(maxsize=16)
def _document_pages(path: str, _mtime_ns: int, _size: int, flags: tuple[str, ...]) -> tuple:
    pages = _run("pdftotext", *flags, path, "-").split("\f")[:-1]
    return tuple(page + "\f" for page in pages)


def _index_rows(path: Path, plan) -> dict[int, tuple[int, str, str]]:
    """Index lines read back from the PDF: number → (page, cell, first line of the name).

    Fails if a number is listed twice.
    """
    rows: dict[int, tuple[int, str, str]] = {}
    for n in plan.index_pages:
        lines = _page_text(path, n, "-raw").splitlines()
        for i, line in enumerate(lines):
            m = re.fullmatch(r"(\d+) p(\d+) ([A-Z]+\d+)", line.strip())
            if m:
                num = int(m[1])
                assert num not in rows, f"place {num} listed twice in the index"
                rows[num] = (int(m[2]), m[3], lines[i + 1].strip() if i + 1 < len(lines) else "")
    return rows


def _build(raw: dict, tmp: Path):
    return collect(parse_map(raw, file=str(tmp / "map.yaml"), base_dir=tmp))


def _check_booklet(path: Path, plan) -> dict[int, tuple[int, str, str]]:
    """What every atlas must hold: page count, sheet number == PDF page, each place
    in the index once with the page whose frame shows it, no empty map page."""
    assert _pages(path) == plan.pages == 1 + len(plan.atlas_pages) + len(plan.index_pages)
    numbers = [pg.number for pg in plan.atlas_pages]
    assert numbers == list(range(2, 2 + len(numbers)))
    frames = {f.pdf_page: f for f in plan.frames}
    words: dict[int, list[str]] = {}
    texts: dict[int, str] = {}
    for pg in plan.atlas_pages:
        text = _page_text(path, pg.number)
        words[pg.number] = text.split()
        texts[pg.number] = text
        assert re.search(rf"ページ {pg.number}\b", text), pg.number
        assert "索引" not in text
    rows = _index_rows(path, plan)
    assert sorted(rows) == [e.number for e in plan.entries]  # each place exactly once
    index_text = "".join(_page_text(path, n, "-raw") for n in plan.index_pages).replace("\n", "")
    for e in plan.entries:
        page, _cell, first = rows[e.number]
        # the PDF's text layer gives U+3000 back as a plain space: compare NFKC forms
        name, shown = unicodedata.normalize("NFKC", e.name), unicodedata.normalize("NFKC", first)
        assert name.startswith(shown[:4]) or shown.startswith(name[:4]), (e.number, first)
        x0, y0, x1, y1 = frames[page].frame.extent
        assert x0 <= e.xy[0] <= x1 and y0 <= e.xy[1] <= y1, (e.number, page)
        # Its number is placed on that page and printed there (on a crowded page
        # pdftotext may glue neighbouring numbers into one word: look in the text),
        # or, where the page had no room near its marker, listed apart in the index
        # with its page and grid cell.
        apart = {n: cell for n, cell, _ in frames[page].unplaced}
        if e.number in apart:
            assert not any(lab.number == e.number for lab in frames[page].numbers)
            assert f"{e.number}(p{page} {apart[e.number]})" in index_text, (e.number, page)
        else:
            assert any(lab.number == e.number for lab in frames[page].numbers), (e.number, page)
            assert str(e.number) in texts[page], (e.number, page)
    # No map page without a place it owns (unless skip_empty: false).
    assert {r[0] for r in rows.values()} == set(numbers)
    return rows


# ----------------------------------------------------------------------------- 金沢市, grid


@pytest.fixture(scope="module")
def kanazawa(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kanazawa")
    raw = kanazawa_raw()
    return _build(raw, tmp), tmp


@pytest.fixture(scope="module")
def kanazawa_grid(kanazawa):
    data, tmp = kanazawa
    pdf, plan = render_paper(
        data,
        options=PaperOptions.from_dict(
            {"atlas": True, "scale": 10000, "size": "A3"}, file="<test>"
        ),
    )
    path = tmp / "grid.pdf"
    path.write_bytes(pdf)
    return data, path, plan


def test_kanazawa_grid_atlas_leaves_out_empty_sheets_and_numbers_sheets_as_pdf_pages(
    kanazawa_grid,
):
    data, path, plan = kanazawa_grid
    gsi = sum(len(json.loads((GSI / f).read_text())["features"])
              for f in ("evacuation_172014.json", "emergency_172014.json"))  # fmt: skip
    features = sum(len(layer.features) for layer in data.layers)
    assert 700 < features <= gsi
    # Every feature is one entry, or rides with the place at its spot (see below).
    assert len(plan.entries) + sum(len(e.also_refs) for e in plan.entries) == features
    assert plan.atlas_left_out > 0  # the mountains to the south-east have no shelter sheet
    rows = _check_booklet(path, plan)
    assert len(rows) == len(plan.entries)
    # Neighbour boxes point at printed sheets only.
    printed = {pg.number for pg in plan.atlas_pages}
    for pg in plan.atlas_pages:
        assert set(pg.neighbours.values()) <= printed


def test_kanazawa_overview_and_a_sheet_look_right(kanazawa_grid):
    _, path, plan = kanazawa_grid
    out = path.parent
    _run("pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "2", str(path), str(out / "kanazawa"))
    pngs = sorted(out.glob("kanazawa-*.png"))
    assert len(pngs) == 2 and all(p.stat().st_size > 10_000 for p in pngs)
    # The overview numbers every printed sheet once, and nothing else.
    words = _page_text(path, 1).split()
    for pg in plan.atlas_pages:
        assert words.count(str(pg.number)) >= 1


def test_too_many_pages_stop_with_the_count_and_a_way_out(kanazawa):
    data, _ = kanazawa
    with pytest.raises(ConfigError) as exc:
        render_paper(
            data, options=PaperOptions.from_dict({"atlas": True, "scale": 2500}, file="<test>")
        )
    msg = str(exc.value)
    assert "outputs.paper.atlas" in msg and "more than the 100 allowed" in msg
    pages = int(re.search(r"would have (\d+) pages", msg)[1])
    assert pages > 100
    assert f"max_pages: {pages}" in msg and "areas:" in msg
    suggested = re.search(r"scale: (\d+) \((\d+) pages\)", msg)
    assert suggested and int(suggested[2]) <= 100
    # The suggested scale really makes that many pages.
    _, plan = render_paper(
        data,
        options=PaperOptions.from_dict({"atlas": True, "scale": int(suggested[1])}, file="<test>"),
    )
    assert plan.pages == int(suggested[2])  # every page counts, the index pages too


# ----------------------------------------------------------------------------- 富山市, grid


@pytest.fixture(scope="module")
def toyama(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("toyama")
    raw = toyama_raw()
    return _build(raw, tmp), tmp


def test_toyama_grid_atlas_every_nursery_once_on_its_page(toyama):
    data, tmp = toyama
    csv = DATA / "childcare" / "toyama" / "toyama_nurseryFacilities_utf8bom.csv"
    with csv.open(encoding="utf-8-sig", newline="") as f:
        recs = list(__import__("csv").reader(f))[1:]
    located = [r for r in recs if r[24].strip()]  # one row has no location (see test_opendata)
    assert len(data.layers[0].features) == len(located) == 159
    pdf, plan = render_paper(
        data,
        options=PaperOptions.from_dict(
            {"atlas": True, "scale": 15000, "max_pages": 200}, file="<test>"
        ),
    )
    path = tmp / "grid.pdf"
    path.write_bytes(pdf)
    _check_booklet(path, plan)


# ----------------------------------------------------------------------------- 石川県, areas


@pytest.fixture(scope="module")
def ishikawa(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ishikawa")
    csv = DATA / "shelters" / "ishikawa" / "170003_evacuation_space.csv"
    raw = {
        "title": "石川県の指定緊急避難場所",
        "area": {"bbox": [136.2, 36.05, 137.4, 37.6]},
        "osm": False,
        "basemap": {"draw": False},
        "layers": [{"id": "basho", "title": {"ja": "指定緊急避難場所", "en": "Evacuation sites"},
                    "sources": [{"csv": {"path": str(csv)}}]}],
    }  # fmt: skip
    data = _build(raw, tmp)
    pdf, plan = render_paper(
        data,
        options=PaperOptions.from_dict({"atlas": {"areas": "municipalities:17"}}, file="<test>"),
    )
    path = tmp / "areas.pdf"
    path.write_bytes(pdf)
    return data, path, plan


def _n03_17() -> dict[str, object]:
    """石川県 municipalities straight from the N03 GeoJSON: name → polygon (WGS84)."""
    doc = json.loads(N03_17.read_text(encoding="utf-8"))
    parts: dict[str, list] = {}
    for f in doc["features"]:
        p = f["properties"]
        name = (p.get("N03_003") or "") + (p.get("N03_004") or "")
        parts.setdefault(name, []).append(shape(f["geometry"]))
    return {k: unary_union(v) for k, v in parts.items()}


def test_ishikawa_atlas_of_19_municipalities_puts_each_place_on_its_municipality(ishikawa):
    _, path, plan = ishikawa
    munis = _n03_17()
    assert len(munis) == 19
    assert sorted(plan.atlas_areas.values()) == sorted(munis)
    rows = _check_booklet(path, plan)
    on_page = {}
    for g in munis.values():
        shapely.prepare(g)  # the same answers, each asked 1,516 times
    # every place's point in degrees, projected together (the same coordinates one by one)
    points = gpd.GeoSeries([Point(e.xy) for e in plan.entries], crs=plan.crs).to_crs("EPSG:4326")
    for e, point in zip(plan.entries, points, strict=True):
        lon, lat = point.coords[0]
        inside = [n for n, g in munis.items() if g.intersects(Point(lon, lat))]
        if inside:  # the right municipality's page
            assert plan.atlas_areas[rows[e.number][0]] == inside[0], e.name
        on_page[rows[e.number][0]] = on_page.get(rows[e.number][0], 0) + 1
    for pg in plan.atlas_pages:  # the page's header names its area
        assert plan.atlas_areas[pg.number] in _page_text(path, pg.number)
    # An area page numbers its own places only (the neighbours' are faded, unnumbered).
    page_of = {e.number: rows[e.number][0] for e in plan.entries}
    for fp in plan.frames[1:]:
        assert fp.numbers and {page_of[lab.number] for lab in fp.numbers} == {fp.pdf_page}
    assert set(on_page) == {pg.number for pg in plan.atlas_pages}


def test_ishikawa_area_pages_name_their_neighbours(ishikawa):
    _, path, plan = ishikawa
    kanazawa = next(p for p, n in plan.atlas_areas.items() if n == "金沢市")
    words = _words(path, kanazawa)
    for neighbour in ("白山市", "野々市市", "河北郡内灘町", "河北郡津幡町"):
        page = next(p for p, n in plan.atlas_areas.items() if n == neighbour)
        # "←野々市市" (the map background may also name the municipality: any label counts)
        labels = [w for w in words if w[4].endswith(neighbour)]
        # "12ページ" right after the name, on the same line.
        assert any(
            w[4] == f"{page}ページ" and abs(w[1] - label[1]) < 1 and 0 <= w[0] - label[2] < 8
            for label in labels
            for w in words
        ), neighbour


def _words(path: Path, page: int) -> list[tuple[float, float, float, float, str]]:
    """Words on one page with their boxes (xMin, yMin, xMax, yMax, text), from pdftotext -bbox."""
    out = _page_text(path, page, "-bbox")
    return [
        (float(a), float(b), float(c), float(d), html.unescape(w))
        for a, b, c, d, w in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
            out,
        )
    ]


# ----------------------------------------------------------------------------- 日吉津村, 町丁目 shapefile


def test_chome_shapefile_in_jgd2000_and_shift_jis_makes_one_page_per_chome(tmp_path):
    shp = DATA / "boundaries" / "chome_hiezu" / "hiezu_chome.shp"
    areas = gpd.read_file(shp, encoding="cp932")
    assert areas.crs.to_epsg() == 4612 and len(areas) == 7
    # One hand-made place inside each 町丁目 but the last, so skip_empty has one to skip.
    pts = [g.representative_point() for g in areas.to_crs("EPSG:4326").geometry]
    feats = [{"type": "Feature", "properties": {"name": f"集会所{i + 1}"},
              "geometry": {"type": "Point", "coordinates": [p.x, p.y]}}
             for i, p in enumerate(pts[:-1])]  # fmt: skip
    (tmp_path / "places.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8"
    )
    w, s, e, n = areas.to_crs("EPSG:4326").total_bounds
    raw = {
        "title": "日吉津村",
        "area": {"bbox": [w - 0.005, s - 0.005, e + 0.005, n + 0.005]},
        "osm": False,
        "basemap": {"draw": False},
        "layers": [{"id": "places", "title": {"ja": "集会所", "en": "Halls"},
                    "sources": [{"geojson": {"path": "places.geojson"}}]}],
    }  # fmt: skip
    data = _build(raw, tmp_path)
    # The areas file is given relative to the map file, as a user writes it.
    (tmp_path / "areas").mkdir()
    for part in shp.parent.glob("hiezu_chome.*"):
        shutil.copy(part, tmp_path / "areas" / part.name)
    opts = {"atlas": {"areas": "areas/hiezu_chome.shp", "name": "MOJI"}}
    pdf, plan = render_paper(data, options=PaperOptions.from_dict(opts, file="<test>"))
    path = tmp_path / "chome.pdf"
    path.write_bytes(pdf)
    assert len(plan.atlas_pages) == 7  # the empty 町丁目 is kept by default
    assert sorted(plan.atlas_areas.values()) == sorted(areas["MOJI"])  # read as Shift_JIS
    for pg in plan.atlas_pages:
        assert plan.atlas_areas[pg.number] in _page_text(path, pg.number)
    pdf, plan = render_paper(
        data,
        options=PaperOptions.from_dict(
            {"atlas": {**opts["atlas"], "skip_empty": True}}, file="<test>"
        ),
    )
    path.write_bytes(pdf)
    assert len(plan.atlas_pages) == 6
    assert areas["MOJI"].iloc[-1] not in plan.atlas_areas.values()
    _check_booklet(path, plan)
    # A name field that is not there names the fields that are.
    with pytest.raises(ConfigError, match=r"outputs\.paper\.atlas\.name.*MOJI"):
        render_paper(
            data,
            options=PaperOptions.from_dict(
                {"atlas": {"areas": str(shp), "name": "町名"}}, file="<test>"
            ),
        )
    # A fixed scale applies to every page.
    _, fixed = render_paper(
        data,
        options=PaperOptions.from_dict({"atlas": {**opts["atlas"]}, "scale": 5000}, file="<test>"),
    )
    assert set(fixed.page_scales.values()) == {5000}


def _metres(a, b) -> float:
    lat = math.radians((a[1] + b[1]) / 2)
    return math.hypot((a[0] - b[0]) * 111_320 * math.cos(lat), (a[1] - b[1]) * 110_574)


def test_places_at_one_spot_print_as_one_marker_one_number_one_entry(kanazawa_grid):
    data, path, plan = kanazawa_grid

    def pts(name):
        doc = json.loads((GSI / name).read_text(encoding="utf-8"))
        return [tuple(f["geometry"]["coordinates"][:2]) for f in doc["features"]]

    ev, em = pts("evacuation_172014.json"), pts("emergency_172014.json")
    # Independently: emergency sites within 5 m of an evacuation shelter (same school).
    near = [q for q in em if any(_metres(p, q) <= 5 for p in ev)]
    assert len(near) > 100
    features = sum(len(layer.features) for layer in data.layers)
    merged = sum(len(e.also_refs) for e in plan.entries)
    assert merged >= len(near)
    assert len(plan.entries) == features - merged
    # In the PDF: the index lists the second designation under the one entry...
    index = "\n".join(_page_text(path, n, "-raw") for n in plan.index_pages)
    assert index.count("＋指定緊急避難場所") == sum(
        1 for e in plan.entries for o in e.also if o.id == "basho"
    )
    # ... and each map page prints one number per place, never two at one spot.
    for fp in plan.frames[1:]:
        spots = [lab.marker for lab in fp.numbers]
        for i, a in enumerate(spots):
            assert all(math.dist(a, b) > 1.0 for b in spots[i + 1 :]), fp.pdf_page


def test_neighbour_boxes_never_cover_a_marker(kanazawa_grid, ishikawa):
    for plan, marker in ((kanazawa_grid[2], 8.0), (ishikawa[2], 8.0)):
        boxes = 0
        for fp in plan.frames[1:]:
            for b in fp.neighbour_boxes:
                boxes += 1
                assert b.inside(fp.frame.rect)
                for lab in fp.numbers:
                    x, y = lab.marker
                    m = Rect(x - marker / 2, y - marker / 2, marker, marker)
                    assert not m.intersects(b), (fp.pdf_page, lab.number)
                    assert not lab.box.intersects(b), (fp.pdf_page, lab.number)
        assert boxes > 20
