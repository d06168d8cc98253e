"""The paper legend, read back from the PDF: what it promises is on the map."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess

import pytest

import civicmap
from civicmap.render.paper import render_paper
from civicmap.spec.paper import PaperOptions

needs_poppler = pytest.mark.skipif(
    not shutil.which("pdftotext"), reason="poppler-utils not installed"
)


@pytest.fixture(scope="module")
def demo():
    return civicmap.collect(civicmap.load_map(civicmap.demo_map_path()))


def _text(tmp_path, data) -> str:
    pdf, _plan = render_paper(data, options=PaperOptions.from_dict({"size": "A4"}, file="<test>"))
    path = tmp_path / "map.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return "".join(out.stdout.split())  # a legend line may wrap anywhere


@pytest.mark.pdf
@needs_poppler
def test_a_layer_with_no_places_says_so_instead_of_a_symbol_with_zero(demo, tmp_path):
    """A symbol with 「(0)」 sends readers looking for places that are not there."""
    empty = dataclasses.replace(demo.layers[0], features=demo.layers[0].features.iloc[0:0])
    data = dataclasses.replace(demo, layers=[empty, *demo.layers[1:]])
    title = empty.spec.title_in("ja")
    text = _text(tmp_path, data)
    assert f"{title}：この範囲にはありません" in text
    assert f"{title}(0)" not in text
    # The layers that have places keep their symbol and count.
    other = demo.layers[1]
    assert f"{other.spec.title_in('ja')}({len(other.features)})" in text
