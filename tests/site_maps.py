"""Maps with a site output that several test modules build (render, browser, cli, bench).

``toyama_pack_map``: the 富山市 nursery CSV on 地理院タイル, its tiles fetched into an offline
pack from the loopback tile server (tests/tile_server.py), so a site built from it carries
the pack's tiles. ``demo_site_spec``: the bundled 新宿区 demo (data date 2020-11-28) with a site.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from paths import DATA

from civicmap import settings
from civicmap.render import tiles
from civicmap.spec.mapfile import load_map, parse_map

TOYAMA_CSV = DATA / "childcare/toyama/toyama_nurseryFacilities_utf8bom.csv"
BBOX = [137.205, 36.690, 137.215, 36.697]
URL = "https://example.org/toyama-hoiku/"


def toyama_pack_map(
    folder: Path, mp, tile_server, *, site: dict | None = None, bbox: list[float] = BBOX
) -> Path:
    """Write the 富山 map file into ``folder``, fetch its pack (tiles), then switch offline.

    ``mp`` is a ``pytest.MonkeyPatch`` the caller undoes. Returns the map file.
    """
    from tile_server import use_loopback_gsi

    from civicmap.pack import fetch_pack

    use_loopback_gsi(mp, tile_server, cache_folder=folder / "cache")
    raw = {
        "title": "富山市 保育施設マップ",
        "area": {"bbox": bbox},
        "osm": False,
        "basemap": {"tiles": "gsi-pale"},
        "layers": [
            {"id": "nursery", "title": "保育施設", "sources": [{"csv": {"path": str(TOYAMA_CSV)}}]}
        ],
        "outputs": {"site": site or {"folder": "out/site", "url": URL}},
    }
    path = folder / "map.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    fetch_pack(load_map(path))
    mp.setattr(settings, "offline", True)
    mp.setattr(settings, "cache_folder", folder / "cache-empty")
    tiles._FETCHERS.clear()
    return path


def demo_site_spec(folder: Path, *, paper: Path | None = None, **site):
    """The bundled demo with ``outputs.site`` in ``folder`` (more ``site`` keys as given),
    and a paper map ``paper`` when given."""
    from civicmap.pipeline import demo_map_path

    demo = demo_map_path()
    raw = yaml.safe_load(demo.read_text(encoding="utf-8"))
    raw["outputs"] = {"site": {"folder": str(folder), **site}}
    if paper is not None:
        raw["outputs"]["paper"] = {"file": str(paper)}
    return parse_map(raw, file=str(demo), base_dir=demo.parent)
