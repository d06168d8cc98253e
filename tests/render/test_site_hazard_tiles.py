"""The site output carries the portal's hazard tiles from the pack, precached (issue 25).

Built offline from a pack made against the loopback portal fixture (see
tests/test_hazards_tiles.py): the tiles are files of the site, listed in the
service worker's precache, and the page's payload asks for exactly those.
"""

from __future__ import annotations

import json
import re

import pytest
import test_hazards_tiles
from test_hazards import _map

from civicmap import settings
from civicmap.pack import fetch_pack, with_pack
from civicmap.pipeline import collect
from civicmap.render.site import site_files
from civicmap.spec.mapfile import load_map
from civicmap.spec.site import SiteOptions

#: The portal's flood-max tiles on 127.0.0.1 (tests/test_hazards_tiles.py).
hazard_server = test_hazards_tiles.hazard_server


@pytest.mark.slow
def test_the_site_holds_and_precaches_the_packs_hazard_tiles(tmp_path, request, monkeypatch):
    path = _map(tmp_path, hazards=["flood-max"], outputs={"site": {"folder": "out/site"}})
    asked = request.getfixturevalue("hazard_server")["asked"]  # the portal on loopback
    info = fetch_pack(load_map(path))
    stored = json.loads((info.folder / "tiles/hazard-flood-max-0/tiles.json").read_text("utf-8"))
    monkeypatch.setattr(settings, "offline", True)
    monkeypatch.setattr(settings, "cache_folder", tmp_path / "empty-cache")
    asked.clear()
    data = collect(with_pack(load_map(path), info.folder))
    files = site_files(data, options=SiteOptions(folder="out/site"))
    assert asked == []
    names = sorted(n for n in files if n.startswith("tiles/hazard-flood-max-0/"))
    assert names  # the pack's tiles of the page's zooms
    for name in names:  # each the pack's very bytes (its checksum in tiles.json)
        key = name.removeprefix("tiles/hazard-flood-max-0/").removesuffix(".png")
        assert key in stored["sha256"]
    precache = json.loads(re.search(rb"CIVICMAP_SW = (\{.*?\});", files["sw.js"]).group(1))
    assert set(names) <= set(precache["files"])  # offline on the phone after one visit
    (tile_set,) = json.loads(files["data.json"])["hazards"]["layers"][0]["tiles"]
    assert tile_set["url"] == "tiles/hazard-flood-max-0/{z}/{x}/{y}.png" and tile_set["local"]
    asked = {f"tiles/hazard-flood-max-0/{k}.png" for k in tile_set["have"]}
    assert asked == set(names)  # the page asks only for tiles the site holds (no 404s)
    assert not [k for k in stored["no_zone"] if "/".join(map(str, k)) in tile_set["have"]]
