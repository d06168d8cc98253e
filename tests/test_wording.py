"""The map's fixed texts: one glossary per language, complete, checked at load, used by render.

What a reader of the map sees (legend, index headings, notes, route box, disaster and
category names, banners) comes from ``civicmap/wording/<language>.yaml``; render code
writes none of it in place (the AST guard below), and ``check`` lists the drafts.
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from paths import ROOT

from civicmap import wording
from civicmap.diff import Change, Changes
from civicmap.errors import ConfigError
from civicmap.hazards import DISASTER_NAMES, view_line
from civicmap.render.paper.inset import INSET_TEXT
from civicmap.render.paper.left_off import note_lines
from civicmap.render.site import SITE_TEXTS
from civicmap.render.web_hazards import NETWORK_NOTE, VIEW_TEXTS

PACKAGE = ROOT / "civicmap"
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")

#: The Japanese constants of render/ that are no map text, file by file: they match data
#: (regexes, reading rules, column aliases) or are measured, never printed. Only these
#: exact strings pass (a long one written as its start and "…"); a new Japanese text in
#: the same file fails the guard. A text gone from its file must leave this list too.
ALLOWED: dict[str, tuple[str, set[str]]] = {
    "render/paper/texts.py": (
        "禁則 characters and the index's column aliases (電話番号 …)",
        {"ァ", "ヶ", "定員", "電話", "収容人数", "電話番号", "想定収容人数", "」』）］｝〕〉》】〙〗｠»’”、…"},
    ),
    "render/paper/index_keys.py": (
        "reading rules: prefixes (市立 …) and 五十音 rows matched against data, and the "
        "英数字/その他 keys the index turns into glossary words",
        {"あ", "か", "さ", "た", "な", "は", "ま", "や", "ら", "わ", "㐀", "䶿", "一", "区", "営", "市", "村", "町",
         "立", "郡", "鿿", "その他", "英数字", "々〆ヵヶ", "・ー \u3000", "なにぬねの", "まみむめも", "らりるれろ", "ゃやゅゆょよ",
         "ゎわゐゑをん", "民役場内議長章政街", "さざしじすずせぜそぞ", "ぁあぃいぅうぇえぉおゔ", "ただちぢっつづてでとど", "かがきぎくぐけげこごゕゖ",
         "はばぱひびぴふぶぷへべぺほぼぽ", "^(?:[都道府県市区町村国私公…", "^(?:社会福祉法人|学校法人|…", "^[\\u3041-\\u309f\\…",
         "北海道 青森県 岩手県 宮城県 …", "^(.+?[郡市])(.+[市区町村])$"},
    ),
    "render/symbols.py": (
        "designations (避難所, 避難場所) matched against category names",
        {"避難所", "避難場所"},
    ),
    "render/place_names.py": (
        "the kana → Hepburn table, read against the dictionary's readings",
        {"\u3040", "ぁ", "ぃ", "ぅ", "ぇ", "ぉ", "っ", "ゃ", "ゅ", "ょ", "ァ", "ヶ", "ー", "ヿ", "㐀", "第", "鿿",
         "名詞,接尾", "あいうえおかきくけこさしすせそた…", "^[\\u3041-\\u309fー]+$", "^[\\u3041-\\u30ffー]+$"},
    ),
    "render/paper/index.py": (
        "あ: the width of one full-width character, measured, never printed",
        {"あ"},
    ),
    "render/web_filters.py": (
        "regexes that read ages, months and times in the Japanese source data",
        {"翌", "就学前", "未就学", "就学まで", "小学校入学前", "(\\d+)\\s*歳", "[〜~～\\-－ー―]|から",
         "(\\d+)\\s*(?:週|日)", "(\\d{1,2})\\s*(?::…", "(\\d+)\\s*[かヶケカヵ箇个]?\\s*月"},
    ),
    "hazards.py": (
        "the depth text (以上/未満) read from 国土数値情報 attributes, the hazard classes' "
        "Japanese sources looked up in hazard_class.*, and the credit's source key (never printed)",
        {"未満", "20 m以上", "0.5 m未満", "国土数値情報 ", "土砂災害警戒区域", "土砂災害特別警戒区域",
         "(\\d+(?:\\.\\d+)?)\\s*m\\s*(以上|未満)?"},
    ),
    "hazard_tiles.py": (
        "the portal's terms as recorded (TERMS, documented in docs/reference.md, never printed) "
        "and the landslide classes' Japanese sources looked up in hazard_class.*",
        {"国土交通省ウェブサイトの利用規約（https://www.mlit.go.jp/link.html）に従い申請不要",
         "出典：ハザードマップポータルサイト（加工したときは「…を加工して作成」）",
         "土砂災害警戒区域", "土砂災害特別警戒区域"},
    ),
    "area.py": (
        "市 and 区: the endings of N03's city and ward names, matched against the data",
        {"市", "区"},
    ),
}  # fmt: skip
#: Modules outside render/ whose texts reach the map, guarded as render/ is.
MAP_TEXT_MODULES = ("hazards.py", "hazard_tiles.py", "area.py")
#: Punctuation allowed anywhere: the list bullet and separator.
PUNCTUATION = {"・"}


@pytest.mark.parametrize("language", wording.LANGUAGES)
def test_every_glossary_loads_complete(language):
    # loading checks: every key of ja.yaml, placeholders of the source only, ja-easy readings
    glossary = wording.glossary(language)
    assert set(glossary.entries) == set(wording.glossary("ja").entries)
    for entry in glossary.entries.values():
        assert entry.text.strip(), entry.key
        assert entry.source == wording.glossary("ja").entries[entry.key].text


def test_translations_are_not_the_japanese_source():
    # a copy of ja.yaml renamed to vi.yaml would pass the key check: the words must differ
    ja = wording.words("ja")
    for language in ("en", "zh-Hans", "ko", "vi", "pt", "tl", "ne"):
        words = wording.words(language)
        kana = [k for k, v in words.items() if re.search(r"[\u3040-\u30ff]", v)]
        assert not kana, (language, kana[:5])  # no Japanese kana left in a translation
        same = [k for k in ja if words[k] == ja[k] and JAPANESE.search(ja[k])]
        assert not same or language.startswith("zh"), (language, same[:5])


def test_ja_easy_has_a_reading_on_every_kanji():
    easy = wording.glossary("ja-easy")
    assert "在留支援のためのやさしい日本語ガイドライン" in easy.guide
    for entry in easy.entries.values():
        assert not wording.bare_kanji(entry.text), entry.key
    pieces = wording.ruby(wording.marked("ja-easy", "paper.routes"))
    assert pieces == [("避難所", "ひなんじょ"), ("までの", ""), ("道", "みち")]
    assert wording.text("ja-easy", "paper.routes") == "避難所までの道"


def _broken_folder(tmp_path: Path, monkeypatch, edit) -> None:
    for f in wording.FOLDER.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    path = tmp_path / "vi.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(raw["entries"])
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(wording, "FOLDER", tmp_path)
    for fn in (wording.glossary, wording.section, wording._all):
        fn.cache_clear()


@pytest.fixture
def fresh_cache():
    yield
    for fn in (wording.glossary, wording.section, wording._all):
        fn.cache_clear()


def test_a_missing_key_and_a_foreign_placeholder_are_reported_with_the_file(
    tmp_path, monkeypatch, fresh_cache
):
    def edit(entries):
        del entries["paper.legend"]
        entries["paper.route_walk"]["text"] = "đi bộ {m} m, {phut} phút"

    _broken_folder(tmp_path, monkeypatch, edit)
    with pytest.raises(ConfigError) as err:
        wording.glossary("vi")
    text = str(err.value)
    assert "vi.yaml" in text
    assert "entries.paper.legend" in text
    assert "entries.paper.route_walk" in text and "phut" in text


def test_a_kanji_without_reading_in_ja_easy_is_reported(tmp_path, monkeypatch, fresh_cache):
    for f in wording.FOLDER.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    path = tmp_path / "ja-easy.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "記号《きごう》の意味《いみ》", "記号の意味《いみ》", 1
        ),
        encoding="utf-8",
    )
    monkeypatch.setattr(wording, "FOLDER", tmp_path)
    wording.glossary.cache_clear()
    with pytest.raises(ConfigError, match="記号"):
        wording.glossary("ja-easy")


def test_renderer_tables_read_the_glossaries():
    from civicmap.render.paper.texts import STRIP, TEXT
    from civicmap.render.web import TEXTS

    assert TEXT["vi"]["legend"] == "Chú giải"
    assert TEXT["ja"]["legend"] == "凡例"
    assert TEXTS["ko"]["search"] == "이름·주소로 검색"
    assert STRIP["ne"][0] == "बाढी"
    # a language without a glossary reads Japanese, never fails the map
    assert TEXT["xx"]["legend"] == "凡例"


def _docstrings(tree: ast.AST) -> set[int]:
    return {
        id(n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)
    }


def _japanese_constants(path: Path) -> list[tuple[int, str]]:
    """(line, text) of the Japanese string constants of one module, outside docstrings and
    gettext calls."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    for node in ast.walk(tree):  # the console's messages go through gettext: not map text
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("_", "N_"):
            skip |= {id(n) for n in ast.walk(node)}
    return [
        (n.lineno, n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant)
        and isinstance(n.value, str)
        and id(n) not in skip
        and JAPANESE.search(n.value)
        and n.value not in PUNCTUATION
    ]


def _allowed(text: str, allowed: set[str]) -> str | None:
    """The entry of ``allowed`` that lets ``text`` stay (exact, or a start ending in "…")."""
    for entry in allowed:
        if text == entry or (entry.endswith("…") and text.startswith(entry[:-1])):
            return entry
    return None


def _in_place_japanese(
    path: Path, root: Path = PACKAGE, allowed: set[str] = frozenset()
) -> list[str]:
    """Japanese string constants of one module not in ``allowed``, one line each."""
    return [
        f"{path.relative_to(root)}:{line}: {text[:40]!r}"
        for line, text in _japanese_constants(path)
        if _allowed(text, allowed) is None
    ]


def test_no_map_text_is_written_in_place_in_render_code():
    found = []
    guarded = sorted((PACKAGE / "render").rglob("*.py")) + [PACKAGE / m for m in MAP_TEXT_MODULES]
    for path in guarded:
        _why, allowed = ALLOWED.get(str(path.relative_to(PACKAGE)), ("", set()))
        found += _in_place_japanese(path, allowed=allowed)
    assert not found, (
        "map texts written in render code; add them to civicmap/wording/*.yaml and look them "
        f"up: {found}"
    )


def test_the_guard_sees_a_text_written_in_place(tmp_path):
    bad = tmp_path / "probe.py"
    bad.write_text('"""Doc 凡例."""\nLEGEND = {"ja": "凡例"}\nMSG = _("避難所")\n', "utf-8")
    assert _in_place_japanese(bad, tmp_path) == ["probe.py:2: '凡例'"]


def test_an_allowed_file_lets_only_its_listed_texts_stay(tmp_path):
    # a new map text in a file with data-matching constants still fails the guard
    bad = tmp_path / "probe.py"
    bad.write_text('SITE = ("避難場所", "避難所")\nLEGEND = "凡例"\n', "utf-8")
    _why, allowed = ALLOWED["render/symbols.py"]
    assert _in_place_japanese(bad, tmp_path, allowed) == ["probe.py:2: '凡例'"]


def test_every_allowed_text_is_still_in_its_file():
    # the list only shrinks: an allowance whose text is gone would let a new one in
    for rel, (_why, allowed) in ALLOWED.items():
        used = {_allowed(text, allowed) for _line, text in _japanese_constants(PACKAGE / rel)}
        assert allowed <= used, (rel, sorted(allowed - used))


def test_check_lists_the_drafts_of_the_maps_languages(tmp_path):
    from civicmap.check import check_map

    demo = ROOT / "civicmap" / "data" / "demo"
    for f in demo.iterdir():
        shutil.copy(f, tmp_path / f.name)
    text = (tmp_path / "demo.yaml").read_text(encoding="utf-8")
    (tmp_path / "demo.yaml").write_text(
        text.replace("language: ja", "language: [ja, vi]"), encoding="utf-8"
    )
    report = check_map(tmp_path / "demo.yaml")
    assert list(report["drafts"]) == ["vi"]  # ja is the source: nothing to review
    assert "paper.legend" in report["drafts"]["vi"]
    warning = next(w for w in report["warnings"] if w["key"] == "language")
    assert "vi" in warning["message"] and "vi.yaml" in warning["message"]


@pytest.mark.parametrize("language", wording.LANGUAGES)
def test_site_inset_left_off_view_and_change_texts_read_every_language(language):
    # these tables held only ja and en: a vi/ne site or disaster view stopped on a KeyError,
    # and the left-off and change lines fell back to Japanese
    w = wording.words(language)
    assert SITE_TEXTS[language]["close"] == w["site.close"]
    assert VIEW_TEXTS[language]["all"] == w["web.view_all"]
    assert NETWORK_NOTE[language] == w["web.network_note"]
    assert DISASTER_NAMES[language]["flood"] in view_line("flood", language)
    assert INSET_TEXT[language]["title"].format(label="A").endswith("A")
    rule = type("Rule", (), {"status": ("開設",), "max_age_hours": 24.0})
    layer = type("Layer", (), {})()
    layer.spec = type("Spec", (), {"print_if": rule})
    layer.features = pd.DataFrame({"print_off": ["閉鎖", "", "stale", "閉鎖"]})
    (line,) = note_lines([layer], language)
    assert w["status.open"] in line and f"{w['left.closed']} 2" in line
    assert w["left.hours"].format(n=24) in line
    summary = Changes((Change("closed", "避難所", "A"),), since="2026-07-12T20:00").summary(
        language
    )
    assert summary.endswith(f"{w['change.closed']} 1") and "7/12 20:00" in summary
    if language not in wording.JAPANESE:
        assert not re.search(r"[\u3040-\u30ff]", line + summary + SITE_TEXTS[language]["stale"])
