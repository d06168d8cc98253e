"""Hostile offline packs: a pack is data, never paths (issue #31).

Packs made by ``civicmap fetch`` are handed around (a USB stick at a workshop),
so every entry in one is untrusted. A tile that is a symbolic link to a secret
file used to be followed: copied into the tile folder beside the page and
inlined as base64 into the page. An Overpass answer that is a link to
/dev/zero ate memory, one that is a FIFO hung the build. Now each entry must be
a plain file inside the pack (no link, also none for a folder on the way, no
device, no FIFO), within a size cap, and match the checksum its manifest
records; a bad one is refused in one line naming it.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import civicmap
from civicmap import _packfiles, settings
from civicmap.cli import main
from civicmap.errors import OfflineError, SourceError
from civicmap.pack import fetch_pack, with_pack
from civicmap.pipeline import build
from civicmap.render import tiles
from civicmap.spec.mapfile import load_map

DATA = Path(__file__).resolve().parents[1] / "data"
TOYAMA_CSV = (DATA / "childcare/toyama/toyama_nurseryFacilities_utf8bom.csv").resolve()
#: Part of 富山市's centre: the pack holds a few dozen tiles of it.
BBOX = [137.205, 36.690, 137.215, 36.697]
DEAD_URL = "http://127.0.0.1:9/api/interpreter"  # nothing listens on the discard port
#: What a secret file holds (a password line): it must never reach an output.
SECRET = b"root:$6$SECRETSALT$hunter2-never-publish-this:19000:0:99999:7:::\n"


def write_map(folder: Path, *, offline_tiles: str = "auto") -> Path:
    raw = {
        "title": "富山市 保育施設マップ",
        "area": {"bbox": BBOX},
        "osm": False,
        "basemap": {"tiles": "gsi-pale"},
        "layers": [
            {"id": "nursery", "title": "保育施設", "sources": [{"csv": {"path": str(TOYAMA_CSV)}}]}
        ],
        "outputs": {
            "web": {"file": "out/map.html", "self_contained": True, "offline_tiles": offline_tiles},
            "paper": {"file": "out/map.pdf", "size": "A4"},
        },
    }
    (folder / "map.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return folder / "map.yaml"


@pytest.fixture(scope="module")
def tile_pack(tmp_path_factory, tile_server):
    """A map folder with its offline pack of gsi-pale tiles (web and paper), made once."""
    from tile_server import use_loopback_gsi

    mp = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("tilepack")
    use_loopback_gsi(mp, tile_server, cache_folder=folder.parent / "tilepack-cache")
    try:
        fetch_pack(load_map(write_map(folder)))
        yield folder
    finally:
        mp.undo()
        tiles._FETCHERS.clear()


@pytest.fixture
def mapdir(tile_pack, tmp_path, monkeypatch, tile_server):
    """A fresh copy of the map folder and its pack, to spoil; builds are offline."""
    from tile_server import use_loopback_gsi

    use_loopback_gsi(monkeypatch, tile_server)
    folder = tmp_path / "map"
    shutil.copytree(tile_pack, folder, symlinks=True)
    monkeypatch.setattr(settings, "offline", True)
    tiles._FETCHERS.clear()
    yield folder
    tiles._FETCHERS.clear()


def pack_tiles(folder: Path) -> list[Path]:
    return sorted((folder / "osm-pack/tiles/gsi-pale").rglob("*.png"))


def leaked(folder: Path) -> list[Path]:
    """Every output file holding the secret, as bytes or base64 (as a page inlines it)."""
    marks = [SECRET, SECRET.strip(), base64.b64encode(SECRET), base64.b64encode(SECRET.strip())]
    out = folder / "out"
    files = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    return [p for p in files if any(m in p.read_bytes() for m in marks)]


def build_error(folder: Path) -> str:
    """Build the map in ``folder``; the refusal's message ("" when it built)."""
    try:
        build(load_map(folder / "map.yaml"), overwrite=True)
    except SourceError as exc:
        return str(exc)
    return ""


@pytest.mark.parametrize("offline_tiles", ["inline", "folder"])
def test_a_tile_linked_to_a_secret_file_is_refused_and_never_published(
    mapdir, tmp_path, offline_tiles
):
    secret = tmp_path / "shadow"
    secret.write_bytes(SECRET)
    write_map(mapdir, offline_tiles=offline_tiles)
    victim = pack_tiles(mapdir)[0]
    victim.unlink()
    victim.symlink_to(secret)
    entry = victim.relative_to(mapdir / "osm-pack").as_posix()
    message = build_error(mapdir)
    assert leaked(mapdir) == []  # not in the page, the tile folder or the PDF
    assert entry in message and "symbolic link" in message and "\n" not in message
    assert not (mapdir / "out/map.html").exists()


def test_a_linked_tile_folder_is_refused_too(mapdir, tmp_path):
    """A link for a folder on the way (tiles/gsi-pale/<z>) is refused, not followed."""
    zoom = pack_tiles(mapdir)[0].parent.parent
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(zoom, elsewhere)
    (elsewhere / pack_tiles(mapdir)[0].parent.name / pack_tiles(mapdir)[0].name).write_bytes(SECRET)
    shutil.rmtree(zoom)
    zoom.symlink_to(elsewhere, target_is_directory=True)
    message = build_error(mapdir)
    assert leaked(mapdir) == []
    assert f"tiles/gsi-pale/{zoom.name} is a symbolic link" in message


def test_the_cli_says_it_in_one_line_in_japanese_and_english(mapdir, tmp_path):
    secret = tmp_path / "shadow"
    secret.write_bytes(SECRET)
    victim = pack_tiles(mapdir)[-1]
    victim.unlink()
    victim.symlink_to(secret)
    entry = victim.relative_to(mapdir / "osm-pack").as_posix()
    for lang, words in (("en", "symbolic link"), ("ja", "シンボリックリンク")):
        res = CliRunner().invoke(
            main, ["--lang", lang, "build", str(mapdir / "map.yaml"), "--offline", "--overwrite"]
        )
        assert res.exit_code == 1, res.output
        assert "Traceback" not in res.output
        last = res.output.strip().splitlines()[-1]
        assert entry in last and words in last, res.output
    assert leaked(mapdir) == []


def test_a_changed_tile_is_refused_by_its_checksum(mapdir):
    victim = pack_tiles(mapdir)[1]
    victim.write_bytes(victim.read_bytes() + b"\0tampered")  # still a PNG Pillow reads
    entry = victim.relative_to(mapdir / "osm-pack").as_posix()
    with pytest.raises(SourceError, match=rf"{entry} does not match the checksum"):
        build(load_map(mapdir / "map.yaml"), overwrite=True)
    assert not (mapdir / "out/map.html").exists()


@pytest.mark.timeout(120)
def test_a_fifo_or_device_tile_is_refused_quickly(mapdir):
    victim = pack_tiles(mapdir)[0]
    victim.unlink()
    os.mkfifo(victim)
    t0 = time.monotonic()
    with pytest.raises(SourceError, match=r"named pipe \(FIFO\)"):
        build(load_map(mapdir / "map.yaml"), overwrite=True)
    assert time.monotonic() - t0 < 30


def test_a_pack_from_before_checksums_still_refuses_links_and_says_so_once(
    mapdir, tmp_path, caplog
):
    tiles_json = mapdir / "osm-pack/tiles/gsi-pale/tiles.json"
    old = json.loads(tiles_json.read_text(encoding="utf-8"))
    del old["sha256"]
    tiles_json.write_text(json.dumps(old), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        built = build(load_map(mapdir / "map.yaml"), overwrite=True)
    told = [r for r in caplog.records if "records no checksums" in r.getMessage()]
    assert len(told) == 1 and built["web"][0].exists() and built["paper"][0].exists()
    secret = tmp_path / "shadow"
    secret.write_bytes(SECRET)
    victim = pack_tiles(mapdir)[0]
    victim.unlink()
    victim.symlink_to(secret)
    tiles._FETCHERS.clear()
    with pytest.raises(SourceError, match="symbolic link"):
        build(load_map(mapdir / "map.yaml"), overwrite=True)


def test_a_linked_tile_manifest_is_refused(mapdir, tmp_path):
    real = mapdir / "osm-pack/tiles/gsi-pale/tiles.json"
    copy = tmp_path / "tiles.json"
    shutil.move(real, copy)
    real.symlink_to(copy)
    with pytest.raises(SourceError, match=r"tiles\.json is a symbolic link"):
        build(load_map(mapdir / "map.yaml"), overwrite=True)


# --- Overpass answers -------------------------------------------------------------


@pytest.fixture
def osm_pack(waseda_map, overpass_server, tmp_path, monkeypatch):
    """An Overpass pack (layers and basemap) and the map reading it, with no network."""
    spec = waseda_map({"overpass": True})
    info = fetch_pack(spec, out=tmp_path / "pack", streets_network=False)
    monkeypatch.setattr(settings, "overpass_url", DEAD_URL)
    key = json.loads((info.folder / "manifest.json").read_text(encoding="utf-8"))["queries"][0]
    return {"spec": with_pack(spec, info.folder), "pack": info.folder, "key": key["key"]}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("offline", [True, False])
@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "fifo-meta"])
def test_an_answer_linked_to_dev_zero_or_a_fifo_ends_quickly_with_one_line(osm_pack, kind, offline):
    name = osm_pack["key"] + (".json" if kind == "fifo-meta" else ".osm")
    victim = osm_pack["pack"] / name
    victim.unlink()
    if kind == "dev-zero":
        victim.symlink_to("/dev/zero")
    else:
        os.mkfifo(victim)
    t0 = time.monotonic()
    with pytest.raises(SourceError) as err:
        civicmap.collect(osm_pack["spec"], offline=offline)
    assert time.monotonic() - t0 < 20
    message = str(err.value)
    assert name in message and "\n" not in message
    assert ("symbolic link" if kind == "dev-zero" else "named pipe") in message


def test_a_changed_answer_with_a_matching_meta_file_is_refused(osm_pack):
    """Whoever edits the answer and its meta file still meets the manifest's checksum."""
    pack, key = osm_pack["pack"], osm_pack["key"]
    body = (pack / f"{key}.osm").read_bytes()
    body = body.replace(b"</osm>", b'<node id="999999999" lat="35.706" lon="139.706"/></osm>')
    (pack / f"{key}.osm").write_bytes(body)
    meta = json.loads((pack / f"{key}.json").read_text(encoding="utf-8"))
    import hashlib

    meta["sha256"] = hashlib.sha256(body).hexdigest()
    (pack / f"{key}.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(OfflineError, match=rf"{key}\.osm is damaged .*pack manifest"):
        civicmap.collect(osm_pack["spec"], offline=True)


def test_a_linked_pack_manifest_is_refused(osm_pack, tmp_path):
    real = osm_pack["pack"] / "manifest.json"
    copy = tmp_path / "manifest.json"
    shutil.move(real, copy)
    real.symlink_to(copy)
    with pytest.raises(SourceError, match=r"manifest\.json is a symbolic link"):
        civicmap.collect(osm_pack["spec"], offline=True)


def test_an_oversized_answer_is_refused_before_it_is_read(osm_pack, monkeypatch):
    monkeypatch.setattr(settings, "overpass_max_bytes", 1000)
    with pytest.raises(SourceError, match=r"\.osm is larger than the 1,000 bytes"):
        civicmap.collect(osm_pack["spec"], offline=True)


# --- the reader itself ------------------------------------------------------------


def test_read_pack_entry_never_leaves_the_pack(tmp_path):
    pack = tmp_path / "pack"
    (pack / "a").mkdir(parents=True)
    (pack / "a/ok.bin").write_bytes(b"ok")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "ok.bin").write_bytes(SECRET)
    (pack / "b").symlink_to(outside, target_is_directory=True)
    assert _packfiles.read_pack_entry(pack, "a/ok.bin", max_bytes=10) == b"ok"
    assert _packfiles.read_pack_entry(pack, "a/none.bin", max_bytes=10) is None
    with pytest.raises(SourceError, match=r"pack: b is a symbolic link"):
        _packfiles.read_pack_entry(pack, "b/ok.bin", max_bytes=100)
    with pytest.raises(SourceError, match=r"a is a folder"):
        _packfiles.read_pack_entry(pack, "a", max_bytes=100)
    with pytest.raises(SourceError, match=r"a/ok.bin is larger than the 1 bytes"):
        _packfiles.read_pack_entry(pack, "a/ok.bin", max_bytes=1)
    # the pack folder itself may be a link: the user named it
    (tmp_path / "alias").symlink_to(pack, target_is_directory=True)
    assert _packfiles.read_pack_entry(tmp_path / "alias", "a/ok.bin", max_bytes=10) == b"ok"
    with pytest.raises(SourceError, match=r"b is a symbolic link"):
        _packfiles.list_pack_files(pack, "b", suffix=".bin")
    assert _packfiles.list_pack_files(pack, "a", suffix=".bin") == {"a/ok.bin": 2}
