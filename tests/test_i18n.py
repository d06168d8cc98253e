"""Messages in Japanese and English: complete catalogs, fresh .mo files, the language a user gets."""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from click.testing import CliRunner

import civicmap
from civicmap import i18n
from civicmap.cli import main

PACKAGE = Path(civicmap.__file__).parent
LOCALE = PACKAGE / "locale"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def _catalog(lang: str):
    with open(LOCALE / lang / "LC_MESSAGES" / "civicmap.po", "rb") as fh:
        return read_po(fh, locale=lang)


@pytest.fixture(scope="module")
def msgids() -> set:
    """Every message marked in the package source, extracted afresh with Babel."""
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(PACKAGE), method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def test_the_source_marks_messages(msgids):
    # the test below is only as good as the extraction: it must see the CLI and the validators
    assert "Error: %(message)s" in msgids
    assert any("did you mean" in m for m in msgids if isinstance(m, str))
    assert len(msgids) > 80


def test_every_message_has_a_japanese_translation(msgids):
    ja = _catalog("ja")
    missing = []
    for mid in msgids:
        key = mid if isinstance(mid, str) else mid[0]
        entry = ja.get(key)
        if entry is None or entry.fuzzy:
            missing.append(mid)
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if not all(strings):
            missing.append(mid)
    assert not missing, (
        "messages without a Japanese translation (run `make messages`, translate them in "
        f"civicmap/locale/ja/LC_MESSAGES/civicmap.po, run `make messages` again): {sorted(map(str, missing))}"
    )


def test_translations_keep_every_placeholder():
    """A translation that drops or renames %(name)s would crash or lose data at run time."""
    field = re.compile(r"%\((\w+)\)")
    catalog = _catalog("ja")
    # Babel's own checks: python-format placeholders of compatible types, plural forms
    assert [(m.id, errs) for m, errs in catalog.check() if errs] == []
    for entry in catalog:
        if not entry.id or not entry.string:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        want = set(field.findall(ids[-1]))
        for s in strings:
            assert set(field.findall(s)) == want, (entry.id, s)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_compiled_catalogs_are_not_stale(lang):
    po = _catalog(lang)
    buf = io.BytesIO()
    write_mo(buf, po)
    mo = LOCALE / lang / "LC_MESSAGES" / "civicmap.mo"
    assert mo.read_bytes() == buf.getvalue(), f"{mo} is older than its .po: run `make messages`"


@pytest.mark.parametrize(
    ("cli", "env", "expected"),
    [
        ("en", {"CIVICMAP_LANG": "ja", "LANG": "ja_JP.UTF-8"}, "en"),
        (None, {"CIVICMAP_LANG": "en", "LANG": "ja_JP.UTF-8"}, "en"),
        (None, {"LANG": "en_US.UTF-8"}, "en"),
        (None, {"LC_ALL": "ja_JP.UTF-8", "LANG": "en_US.UTF-8"}, "ja"),
        (None, {"LANGUAGE": "en:ja", "LANG": "ja_JP.UTF-8"}, "en"),
        (None, {"LANG": "C.UTF-8"}, "ja"),
        (None, {"LANG": "de_DE.UTF-8"}, "ja"),
        (None, {}, "ja"),
    ],
)
def test_cli_language_order(cli, env, expected):
    assert i18n.pick_language(cli, environ=env) == expected


BROKEN = "title: 壊れた地図\narea: {bbox: [139.71, 35.70, 139.70, 35.71]}\nlayers: [toilet]\n"


def test_the_cli_speaks_japanese_by_default_and_english_when_asked(tmp_path, monkeypatch):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BROKEN, encoding="utf-8")
    monkeypatch.delenv("CIVICMAP_LANG")
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LANGUAGE", raising=False)
    ja = CliRunner().invoke(main, ["check", str(bad)])
    assert ja.exit_code == 2
    assert "エラー:" in ja.output and "件の問題が見つかりました" in ja.output
    assert "'toilets' のことですか" in ja.output and str(bad) in ja.output
    en = CliRunner().invoke(main, ["--lang", "en", "check", str(bad)])
    assert en.exit_code == 2
    assert "Error:" in en.output and "did you mean 'toilets'?" in en.output
    monkeypatch.setenv("CIVICMAP_LANG", "en")
    assert "did you mean 'toilets'?" in CliRunner().invoke(main, ["check", str(bad)]).output


def test_the_library_stays_english_after_a_japanese_cli_run(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BROKEN, encoding="utf-8")
    assert "エラー" in CliRunner().invoke(main, ["--lang", "ja", "check", str(bad)]).output
    assert i18n.current_language() == "en"
    with pytest.raises(civicmap.CivicMapError, match="did you mean 'toilets'"):
        civicmap.load_map(bad)


def test_a_map_language_does_not_switch_the_cli(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BROKEN.replace("title:", "language: en\ntitle:"), encoding="utf-8")
    out = CliRunner().invoke(main, ["--lang", "ja", "check", str(bad)]).output
    assert "'toilets' のことですか" in out


def test_python_callers_can_ask_for_japanese(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BROKEN, encoding="utf-8")
    with i18n.use_language("ja"), pytest.raises(civicmap.CivicMapError) as err:
        civicmap.load_map(bad)
    assert "'toilets' のことですか" in str(err.value)
    assert i18n.current_language() == "en"


def test_help_is_in_the_cli_language(monkeypatch):
    monkeypatch.delenv("CIVICMAP_LANG")
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    top = CliRunner().invoke(main, ["--help"])
    assert top.exit_code == 0
    assert "OpenStreetMap と日本のオープンデータから地域の地図を作ります" in top.output
    assert "エラーだけを表示します" in top.output  # -q
    assert "同梱の新宿区 西早稲田のデモ" in top.output  # a command's short help
    build = CliRunner().invoke(main, ["build", "--help"])
    assert "ネットワークを使いません" in build.output  # --offline, from the shared decorator
    en = CliRunner().invoke(main, ["--lang", "en", "build", "--help"])
    assert "Use no network" in en.output and "ネットワーク" not in en.output
    assert i18n.current_language() == "en"  # nothing leaks into the library


# --- no new English-only message can slip in ------------------------------------------------

_LOGGERS = {"log", "logger"}
_LOUD = {"info", "warning", "error", "critical", "exception"}  # info: what -v shows


def _has_words(node: ast.AST) -> bool:
    """Whether ``node`` is message text written in place: a literal, an f-string, or a sum of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return any(c.isalpha() for c in node.value)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _has_words(node.left) or _has_words(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr == "format" and _has_words(node.func.value)
    return False


def _error_classes(trees: dict[Path, ast.Module]) -> set[str]:
    """CivicMapError and every class of the package derived from it (by name, to a fixpoint)."""
    names = {"CivicMapError"}
    while True:
        more = {
            node.name
            for tree in trees.values()
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef)
            and any(
                (b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")) in names
                for b in node.bases
            )
        }
        if more <= names:
            return names
        names |= more


def test_no_untranslated_warning_or_error_text_in_the_package():
    """``log.warning("...")``, ``raise SourceError(f"...")`` and ``ck.add(key, "...")`` would
    reach users in English only.

    Messages must be ``_()`` templates with ``%(name)s`` fields; data goes in the mapping.
    Debug lines (``-vv``) are for developers and are not checked.
    """
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in PACKAGE.rglob("*.py")}
    errors = _error_classes(trees)
    assert {"SourceError", "ConfigError", "OfflineError", "OverpassAnswerError"} <= errors
    found = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _LOUD
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in _LOGGERS
                and node.args
                and _has_words(node.args[0])
            ):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} log.{node.func.attr}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "ck"  # a Checker: one problem of a map or layer file
                and len(node.args) >= 2
                and _has_words(node.args[1])
            ):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} ck.add")
            if (  # a config problem: Problem(file, key, "...") or a validator's bad(key, "...")
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and (node.func.id, len(node.args)) in {("Problem", 3), ("bad", 2)}
                and _has_words(node.args[-1])
            ):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.func.id}")
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if name in errors and node.exc.args and _has_words(node.exc.args[0]):
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} raise {name}")
    assert not found, "wrap these messages in _() (see civicmap/i18n.py): " + ", ".join(found)


def test_the_scan_sees_an_english_message(tmp_path):
    """The check above must catch the shapes it is for (else it proves nothing)."""
    bad = [
        'log.warning("tile %s failed", t)',
        'raise SourceError(f"{path}: not found")',
        'raise OfflineError("offline mode: " + what)',
        'logger.error("{} is broken".format(x))',
    ]
    good = ['log.warning(_("tile %(t)s failed"), {"t": t})', 'raise SourceError(_("x") % {})']
    assert all(_has_words(ast.parse(s).body[0].value.args[0]) for s in bad[:1] + bad[3:])
    assert all(_has_words(ast.parse(s).body[0].exc.args[0]) for s in bad[1:3])
    assert not _has_words(ast.parse(good[0]).body[0].value.args[0])
    assert not _has_words(ast.parse(good[1]).body[0].exc.args[0])
