"""ハザードマップポータルサイト tiles as a hazard layer: depth class from the pixel colour (issue 25).

A loopback server on 127.0.0.1 serves generated PNGs in the portal's colour scale
(3–5 m, a transparent strip at the bottom) for the tiles under 旧野町小学校 and 404 for
every other tile (the portal's "no zone"). No test touches the network.
"""

from __future__ import annotations

import io
import re
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image
from test_hazards import NOMACHI, SCHOOL, _map

from civicmap import hazard_tiles
from civicmap.hazard_tiles import TILE_HAZARDS, _tile_pixel, pixel_class
from civicmap.hazards import DEPTH_CLASSES
from civicmap.pipeline import collect
from civicmap.render import tiles
from civicmap.spec.mapfile import load_map

_PATH = re.compile(r"^/(\d+)/(\d+)/(\d+)\.png$")
DEEP = DEPTH_CLASSES[2].color  # 3–5 m


def _png(colour: str) -> bytes:
    rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    im = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    im.paste((*rgb, 255), (0, 0, 256, 200))  # the zone, with a transparent strip at the bottom
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def hazard_server(monkeypatch):
    lat, lon = NOMACHI
    z = TILE_HAZARDS["flood-max"].query_zoom
    x, y, _px, py = _tile_pixel(lon, lat, z)
    assert py < 200  # the school's pixel is in the coloured part
    served = {(z, x, y): _png(DEEP)}
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            m = _PATH.match(self.path)
            body = served.get(tuple(int(g) for g in m.groups())) if m else None
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/{{z}}/{{x}}/{{y}}.png"
    monkeypatch.setitem(TILE_HAZARDS, "flood-max", replace(TILE_HAZARDS["flood-max"], urls=(url,)))
    monkeypatch.setattr(tiles, "PACE_SECONDS", 0.0)
    yield {"asked": asked}
    server.shutdown()


def test_pixel_colours_read_through_the_legend_table():
    for i, c in enumerate(DEPTH_CLASSES):
        rgb = tuple(int(c.color[k : k + 2], 16) for k in (1, 3, 5))
        assert pixel_class((*rgb, 255), DEPTH_CLASSES) == i
        assert (
            pixel_class((rgb[0] - 5, rgb[1] + 4, rgb[2], 255), DEPTH_CLASSES) == i
        )  # anti-aliased
    assert pixel_class((0, 0, 0, 0), DEPTH_CLASSES) is None  # transparent: no zone
    assert pixel_class((20, 90, 200, 255), DEPTH_CLASSES) == "?"  # not in the legend


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
    # every other site's tile answered 404: no zone there, not "no information"
    others = [s.lines[0] for name, s in sites.items() if name != SCHOOL]
    assert set(others) <= {"洪水：想定区域外", "洪水：想定浸水深 3–5 m"}
    assert others.count("洪水：想定区域外") > 400
    assert any(p.endswith(".png") for p in hazard_server["asked"])
    assert data.credits()[-1].credit == "ハザードマップポータルサイト"


def test_tiles_that_cannot_be_had_say_no_information(tmp_path, monkeypatch):
    """Offline without the tiles: 「洪水：情報なし」 for every site, never 「想定区域外」."""
    from civicmap import settings

    monkeypatch.setattr(settings, "offline", True)
    spec = load_map(_map(tmp_path, hazards=["flood-max"]))
    data = collect(spec)
    assert {s.lines[0] for s in data.hazards.sites.values()} == {"洪水：情報なし"}
