"""Options shared by several commands are declared once (civicmap/cli/options.py).

A copy drifts: ``batch --offline`` and ``split --name`` were typed out again in each command.
Read from the source with :mod:`ast`: two ``click.option`` calls with the same flags and the
same help text are one option written twice.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from click.testing import CliRunner
from paths import ROOT

from civicmap.cli import main

CLI = ROOT / "civicmap" / "cli"


def _declarations(folder: Path) -> Counter:
    """(flags, help text) of every ``click.option(...)`` call under ``folder``."""
    found: Counter = Counter()
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "option"
                and ast.unparse(node.func.value) == "click"
            ):
                continue
            flags = tuple(a.value for a in node.args if isinstance(a, ast.Constant))
            help_ = next((ast.unparse(k.value) for k in node.keywords if k.arg == "help"), "")
            found[(flags, help_)] += 1
    return found


def test_no_option_is_declared_twice_with_the_same_help():
    twice = [f"{flags} {help_}" for (flags, help_), n in _declarations(CLI).items() if n > 1]
    assert twice == []


def test_batch_and_split_choose_areas_with_the_same_name_and_where_options():
    for command in ("batch", "split"):
        for lang, name_help in (("en", "The attribute that names each area."),
                                ("ja", "地区の名前が入っている属性。")):  # fmt: skip
            out = CliRunner().invoke(main, ["--lang", lang, command, "--help"]).output
            assert name_help in out, (command, lang)
            assert "--where" in out and "FIELD=VALUE[,VALUE...]" in out
    params = {c: {p.name: p for p in main.commands[c].params} for c in ("batch", "split")}
    assert params["batch"]["where"].multiple and params["split"]["where"].multiple
    assert params["batch"]["name_field"].help == params["split"]["name_field"].help
