"""``civicmap check`` reads each data file once, for its layer checks and the paper layout.

check validates the columns of every file source, then lays the paper sheet out as the
build does (to refuse a crowded sheet in the build's words). It used to read every file
twice for that; the layout now takes check's own read whenever that read is the one the
layout's offline collecting would make (never an address search done with the network,
never a pack's copy in place of the cache's).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml
from paper_maps import toyama_raw

from civicmap import check, settings
from civicmap.check import check_map
from civicmap.sources import opendata
from civicmap.spec.layers import SourceSpec


def _reads(monkeypatch) -> Counter:
    """Count the CSV reads by file name (the one reader every CSV source goes through)."""
    seen: Counter = Counter()
    read_csv = opendata.read_csv

    def counted(path, *args, **kwargs):
        seen[Path(path).name] += 1
        return read_csv(path, *args, **kwargs)

    monkeypatch.setattr(opendata, "read_csv", counted)
    return seen


def test_check_reads_a_csv_once_and_still_lays_the_sheet_out_from_it(tmp_path, monkeypatch):
    """富山市's 159 nurseries at 1:200,000: check names the inset the build prints."""
    raw = {**toyama_raw(), "outputs": {"paper": {"file": "out/map.pdf", "scale": 200000}}}
    (tmp_path / "map.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    reads = _reads(monkeypatch)
    report = check_map(tmp_path / "map.yaml")
    assert report["ok"], report["problems"]
    assert len(report["paper"]) == 1 and "inset A" in report["paper"][0]  # laid out, as built
    assert list(reads.values()) == [1], reads


def test_a_read_done_with_the_network_is_not_the_layouts(tmp_path, monkeypatch):
    """Addresses looked up online may differ from the cache the offline layout asks."""
    monkeypatch.setattr(settings, "offline", False)
    geocoded = SourceSpec(kind="csv", options={"path": "a.csv", "geocode": True}, base_dir=tmp_path)
    located = SourceSpec(kind="csv", options={"path": "a.csv"}, base_dir=tmp_path)
    assert not check._read_as_collected(geocoded, offline=None, pack=None)
    assert check._read_as_collected(geocoded, offline=True, pack=None)
    assert check._read_as_collected(located, offline=None, pack=None)
    # a uMap file's remote layers: the layout reads the pack's copies, check the cache's
    umap = SourceSpec(kind="file", options={"path": "m.umap"}, base_dir=tmp_path)
    assert check._read_as_collected(umap, offline=True, pack=None)
    assert not check._read_as_collected(umap, offline=True, pack=tmp_path / "pack")
    assert check._read_as_collected(located, offline=None, pack=tmp_path / "pack")
