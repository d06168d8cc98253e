"""Background tiles (issue #14): registry, tile maths, fetching, paper raster, offline pack.

Every tile comes from :mod:`tile_server` on 127.0.0.1 (the registry's GSI URL
is pointed at it); no test reaches a public tile server. The paper map is the
富山市 nursery list (tests/data/childcare/toyama), central 富山 at A4.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml
from paths import TESTS

import civicmap
from civicmap import settings
from civicmap.errors import CivicMapError, ConfigError
from civicmap.pack import fetch_pack_tiles
from civicmap.pipeline import collect
from civicmap.render import tiles
from civicmap.spec.basemap import REGISTRY
from civicmap.spec.mapfile import load_map, parse_map
from civicmap.spec.paper import PaperOptions

DATA = TESTS / "data"
TOYAMA_CSV = (DATA / "childcare/toyama/toyama_nurseryFacilities_utf8bom.csv").resolve()
BBOX = [137.19, 36.68, 137.23, 36.71]  # central 富山市 (富山駅 to 富山城)


@pytest.fixture(scope="module")
def tile_server():
    from tile_server import TileServer

    server = TileServer(slow_seconds=1.5)
    yield server
    server.stop()


@pytest.fixture
def gsi(tile_server, monkeypatch):
    """The registry's gsi-pale pointed at the loopback server; tiny retry waits, no pacing."""
    tile_server.reset()
    monkeypatch.setitem(
        REGISTRY,
        "gsi-pale",
        dataclasses.replace(REGISTRY["gsi-pale"], url=tile_server.url),
    )
    monkeypatch.setattr(tiles, "PACE_SECONDS", 0.0)
    monkeypatch.setattr(settings, "backoff_base", 0.001)
    monkeypatch.setattr(settings, "max_wait", 0.05)
    monkeypatch.setattr(settings, "http_timeout", 0.5)
    tiles._FETCHERS.clear()
    return tile_server


def toyama_map(folder: Path, *, basemap=None, outputs=None, **extra) -> Path:
    raw = {
        "title": "富山市 保育施設マップ",
        "area": {"bbox": BBOX},
        "osm": False,
        "basemap": basemap if basemap is not None else {"tiles": "gsi-pale"},
        "layers": [
            {
                "id": "nursery",
                "title": {"ja": "保育施設", "en": "Childcare"},
                "sources": [{"csv": {"path": str(TOYAMA_CSV)}}],
            }
        ],
        "outputs": outputs or {"paper": {"file": "out/toyama.pdf", "size": "A4"}},
        **extra,
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "map.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def pdfimages(pdf: Path) -> list[dict]:
    out = subprocess.run(
        ["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True
    )
    rows = []
    for line in out.stdout.splitlines()[2:]:
        f = line.split()
        rows.append(
            {
                "page": int(f[0]),
                "w": int(f[3]),
                "h": int(f[4]),
                "xppi": int(f[12]),
                "yppi": int(f[13]),
            }
        )
    return rows


def _hole() -> tuple[int, int, int]:
    """The colour of a hole after lightening (by hand from HOLE_RGB and the source's lighten)."""
    keep = REGISTRY["gsi-pale"].lighten
    return tuple(round(255 - (255 - c) * keep) for c in tiles.HOLE_RGB)


def pdftext(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


# --------------------------------------------------------------------------- map file


def test_map_file_basemap_keys_are_checked_with_clear_errors(tmp_path):
    def problems(basemap):
        with pytest.raises(ConfigError) as exc:
            load_map(toyama_map(tmp_path, basemap=basemap))
        return str(exc.value)

    msg = problems({"tiles": "gsi-pail"})
    assert "basemap.tiles" in msg and "gsi-pale" in msg and "map.yaml" in msg
    msg = problems({"tiles": "https://tiles.example.org/{z}/{x}/{y}.png"})
    assert "basemap.attribution" in msg and "credit" in msg
    msg = problems({"tiles": "https://tiles.example.org/tile.png", "attribution": "x"})
    assert "{z}" in msg
    msg = problems({"tiles": "https://{s}.tiles.example.org/{z}/{x}/{y}.png", "attribution": "x"})
    assert "{s}" in msg and "only {z}, {x} and {y}" in msg
    msg = problems({"draw": "vectors"})
    assert "basemap.draw" in msg
    msg = problems({"tile": "gsi-pale"})
    assert "basemap.tile" in msg and "unknown key" in msg


def test_osm_false_means_no_osm_at_all_not_ignored(tmp_path, overpass_server):
    from civicmap.pipeline import collect

    spec = load_map(toyama_map(tmp_path, basemap={"tiles": "none"}))
    assert spec.osm.disabled is True and spec.osm.kind == "disabled"
    assert spec.basemap.draw is False
    # a built-in layer with only OSM sources cannot be drawn with osm: false: the map
    # file is refused with the fix (give the layer a file of your own), not drawn empty
    raw = yaml.safe_load((tmp_path / "map.yaml").read_text(encoding="utf-8"))
    raw["layers"].append("shelters")
    with pytest.raises(ConfigError, match="extra_sources"):
        parse_map(raw, file="m.yaml", base_dir=tmp_path)
    # with osm: false nothing is asked from Overpass
    data = collect(spec)
    assert overpass_server.requests == []
    assert all(c.source != "OpenStreetMap" for c in data.credits())
    expected = len(pd.read_csv(TOYAMA_CSV, encoding="utf-8-sig").query(
        f"{BBOX[0]} <= X <= {BBOX[2]} and {BBOX[1]} <= Y <= {BBOX[3]}"
    ))  # fmt: skip
    assert len(data.layer("nursery").features) == expected > 20


def test_custom_url_and_approval_reach_the_credits(tmp_path):
    spec = load_map(toyama_map(tmp_path, basemap={
        "tiles": "https://tiles.example.org/{z}/{x}/{y}.png",
        "attribution": "© Example 地図",
        "承認番号": "国地情第123号",
    }))  # fmt: skip
    src = spec.basemap.source
    assert src.id == "custom" and src.tile_url(3, 4, 5) == "https://tiles.example.org/3/4/5.png"
    lines = [c.line() for c in tiles.tile_credits(spec)]
    assert lines[0] == "© Example 地図"
    assert any("国地情第123号" in line for line in lines)


def test_osm_tiles_are_never_fetched_for_print(tmp_path, caplog):
    spec = load_map(toyama_map(tmp_path, basemap={"tiles": "osm"}))
    assert REGISTRY["osm"].storable is False
    f = tiles.TileFetcher(REGISTRY["osm"])
    with pytest.raises(CivicMapError, match="may not be downloaded"):
        f.get_many([(15, 29000, 12900)])
    assert fetch_pack_tiles(spec, tmp_path / "pack") is None
    # on paper: said, and no raster (nothing was asked of tile.openstreetmap.org)
    from civicmap.pipeline import build

    with caplog.at_level(logging.WARNING, logger="civicmap.render.tiles"):
        pdf = build(spec)["paper"][0]
    assert pdfimages(pdf) == []
    assert any("may not be printed" in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------- tile maths


@pytest.mark.parametrize("scale", [2500, 8000, 10_000, 25_000, 50_000])
def test_paper_zoom_prints_tile_labels_at_6pt_or_more(scale):
    lat = 36.7
    z = tiles.paper_zoom(scale, lat, REGISTRY["gsi-pale"])
    mpp = lambda z: 2 * math.pi * 6378137 * math.cos(math.radians(lat)) / (256 * 2**z)  # noqa: E731
    label_pt = lambda z: 11 * mpp(z) / scale / 0.0254 * 72  # noqa: E731  an 11-px label, printed
    assert label_pt(z) >= 6.0, (z, label_pt(z))
    if z < 18:  # the most detailed zoom that does: one more would print them under 6 pt
        assert label_pt(z + 1) < 6.0


def test_the_grey_veil_stays_off_tiles(gsi, tmp_path):
    """Outside the OSM extract the tiles show the streets: no grey veil over them."""
    import pypdfium2 as pdfium
    import shapely

    from civicmap.render.paper import render_paper

    spec = load_map(civicmap.demo_map_path())
    spec = dataclasses.replace(spec, basemap=dataclasses.replace(spec.basemap, tiles="gsi-pale"))
    data = collect(spec)
    assert data.data_edge is not None
    pdf, plan = render_paper(data, options=PaperOptions.from_dict({"size": "A4"}, file="<test>"))
    frame = plan.frames[0].frame
    edge = gpd.GeoSeries([data.data_edge], crs="EPSG:4326").to_crs(plan.crs).iloc[0]
    keep_off = shapely.MultiPoint([e.xy for e in plan.entries]).buffer(80)
    outside = shapely.box(*frame.extent).difference(edge.buffer(40)).difference(keep_off)
    assert outside.area > 0
    dpi = 100
    img = pdfium.PdfDocument(pdf)[0].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    px = img.load()
    x0, y0, x1, y1 = outside.bounds
    values = []
    for gx in range(40):
        for gy in range(40):
            p = shapely.Point(x0 + (x1 - x0) * gx / 39, y0 + (y1 - y0) * gy / 39)
            if outside.contains(p):
                u, v = frame.to_page(p.x, p.y)
                values.append(px[int(u * dpi / 72), int(img.height - v * dpi / 72)])
    values.sort()
    assert len(values) > 50
    # the pale tiles, lightened: above 215 grey; under the veil they were about 185
    assert values[len(values) // 2] > 215, values[len(values) // 2]


def test_tiles_for_bounds_matches_the_slippy_map_formula():
    # 富山駅 (137.2133 E, 36.7013 N) at z15, by the OSM wiki formula, by hand
    n = 2**15
    x = int((137.2133 + 180) / 360 * n)
    y = int(
        (
            1
            - math.log(math.tan(math.radians(36.7013)) + 1 / math.cos(math.radians(36.7013)))
            / math.pi
        )
        / 2
        * n
    )
    assert tiles.tiles_for_bounds((137.2133, 36.7013, 137.2133, 36.7013), 15) == [(15, x, y)]


# --------------------------------------------------------------------------- fetching


def test_fetcher_uses_two_connections_retries_429_and_broken_png_and_caches(gsi):
    src = REGISTRY["gsi-pale"]
    want = tiles.tiles_for_bounds(tuple(BBOX), 15)
    first = "/".join(map(str, want[0]))
    second = "/".join(map(str, want[1]))
    gsi.script[first] = [429]
    gsi.script[second] = ["broken"]
    f = tiles.TileFetcher(src)
    got = f.get_many(want)
    assert set(got) == set(want) and f.missing == []
    assert 1 <= gsi.max_active <= 2  # never more than two at once
    assert gsi.requests.count(f"/{first}.png") == 2  # 429, then the tile
    assert gsi.requests.count(f"/{second}.png") == 2  # half a PNG, then the tile
    assert len(gsi.requests) == len(want) + 2
    # a second fetcher answers from the disk cache: no request
    gsi.requests.clear()
    assert tiles.TileFetcher(src).get_many(want) == got
    assert gsi.requests == []


def test_404_and_slow_tiles_become_reported_holes(gsi, caplog):
    src = REGISTRY["gsi-pale"]
    want = tiles.tiles_for_bounds(tuple(BBOX), 14)
    gsi.script["/".join(map(str, want[0]))] = [404]
    gsi.script["/".join(map(str, want[1]))] = ["slow"] * 10
    f = tiles.TileFetcher(src)
    got = f.get_many(want)
    assert set(got) == set(want[2:])
    holes = {m[:3]: m[3] for m in f.missing}
    assert set(holes) == {want[0], want[1]}
    assert "404" in holes[want[0]]
    assert "timeout" in holes[want[1]]


# --------------------------------------------------------------------------- the 富山市 paper map


@pytest.fixture(scope="module")
def toyama_builds(tmp_path_factory, tile_server):
    """The 富山市 map built online, then ``civicmap fetch``, online again, and offline from the pack."""
    from civicmap.pack import fetch_pack
    from civicmap.pipeline import build, build_with_data
    from civicmap.render.paper import render_paper

    mp = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("toyama")
    from tile_server import use_loopback_gsi

    use_loopback_gsi(mp, tile_server, cache_folder=folder / "cache")
    tile_server.reset()
    try:
        path = toyama_map(folder, outputs={
            "paper": {"file": "out/toyama.pdf", "size": "A4"},
            "web": {"file": "out/toyama.html"},
        })  # fmt: skip
        spec = load_map(path)
        data, written = build_with_data(spec, overwrite=True)
        first = written["paper"][0]
        _, plan = render_paper(data, options=spec.paper)  # the sheet's plan, from the data drawn
        online_pdf = first.read_bytes()
        online_requests = list(tile_server.requests)
        tile_server.reset()
        mp.setattr(settings, "cache_folder", folder / "cache2")  # fetch from the server again
        info = fetch_pack(load_map(path), overwrite=False)
        fetch_requests = list(tile_server.requests)
        tile_server.reset()
        built = build(load_map(path), overwrite=True)
        pdf_online_with_pack = built["paper"][0].read_bytes()
        mp.setattr(settings, "offline", True)
        mp.setattr(settings, "cache_folder", folder / "cache3")  # empty: only the pack
        built = build(load_map(path), overwrite=True)
        pdf_offline = built["paper"][0].read_bytes()
        offline_requests = list(tile_server.requests)
        yield {
            "folder": folder,
            "pdf": first,
            "online_pdf": online_pdf,
            "plan": plan,
            "online_requests": online_requests,
            "fetch_requests": fetch_requests,
            "pack": info.folder,
            "pdf_online_with_pack": pdf_online_with_pack,
            "pdf_offline": pdf_offline,
            "offline_requests": offline_requests,
            "html": built["web"][0],
        }
    finally:
        mp.undo()
        tiles._FETCHERS.clear()


def test_paper_map_holds_one_raster_covering_the_frame_at_200_dpi(toyama_builds, tmp_path):
    pdf = tmp_path / "online.pdf"
    pdf.write_bytes(toyama_builds["online_pdf"])
    images = pdfimages(pdf)
    assert len(images) == 1
    img = images[0]
    rect = toyama_builds["plan"].frames[0].frame.rect
    assert img["xppi"] >= 200 and img["yppi"] >= 200
    # exactly the frame: image pixels = frame size in points / 72 × 200
    assert img["w"] == round(rect.w / 72 * 200) and img["h"] == round(rect.h / 72 * 200)
    # tiles were asked once each, every one inside the frame's zoom
    reqs = toyama_builds["online_requests"]
    assert len(reqs) == len(set(reqs)) > 4
    zooms = {int(r.split("/")[1]) for r in reqs}
    scale = toyama_builds["plan"].frames[0].frame.scale
    assert zooms == {tiles.paper_zoom(scale, 36.695, REGISTRY["gsi-pale"])}


def test_raster_shows_the_tiles_lightened_not_holes(toyama_builds, tmp_path):
    from PIL import Image

    pdf = tmp_path / "m.pdf"
    pdf.write_bytes(toyama_builds["online_pdf"])
    # raw PPM: the same pixels as -png, without compressing a 200 dpi raster first
    subprocess.run(["pdfimages", str(pdf), str(tmp_path / "img")], check=True)
    im = Image.open(next(tmp_path.glob("img-*.ppm"))).convert("RGB")
    px = np.asarray(im).reshape(-1, 3).astype(int)  # every pixel's (r, g, b)
    assert not (px == _hole()).all(axis=1).any()  # no hole
    dark = int((px.max(axis=1) < 140).sum())
    # the tile's dark road line, lightened by 0.85 (60 → 255 - 195×0.85 ≈ 89), is present
    assert dark > 0.005 * len(px)
    assert px.min() >= 255 - 255 * REGISTRY["gsi-pale"].lighten - 1


def test_credits_carry_the_gsi_wording_and_the_pack_date(toyama_builds, tmp_path):
    pdf = tmp_path / "m.pdf"
    pdf.write_bytes(toyama_builds["pdf_offline"])
    text = re.sub(r"\s+", "", pdftext(pdf))
    assert "出典：国土地理院地理院タイル（淡色地図）" in text
    assert "地理院タイルを加工して作成" in text
    manifest = tiles.read_pack_manifest(toyama_builds["pack"], REGISTRY["gsi-pale"])
    assert manifest["fetched"][:10] in text
    assert "OpenStreetMap" not in text  # osm: false: no OSM, no OSM credit


def test_pack_manifest_and_offline_rebuild_is_byte_identical(toyama_builds):
    import json

    manifest = json.loads((toyama_builds["pack"] / "manifest.json").read_text(encoding="utf-8"))
    t = manifest["tiles"]
    stored = sorted(p for p in (toyama_builds["pack"] / "tiles/gsi-pale").rglob("*.png"))
    assert t["source"] == "gsi-pale" and t["count"] == len(stored) > 4
    assert t["zooms"] == sorted({int(p.parts[-3]) for p in stored})
    assert re.match(r"\d{4}-\d\d-\d\dT", t["fetched"])
    # the fetch asked each tile once
    reqs = toyama_builds["fetch_requests"]
    assert len(reqs) == len(set(reqs)) == t["count"]
    assert toyama_builds["offline_requests"] == []
    assert toyama_builds["pdf_offline"] == toyama_builds["pdf_online_with_pack"]


def test_offline_without_pack_fails_clearly_and_writes_nothing(tmp_path, gsi, monkeypatch):
    from civicmap.errors import OfflineError
    from civicmap.pipeline import build

    path = toyama_map(tmp_path)
    monkeypatch.setattr(settings, "offline", True)
    with pytest.raises(OfflineError, match="civicmap fetch"):
        build(load_map(path))
    assert not (tmp_path / "out/toyama.pdf").exists()
    assert list((tmp_path / "out").glob("*")) == [] if (tmp_path / "out").exists() else True
    assert gsi.requests == []


def test_a_failed_tile_leaves_a_reported_hole_not_a_crash(tmp_path, gsi, caplog):
    from PIL import Image

    from civicmap.pipeline import build, collect
    from civicmap.render.paper import render_paper

    path = toyama_map(tmp_path)
    spec = load_map(path)
    # find a tile of the frame, then make the server refuse it
    with tiles.recording() as rec:
        _, plan = render_paper(collect(spec), options=spec.paper)
    got = rec["gsi-pale"]
    xs, ys = sorted({t[1] for t in got}), sorted({t[2] for t in got})
    lost = (next(iter(got))[0], xs[len(xs) // 2], ys[len(ys) // 2])  # well inside the frame
    gsi.reset()
    gsi.script["/".join(map(str, lost))] = [404]
    monkey_cache = tmp_path / "fresh-cache"
    settings.cache_folder = monkey_cache  # reset by conftest's autouse fixture
    with caplog.at_level(logging.WARNING, logger="civicmap.render.tiles"):
        pdf = build(load_map(path))["paper"][0]
    assert pdf.exists() and pdf.read_bytes().endswith(b"%%EOF\n")
    msgs = [r.getMessage() for r in caplog.records]
    assert any("grey holes" in m and "/".join(map(str, lost)) in m for m in msgs)
    # raw PPM: the same pixels as -png, without compressing a 200 dpi raster first
    subprocess.run(["pdfimages", str(pdf), str(tmp_path / "img")], check=True)
    im = Image.open(next(tmp_path.glob("img-*.ppm"))).convert("RGB")
    greys = int((np.asarray(im) == _hole()).all(axis=2).sum())
    # the hole is a whole tile, resampled to 200 dpi at the map's scale (the same map's,
    # drawn above with every tile): side in printed dots
    scale = plan.frames[0].frame.scale
    mpp = 2 * math.pi * 6378137 * math.cos(math.radians(36.695)) / (256 * 2 ** lost[0])
    side = 256 * mpp / (0.0254 / 200 * scale)
    assert 0.85 * side**2 < greys < 1.15 * side**2


def test_atlas_fetches_each_tile_once_not_once_per_page(tmp_path, gsi):
    from civicmap.pipeline import build

    path = toyama_map(
        tmp_path,
        outputs={"paper": {"file": "out/atlas.pdf", "size": "A4", "atlas": True, "scale": 10000}},
    )
    pdf = build(load_map(path))["paper"][0]
    images = pdfimages(pdf)
    pages_with_raster = {i["page"] for i in images}
    assert len(pages_with_raster) >= 3  # overview + at least two map pages, each with its raster
    assert all(i["xppi"] >= 200 for i in images)
    reqs = gsi.requests
    assert len(reqs) == len(set(reqs))  # neighbouring pages share tiles: each asked once
    zooms = {int(r.split("/")[1]) for r in reqs}
    assert len(zooms) <= 2  # the overview's zoom and the pages' zoom


def _extract_map(folder: Path) -> Path:
    """A map read from a local extract (no pack: ``civicmap fetch`` refuses it) on 地理院タイル."""
    raw = {
        "title": "西早稲田 防災マップ",
        "area": {"bbox": [139.7031784, 35.7039554, 139.7098839, 35.7093917]},
        "osm": {"file": str(TESTS / "data/osm/SmallAroundWaseda.osm.pbf")},
        "basemap": {"tiles": "gsi-pale"},
        "layers": [{"use": "shelters"}],
        "outputs": {"paper": {"file": "out/map.pdf", "size": "A4"}},
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "map.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return folder / "map.yaml"


def test_a_map_read_from_an_extract_is_never_sent_to_civicmap_fetch_for_its_tiles(
    tmp_path, gsi, monkeypatch, caplog
):
    """``civicmap fetch`` refuses a map read from an extract: no advice may send the user there.

    With the network down (the tile server refuses connections) the warning, offline the
    error, and ``civicmap fetch`` itself all say the one thing that works: build once with
    the network, the tiles stay in the cache.
    """
    from civicmap.errors import OfflineError
    from civicmap.pack import fetch_pack
    from civicmap.pipeline import build

    monkeypatch.setitem(
        REGISTRY,
        "gsi-pale",
        dataclasses.replace(REGISTRY["gsi-pale"], url="http://127.0.0.1:9/{z}/{x}/{y}.png"),
    )
    monkeypatch.setattr(settings, "cache_folder", tmp_path / "cache")
    spec = load_map(_extract_map(tmp_path / "m"))
    cache_advice = "the tiles are kept in the cache"
    with caplog.at_level(logging.WARNING, logger="civicmap.render.tiles"):
        build(spec)  # the paper map is drawn on its fallback background
    warned = [r.getMessage() for r in caplog.records if "background tiles" in r.getMessage()]
    assert warned and cache_advice in warned[0] and "civicmap fetch" not in warned[0]
    with pytest.raises(CivicMapError) as refused:
        fetch_pack(spec, out=tmp_path / "pack")
    assert cache_advice in str(refused.value) and "nothing to fetch" not in str(refused.value)
    tiles._FETCHERS.clear()
    monkeypatch.setattr(settings, "offline", True)
    with pytest.raises(OfflineError) as offline:
        build(spec, overwrite=True)
    assert cache_advice in str(offline.value) and "civicmap fetch" not in str(offline.value)
    # ... and that advice holds: one build with the tile server, then offline from the cache
    monkeypatch.setitem(
        REGISTRY, "gsi-pale", dataclasses.replace(REGISTRY["gsi-pale"], url=gsi.url)
    )
    monkeypatch.setattr(settings, "offline", False)
    tiles._FETCHERS.clear()
    build(load_map(spec.file), overwrite=True)
    assert gsi.requests
    gsi.reset()
    tiles._FETCHERS.clear()
    monkeypatch.setattr(settings, "offline", True)
    build(load_map(spec.file), overwrite=True)
    assert gsi.requests == []
