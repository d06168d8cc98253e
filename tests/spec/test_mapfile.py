"""Map files: valid ones load; malformed ones list every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from civicmap.errors import ConfigError
from civicmap.spec.mapfile import load_map


def write(tmp_path: Path, text: str, name: str = "map.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_minimal_map_loads_with_builtin_layers(tmp_path):
    p = write(
        tmp_path,
        """
title: 西早稲田マップ
area: {bbox: [139.70, 35.70, 139.71, 35.71]}
layers: [childcare, shelters]
outputs:
  web: out/map.html
  paper: {file: out/map.pdf, size: a3, orientation: landscape}
""",
    )
    spec = load_map(p)
    assert spec.title == "西早稲田マップ"
    assert [layer.id for layer in spec.layers] == ["childcare", "shelters"]
    assert spec.paper.size == "A3" and spec.outputs["paper"] == "out/map.pdf"
    assert spec.output_path("web") == tmp_path / "out" / "map.html"
    assert spec.language == "ja"


def test_malformed_map_reports_every_problem_at_once(tmp_path):
    p = write(
        tmp_path,
        """
titel: typo
language: fr
area: {bbox: [139.71, 35.70, 139.70]}
layers: [childcare, no_such_layer, {use: shelters, extra_sources: [{csv: {path: missing.csv}}]}]
outputs:
  paper: {file: out/map.pdf, size: A5, scale: 10}
  pdf: {file: x.pdf}
""",
    )
    with pytest.raises(ConfigError) as info:
        load_map(p)
    problems = info.value.problems
    text = str(info.value)
    keys = {pr.key for pr in problems}
    # every problem names the file and the key
    assert all(pr.file == str(p) for pr in problems)
    assert "titel" in keys and "did you mean 'title'?" in text
    assert "title" in keys  # missing title
    assert "language" in keys and "expected one of: ja, ja-easy, en, zh-Hans" in text
    assert "area.bbox" in keys
    assert any("no_such_layer" in str(pr) and "childcare" in str(pr) for pr in problems)
    assert any("missing.csv" in str(pr) and "file not found" in str(pr) for pr in problems)
    assert "outputs.paper.size" in keys and "A4, A3, B4, B5" in text
    assert "outputs.paper.scale" in keys
    assert "outputs.pdf" in keys
    assert len(problems) >= 9


def test_yaml_syntax_error_names_the_line(tmp_path):
    p = write(tmp_path, "title: x\narea: {bbox: [1, 2\nlayers: [a]\n")
    with pytest.raises(ConfigError, match=r"line \d+, column \d+: YAML syntax error"):
        load_map(p)


def test_yaml_is_loaded_safely(tmp_path):
    p = write(tmp_path, "title: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match=r"a YAML tag \(!!python/object/apply:os.system\) is not"):
        load_map(p)


def test_inline_layer_and_layer_file(tmp_path):
    (tmp_path / "mine.yaml").write_text(
        """
id: benches
title: {ja: ベンチ, en: Benches}
sources:
  - osm: {match: {amenity: bench, backrest: "yes"}}
style: {color: "#aa5500", symbol: square}
""",
        encoding="utf-8",
    )
    p = write(
        tmp_path,
        """
title: t
area: {point: [35.705, 139.705], radius: 500}
layers:
  - mine.yaml
  - id: schools
    title: 学校
    sources: [{osm: {match: {amenity: school}}}]
""",
    )
    spec = load_map(p)
    benches, schools = spec.layers
    assert benches.title_in("en") == "Benches"
    assert benches.sources[0].tag_filter.matches({"amenity": "bench", "backrest": "yes"})
    assert not benches.sources[0].tag_filter.matches({"amenity": "bench"})
    assert schools.style.symbol == "circle"


def test_inline_layer_problems_are_reported_with_the_map(tmp_path):
    p = write(
        tmp_path,
        """
title: t
area: {municipality: 13104}
layers:
  - id: Bad Id
    sources: [{osm: {match: {amenity: [] }}}]
    style: {color: red, symbol: blob}
""",
    )
    with pytest.raises(ConfigError) as info:
        load_map(p)
    text = str(info.value)
    assert "layers[0].id" in text
    assert "layers[0].style.color" in text and "hex colour" in text
    assert "layers[0].style.symbol" in text and "circle" in text
    assert "layers[0].sources[0].osm.match.amenity" in text


def test_area_kinds_validated(tmp_path):
    p = write(
        tmp_path,
        """
title: t
area: {point: [35.7, 139.7], municipality: "13104"}
layers: [aed]
""",
    )
    with pytest.raises(ConfigError, match="give exactly one of"):
        load_map(p)
    p = write(tmp_path, "title: t\narea: {point: [35.7, 139.7]}\nlayers: [aed]\n")
    with pytest.raises(ConfigError, match="radius"):
        load_map(p)
    p = write(tmp_path, "title: t\narea: {municipality: 1310}\nlayers: [aed]\n")
    with pytest.raises(ConfigError, match="5- or 6-digit"):
        load_map(p)


def test_duplicate_layer_ids_are_refused(tmp_path):
    p = write(
        tmp_path, "title: t\narea: {bbox: [139.7, 35.7, 139.71, 35.71]}\nlayers: [aed, aed]\n"
    )
    with pytest.raises(ConfigError, match="appears twice"):
        load_map(p)


def test_outputs_paper_index_ignore_is_accepted_in_a_map_file(tmp_path):
    # documented in docs/reference.md and read by PaperOptions, but refused as an unknown
    # key by the map file's own check until tests/test_docs_keys.py compared the two
    p = write(
        tmp_path,
        """
title: t
area: {bbox: [139.70, 35.70, 139.71, 35.71]}
layers: [childcare]
outputs:
  paper: {file: out/map.pdf, index_ignore: [社会福祉法人富山愛育会]}
""",
    )
    assert load_map(p).paper.index_ignore == ("社会福祉法人富山愛育会",)


def test_language_takes_one_language_or_a_list(tmp_path):
    base = "title: t\narea: {bbox: [139.70, 35.70, 139.71, 35.71]}\nlayers: [childcare]\n"
    out = "outputs: {web: {file: out/map.html}, paper: {file: out/map.pdf}, kml: {file: m.kml}}\n"
    one = load_map(write(tmp_path, base + "language: vi\n" + out))
    assert (one.language, one.languages) == ("vi", ("vi",))
    several = load_map(write(tmp_path, base + "language: [ja, ja-easy, ne]\n" + out))
    assert several.language == "ja" and several.languages == ("ja", "ja-easy", "ne")
    # a paper map and a web page per further language; the exports once
    names = sorted(p.name for k in ("web", "paper", "kml") for p in several.output_targets(k))
    assert names == sorted(
        ["map.html", "map.ja-easy.html", "map.ne.html", "map.pdf", "map.ja-easy.pdf",
         "map.ne.pdf", "m.kml"]
    )  # fmt: skip
    # やさしい日本語: furigana share the line's height, so its sheet is printed large
    assert several.in_language("ja-easy").paper.large_print
    assert not several.paper.large_print and not several.in_language("ne").paper.large_print
    nepali = several.in_language("ne")
    assert nepali.language == "ne" and Path(nepali.outputs["paper"]).name == "map.ne.pdf"
    assert dict(nepali.web_pages())["ja"] == "map.html"
    with pytest.raises(ConfigError) as info:
        load_map(write(tmp_path, base + "language: [ja, fr, ja]\n" + out))
    text = str(info.value)
    assert "language[1]" in text and "fr" in text
    assert "language[2]" in text and "twice" in text


def test_outputs_paper_index_mode_is_read_and_a_wrong_one_names_the_key(tmp_path):
    text = """
title: t
area: {bbox: [139.70, 35.70, 139.71, 35.71]}
layers: [childcare]
outputs:
  paper: {file: out/map.pdf, index: %s}
"""
    assert load_map(write(tmp_path, text % "compact")).paper.index == "compact"
    with pytest.raises(ConfigError, match=r"outputs\.paper\.index\b.*compact"):
        load_map(write(tmp_path, text % "short"))
