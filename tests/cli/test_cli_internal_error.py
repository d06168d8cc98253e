"""A bug inside civicmap reaches the user as one line that says so, never as a traceback."""

from __future__ import annotations

from click.testing import CliRunner

import civicmap.pipeline
from civicmap.cli import main


def _broken(*args, **kwargs):
    raise KeyError("HID")  # what the merge of an empty official list once raised


def _build(tmp_path, monkeypatch, *args):
    monkeypatch.delenv("CIVICMAP_TRACEBACK", raising=False)
    monkeypatch.setattr(civicmap.pipeline, "build_with_data", _broken)
    return CliRunner().invoke(main, [*args, "demo", "--out", str(tmp_path / "out")])


def test_an_internal_error_is_one_line_naming_it_a_bug_with_the_way_to_details(
    tmp_path, monkeypatch
):
    result = _build(tmp_path, monkeypatch)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "internal error (KeyError: 'HID')" in result.output
    assert "bug in civicmap, not in your files" in result.output and "-v" in result.output


def test_the_same_in_japanese(tmp_path, monkeypatch):
    result = _build(tmp_path, monkeypatch, "--lang", "ja")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "KeyError" in result.output and "不具合" in result.output


def test_with_v_the_traceback_is_there_for_the_report(tmp_path, monkeypatch):
    result = _build(tmp_path, monkeypatch, "-v")
    assert isinstance(result.exception, KeyError)  # raised through, so click shows it
