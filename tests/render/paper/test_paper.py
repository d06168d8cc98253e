"""The paper map, read back from the PDF (poppler) and checked against its layout plan."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from itertools import combinations
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

import civicmap
from civicmap.errors import ConfigError, OutputExistsError
from civicmap.mapdata import LayerData
from civicmap.render.background import map_credits
from civicmap.render.paper import render_paper, write_paper
from civicmap.render.paper.geometry import MM, PAPER_MM, BoxIndex, Rect
from civicmap.render.paper.placement import place_numbers
from civicmap.schema import conform
from civicmap.spec.paper import PaperOptions

POPPLER = all(shutil.which(t) for t in ("pdftotext", "pdffonts", "pdftoppm", "pdfinfo"))
needs_poppler = pytest.mark.skipif(
    not POPPLER, reason="poppler-utils (pdftotext, pdffonts, pdftoppm, pdfinfo) not installed"
)


@pytest.fixture(scope="module")
def demo():
    return civicmap.collect(civicmap.load_map(civicmap.demo_map_path()))


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def _pdf(tmp_path: Path, data, **options) -> tuple[Path, object]:
    path = tmp_path / "map.pdf"
    pdf, plan = render_paper(data, options=PaperOptions.from_dict(options, file="<test>"))
    path.write_bytes(pdf)
    return path, plan


def _with_layer(demo, features: gpd.GeoDataFrame, **spec_changes):
    """The demo map with one hand-made layer (the childcare layer's spec, changed)."""
    spec = dataclasses.replace(demo.layers[0].spec, **spec_changes)
    return dataclasses.replace(demo, layers=[LayerData(spec=spec, features=features)])


def _frame(rows: list[dict]) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(rows, geometry=[r.pop("geometry") for r in rows], crs="EPSG:4326")
    return conform(gdf, layer="childcare", source="test.csv")


# ----------------------------------------------------------------------------- the demo


@pytest.mark.pdf
@needs_poppler
def test_demo_a4_is_a4_with_embedded_japanese_font_and_every_place_indexed(demo, tmp_path):
    out = write_paper(
        demo,
        tmp_path / "demo.pdf",
        options=PaperOptions.from_dict({"size": "A4", "png": True}, file="<test>"),
        overwrite=False,
    )
    assert [p.name for p in out] == ["demo.pdf", "demo.png"]
    info = _run("pdfinfo", str(out[0]))
    assert "595.276 x 841.89 pts (A4)" in info
    fonts = _run("pdffonts", str(out[0])).splitlines()[2:]
    ipa = [f for f in fonts if "IPAexGothic" in f]
    assert ipa and all(re.search(r"\byes\s+yes\s+yes\b", f) for f in ipa), fonts  # emb, sub, uni
    assert not any("Helvetica" in f for f in fonts)
    text = _run("pdftotext", "-layout", str(out[0]), "-")
    names = [(lay.spec.title_in("ja"), n) for lay in demo.layers for n in lay.features["name"]]
    assert len(names) == 24  # 高田馬場地域交流館 and 高田馬場第二児童館: one site (same building)
    assert "高田馬場第二児童館" in text  # still in the index, under its site
    _, plan = render_paper(demo, options=PaperOptions.from_dict({"size": "A4"}, file="<test>"))
    for e in plan.entries:
        # The number, then the (start of the) name, on one index line.
        assert re.search(rf"(^|\s){e.number}\s+{re.escape(e.name[:5])}", text, re.M), (
            e.number,
            e.name,
        )
        assert e.ref and re.fullmatch(r"[A-Z]\d", e.ref)
    # a credit may wrap inside its column (read in reading order, not beside the index)
    flat = re.sub(r"\s+", "", _run("pdftotext", "-raw", str(out[0]), "-"))
    for credit in map_credits(demo):
        assert re.sub(r"\s+", "", credit.credit) in flat
    assert "© OpenStreetMap contributors" in text and "2020-11-28" in text
    assert "新宿区 防災・危機管理課" in text  # the notes box
    # panel and compact index in columns under the map, as low as they fit: 1:7,500 on one
    # page (1:10,000 and a mostly blank page 2 when the panel set the strip's height)
    assert "縮尺 1:7,500" in text
    assert plan.pages == 1 and not plan.index_pages


@pytest.mark.pdf
@needs_poppler
def test_demo_png_and_pdf_rendering_are_not_blank_and_show_colour(demo, tmp_path):
    from PIL import Image

    out = write_paper(
        demo,
        tmp_path / "m.pdf",
        options=PaperOptions.from_dict({"png": True}, file="<test>"),
        overwrite=False,
    )
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(out[0]), str(tmp_path / "p")],
        check=True,
    )
    for png in (out[1], next(tmp_path.glob("p*.png"))):
        px = np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3).astype(int)
        r, g, b = px[:, 0], px[:, 1], px[:, 2]
        dark = ((r + g + b) < 200).mean()
        # the childcare markers: CUD orange #f6aa00
        orange = ((r > 200) & (g > 130) & (g < 200) & (b < 80)).mean()
        white = ((r + g + b) > 740).mean()
        assert dark > 0.01, f"{png}: almost no dark ink (text, frame, roads)"
        assert orange > 0.0003, f"{png}: the childcare markers are not drawn"
        assert 0.05 < white < 0.95


def test_every_paper_size_is_exact_in_points(demo):
    import pypdfium2 as pdfium

    for size, orientation in [
        ("A4", "portrait"),
        ("A3", "portrait"),
        ("B4", "portrait"),
        ("B5", "landscape"),
    ]:
        pdf, plan = render_paper(
            demo,
            options=PaperOptions.from_dict(
                {"size": size, "orientation": orientation}, file="<test>"
            ),
        )
        w, h = pdfium.PdfDocument(pdf)[0].get_size()
        ew, eh = (x * 72 / 25.4 for x in PAPER_MM[size])
        if orientation == "landscape":
            ew, eh = eh, ew
        assert (round(w, 2), round(h, 2)) == (round(ew, 2), round(eh, 2)), size
        assert plan.frames[0].frame.rect.x >= 10 * MM - 0.01  # margins a shop printer keeps
    assert round(PAPER_MM["B4"][0]) == 257  # JIS B4, not ISO B4 (250 mm)


@pytest.mark.pdf
@needs_poppler
def test_scale_bar_is_true_on_paper_measured_from_the_pdf(demo, tmp_path):
    path, plan = _pdf(tmp_path, demo, scale=4000)
    bar = plan.scale_bar
    assert plan.scale == 4000
    # The layout: ground metres × 1000 / scale millimetres.
    assert bar.length == pytest.approx(bar.metres * 1000 / 4000 * MM, rel=1e-9)
    assert plan.scale_bar_rect.w == pytest.approx(bar.length)
    # The PDF: the printed ratio, and the distance between the "0" and end tick labels.
    html = _run("pdftotext", "-bbox", "-f", "1", "-l", "1", str(path), "-")
    words = [
        (float(m[1]), float(m[2]), float(m[3]), float(m[4]), m[5])
        for m in re.finditer(
            r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<', html
        )
    ]
    assert any(w[4] == "1:4,000" for w in words)
    zero = next(w for w in words if w[4] == "0")
    row = [w for w in words if abs(w[1] - zero[1]) < 0.5 and re.fullmatch(r"[\d.]+", w[4])]
    end = max(row, key=lambda w: w[0])
    printed_m = float(end[4]) * (
        1000 if any(w[4] == "km" for w in words if abs(w[1] - zero[1]) < 0.5) else 1
    )
    centre = lambda w: (w[0] + w[2]) / 2  # noqa: E731
    measured_pt = centre(end) - centre(zero)
    assert printed_m == bar.metres
    assert measured_pt == pytest.approx(printed_m * 1000 / 4000 * MM, abs=0.6)


def test_fit_scale_is_round_and_shows_the_whole_area(demo):
    _, plan = render_paper(demo, options=PaperOptions.from_dict({"size": "A3"}, file="<test>"))
    minx, miny, maxx, maxy = plan.frames[0].frame.extent
    area = gpd.GeoSeries([demo.area.geometry], crs="EPSG:4326").to_crs(plan.crs).iloc[0]
    assert box(minx, miny, maxx, maxy).contains(area)
    assert plan.scale in (2500, 3000, 4000, 5000, 6000)
    assert all(e.ref for e in plan.entries)


# ----------------------------------------------------------------------------- markers and numbers


def test_numbers_never_overlap_even_where_places_crowd(demo):
    # 40 places within about 30 m: their numbers must move out on leader lines.
    rows = [
        {
            "name": f"施設{i}",
            "geometry": Point(139.7065 + (i % 8) * 0.00004, 35.7065 + (i // 8) * 0.00004),
        }
        for i in range(40)
    ]
    data = _with_layer(demo, _frame(rows))
    # 40 markers in one square of paper fail the readability check: printed anyway to check placement
    opts = {"size": "A4", "scale": 5000, "unreadable": "print"}
    _, plan = render_paper(data, options=PaperOptions.from_dict(opts, file="<test>"))
    labels = plan.frames[0].numbers
    assert sorted(lab.number for lab in labels) == list(range(1, 41))
    for a, b in combinations(labels, 2):
        assert not a.box.intersects(b.box), (a.number, b.number)
    assert all(lab.box.inside(plan.frames[0].frame.rect) for lab in labels)
    assert sum(lab.leader for lab in labels) > 10
    # The real demo: no overlaps either.
    _, plan = render_paper(demo, options=PaperOptions.from_dict({}, file="<test>"))
    for a, b in combinations(plan.frames[0].numbers, 2):
        assert not a.box.intersects(b.box)


@pytest.mark.pdf
@needs_poppler
def test_index_is_gojuon_ordered_with_details_and_approximate_places(demo, tmp_path):
    rows = [
        {"name": "佐藤保育園", "name_kana": "サトウホイクエン", "address": "東京都新宿区戸山1-1", "TEL": "03-1111-1111",
         "geometry": Point(139.705, 35.706)},
        {"name": "あおぞら園", "name_kana": "", "address": "東京都新宿区戸山1-2", "geometry": Point(139.706, 35.707)},
        {"name": "加藤保育園", "name_kana": "かとうほいくえん", "address": "", "geometry": Point(139.707, 35.705),
         "approximate": True, "serves_flood": True, "serves_earthquake": True},
    ]  # fmt: skip
    data = _with_layer(demo, _frame(rows), index=("address", "phone", "disasters"))
    path, plan = _pdf(tmp_path, data)
    assert [e.name for e in plan.entries] == ["あおぞら園", "加藤保育園", "佐藤保育園"]
    text = _run("pdftotext", "-layout", str(path), "-")
    assert re.search(r"1\s+あおぞら園", text) and re.search(r"3\s+佐藤保育園", text)
    assert "TEL 03-1111-1111" in text
    assert "対応 洪水・地震" in text
    assert "加藤保育園（位置は概略）" in text
    assert "位置は概略（住所から推定）" in text  # the legend explains the dashed ring


@pytest.mark.pdf
@needs_poppler
def test_a_long_index_continues_on_following_pages_and_nothing_is_cut_off(demo, tmp_path):
    rows = [
        {"name": f"避難所{i:03d}", "address": f"東京都新宿区西早稲田{i}丁目{i}番{i}号 とても長い建物の名前 {i}階",
         "geometry": Point(139.700 + (i % 15) * 0.0008, 35.701 + (i // 15) * 0.0008)}
        for i in range(160)
    ]  # fmt: skip
    data = _with_layer(demo, _frame(rows))
    path, plan = _pdf(tmp_path, data)
    assert plan.pages >= 2 and plan.index_pages
    text = re.sub(r"\s+", "", _run("pdftotext", str(path), "-"))
    for e in plan.entries:
        assert f"{e.number}{e.name}" in text, e.number
    assert "索引（続き）" in _run("pdftotext", str(path), "-")


# ----------------------------------------------------------------------------- atlas, large print, language, QR


@pytest.mark.pdf
@needs_poppler
def test_atlas_page_count_for_area_and_scale(demo, tmp_path):
    path, plan = _pdf(tmp_path, demo, size="A4", atlas=True, scale=2500, overlap=0.1)
    area = gpd.GeoSeries([demo.area.geometry], crs="EPSG:4326").to_crs(plan.crs).iloc[0]
    frame = plan.frames[1].frame
    fw, fh = frame.extent[2] - frame.extent[0], frame.extent[3] - frame.extent[1]
    minx, miny, maxx, maxy = area.bounds
    import math

    cols = math.ceil(((maxx - minx) - fw) / (fw * 0.9)) + 1
    rows = math.ceil(((maxy - miny) - fh) / (fh * 0.9)) + 1
    # A 1.2 km square at 1:2,500 on A4 portrait: 6 sheets, each with places on it.
    assert len(plan.atlas_pages) + plan.atlas_left_out == cols * rows == 6
    for fp in plan.frames[1:]:
        x0, y0, x1, y1 = fp.frame.extent
        on = [e for e in plan.entries if x0 <= e.xy[0] <= x1 and y0 <= e.xy[1] <= y1]
        assert on, fp.pdf_page
    info = _run("pdfinfo", str(path))
    pages = int(re.search(r"Pages:\s+(\d+)", info)[1])
    assert pages == plan.pages == 1 + len(plan.atlas_pages) + len(plan.index_pages)
    # The printed sheet number is the PDF page number (the overview is page 1).
    for pg in plan.atlas_pages:
        one = _run("pdftotext", "-f", str(pg.number), "-l", str(pg.number), str(path), "-")
        assert f"ページ {pg.number}" in one
    # The sheets cover every place and overlap their neighbours.
    union = None
    for fp in plan.frames[1:]:
        b = box(*fp.frame.extent)
        union = b if union is None else union.union(b)
    assert all(union.contains(Point(e.xy)) for e in plan.entries)
    assert (
        box(*plan.frames[1].frame.extent).intersection(box(*plan.frames[2].frame.extent)).area > 0
    )
    # One index across all pages: each place names its page and cell.
    text = _run("pdftotext", "-layout", str(path), "-")
    for e in plan.entries:
        assert re.fullmatch(r"p\d \w\d", e.ref), e.ref
        assert e.ref in text
    assert "→3ページ" in text


@pytest.mark.pdf
@needs_poppler
def test_large_print_english_and_qr(demo, tmp_path):
    spec = dataclasses.replace(demo.spec, language="en")
    data = dataclasses.replace(demo, spec=spec)
    path, plan = _pdf(tmp_path, data, large_print=True, qr="https://example.org/map.html")
    _, normal = render_paper(demo, options=PaperOptions.from_dict({}, file="<test>"))
    assert plan.frames[0].numbers[0].box.h > normal.frames[0].numbers[0].box.h * 1.3
    text = _run("pdftotext", "-layout", str(path), "-")
    for fixed in (
        "Legend",
        "Scale 1:",
        "Index",
        "Web map",
        "https://example.org/map.html",
        "Childcare",
    ):
        assert fixed in text
    assert "凡例" not in text


def test_existing_output_is_kept_without_overwrite_and_bad_options_name_the_key(demo, tmp_path):
    target = tmp_path / "map.pdf"
    target.write_bytes(b"old")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write_paper(
            demo, target, options=PaperOptions.from_dict({}, file="<test>"), overwrite=False
        )
    assert target.read_bytes() == b"old"
    with pytest.raises(ConfigError) as exc:
        write_paper(
            demo,
            tmp_path / "x.pdf",
            options=PaperOptions.from_dict({"overlap": 2, "qr": 5}, file="<test>"),
            overwrite=False,
        )
    assert "outputs.paper.overlap" in str(exc.value) and "got 2" in str(exc.value)
    assert "outputs.paper.qr" in str(exc.value)
    assert not (tmp_path / "x.pdf").exists()
    out = write_paper(
        demo, target, options=PaperOptions.from_dict({}, file="<test>"), overwrite=True
    )
    assert out == [target] and target.read_bytes().startswith(b"%PDF")
    assert not list(tmp_path.glob("*.part"))


def test_demo_command_writes_the_a4_pdf(tmp_path):
    from click.testing import CliRunner

    from civicmap.cli import main

    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path), "--overwrite"])
    # The demo builds every output; any failure (web, paper or export) is a failure here.
    assert result.exit_code == 0, (result.output, result.exception)
    pdf = tmp_path / "demo.pdf"
    assert pdf.exists() and (tmp_path / "demo.png").exists()
    assert (tmp_path / "demo.html").exists()
    import pypdfium2 as pdfium

    w, h = pdfium.PdfDocument(pdf.read_bytes())[0].get_size()
    assert (round(w), round(h)) == (595, 842)


# ----------------------------------------------------------------------------- home routes


def _words(pdf: Path) -> list[tuple[str, float, float, float, float]]:
    """(word, xMin, yMin, xMax, yMax) on page 1, y from the top (pdftotext -bbox)."""
    html = _run("pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-")
    return [
        (m[4], float(m[0]), float(m[1]), float(m[2]), float(m[3]))
        for m in re.findall(
            r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<', html
        )
    ]


def test_numbers_keep_off_other_markers_and_avoided_boxes_when_there_is_room():
    # A row of markers 8 pt apart (too close for a number between two of them)
    # with a legend box just above: each number must go below its own marker,
    # covering neither a neighbour nor the legend.
    half = 3.0
    markers = [(i + 1, 100.0 + 8.0 * i, 100.0) for i in range(8)]
    legend = Rect(90.0, 104.0, 120.0, 20.0)
    avoid = BoxIndex()
    avoid.add(legend)
    labels = place_numbers(markers, marker_size=2 * half, box_w=lambda n: 5.0, box_h=6.0,
                           bounds=Rect(0, 0, 400, 400), avoid=avoid).labels  # fmt: skip
    boxes = {n: Rect(x - half, y - half, 2 * half, 2 * half) for n, x, y in markers}
    for lab in labels:
        assert not lab.box.intersects(legend), lab
        others = [n for n, b in boxes.items() if n != lab.number and b.intersects(lab.box)]
        assert others == [], (lab.number, others)
    assert not any(lab.leader for lab in labels)  # there was room beside every marker


@pytest.mark.pdf
@needs_poppler
def test_home_routes_drawn_and_listed_with_index_numbers(demo, tmp_path):
    data = civicmap.collect(dataclasses.replace(demo.spec, home=(35.7066, 139.7062)))
    pdf, plan = _pdf(tmp_path, data, size="A4")
    legs = plan.routes
    assert len(legs) == len(data.routes) >= 3
    assert [leg.rank for leg in legs] == list(range(1, len(legs) + 1))
    assert legs[0].name == "西早稲田中学校" and legs[0].nearest
    assert sum(leg.nearest for leg in legs) == 1
    number = next(e.number for e in plan.entries if e.name == "西早稲田中学校")
    assert legs[0].number == number
    frame = plan.frames[0].frame
    hx, hy = frame.to_page(*plan.home)
    r = frame.rect
    assert r.x < hx < r.x1 and r.y < hy < r.y1  # the home point is on the map
    words = _words(pdf)
    assert any(w[0] == "自宅" for w in words)
    head = next(w for w in words if w[0].startswith("避難所までの道のり"))
    # the box's own text, cropped from the page
    crop = [str(int(v)) for v in (head[1] - 30, head[2] - 4, plan.page_w - head[1] + 30, 120)]
    text = _run("pdftotext", "-f", "1", "-l", "1", "-x", crop[0], "-y", crop[1], "-W", crop[2],
                "-H", crop[3], str(pdf), "-")  # fmt: skip
    flat = re.sub(r"\s+", "", text)
    best = data.routes.sort_values("walk_m").iloc[0]
    expected = (
        f"1.西早稲田中学校[{number}]徒歩{round(best['walk_m'])}m・"
        f"{int(np.ceil(best['walk_min']))}分／直線{round(best['straight_m'])}m"
    )
    assert expected in flat
    assert "分速80m" in flat  # the walking speed used is stated
    # the box sits under the map frame and inside the page (no overflow)
    last = max((w for w in words if "分速" in w[0] or "太い実線" in w[0]), key=lambda w: w[4])
    assert head[2] > plan.page_h - r.y  # below the frame (y from the top)
    assert last[4] < plan.page_h - 10 * MM * 0.9  # above the bottom margin


@pytest.mark.pdf
@needs_poppler
def test_straight_fallback_routes_say_so_in_english(demo, tmp_path):
    from civicmap.pipeline import home_routes

    spec = dataclasses.replace(demo.spec, language="en", home=(35.7066, 139.7062))
    routes = home_routes((35.7066, 139.7062), demo.layers, graph=None)
    data = dataclasses.replace(demo, spec=spec, routes=routes)
    pdf, plan = _pdf(tmp_path, data, size="A4")
    assert plan.routes and not any(leg.walk or leg.nearest for leg in plan.routes)
    assert plan.routes[0].name == "都立戸山高等学校"  # nearest in a straight line
    flat = " ".join(_run("pdftotext", "-f", "1", "-l", "1", str(pdf), "-").split())
    assert "Walking to shelters" in flat and "Home" in flat
    assert "no walking route / straight line" in flat
    assert "Dotted: straight line" in flat
