"""ハザードマップポータルサイト tiles as a hazard layer: depth class from the pixel colour (issue 25).

A loopback server on 127.0.0.1 serves generated PNGs in the portal's colour scale
(3–5 m, a transparent strip at the bottom) for the tiles under 旧野町小学校 and 404 for
every other tile (the portal's "no zone"). No test touches the network.
"""

from __future__ import annotations

import io
import math
import re
import shutil
import subprocess
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import loopback
import pytest
import yaml
from PIL import Image, ImageDraw
from test_hazards import NOMACHI, SCHOOL, _map

from civicmap import hazard_tiles, settings
from civicmap.check import check_map
from civicmap.hazard_tiles import TILE_HAZARDS, pixel_class
from civicmap.hazards import DEPTH_CLASSES
from civicmap.pack import fetch_pack, read_manifest, with_pack
from civicmap.pipeline import build_with_data, collect
from civicmap.render import tiles
from civicmap.spec.mapfile import load_map

_PATH = re.compile(r"^/(\d+)/(\d+)/(\d+)\.png$")
DEEP = DEPTH_CLASSES[2].color  # 3–5 m
SHALLOW = DEPTH_CLASSES[1].color  # 0.5–3 m
#: The ``Last-Modified`` the generated portal tiles are served with: what their credit is dated.
TILES_MODIFIED = "Wed, 01 Mar 2023 04:05:06 GMT"
#: Half-sides (degrees) of the generated zones around 旧野町小学校: 3–5 m inside 0.5–3 m.
DEEP_D, SHALLOW_D = 0.0015, 0.004


def _world_px(lon: float, lat: float, z: int) -> tuple[float, float]:
    n = 2**z * 256
    return (lon + 180) / 360 * n, (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n


def zone_tile(z: int, x: int, y: int) -> bytes | None:
    """The portal's tile z/x/y of two generated square zones around the school, or None (404).

    Drawn in the portal's colour scale on a transparent ground, as the portal
    serves them; a tile the zones do not reach is a 404 ("no zone").
    """
    lat, lon = NOMACHI
    im = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    hit = False
    for half, colour in ((SHALLOW_D, SHALLOW), (DEEP_D, DEEP)):
        x0, y0 = _world_px(lon - half, lat + half, z)
        x1, y1 = _world_px(lon + half, lat - half, z)
        box = (x0 - x * 256, y0 - y * 256, x1 - x * 256, y1 - y * 256)
        if box[2] < 0 or box[3] < 0 or box[0] > 255 or box[1] > 255:
            continue
        rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
        d.rectangle(box, fill=(*rgb, 255))
        hit = True
    if not hit:
        return None
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def hazard_server(monkeypatch):
    """The portal's flood-max tile set on 127.0.0.1: generated zones, 404 for empty tiles."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            m = _PATH.match(self.path)
            body = zone_tile(*(int(g) for g in m.groups())) if m else None
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Last-Modified", TILES_MODIFIED)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    loopback.start(server)
    url = f"http://127.0.0.1:{server.server_address[1]}/{{z}}/{{x}}/{{y}}.png"
    monkeypatch.setitem(TILE_HAZARDS, "flood-max", replace(TILE_HAZARDS["flood-max"], urls=(url,)))
    monkeypatch.setattr(tiles, "PACE_SECONDS", 0.0)
    yield {"asked": asked}
    loopback.stop(server)


def test_pixel_colours_read_through_the_legend_table():
    for i, c in enumerate(DEPTH_CLASSES):
        rgb = tuple(int(c.color[k : k + 2], 16) for k in (1, 3, 5))
        assert pixel_class((*rgb, 255), DEPTH_CLASSES) == i
        assert (
            pixel_class((rgb[0] - 5, rgb[1] + 4, rgb[2], 255), DEPTH_CLASSES) == i
        )  # anti-aliased
    assert pixel_class((0, 0, 0, 0), DEPTH_CLASSES) is None  # transparent: no zone
    assert pixel_class((20, 90, 200, 255), DEPTH_CLASSES) == "?"  # not in the legend


def _around_the_school(path):
    """The map file at ``path`` cut to 野町 (about 2 km around the school): the same three
    lists and tiles for a few dozen sites, not the city's 500 (one tile asked each)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    lat, lon = NOMACHI
    raw["area"] = {"bbox": [lon - 0.012, lat - 0.009, lon + 0.012, lat + 0.009]}
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_an_english_map_credits_the_portal_in_english(tmp_path, hazard_server):
    # the portal's credit was written in Japanese in the code, whatever the map's language
    path = _around_the_school(_map(tmp_path, hazards=["flood-max"]))
    path.write_text(path.read_text(encoding="utf-8") + "language: en\n", encoding="utf-8")
    data = collect(load_map(path))
    assert 10 < len(data.hazards.sites) < 100 and hazard_server["asked"]
    (layer,) = data.hazards.layers
    credit = layer.credit
    assert credit in data.credits()
    assert credit.credit == (
        "Source: Hazard Map Portal Site. Made by processing the Hazard Map Portal Site's tiles"
    )
    assert not re.search(r"[\u3040-\u30ff\u3400-\u9fff]", credit.line())
    assert credit.date == "2023-03-01"  # still dated by the tiles


def test_a_site_on_a_3m_tile_pixel_is_flagged_and_a_404_tile_is_no_zone(tmp_path, hazard_server):
    spec = load_map(_map(tmp_path, hazards=["flood-max"]))
    data = collect(spec)
    (layer,) = data.hazards.layers
    assert isinstance(layer, hazard_tiles.TileHazardLayer)
    sites = {data.layer(k[0]).features.loc[k[1], "name"]: s for k, s in data.hazards.sites.items()}
    school = sites[SCHOOL]
    assert school.lines == [
        "洪水：想定浸水深 3–5 m",
        "この災害では使えない可能性があります（洪水）",
    ]
    assert school.unusable == ["flood"]
    # every other site's tile answered 404 (or its pixel is clear): no zone, not "no information"
    others = [s.lines[0] for name, s in sites.items() if name != SCHOOL]
    assert set(others) <= {"洪水：想定区域外", "洪水：想定浸水深 3–5 m", "洪水：想定浸水深 0.5–3 m"}
    assert others.count("洪水：想定区域外") > 400
    assert any(p.endswith(".png") for p in hazard_server["asked"])
    # the credit the portal asks for, with the line for tiles we processed
    assert data.credits()[-1].credit == (
        "出典：ハザードマップポータルサイト。ハザードマップポータルサイトのタイルを加工して作成"
    )
    # dated by the tiles' own Last-Modified, not by the map file's year: nor today
    assert data.credits()[-1].date == "2023-03-01"


def test_tiles_that_cannot_be_had_say_no_information(tmp_path, monkeypatch):
    """Offline without the tiles: 「洪水：情報なし」 for every site, never 「想定区域外」."""
    monkeypatch.setattr(settings, "offline", True)
    spec = load_map(_around_the_school(_map(tmp_path, hazards=["flood-max"])))
    data = collect(spec)
    assert len(data.hazards.sites) > 10
    assert {s.lines[0] for s in data.hazards.sites.values()} == {"洪水：情報なし"}


def _site_lines(data) -> dict[str, list[str]]:
    return {
        data.layer(k[0]).features.loc[k[1], "name"]: s.lines for k, s in data.hazards.sites.items()
    }


@pytest.mark.slow
@pytest.mark.pdf
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler missing")
def test_fetch_packs_the_portal_tiles_with_their_404s_and_the_offline_rebuild_is_identical(
    tmp_path, hazard_server, monkeypatch
):
    """Paper draws the portal's zones; the pack holds them, 404s as "no zone"; offline = online."""
    # 野町 only: the same lists, tiles, 404s and pack round trip for 20 sites (the city's
    # 500 are read in test_a_site_on_a_3m_tile_pixel_is_flagged_and_a_404_tile_is_no_zone)
    paper = {"file": "out/map.pdf", "size": "A3", "unreadable": "print"}
    path = _around_the_school(_map(tmp_path, hazards=["flood-max"], outputs={"paper": paper}))
    online_data, written = build_with_data(load_map(path), overwrite=True)  # the data it drew
    online = written["paper"][0].read_bytes()
    # the paper map: the zones as an image over the frame, the legend, both notes, the credit
    pdf = tmp_path / "online.pdf"
    pdf.write_bytes(online)
    text = "".join(
        subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout.split()
    )
    for words in (
        "洪水想定最大規模",
        "3–5m",
        "20m以上",
        "想定区域の外でも安全とは限りません。",
        "詳しくは市町村のハザードマップで確認してください。",
        "出典：ハザードマップポータルサイト。ハザードマップポータルサイトのタイルを加工して作成/2023-03-01",
    ):
        assert words in text, words  # fmt: skip
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True)
    assert " smask " in listing.stdout  # a transparent raster: the zones, not a white sheet

    # `check`, offline: no pack holds the tiles yet, so every site would say 情報なし
    monkeypatch.setattr(settings, "offline", True)
    report = check_map(path)
    assert report["hazards"][0]["in_pack"] is False and not report["ok"]
    assert "flood-max" in report["problems"][0]["message"]
    monkeypatch.setattr(settings, "offline", False)
    info = fetch_pack(load_map(path))  # the map's own pack, beside it
    monkeypatch.setattr(settings, "offline", True)
    assert check_map(path)["hazards"][0]["in_pack"] is True
    monkeypatch.setattr(settings, "offline", False)
    manifest = read_manifest(info.folder)
    (stored,) = manifest["hazard_tiles"]
    assert stored["source"] == "hazard-flood-max-0" and stored["count"] >= 2
    assert len(stored["no_zone"]) > 10  # the portal's 404s, kept as "no zone"
    assert stored["missing"] == stored["no_zone"]  # nothing else failed
    assert stored["date"] == "2023-03-01"  # the tiles' own date travels with them

    # offline, an empty cache: only the pack answers, and says what the online build said
    monkeypatch.setattr(settings, "offline", True)
    monkeypatch.setattr(settings, "cache_folder", tmp_path / "empty-cache")
    hazard_server["asked"].clear()
    spec = with_pack(load_map(path), info.folder)
    offline_data, written = build_with_data(spec, overwrite=True)
    assert _site_lines(offline_data) == _site_lines(online_data)
    assert offline_data.credits()[-1].date == online_data.credits()[-1].date == "2023-03-01"
    assert "洪水：情報なし" not in {line for v in _site_lines(offline_data).values() for line in v}
    offline = written["paper"][0].read_bytes()
    assert hazard_server["asked"] == []
    assert offline == online
