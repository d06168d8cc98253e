"""The filter data in the page (issue 26), read as text: what the build puts there, per place.

The page's script only compares numbers the build computed, so these tests read the
payload out of the HTML (and the site's data.json) and hold each value against the 富山
nursery CSV read with csv, independently of civicmap: the nurseries that take a baby, that
have 一時保育, their 定員. The browser tests (tests/browser/test_filters_phone.py) check what
the viewer then sees.
"""

from __future__ import annotations

import csv
import json
import re

import pytest
import yaml
from filter_maps import (
    CHILDCARE,
    has_temporary_care,
    suzu_features,
    suzu_shelter_map,
    takes_a_baby,
    toyama_filter_map,
    toyama_rows,
)
from paths import DATA

from civicmap.pipeline import build, collect
from civicmap.render import assets
from civicmap.render.web import render_html
from civicmap.render.web_filters import (
    age_of,
    age_range,
    age_range_text,
    flag_of,
    minutes_of,
    number_of,
)
from civicmap.spec.mapfile import load_map

pytestmark = pytest.mark.skipif(
    bool(assets.missing()), reason="run `python -m civicmap.render.assets install` first"
)

_DATA = re.compile(r'<script type="application/json" id="civicmap-data">(.*?)</script>', re.S)


def page_payload(page: str) -> dict:
    return json.loads(_DATA.search(page).group(1))


@pytest.fixture(scope="module")
def toyama(tmp_path_factory):
    """The 富山 page as text and its payload."""
    folder = tmp_path_factory.mktemp("toyama_filters")
    page = render_html(collect(load_map(toyama_filter_map(folder))))
    return page, page_payload(page)


def _filters(payload: dict) -> dict[str, dict]:
    return {f["title"]: f for f in payload["layers"][0]["filters"]}


def test_each_nursery_carries_its_ages_temporary_care_and_capacity(toyama):
    _page, payload = toyama
    layer = payload["layers"][0]
    rows = {r["Name"]: r for r in toyama_rows()}
    filters = _filters(payload)
    ages, temp, capacity = filters["受入年齢"], filters["一時保育"], filters["定員"]
    assert ages["ages"] == [0, 1, 2, 3, 4, 5]
    assert len(layer["features"]) == len(rows) == 159
    for f in layer["features"]:
        row = rows[f["n"]]
        mask = ages["v"][f["i"]]
        assert (mask is not None and bool(mask & 1)) == takes_a_baby(row), row["AgeS"]
        assert temp["v"][f["i"]] == int(has_temporary_care(row)), row["Temp"]
        full = row["Full"].strip()
        assert capacity["v"][f["i"]] == (int(full) if full else None)
    # the whole city: 115 nurseries take a baby, 71 have 一時保育, 67 both
    babies = [f for f in layer["features"] if (ages["v"][f["i"]] or 0) & 1]
    assert len(babies) == sum(takes_a_baby(r) for r in rows.values()) == 115
    assert sum(temp["v"]) == 71
    assert capacity["range"] == [
        min(int(r["Full"]) for r in rows.values() if r["Full"]),
        max(int(r["Full"]) for r in rows.values() if r["Full"]),
    ]


def test_only_filters_the_data_can_answer_are_on_the_page(toyama):
    _page, payload = toyama
    rows = toyama_rows()
    filled = {c for c in rows[0] if any(r[c].strip() for r in rows)}
    titles = list(_filters(payload))
    # declared order; 延長保育 (Extra), 夜間保育 (Night), 24時間保育 (H24) … are empty in this CSV
    assert titles == ["種別", "受入年齢", "一時保育", "休日保育", "定員", "開所時刻", "閉所時刻"]
    assert {"Extra", "Night", "H24"}.isdisjoint(filled)
    assert {"Temp", "Holiday", "Full", "Open", "Close"} <= filled


def test_closing_times_are_offered_as_the_list_says_them(toyama):
    _page, payload = toyama
    close = _filters(payload)["閉所時刻"]
    labels = [label for _minutes, label in close["options"]]
    assert "19:00" in labels and "20:30" in labels
    assert "26:00" in labels  # 26:00:00 in the CSV: past midnight, as the list says it
    assert "27:00" in labels  # 翌3:00
    assert [m for m, _ in close["options"]] == sorted(m for m, _ in close["options"])


def test_the_filter_script_runs_after_the_map_script_and_the_page_has_its_words(toyama):
    page, payload = toyama
    assert page.index("civicmap.use(function") > page.index("var civicmap = (function")
    assert payload["texts"]["filter"] == "絞り込み"
    assert payload["texts"]["count_filtered"] == "{n}件（全{total}件）"


def test_an_english_map_titles_its_filters_in_english(tmp_path):
    page = render_html(collect(load_map(toyama_filter_map(tmp_path, language="en"))))
    payload = page_payload(page)
    titles = list(_filters(payload))
    assert titles[:4] == ["Category", "Ages accepted", "Occasional care", "Holiday care"]
    assert payload["texts"]["filter_age"] == "age {n}"


def test_a_municipal_list_with_japanese_columns_gets_the_same_filters(tmp_path):
    """港区's list: 入園可能月齢 (57日, 3か月, 57日～2歳), 延長保育 (20:15まで), 標準時間終了時間."""
    minato = DATA / "childcare/minato/minato_hoikuen.csv"
    with minato.open(encoding="utf-8", newline="") as fh:
        rows = {r["保育園名"]: r for r in csv.DictReader(fh) if r["緯度"].strip()}
    raw = {"title": "港区", "area": {"bbox": [139.70, 35.62, 139.79, 35.68]}, "osm": False,
           "layers": [{"use": str(CHILDCARE), "extra_sources": [{"csv": {"path": str(minato)}}]}]}  # fmt: skip
    (tmp_path / "minato.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    layer = page_payload(render_html(collect(load_map(tmp_path / "minato.yaml"))))["layers"][0]
    filters = {f["title"]: f for f in layer["filters"]}
    assert list(filters) == ["種別", "受入年齢", "延長保育", "開所時刻", "閉所時刻"]
    assert len(layer["features"]) == len(rows)
    for f in layer["features"]:
        row = rows[f["n"]]
        first = row["入園可能月齢"]
        baby = bool(re.match(r"(\d+日|[1-9]か月|1[01]か月)", first))
        assert bool((filters["受入年齢"]["v"][f["i"]] or 0) & 1) == baby, first
        assert filters["延長保育"]["v"][f["i"]] == int(bool(row["延長保育"].strip())), row[
            "延長保育"
        ]
        closes = row["標準時間終了時間"]
        if re.fullmatch(r"\d+:\d\d", closes):
            hours, minutes = closes.split(":")
            assert filters["閉所時刻"]["v"][f["i"]] == int(hours) * 60 + int(minutes)


def test_shelters_carry_the_disasters_they_serve(tmp_path):
    payload = page_payload(render_html(collect(load_map(suzu_shelter_map(tmp_path)))))
    layer = payload["layers"][0]
    (disasters,) = [f for f in layer["filters"] if f["kind"] == "disasters"]
    keys = [k for k, _title in disasters["options"]]
    titles = dict(disasters["options"])
    assert titles["flood"] == "洪水" and titles["tsunami"] == "津波"
    flood = keys.index("flood")
    served = sum(1 for f in layer["features"] if disasters["v"][f["i"]] & (1 << flood))
    assert served == sum(1 for f in suzu_features() if f["properties"]["洪水"] == "1") == 12


def test_hostile_titles_and_cells_stay_data(tmp_path):
    """A filter title or cell that is markup reaches the page as JSON text, never as code."""
    csv_path = tmp_path / "hoiku.csv"
    csv_path.write_text(
        "名称,緯度,経度,一時保育\n"
        'あおぞら保育園,36.70,137.21,"</script><script>window.__pwned=1</script>あり"\n'
        "そら保育園,36.71,137.22,\n",
        encoding="utf-8",
    )
    hostile = "</script><img src=x onerror=alert(1)>"
    layer = {"id": "hoiku", "sources": [{"csv": {"path": str(csv_path)}}],
             "filters": [{"kind": "flag", "title": hostile, "columns": ["一時保育"]}]}  # fmt: skip
    (tmp_path / "hoiku.yaml").write_text(yaml.safe_dump(layer, allow_unicode=True), "utf-8")
    raw = {"title": "t", "area": {"bbox": [137.2, 36.69, 137.23, 36.72]}, "osm": False,
           "layers": [str(tmp_path / "hoiku.yaml")]}  # fmt: skip
    (tmp_path / "map.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    page = render_html(collect(load_map(tmp_path / "map.yaml")))
    assert "<script>window.__pwned" not in page and "<img src=x" not in page
    (flag,) = page_payload(page)["layers"][0]["filters"]
    assert flag["title"] == hostile
    assert sorted(flag["v"]) == [0, 1]  # the markup-laden cell still says あり


def test_the_site_carries_the_filter_script_and_the_same_filter_data(tmp_path):
    site = tmp_path / "site"
    path = toyama_filter_map(
        tmp_path, outputs={"site": {"folder": str(site)}, "web": {"file": str(tmp_path / "t.html")}}
    )
    build(load_map(path), offline=True)
    index = (site / "index.html").read_text(encoding="utf-8")
    assert index.index('src="assets/civicmap.js"') < index.index('src="assets/civicmap-filters.js"')
    assert (site / "assets/civicmap-filters.js").is_file()
    assert "assets/civicmap-filters.js" in (site / "sw.js").read_text(encoding="utf-8")
    data = json.loads((site / "data.json").read_text(encoding="utf-8"))
    page = page_payload((tmp_path / "t.html").read_text(encoding="utf-8"))
    assert data["layers"][0]["filters"] == page["layers"][0]["filters"]
    assert [f["title"] for f in data["layers"][0]["filters"]][:3] == [
        "種別",
        "受入年齢",
        "一時保育",
    ]


@pytest.mark.parametrize(
    ("first", "last", "ages"),
    [
        ("生後8週", "", (0, 5)),  # 富山: an empty last age is 就学前
        ("生後12か月", "就学前", (1, 5)),
        ("0歳（3ヶ月）", "2歳", (0, 2)),
        ("1歳児", "5歳児", (1, 5)),
        ("３歳児", "就学前", (3, 5)),
        ("3", "就学前", (3, 5)),
        ("57日", "就学前まで", (0, 5)),  # 新宿区
        ("1歳クラス", "2歳クラスまで", (1, 2)),
        ("月極・定期契約：0歳（6ヶ月）<BR> 一時預かり：1歳", "月極・定期契約：6歳<BR>", (0, 6)),
        ("離乳食完了後", "就学前まで", None),
        ("", "就学前", None),
    ],
)
def test_ages_are_read_as_the_lists_write_them(first, last, ages):
    assert age_range(first, last) == ages


def test_one_age_column_is_split_at_its_dash():
    assert age_range_text("57日～2歳") == (0, 2)  # 港区 入園可能月齢
    assert age_range_text("おおむね1歳～5歳") == (1, 5)
    assert age_range_text("3か月") == (0, 5)  # the first age alone: up to 就学前
    assert age_range_text("") is None
    assert age_of("生後6か月", last=False) == 0


def test_numbers_times_and_flags_as_lists_write_them():
    assert (
        number_of("約100人") == 100 and number_of("1,200") == 1200 and number_of("若干名") is None
    )
    assert minutes_of("7:30") == 450 and minutes_of("19時") == 1140
    assert minutes_of("26:00:00") == 1560 and minutes_of("翌3:00") == 1620
    assert minutes_of("") is None
    assert [flag_of(v) for v in ("Y", "○", "有", "20:15まで", "一時保育あり")] == [1] * 5
    assert [flag_of(v) for v in ("", "N", "無", "なし", "×", "0")] == [0] * 6
