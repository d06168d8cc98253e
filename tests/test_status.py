"""Status and freshness (issue 27): 開設/閉鎖/不明 from the file's words, check times, and a paper
map that fails closed: it leaves off what is closed, unknown or stale and says so."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import civicmap
from civicmap.errors import ConfigError
from civicmap.render.paper import render_paper
from civicmap.render.web import payload
from civicmap.spec.layers import StatusSpec

#: Five shops as a volunteers' sheet holds them (状況 in their own words, Google Forms times).
CSV = """名称,緯度,経度,状況,確認日時
開いている店,35.705,139.705,営業中,7/12/2018 20:00:00
昨日の店,35.706,139.706,営業中,7/10/2018 09:00:00
休みの店,35.707,139.707,休業,7/12/2018 19:00:00
わからない店,35.708,139.708,確認中,7/12/2018 19:30:00
時刻のない店,35.704,139.704,営業中,
"""
#: 2018-07-12 22:00 JST, the build's clock (SOURCE_DATE_EPOCH).
NOW = "1531400400"


def _map(tmp_path: Path, layer_extra: str) -> Path:
    (tmp_path / "shops.csv").write_text(CSV, encoding="utf-8")
    f = tmp_path / "map.yaml"
    f.write_text(
        "title: 紙マップ\narea: {bbox: [139.70, 35.70, 139.71, 35.71]}\nosm: false\n"
        "layers:\n  - id: shops\n    title: 営業中の店\n    sources:\n      - csv: {path: shops.csv}\n"
        + layer_extra,
        encoding="utf-8",
    )
    return f


@pytest.fixture
def shops(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", NOW)
    extra = (
        "    status: {column: 状況}\n    as_of: 確認日時\n"
        "    print_if: {status: [開設], max_age: 24h}\n"
    )
    return civicmap.collect(civicmap.load_map(_map(tmp_path, extra)))


def test_status_words_of_the_file_become_open_closed_unknown():
    st = StatusSpec(column="状況")
    assert [st.of(v) for v in ("営業中", "休業", "確認中", "", None, "営業終了", "○")] == [
        "開設", "閉鎖", "不明", "不明", "不明", "閉鎖", "開設",
    ]  # fmt: skip
    own = StatusSpec(column="x", open=("やってる",), closed=("やってない",))
    assert [own.of(v) for v in ("やってる", "やってない", "営業中")] == ["開設", "閉鎖", "不明"]


def test_each_place_gets_its_status_check_time_and_why_it_is_left_off(shops):
    f = shops.layer("shops").features.set_index("name")
    assert f.loc["開いている店", "status"] == "開設"
    assert f.loc["開いている店", "as_of"] == "2018-07-12T20:00+09:00"
    assert dict(f["print_off"]) == {
        "開いている店": "",
        "昨日の店": "stale",
        "休みの店": "閉鎖",
        "わからない店": "不明",
        "時刻のない店": "no_time",
    }
    assert f.loc["休みの店", "状況"] == "休業"  # the file's own word is kept


def test_paper_prints_only_open_and_fresh_places_and_says_what_it_left_off(shops, tmp_path):
    pdf, plan = render_paper(shops)
    assert [e.name for e in plan.entries] == ["開いている店"]
    (tmp_path / "m.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(tmp_path / "m.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout.replace("\n", "")  # fmt: skip
    assert "開設で24時間以内に確認された場所だけを載せています" in text
    assert "載せなかった場所：閉鎖 1、不明 1、確認が古い 1、確認日時なし 1" in text
    assert "営業中の店 (1)" in text  # the legend counts what is printed
    for name in ("昨日の店", "休みの店", "わからない店", "時刻のない店"):
        assert name not in text


def test_web_shows_every_place_and_greys_the_stale_and_closed_ones(shops):
    layer = payload(shops)["layers"][0]
    greyed = {f["n"] for f in layer["features"] if f.get("g")}
    assert len(layer["features"]) == 5
    assert greyed == {"昨日の店", "休みの店"}


def test_max_age_without_a_check_time_column_is_a_map_error_naming_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"print_if\.max_age.*as_of"):
        civicmap.load_map(_map(tmp_path, "    status: 状況\n    print_if: {max_age: 24h}\n"))
    with pytest.raises(ConfigError, match=r"print_if\.max_age.*1 day"):
        civicmap.load_map(
            _map(
                tmp_path, "    status: 状況\n    as_of: 確認日時\n    print_if: {max_age: 1 day}\n"
            )
        )


def test_a_missing_status_column_leaves_every_place_off_paper(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", NOW)
    extra = "    status: {column: 営業状況}\n    print_if: {status: [開設]}\n"
    data = civicmap.collect(civicmap.load_map(_map(tmp_path, extra)))
    assert set(data.layer("shops").features["print_off"]) == {"不明"}
    _pdf, plan = render_paper(data)
    assert plan.entries == []
