"""Routes and the paper basemap: tunnels are not drawn as surface lines; routes in a colour of their own."""

from __future__ import annotations

import numpy as np
import pypdfium2 as pdfium
import pytest
import shapely

import civicmap
from civicmap.render.paper import render_paper
from civicmap.spec.paper import PaperOptions

pytestmark = pytest.mark.pdf


@pytest.fixture(scope="module")
def demo():
    return civicmap.collect(civicmap.load_map(civicmap.demo_map_path()))


def test_demo_subway_tunnel_is_not_drawn_as_surface_railway(demo):
    """The 副都心線 runs in a tunnel (tunnel=yes) under 明治通り: no railway ladder along it."""
    pdf, plan = render_paper(demo, options=PaperOptions.from_dict({"size": "A4"}, file="<test>"))
    frame = plan.frames[0].frame
    base = demo.basemap.to_crs(plan.crs)
    names = base["name"].astype(str)
    tunnel = base[(base["kind"] == "railway") & names.str.contains("副都心線")]
    assert not tunnel.empty  # the extract has it
    surface = base[base["kind"].isin(["railway", "station"]) & ~names.str.contains("副都心線")]
    near = shapely.union_all([*surface.geometry, shapely.MultiPoint([e.xy for e in plan.entries])])
    dpi = 150
    page = pdfium.PdfDocument(pdf)[0]
    img = np.asarray(page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L"))
    x0, y0, x1, y1 = frame.extent
    dark = []
    for line in tunnel.geometry:
        for d in np.arange(0, line.length, 5.0):
            p = line.interpolate(d)
            if not (x0 < p.x < x1 and y0 < p.y < y1) or p.distance(near) < 40:
                continue
            px, py = frame.to_page(p.x, p.y)
            col, row = int(px * dpi / 72), int(img.shape[0] - py * dpi / 72)
            dark.append(img[row - 1 : row + 2, col - 1 : col + 2].min() < 60)
    assert len(dark) > 100
    # a railway ladder (black casing) along it made 85 % of these points black
    assert np.mean(dark) < 0.3, np.mean(dark)
