"""`civicmap check FILE` and `civicmap convert FILE -o OUT.geojson` on data files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from paths import TESTS

from civicmap.check import check_file
from civicmap.cli import main

DATA = TESTS / "data"
AED = DATA / "messy/170003_aed_MOJIBAKE_cp932-as-latin1-in-utf8.csv"
TOILET = DATA / "messy/170003_public_toilet.csv"


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_check_json_reports_encoding_rows_mapped_repairs_and_rejections():
    res = run("check", "--json", TOILET)
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    assert rep["encoding"] == "utf-8" and rep["layout"] == "standard"
    assert rep["rows"] == 103 and rep["mapped"] == 102
    assert rep["rejected"] == [
        {"row": 20, "reason": rep["rejected"][0]["reason"], "source": TOILET.name}
    ]
    assert "outside Japan" in rep["rejected"][0]["reason"]
    assert rep["columns"]["lat"] == "緯度"


def test_check_text_names_the_mojibake_repair_and_each_repaired_row():
    res = run("check", AED)
    assert res.exit_code == 0
    out = res.output
    assert "mojibake" in out and "rows read: 286" in out and "rows mapped: 286" in out
    assert "row 216: latitude and longitude swapped" in out
    assert "法人番号 = '5.22001E+12'" in out


def test_check_writes_rejected_rows_csv_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "rejected.csv"
    res = run("check", DATA / "childcare/minato/minato_hoikuen.csv", "--rejected", out)
    assert res.exit_code == 0
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    # row 112 is a blank line: skipped and counted, not a rejected place (issue 16)
    assert [int(r["row"]) for r in rows] == [109, 110, 111, 113]
    assert rows[0]["file"] == "minato_hoikuen.csv" and "利用者自宅" in rows[0]["reason"]
    res = run("check", DATA / "childcare/minato/minato_hoikuen.csv", "--rejected", out)
    assert res.exit_code == 2 and "already exists" in res.output
    assert (
        run(
            "check", DATA / "childcare/minato/minato_hoikuen.csv", "--rejected", out, "--overwrite"
        ).exit_code
        == 0
    )


@pytest.mark.parametrize(
    ("rel", "rows", "mapped"),
    [
        ("childcare/shinjuku/shinjuku_nurseryFacilities.csv", 133, 133),
        ("childcare/minato/minato_hoikuen_saiteishisu_NO_COORDS.csv", 108, 0),
        ("shelters/ishikawa/170003_evacuation_space.csv", 1528, 1525),
        ("shelters/gsi/emergency_172014.json", 507, 507),
        ("kml/hiroshima2018_water-supply_google-mymaps.kml", 389, 345),
        ("umap/mapprint_sample_legacy.umap", 33, 33),
    ],
)
def test_check_file_on_every_kind(rel, rows, mapped):
    rep = check_file(DATA / rel)
    assert (rep["rows"], rep["mapped"]) == (rows, mapped)
    assert (
        rep["mapped"]
        + len([r for r in rep["rejected"] if r["source"] == Path(rel).name])
        + rep.get("skipped_blank", 0)  # blank lines are counted, not rejected (issue 16)
        == rows
    )


def test_check_on_a_table_without_coordinates_says_how_to_use_it():
    rep = check_file(DATA / "childcare/minato/minato_hoikuen_saiteishisu_NO_COORDS.csv")
    assert any("join:" in n for n in rep["notes"])
    assert rep["rejected"][0]["row"] == 1


def test_convert_writes_common_schema_geojson_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "aed.geojson"
    res = run("convert", AED, "-o", out)
    assert res.exit_code == 0, res.output
    assert "286 of 286 rows written" in res.output
    fc = json.loads(out.read_text(encoding="utf-8"))
    assert len(fc["features"]) == 286
    props = fc["features"][0]["properties"]
    assert {"layer", "category", "name", "name_kana", "address", "source", "source_ref"} <= set(
        props
    )
    assert props["name"] == "石川県立大学" and props["法人番号"] == "5.22001E+12"
    before = out.read_bytes()
    res = run("convert", TOILET, "-o", out)
    assert res.exit_code == 2 and "--overwrite" in res.output
    assert out.read_bytes() == before
    assert run("convert", TOILET, "-o", out, "--overwrite").exit_code == 0
    assert len(json.loads(out.read_text(encoding="utf-8"))["features"]) == 102
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_convert_rejects_non_geojson_output(tmp_path):
    res = run("convert", TOILET, "-o", tmp_path / "out.csv")
    assert res.exit_code == 1 and "expected .geojson" in res.output


# --- map files: the typical mistakes, each named with file, key and fix, in both languages ----

KANAZAWA_TOILETS = """\
title: 金沢市 公衆トイレ
area: {municipality: "172014"}
osm: false
layers:
  - id: public_toilets
    title: 公衆トイレ
    sources:
      - csv: {path: toilets.csv, credit: {source: 石川県 公衆トイレ一覧}, category: 公衆トイレ}
    label: 名称
    popup: [名称, 所在地_連結表記, 利用開始時間]
    index: [所在地_連結表記]
outputs:
  web: {file: out/map.html}
"""


@pytest.fixture
def folder(tmp_path):
    """A map folder with the real 石川県 public-toilet list (103 rows, 33 in 金沢市)."""
    (tmp_path / "toilets.csv").write_bytes(TOILET.read_bytes())
    return tmp_path


def _check(folder: Path, text: str, *, lang: str = "en"):
    (folder / "map.yaml").write_text(text, encoding="utf-8")
    return CliRunner().invoke(main, ["--lang", lang, "check", str(folder / "map.yaml")])


def test_a_correct_map_passes_check(folder):
    res = _check(folder, KANAZAWA_TOILETS)
    assert res.exit_code == 0, res.output
    assert "OK (map)" in res.output and "public_toilets" in res.output
    assert "Warning" not in res.output


def test_a_file_without_a_credit_is_named_with_the_key_to_add(folder):
    """Without credit: the sheet can only print the file's name as the source: say so."""
    text = KANAZAWA_TOILETS.replace(", credit: {source: 石川県 公衆トイレ一覧}", "")
    res = _check(folder, text)
    assert res.exit_code == 0, res.output
    assert "toilets.csv gives no credit" in res.output and "credit: {source:" in res.output
    ja = _check(folder, text, lang="ja")
    assert "toilets.csv" in ja.output and "出典" in ja.output


MISTAKES = {
    # name: (replace this, with this, the key named, English hint, Japanese hint)
    "layer id typo": (
        "  - id: public_toilets",
        "  - toilet\n  - id: public_toilets",
        "layers[0]",
        "did you mean 'toilets'?",
        "'toilets' のことですか？",
    ),
    "wrong path": (
        "path: toilets.csv",
        "path: toilet.csv",
        "layers[0].sources[0].csv.path",
        "file not found",
        "ファイルが見つかりません",
    ),
    "wrong column in columns:": (
        "category: 公衆トイレ}",
        "category: 公衆トイレ, columns: {name: 名前}}",
        "columns.name",
        "did you mean '名称'?",
        "'名称' のことですか？",
    ),
    "wrong column in label:": (
        "label: 名称",
        "label: 名前",
        "label",
        "did you mean '名称'?",
        "'名称' のことですか？",
    ),
    "wrong column in popup:": (
        "popup: [名称, 所在地_連結表記, 利用開始時間]",
        "popup: [名称, 所在地連結表記, 利用開始時間]",
        "popup[1]",
        "did you mean '所在地_連結表記'?",
        "'所在地_連結表記' のことですか？",
    ),
    "wrong column in a popup template": (
        "popup: [名称, 所在地_連結表記, 利用開始時間]",
        'popup: "{名称}（{利用開始時刻}〜）"',
        "popup",
        "did you mean '利用開始時間'?",
        "'利用開始時間' のことですか？",
    ),
    "wrong column in index:": (
        "index: [所在地_連結表記]",
        "index: [住所]",
        "index[0]",
        "is not in the data",
        "データにありません",
    ),
    "tab in YAML": (
        "    title: 公衆トイレ",
        "\ttitle: 公衆トイレ",
        ("line 6:", "6 行目:"),
        "use spaces, not tabs",
        "タブではなくスペース",
    ),
    "missing outputs": (
        "outputs:\n  web: {file: out/map.html}\n",
        "",
        "outputs",
        "add outputs:",
        "outputs: {web:",
    ),
    "built-in layer with osm: false and no file of its own": (
        "  - id: public_toilets",
        "  - toilets\n  - id: public_toilets",
        "layers[0]",
        "extra_sources",
        "extra_sources",
    ),
    "an Excel file where a CSV is expected": (
        "path: toilets.csv",
        "path: toilets.xlsx",
        "toilets.xlsx",
        "'CSV UTF-8 (comma delimited)'",
        "「CSV UTF-8（コンマ区切り）」",
    ),
}


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_each_typical_mistake_is_named_with_its_key_and_fix(folder, mistake, lang):
    old, new, key, hint_en, hint_ja = MISTAKES[mistake]
    assert old in KANAZAWA_TOILETS
    if mistake.startswith("an Excel"):
        # a real .xlsx container (zip), as Excel saves it
        import zipfile

        with zipfile.ZipFile(folder / "toilets.xlsx", "w") as z:
            z.writestr("[Content_Types].xml", "<Types/>")
            z.writestr("xl/workbook.xml", "<workbook/>")
    res = _check(folder, KANAZAWA_TOILETS.replace(old, new, 1), lang=lang)
    # a field the data lacks only empties that field: a warning, as the build says it
    warning = mistake in FIELD_MISTAKES
    assert res.exit_code == (0 if warning else 2), res.output
    assert "Traceback" not in res.output
    assert str(folder / "map.yaml") in res.output  # the file
    key_en, key_ja = key if isinstance(key, tuple) else (key, key)
    assert (key_en if lang == "en" else key_ja) in res.output  # the key
    assert (hint_en if lang == "en" else hint_ja) in res.output  # the fix
    if warning:
        assert ("Warning:" if lang == "en" else "注意:") in res.output
    else:
        assert ("Error:" if lang == "en" else "エラー:") in res.output


FIELD_MISTAKES = {
    "wrong column in label:",
    "wrong column in popup:",
    "wrong column in a popup template",
    "wrong column in index:",
}


def test_a_built_in_layer_without_an_osm_source_is_told_how_to_do_without(folder):
    text = KANAZAWA_TOILETS.replace("osm: false\n", "").replace(
        "  - id: public_toilets", "  - toilets\n  - id: public_toilets"
    )
    res = _check(folder, text)
    assert res.exit_code == 0, res.output  # legal: the build would ask Overpass
    assert "Warning:" in res.output and "osm: false" in res.output
    assert "toilets" in res.output and "osm: {file:" in res.output
    ja = _check(folder, text, lang="ja")
    assert "注意:" in ja.output and "osm: false" in ja.output


def test_osm_false_keeps_a_built_in_layers_extra_sources(folder):
    text = KANAZAWA_TOILETS.replace(
        "  - id: public_toilets",
        "  - use: toilets\n    extra_sources:\n      - csv: {path: toilets.csv}\n"
        "  - id: public_toilets",
    )
    res = _check(folder, text)
    assert res.exit_code == 0, res.output
    import civicmap

    spec = civicmap.load_map(folder / "map.yaml")
    assert [s.kind for s in spec.layers[0].sources] == ["csv"]


def test_an_area_with_none_of_the_data_in_it_is_a_warning(folder):
    # 新宿区 holds none of 石川県's toilets
    res = _check(folder, KANAZAWA_TOILETS.replace('"172014"', '"13104"'))
    assert res.exit_code == 0, res.output
    rows = sum(1 for _ in csv.DictReader(TOILET.open(encoding="utf-8")))
    assert "Warning:" in res.output and "layers[0] (public_toilets)" in res.output
    # every row read (one is rejected), as the build's quality report counts them
    assert f"none of its {rows} places lie inside the map's area" in res.output
    ja = _check(folder, KANAZAWA_TOILETS.replace('"172014"', '"13104"'), lang="ja")
    assert "地図の範囲" in ja.output


def test_check_json_of_a_map_with_problems_exits_2(folder):
    text = KANAZAWA_TOILETS.replace("label: 名称", "label: 名前")
    text = text.replace("category: 公衆トイレ}", "category: 公衆トイレ, columns: {name: 名前}}")
    (folder / "map.yaml").write_text(text)
    res = CliRunner().invoke(main, ["check", "--json", str(folder / "map.yaml")])
    assert res.exit_code == 2
    rep = json.loads(res.output)
    assert rep["ok"] is False
    assert [p["key"] for p in rep["problems"]] == ["layers[0].sources(toilets.csv).columns.name"]


def test_check_json_lists_a_missing_field_as_a_warning(folder):
    (folder / "map.yaml").write_text(KANAZAWA_TOILETS.replace("label: 名称", "label: 名前"))
    res = CliRunner().invoke(main, ["check", "--json", str(folder / "map.yaml")])
    assert res.exit_code == 0
    rep = json.loads(res.output)
    assert rep["ok"] is True and rep["problems"] == []
    assert [p["key"] for p in rep["warnings"]] == ["layers[0] (public_toilets).label"]


def test_a_wrong_map_path_on_the_command_line(tmp_path, monkeypatch):
    (tmp_path / "map.yaml").write_text(KANAZAWA_TOILETS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for lang, words in (("en", "file not found"), ("ja", "ファイルが見つかりません")):
        res = CliRunner().invoke(main, ["--lang", lang, "build", "map.yml"])
        assert res.exit_code == 2
        assert words in res.output and "'map.yaml'" in res.output


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_build_without_outputs_is_invalid_input(folder, lang):
    """The reference says invalid files exit 2; a map with no outputs is one (not a failed run)."""
    (folder / "map.yaml").write_text(
        KANAZAWA_TOILETS.replace("outputs:\n  web: {file: out/map.html}\n", ""), encoding="utf-8"
    )
    res = CliRunner().invoke(main, ["--lang", lang, "build", str(folder / "map.yaml")])
    assert res.exit_code == 2
    assert f"{folder / 'map.yaml'}: outputs:" in res.output
    assert "outputs: {web: {file: out/map.html}" in res.output
    assert not (folder / "out").exists()


def test_a_layer_file_is_checked_against_its_data(folder):
    (folder / "layer.yaml").write_text(
        "id: toilets_csv\nsources:\n  - csv: {path: toilets.csv}\nlabel: 名前\npopup: [名称]\n",
        encoding="utf-8",
    )
    res = CliRunner().invoke(main, ["check", str(folder / "layer.yaml")])
    assert res.exit_code == 0  # a warning, as the build gives it
    assert f"{folder / 'layer.yaml'}: label: column '名前' is not in the data" in res.output
    assert "did you mean '名称'?" in res.output


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_a_build_that_cannot_reach_osm_says_how_to_do_without(folder, lang):
    text = KANAZAWA_TOILETS.replace("osm: false\n", "").replace(
        "  - id: public_toilets", "  - toilets\n  - id: public_toilets"
    )
    (folder / "map.yaml").write_text(text, encoding="utf-8")
    res = CliRunner().invoke(main, ["--lang", lang, "build", str(folder / "map.yaml"), "--offline"])
    assert res.exit_code == 1  # a run that failed, not invalid input
    assert "osm: false" in res.output and "toilets" in res.output
    assert "civicmap fetch" in res.output
    assert (
        "need OpenStreetMap data" if lang == "en" else "OpenStreetMap のデータが必要"
    ) in res.output
    assert not (folder / "out").exists()


# --- check = loading the spec + reading the files it names (issue 23) ----------------------


def _with_paper(paper: str) -> str:
    return KANAZAWA_TOILETS.replace(
        "  web: {file: out/map.html}\n", "  web: {file: out/map.html}\n  paper: " + paper + "\n"
    )


@pytest.mark.parametrize(
    ("lang", "hint"),
    [("en", "expected a fraction of a page"), ("ja", "ページに対する割合")],
)
def test_check_reports_a_bad_paper_option_with_its_key(folder, lang, hint):
    res = _check(folder, _with_paper("{file: out/map.pdf, overlap: 2}"), lang=lang)
    assert res.exit_code == 2, res.output
    assert "outputs.paper.overlap" in res.output and hint in res.output


AREAS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"町名": "広坂1丁目"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[136.65, 36.55], [136.67, 36.55], [136.67, 36.57],
                                 [136.65, 36.57], [136.65, 36.55]]],
            },
        }
    ],
}  # fmt: skip


@pytest.mark.parametrize(
    ("atlas", "key", "hint_ja"),
    [
        ("{areas: chome.geojson, name: 町名}", "outputs.paper.atlas.areas", "見つかりません"),
        (
            "{areas: areas.geojson, name: 町丁目}",
            "outputs.paper.atlas.name",
            "フィールドではありません",
        ),
    ],
)
def test_check_reads_the_area_atlas_file_and_says_what_is_wrong_in_japanese(
    folder, atlas, key, hint_ja
):
    (folder / "areas.geojson").write_text(json.dumps(AREAS, ensure_ascii=False), encoding="utf-8")
    good = _check(
        folder, _with_paper("{file: out/map.pdf, atlas: {areas: areas.geojson, name: 町名}}")
    )
    assert good.exit_code == 0, good.output
    res = _check(folder, _with_paper(f"{{file: out/map.pdf, atlas: {atlas}}}"), lang="ja")
    assert res.exit_code == 2, res.output
    assert key in res.output and hint_ja in res.output
    assert "エラー:" in res.output and "Traceback" not in res.output


def test_check_gives_the_survey_act_reminder_for_a_paper_map_on_gsi_tiles(tmp_path):
    (tmp_path / "p.csv").write_text("name,lat,lon\na,35.70,139.70\n", encoding="utf-8")
    (tmp_path / "p.yaml").write_text(
        "id: p\ntitle: {ja: p, en: p}\nsources: [{csv: {path: p.csv}}]\n", encoding="utf-8"
    )
    body = (
        "title: t\narea: {bbox: [139.69, 35.69, 139.71, 35.71]}\nosm: false\n"
        "basemap: {tiles: gsi-pale}\nlayers: [p.yaml]\noutputs:\n"
    )
    (tmp_path / "paper.yaml").write_text(body + "  paper: {file: out/m.pdf}\n", "utf-8")
    (tmp_path / "web.yaml").write_text(body + "  web: {file: out/m.html}\n", "utf-8")
    paper = CliRunner().invoke(main, ["--lang", "ja", "check", str(tmp_path / "paper.yaml")])
    web = CliRunner().invoke(main, ["--lang", "ja", "check", str(tmp_path / "web.yaml")])
    assert paper.exit_code == 0 and web.exit_code == 0, paper.output + web.output
    assert paper.output.count("測量法") == 1  # printed maps from GSI tiles may need approval
    assert "測量法" not in web.output


def test_a_header_of_two_lines_is_named_by_its_lines_not_none():
    """対象とする災害 over 洪水, 地震 …: the header is lines 1–2, with nothing above it.

    The report used to print 「見出し行は 2 行目（その上の行: None）」, a raw Python value.
    """
    data = TESTS / "data" / "opendata" / "names" / "two_row_disaster_header.csv"
    ja = CliRunner().invoke(main, ["--lang", "ja", "check", str(data)])
    en = CliRunner().invoke(main, ["--lang", "en", "check", str(data)])
    assert ja.exit_code == 0 and en.exit_code == 0, ja.output + en.output
    assert "  見出し行は 1〜2 行目（2 行にわたる見出し）" in ja.output.splitlines()
    assert "  header found on lines 1 to 2 (a header of 2 lines)" in en.output.splitlines()
    assert "None" not in ja.output + en.output
