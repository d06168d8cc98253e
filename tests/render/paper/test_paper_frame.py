"""Where the paper map's frame lies over the area (read back from the layout plan)."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon

import civicmap
from civicmap.mapdata import LayerData
from civicmap.render.paper import render_paper
from civicmap.schema import conform
from civicmap.spec.paper import PaperOptions


@pytest.fixture(scope="module")
def demo():
    return civicmap.collect(civicmap.load_map(civicmap.demo_map_path()))


def _l_shaped(demo):
    """An L over the demo extent: a long bottom arm and a tall left arm (centroid off-centre)."""
    x0, y0, x1, y1 = demo.area.geometry.bounds
    w, h = x1 - x0, y1 - y0
    shape = Polygon(
        [(x0, y0), (x1, y0), (x1, y0 + h * 0.15), (x0 + w * 0.15, y0 + h * 0.15),
         (x0 + w * 0.15, y1), (x0, y1)]
    )  # fmt: skip
    return shape, (x1 - w * 0.03, y0 + h * 0.07)  # a place at the far end of the bottom arm


@pytest.mark.pdf
def test_a_fitted_sheet_holds_a_place_at_the_far_end_of_an_l_shaped_area(demo):
    """A batch 町丁目 printed its one place as 「地図の範囲外」: the frame was centred on
    the area's centroid, which lies off the middle of an L-shaped area."""
    shape, far = _l_shaped(demo)
    gdf = gpd.GeoDataFrame([{"name": "端の避難所"}], geometry=[Point(far)], crs="EPSG:4326")
    layer = LayerData(
        spec=demo.layers[1].spec, features=conform(gdf, layer="shelters", source="test.csv")
    )
    data = dataclasses.replace(
        demo, area=dataclasses.replace(demo.area, geometry=shape), layers=[layer]
    )
    _pdf, plan = render_paper(data, options=PaperOptions.from_dict({"size": "A4"}, file="<t>"))
    entry = next(e for e in plan.entries if e.name == "端の避難所")
    assert entry.ref, "the place is on the map, with a grid reference, not off the map"
