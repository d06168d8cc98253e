"""Japanese where volunteers read it: per-row reasons, network failures, map-file safety, batches.

Each test runs the same thing in Japanese (``--lang ja``) and checks the user-facing words;
where the English run is cheap it runs too, to show the machine columns (kind, row) stay the
same whatever the language.
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from paths import TESTS

from civicmap import i18n, settings
from civicmap.cli import main

DATA = TESTS / "data"
HIEZU = DATA / "boundaries" / "chome_hiezu" / "hiezu_chome.shp"
ISHIKAWA_CSV = DATA / "shelters" / "ishikawa" / "170003_evacuation_space.csv"

# A hand-made list with one of each habit (row numbers count data rows from 1):
#   1 good, 2 緯度/経度 swapped, 3 in Japan but outside the map's bbox, 4 no coordinates and
#   no address, 5 an unreadable 緯度, 6 the same park as row 1 again 10 m away,
#   7 full-width digits, 8 a point near the equator (outside Japan).
PLACES = """名称,住所,緯度,経度
戸山公園,新宿区戸山,35.7040,139.7130
入れ替え保育園,新宿区西早稲田,139.7100,35.7080
遠い避難所,沖縄県那覇市,26.2124,127.6809
座標なし児童館,,,
読めない公園,新宿区大久保,abc,139.7000
戸山公園,新宿区戸山,35.7041,139.7131
全角の広場,新宿区高田馬場,３５．７１００,１３９．７０５０
赤道の点,,3.5,139.7
"""

# (kind, row) → words the Japanese reason must hold
EXPECTED_JA = {
    ("repaired", "2"): "緯度と経度が入れ替わっていました",
    ("removed", "places.csv:3"): "地図の範囲外: 遠い避難所",
    ("rejected", "4"): "座標がありません",
    ("rejected", "5"): "'abc' は数値ではありません",
    ("removed", "places.csv:6"): "places.csv:1 と重複（戸山公園）",
    ("repaired", "7"): "全角文字を半角にしました",
    ("rejected", "8"): "日本の外です",
}


@pytest.fixture
def csv_map(tmp_path) -> Path:
    (tmp_path / "places.csv").write_text(PLACES, encoding="utf-8")
    (tmp_path / "places.yaml").write_text(
        "id: places\ntitle: {ja: 場所, en: Places}\nsources:\n  - csv: {path: places.csv}\n"
        'style: {color: "#d6336c", symbol: circle}\n',
        encoding="utf-8",
    )
    (tmp_path / "map.yaml").write_text(
        "title: テスト地図\narea: {bbox: [139.69, 35.69, 139.72, 35.72]}\nosm: false\n"
        "basemap: {draw: false}\nlayers: [places.yaml]\n"
        "outputs:\n  geojson: {file: out/map.geojson}\n",
        encoding="utf-8",
    )
    return tmp_path / "map.yaml"


def _report(path: Path) -> dict[tuple[str, str], str]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return {(r["kind"], r["row"]): r["reason"] for r in csv.DictReader(fh)}


def test_a_csv_with_bad_rows_gets_its_reasons_in_japanese(csv_map):
    ja = CliRunner().invoke(
        main, ["--lang", "ja", "build", str(csv_map), "--report", str(csv_map.parent / "ja.csv")]
    )
    assert ja.exit_code == 0, ja.output
    assert "品質レポート" in ja.output and "除外 3、修正 2" in ja.output
    reasons = _report(csv_map.parent / "ja.csv")
    assert set(reasons) == set(EXPECTED_JA)
    for key, words in EXPECTED_JA.items():
        assert words in reasons[key], (key, reasons[key])
    # English run: the same rows and kinds (the machine columns), English words
    en = CliRunner().invoke(
        main,
        ["--lang", "en", "build", str(csv_map), "--overwrite",
         "--report", str(csv_map.parent / "en.csv")],
    )  # fmt: skip
    assert en.exit_code == 0, en.output
    english = _report(csv_map.parent / "en.csv")
    assert set(english) == set(reasons)
    assert "latitude and longitude swapped" in english[("repaired", "2")]
    assert english[("removed", "places.csv:6")] == "duplicate of places.csv:1 (戸山公園)"
    assert "quality report" in en.output and "clipped 1" in en.output


def test_check_prints_the_japanese_reasons_on_the_console(csv_map):
    res = CliRunner().invoke(main, ["--lang", "ja", "check", str(csv_map.parent / "places.csv")])
    assert res.exit_code == 0, res.output
    assert (
        "2 行目: 緯度と経度が入れ替わっていました（緯度='139.7100', 経度='35.7080'）" in res.output
    )
    assert "5 行目: 列 緯度 の座標を読めません: 'abc' は数値ではありません" in res.output
    assert "8 行目: 緯度='3.5', 経度='139.7': 日本の外です" in res.output
    assert "swapped" not in res.output and "outside Japan" not in res.output


def _overpass_map(folder: Path, url: str) -> Path:
    path = folder / "osm.yaml"
    path.write_text(
        json.dumps(
            {
                "title": "西早稲田",
                "area": {"bbox": [139.7050, 35.7030, 139.7150, 35.7100]},
                "osm": {"overpass": True, "overpass_url": url},
                "layers": ["childcare"],
                "basemap": {"draw": False},
                "outputs": {"geojson": {"file": "out/map.geojson"}},
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return path


def test_an_overpass_that_keeps_failing_is_explained_in_japanese(
    tmp_path, overpass_server, monkeypatch
):
    monkeypatch.setattr(settings, "overpass_check_status", False)
    overpass_server.script.extend([504] * (settings.max_retries + 1))
    res = CliRunner().invoke(
        main, ["--lang", "ja", "build", str(_overpass_map(tmp_path, overpass_server.url))]
    )
    assert res.exit_code == 1, res.output
    assert len(overpass_server.interpreter_requests()) == settings.max_retries + 1
    line = res.output.strip().splitlines()[-1]
    assert line.startswith("エラー: POST " + overpass_server.url)
    assert f"{settings.max_retries + 1} 回失敗しました（最後: HTTP 504" in line
    assert "時間をおいて試すか" in line and "civicmap fetch" in line
    assert "Traceback" not in res.output and "failed" not in line
    assert not (tmp_path / "out" / "map.geojson").exists()


def test_offline_without_the_answer_says_what_to_do_in_japanese(tmp_path, overpass_server):
    res = CliRunner().invoke(
        main,
        ["--lang", "ja", "build", str(_overpass_map(tmp_path, overpass_server.url)), "--offline"],
    )
    assert res.exit_code == 1, res.output
    assert overpass_server.interpreter_requests() == []
    line = res.output.strip().splitlines()[-1]
    assert line.startswith("エラー: オフラインモード: Overpass の応答")
    assert "キャッシュ" in line and "`civicmap fetch MAP.yaml`" in line
    assert settings.offline is False  # --offline was passed down, not left in the settings


def test_a_yaml_alias_bomb_is_refused_in_japanese(tmp_path):
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(["title: bomb", *lines, "area: *a9", ""]), encoding="utf-8")
    res = CliRunner().invoke(main, ["--lang", "ja", "check", str(bomb)])
    assert res.exit_code == 2, res.output
    assert str(bomb) in res.output and "billion laughs" in res.output
    assert (
        "爆弾とみなして読み込みません" in res.output
        and "別名の使用を減らしてください" in res.output
    )
    loop = tmp_path / "loop.yaml"
    loop.write_text("title: &t [*t]\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["--lang", "ja", "check", str(loop)])
    assert res.exit_code == 2 and "自分を含む値を指していて" in res.output, res.output
    tagged = tmp_path / "tagged.yaml"
    tagged.write_text("title: !!python/object/apply:os.system ['echo pwned']\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["--lang", "ja", "check", str(tagged)])
    assert res.exit_code == 2, res.output
    assert (
        "1 行目 8 文字目: YAML のタグ（!!python/object/apply:os.system）は使えません" in res.output
    )
    assert "タグを消してください" in res.output and "constructor" not in res.output


def test_a_batch_worker_speaks_the_callers_language(tmp_path):
    """Dask workers are new processes (English); each area's task carries the language."""
    from civicmap.batch import batch

    shutil.copy(ISHIKAWA_CSV, tmp_path / "basho.csv")
    (tmp_path / "basho.yaml").write_text(
        "id: basho\ntitle: {ja: 指定緊急避難場所, en: Evacuation sites}\n"
        "sources:\n  - csv: {path: basho.csv}\n",
        encoding="utf-8",
    )
    (tmp_path / "map.yaml").write_text(
        "title: 避難場所マップ\narea: {bbox: [133.36, 35.42, 133.40, 35.46]}\nosm: false\n"
        "basemap: {draw: false}\nlayers: [basho.yaml]\n"
        "outputs:\n  geojson: {file: out/map.geojson}\n",
        encoding="utf-8",
    )
    # 石川県's sites in a 日吉津村 (鳥取県) district: the worker warns that the area is empty
    with i18n.use_language("ja"):
        result = batch(
            tmp_path / "map.yaml", each=str(HIEZU), name_field="MOJI", where="MOJI=富吉",
            out_dir=tmp_path / "out", workers=1,
        )  # fmt: skip
    (row,) = result.rows
    assert row["status"] == "ok" and row["places"] == {"basho": 0}
    assert row["warnings"] == ["この地区にはどのレイヤーの場所もありません"]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert "この地区にはどのレイヤーの場所もありません" in json.dumps(manifest, ensure_ascii=False)
    assert i18n.current_language() == "en"


def test_the_unreadable_sheet_warning_and_its_advice_are_japanese(caplog):
    """The measures of 富山市's 159 nurseries on one A4 sheet (tests/test_paper_readability.py)."""
    from types import SimpleNamespace

    from civicmap.render.paper.readability import Readability, warn_if_unreadable

    plan = SimpleNamespace(scale=350_000, atlas_areas=[])
    measures = Readability(numbers=159, far=97, overlapping=4, peak_density=31, smallest_text_pt=5)
    with i18n.use_language("ja"), caplog.at_level(logging.WARNING):
        warn_if_unreadable(plan, measures, file="toyama.yaml", atlas=False)
    (message,) = [r.getMessage() for r in caplog.records]
    assert message.startswith("toyama.yaml: 1:350,000 の紙の地図が読みにくくなっています")
    assert "番号 159 個のうち 97 個が印から 15 mm 以上離れ" in message
    assert "fit: data（地点のある所に寄せる）、または atlas: {areas: ファイル" in message
    assert "範囲を小さくするかレイヤーを減らす" in message
    assert "hard to read" not in message and " or " not in message
