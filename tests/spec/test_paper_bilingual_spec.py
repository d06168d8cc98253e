"""``outputs.paper.languages``: a paper map per language, or one bilingual sheet (ja + one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from civicmap.errors import ConfigError
from civicmap.spec.mapfile import load_map

BASE = "title: t\narea: {bbox: [139.70, 35.70, 139.71, 35.71]}\nlayers: [childcare]\n"
OUT = "outputs: {web: {file: out/map.html}, paper: {file: out/map.pdf, languages: %s}}\n"


def _load(tmp_path: Path, language: str, mode: str = "bilingual"):
    p = tmp_path / "map.yaml"
    p.write_text(BASE + f"language: {language}\n" + OUT % mode, encoding="utf-8")
    return load_map(p)


def test_bilingual_writes_one_sheet_and_a_web_page_per_language(tmp_path):
    spec = _load(tmp_path, "[ja, vi]")
    assert spec.paper.languages == "bilingual"
    assert spec.paper_language == "ja+vi"
    # one PDF for both languages; the web pages stay one per language
    assert [p.name for p in spec.output_targets("paper")] == ["map.pdf"]
    assert [p.name for p in spec.output_targets("web")] == ["map.html", "map.vi.html"]
    vi = spec.in_language("vi")
    assert set(vi.outputs) == {"web"} and Path(vi.outputs["web"]).name == "map.vi.html"


def test_separate_is_the_default_a_whole_map_per_language(tmp_path):
    p = tmp_path / "map.yaml"
    p.write_text(
        BASE + "language: [ja, vi]\noutputs: {paper: {file: out/map.pdf}}\n", encoding="utf-8"
    )
    spec = load_map(p)
    assert spec.paper.languages == "separate" and spec.paper_language == "ja"
    assert [q.name for q in spec.output_targets("paper")] == ["map.pdf", "map.vi.pdf"]
    assert spec.in_language("vi").paper_language == "vi"


@pytest.mark.parametrize(
    ("language", "fix"),
    [
        ("ja", "[ja, en]"),  # one language: nothing to pair
        ("[ja, en, vi]", "[ja, en]"),  # a sheet holds two
        ("[vi, ja]", "[ja, vi]"),  # Japanese first: names, index order and labels are
        ("[en, vi]", "[ja, en]"),
        ("[ja, ja-easy]", "[ja, en]"),  # やさしい日本語 is Japanese: its own sheet
    ],
)
def test_a_pair_that_is_not_ja_and_one_more_is_a_load_error_naming_the_key(tmp_path, language, fix):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, language)
    problems = [p for p in info.value.problems if p.key == "outputs.paper.languages"]
    assert len(problems) == 1, info.value.problems
    message = problems[0].message
    assert fix in message and "languages: separate" in message  # the fix, both ways


def test_an_unknown_mode_names_the_key_and_the_choices(tmp_path):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, "[ja, vi]", mode="both")
    [problem] = info.value.problems
    assert problem.key == "outputs.paper.languages"
    assert "separate" in problem.message and "bilingual" in problem.message


def test_sections_writes_one_pdf_for_every_language(tmp_path):
    spec = _load(tmp_path, "[ja, en, vi]", mode="sections")
    assert spec.paper.languages == "sections" and spec.one_paper_file
    assert spec.paper_language == "ja"  # each section in its own language, not a pair
    assert [p.name for p in spec.output_targets("paper")] == ["map.pdf"]
    assert len(spec.output_targets("web")) == 3


@pytest.mark.parametrize(
    ("language", "paper", "says"),
    [
        ("ja", "", "[ja, en]"),  # one language: no sections
        ("[ja, en]", ", atlas: true", "languages: separate"),  # an atlas numbers its pages
        ("[ja, en]", ", unreadable: atlas", "languages: separate"),
    ],
)
def test_sections_need_two_languages_and_single_sheets(tmp_path, language, paper, says):
    p = tmp_path / "map.yaml"
    p.write_text(
        BASE + f"language: {language}\n"
        f"outputs: {{paper: {{file: out/map.pdf, languages: sections{paper}}}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_map(p)
    [problem] = [q for q in info.value.problems if q.key == "outputs.paper.languages"]
    assert says in problem.message
