"""The paper legend, read back from the PDF: what it promises is on the map."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess

import pytest
from paths import DATA

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


@pytest.mark.pdf
@needs_poppler
def test_a_row_for_places_drawn_alike_names_what_it_stands_for_once(tmp_path):
    """The real 地理院地図 作図 file draws its 指定避難所 in the layer's red, like its two
    places without a category: one row, named for both, and the layer's count once (the row
    read 「町内会の作図 (7) (3)」)."""
    kml = DATA / "kml" / "gsimaps_sakuzu_kodaira.kml"
    (tmp_path / "map.yaml").write_text(
        "title: 作図\narea: {bbox: [139.470, 35.725, 139.484, 35.733]}\nosm: false\n"
        "layers:\n  - id: sakuzu\n    title: 町内会の作図\n    sources:\n"
        f"      - kml: {{path: {kml}, credit: 町内会}}\n",
        encoding="utf-8",
    )
    data = civicmap.collect(civicmap.load_map(tmp_path / "map.yaml"))
    text = _text(tmp_path, data)
    assert "指定避難所・町内会の作図(3)" in text
    assert "(7)(3)" not in text
    assert "町内会の作図(7)" in text and "一時集合場所(1)" in text


@pytest.mark.pdf
@needs_poppler
def test_on_a_bilingual_sheet_an_empty_layer_says_so_once_in_each_language(tmp_path):
    """Each language's sentence carries the layer's title in that language, not both titles."""
    for f in civicmap.demo_map_path().parent.iterdir():
        shutil.copy(f, tmp_path / f.name)
    text = (tmp_path / "demo.yaml").read_text(encoding="utf-8")
    text = text.replace("language: ja", "language: [ja, vi]").replace(
        "  paper: {", "  paper: {languages: bilingual, "
    )
    (tmp_path / "demo.yaml").write_text(text, encoding="utf-8")
    spec = civicmap.load_map(tmp_path / "demo.yaml")
    data = civicmap.collect(spec)
    empty = dataclasses.replace(data.layers[0], features=data.layers[0].features.iloc[0:0])
    data = dataclasses.replace(data, layers=[empty, *data.layers[1:]])
    pdf, _plan = render_paper(data, options=spec.paper)
    (tmp_path / "map.pdf").write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(tmp_path / "map.pdf"), "-"], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    flat = "".join(out.split())
    ja, vi = empty.spec.title_in("ja"), empty.spec.title_in("vi")
    assert f"{ja}：この範囲にはありません/{vi}:khôngcótrongkhuvựcnày".replace(" ", "") in flat
