"""Atlas pages that stand alone: a credit line on every map page, the page guard counting
every page (index pages too) and answering in Japanese, the 承認番号 sentence."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from paper_maps import kanazawa_raw

from civicmap.errors import ConfigError
from civicmap.i18n import current_language, set_language
from civicmap.pipeline import collect
from civicmap.render import tiles
from civicmap.render.background import lines_of, map_credits, shown_credit
from civicmap.render.paper import render_paper
from civicmap.spec.mapfile import parse_map
from civicmap.spec.paper import PaperOptions

pytestmark = [
    pytest.mark.pdf,
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed"),
]


@pytest.fixture(scope="module")
def kanazawa(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kanazawa_pages")
    return collect(parse_map(kanazawa_raw(), file=str(tmp / "map.yaml"), base_dir=tmp))


def _page_texts(pdf: bytes, tmp: Path) -> list[str]:
    path = tmp / "atlas.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                         text=True).stdout  # fmt: skip
    return [re.sub(r"\s+", "", page) for page in out.split("\f")]


def test_every_atlas_map_page_names_its_sources(kanazawa, tmp_path):
    pdf, plan = render_paper(
        kanazawa,
        options=PaperOptions.from_dict(
            {"atlas": True, "scale": 10000, "max_pages": 300}, file="<test>"
        ),
    )
    pages = _page_texts(pdf, tmp_path)
    credits = [re.sub(r"\s+", "", shown_credit(c, language="ja")) for c in map_credits(kanazawa)]
    assert len(credits) >= 2 and plan.atlas_pages
    for pg in plan.atlas_pages:  # photocopied one by one, each page says where its data is from
        for credit in credits:
            assert credit in pages[pg.number - 1], (pg.number, credit)


@pytest.mark.slow
def test_page_guard_counts_index_pages_and_answers_in_japanese(kanazawa):
    opts = {"atlas": True, "scale": 10000, "size": "A3", "large_print": True}
    _, plan = render_paper(
        kanazawa, options=PaperOptions.from_dict({**opts, "max_pages": 500}, file="<test>")
    )
    total, index = plan.pages, len(plan.index_pages)
    assert index >= 2  # the 金沢 large-print index takes several pages
    render_paper(
        kanazawa, options=PaperOptions.from_dict({**opts, "max_pages": total}, file="<test>")
    )  # exactly the limit: fine
    before = current_language()
    set_language("ja")
    try:
        with pytest.raises(ConfigError) as err:
            render_paper(
                kanazawa,
                options=PaperOptions.from_dict({**opts, "max_pages": total - 1}, file="<test>"),
            )
    finally:
        set_language(before)
    text = str(err.value).split("outputs.paper.atlas:")[1]
    assert f"{total} ページ" in text and f"索引 {index} ページ" in text, text
    assert "the atlas" not in text and "pages" not in text.replace("max_pages", ""), text


def test_approval_number_is_printed_as_the_gsi_approval_sentence(tmp_path):
    raw = {**kanazawa_raw(), "basemap": {"draw": False, "tiles": "gsi-pale",
                                         "approval": "令6情複、第123号"}}  # fmt: skip
    spec = parse_map(raw, file=str(tmp_path / "map.yaml"), base_dir=tmp_path)
    approval = [c for c in tiles.tile_credits(spec) if c.source == "approval"]
    assert len(approval) == 1
    sentence = approval[0].line()
    assert sentence.startswith("この地図の作成に当たっては、国土地理院長の承認を得て、同院発行の")
    assert sentence.endswith("を複製した。（承認番号 令6情複、第123号）")

    assert lines_of(approval, language="ja") == [sentence]  # a permission, never 「日付不明」
