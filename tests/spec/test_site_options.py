"""``outputs.site`` in a map file (issue 26): checked at load, every problem with its key."""

from __future__ import annotations

from pathlib import Path

import pytest
from paths import DATA

from civicmap.errors import ConfigError
from civicmap.spec.mapfile import parse_map
from civicmap.spec.site import SiteOptions

CSV = DATA / "childcare/toyama/toyama_nurseryFacilities_utf8bom.csv"
BASE = {"title": "t", "area": {"bbox": [139.70, 35.70, 139.71, 35.71]}, "osm": False,
        "layers": [{"id": "a", "title": "A", "sources": [{"csv": {"path": str(CSV)}}]}]}  # fmt: skip


def _parse(outputs: dict):
    return parse_map({**BASE, "outputs": outputs}, file="map.yaml", base_dir=Path("/tmp/m"))


def test_a_site_output_is_a_folder_with_its_url_and_age():
    spec = _parse(
        {"site": {"folder": "out/site", "url": "https://example.org/m/", "stale_after": "30d"}}
    )
    assert spec.site == SiteOptions(
        folder="out/site", url="https://example.org/m/", stale_after_days=30
    )
    assert spec.output_path("site") == Path("/tmp/m/out/site")
    assert _parse({"site": {"folder": "s"}}).site.stale_after_days == 90


@pytest.mark.parametrize("age, days", [(7, 7), ("7", 7), ("14日", 14), ("365 days", 365)])
def test_stale_after_reads_days_as_people_write_them(age, days):
    assert _parse({"site": {"folder": "s", "stale_after": age}}).site.stale_after_days == days


def test_every_problem_of_the_site_is_named_with_its_key():
    with pytest.raises(ConfigError) as err:
        _parse({"site": {"url": "http://example.org/", "stale_after": "three months", "colour": 1}})
    keys = {p.key for p in err.value.problems}
    assert keys == {"outputs.site.folder", "outputs.site.url", "outputs.site.stale_after",
                    "outputs.site.colour"}  # fmt: skip
    text = str(err.value)
    assert "https://" in text and "90d" in text


def test_the_site_and_another_output_cannot_share_a_path():
    with pytest.raises(ConfigError, match=r"outputs\.site\.folder"):
        _parse({"web": {"file": "out/x"}, "site": {"folder": "out/x"}})


def test_the_paper_map_takes_the_sites_address_for_its_qr_code():
    url = "https://example.org/m/"
    spec = _parse({"site": {"folder": "s", "url": url}, "paper": {"file": "m.pdf"}})
    assert spec.paper.qr == url
    own = _parse(
        {"site": {"folder": "s", "url": url}, "paper": {"file": "m.pdf", "qr": "https://x.jp/"}}
    )
    assert own.paper.qr == "https://x.jp/"  # the paper's own qr: wins
