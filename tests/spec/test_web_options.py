"""``outputs.web`` as a typed, validated WebOptions built once when the map loads (issue #15).

Every mistake is reported by ``civicmap check`` at once, naming the key and the fix,
in Japanese and in English, with exit code 2 (invalid input).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from paths import TESTS

from civicmap.cli import main
from civicmap.errors import ConfigError
from civicmap.spec.mapfile import load_map
from civicmap.spec.web import WebOptions

TOILET = TESTS / "data/messy/170003_public_toilet.csv"

MAP = """\
title: 金沢市 公衆トイレ
area: {municipality: "172014"}
osm: false
layers:
  - id: public_toilets
    title: 公衆トイレ
    sources:
      - csv: {path: toilets.csv, category: 公衆トイレ}
outputs:
  web: {file: out/map.html%s}
"""

BAD = ", self_contained: yes please, tiles: google, cluster: 3, labels: 表示, offline_tiles: zip, tile: gsi"

#: key named → (English fix, Japanese fix), each written here, not taken from the code.
EXPECTED = {
    "outputs.web.self_contained": (
        "expected true (one file",
        "true（ネットワークなしで開ける1つのファイル）",
    ),
    "outputs.web.tiles": ("other tile sources go in basemap.tiles", "ほかのタイルは basemap.tiles"),
    "outputs.web.cluster": ("got 3, expected true or false", "3 になっています。true か false"),
    "outputs.web.labels": (
        "got '表示', expected true or false",
        "'表示' になっています。true か false",
    ),
    "outputs.web.offline_tiles": (
        "expected auto (inline up to 8 MB",
        "auto（8 MB までページに埋め込み",
    ),
    "outputs.web.tile": ("did you mean", "tiles"),
}


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "toilets.csv").write_bytes(TOILET.read_bytes())
    return tmp_path


def _check(folder: Path, extra: str, lang: str):
    (folder / "map.yaml").write_text(MAP % extra, encoding="utf-8")
    return CliRunner().invoke(main, ["--lang", lang, "check", str(folder / "map.yaml")])


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_check_reports_every_bad_web_option_with_its_key_and_fix(folder, lang):
    res = _check(folder, BAD, lang)
    assert res.exit_code == 2, res.output
    out = res.output
    for key, (en, ja) in EXPECTED.items():
        assert f"{key}:" in out, key
        assert (en if lang == "en" else ja) in out, (key, out)
    assert "map.yaml" in out  # the file is named
    assert "Traceback" not in out


def test_a_good_web_output_passes_check_and_is_typed_once_at_load(folder):
    good = ", self_contained: true, tiles: none, cluster: false, offline_tiles: folder"
    res = _check(folder, good, "en")
    assert res.exit_code == 0, res.output
    spec = load_map(folder / "map.yaml")
    opts = spec.web
    assert opts == WebOptions(
        self_contained=True, tiles="none", tiles_given=True, cluster=False, offline_tiles="folder"
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.self_contained = False  # type: ignore[misc]


def test_defaults_follow_the_map_language():
    assert WebOptions.from_dict({}, language="ja").tiles == "gsi"
    en = WebOptions.from_dict({"file": "x.html"}, language="en")
    assert (en.tiles, en.tiles_given, en.self_contained, en.offline_tiles) == (
        "osm",
        False,
        False,
        "auto",
    )
    # tiles: false / null means no tile layer, and counts as given
    assert WebOptions.from_dict({"tiles": False}).tiles == "none"
    assert WebOptions.from_dict({"tiles": None}).tiles_given is True


def test_from_python_a_bad_dict_is_one_error_listing_every_key():
    with pytest.raises(ConfigError) as exc:
        WebOptions.from_dict({"self_contained": 1, "tiles": "google"}, file="m.yaml")
    keys = [p.key for p in exc.value.problems]
    assert keys == ["outputs.web.self_contained", "outputs.web.tiles"]
    assert all(p.file == "m.yaml" for p in exc.value.problems)


def test_the_older_key_offline_still_loads_and_asks_for_the_new_name(folder, caplog):
    """``outputs.web.offline`` (before ``offline`` meant only "no network") keeps working."""
    res = _check(folder, ", offline: true", "en")
    assert res.exit_code == 0, res.output
    # said once: check loads the map once
    assert res.output.count("outputs.web.offline is now called outputs.web.self_contained") == 1
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="civicmap.spec.web"):
        spec = load_map(folder / "map.yaml")
    assert spec.web.self_contained is True
    warned = [r.getMessage() for r in caplog.records if r.name == "civicmap.spec.web"]
    assert len(warned) == 1 and "outputs.web.self_contained" in warned[0], warned
    assert "map.yaml" in warned[0]
    # a bad value under the old name is reported under the name the file used
    with pytest.raises(ConfigError) as exc:
        WebOptions.from_dict({"offline": "yes"}, file="m.yaml")
    assert [p.key for p in exc.value.problems] == ["outputs.web.offline"]


def test_the_tiles_choices_are_the_pages_tile_layers():
    from civicmap.render import web
    from civicmap.spec.web import TILE_CHOICES

    assert (*web.TILES, "none") == TILE_CHOICES


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_check_reports_bad_paper_options_in_the_users_language_too(folder, lang):
    """outputs.paper mistakes (PaperOptions) are named by key with their fix, like web's."""
    (folder / "map.yaml").write_text(
        (MAP % "").replace(
            "outputs:\n",
            "outputs:\n  paper: {file: out/map.pdf, size: A5, orientation: 縦, max_pages: 2.5}\n",
        ),
        encoding="utf-8",
    )
    res = CliRunner().invoke(main, ["--lang", lang, "check", str(folder / "map.yaml")])
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    expected = {
        "outputs.paper.size": ("got 'A5', expected one of: A4, A3", "'A5' になっています。次のどれか"),
        "outputs.paper.orientation": ("expected one of: portrait", "'縦' になっています。次のどれか"),
        "outputs.paper.max_pages": ("got 2.5, expected a whole number", "2.5 になっています。ページ数"),
    }  # fmt: skip
    for key, (en, ja) in expected.items():
        assert f"{key}:" in res.output and (en if lang == "en" else ja) in res.output, res.output
