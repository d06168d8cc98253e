"""The site output (issue 26): a static folder any host serves, the single-file page's map in it.

What a publisher relies on: every file the page needs is in the folder and listed for the
service worker (nothing else, nothing from a host whose terms forbid storing tiles), the
data is the single-file page's (same numbers), the page holds no data text, and the folder
is written like every output (never replaced without overwrite, never a stranger's folder).
"""

from __future__ import annotations

import dataclasses
import io
import json
import re

import pytest
from PIL import Image
from site_maps import URL, demo_site_spec, toyama_pack_map

from civicmap._outputs import SITE_MARKER, OutputRefusedError
from civicmap.errors import OutputExistsError
from civicmap.pipeline import build, collect
from civicmap.render import assets, tiles, web
from civicmap.render.numbering import place_numbers
from civicmap.render.site import site_files
from civicmap.spec.basemap import REGISTRY
from civicmap.spec.mapfile import load_map
from civicmap.spec.site import SiteOptions

pytestmark = pytest.mark.skipif(
    bool(assets.missing()), reason="run `python -m civicmap.render.assets install` first"
)


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("site") / "site"
    spec = demo_site_spec(folder, url="https://example.org/demo/")
    build(spec, offline=True)
    return folder, spec


def _sw_files(folder) -> list[str]:
    text = (folder / "sw.js").read_text(encoding="utf-8")
    return json.loads(re.match(r"var CIVICMAP_SW = (\{.*?\});\n", text).group(1))["files"]


def test_the_folder_holds_the_page_and_the_worker_precaches_every_file_of_it(demo_site):
    folder, _spec = demo_site
    on_disk = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    for name in ("index.html", "data.json", "site.json", "version.json", "sw.js",
                 "manifest.webmanifest", "qr.svg", "icons/icon-192.png", "icons/icon-512.png",
                 "icons/maskable-512.png", "assets/civicmap.js", "assets/site.js",
                 "assets/vendor/leaflet@1.9.4/dist/leaflet.js"):  # fmt: skip
        assert name in on_disk, name
    listed = _sw_files(folder)
    # everything but the worker itself, the version file (asked online) and our marker
    assert sorted(listed) == [
        "./",
        *[n for n in on_disk if n not in ("sw.js", "version.json", SITE_MARKER)],
    ]
    # no file of the page is fetched from elsewhere: the page names only relative paths
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_icons_are_pngs_of_the_sizes_the_manifest_gives(demo_site):
    folder, _spec = demo_site
    manifest = json.loads((folder / "manifest.webmanifest").read_text(encoding="utf-8"))
    assert manifest["start_url"] == "./" and manifest["display"] == "standalone"
    assert manifest["name"] == "西早稲田・大久保 子育て・防災マップ"
    purposes = set()
    for icon in manifest["icons"]:
        img = Image.open(io.BytesIO((folder / icon["src"]).read_bytes()))
        assert img.format == "PNG"
        assert f"{img.width}x{img.height}" == icon["sizes"]
        purposes.add(icon["purpose"])
        if icon["purpose"] == "maskable":
            # a maskable icon fills its square: the corners a launcher may cut are not empty
            assert img.getpixel((0, 0))[3] == 255 and img.getpixel((511, 511))[3] == 255
    assert purposes == {"any", "maskable"}
    assert {i["sizes"] for i in manifest["icons"]} >= {"192x192", "512x512"}


def test_the_site_data_is_the_single_file_pages_payload_with_the_paper_numbers(demo_site):
    folder, spec = demo_site
    data = collect(spec, offline=True)
    site = json.loads((folder / "data.json").read_text(encoding="utf-8"))
    page = web.payload(data)
    assert site["layers"] == page["layers"]
    assert site["credits"] == page["credits"] and site["built"] == "2020-11-28"
    numbers = place_numbers(data)
    drawn = {f["no"] for layer in site["layers"] for f in layer["features"] if "no" in f}
    assert drawn == set(numbers.values()) and len(drawn) > 10


def test_the_page_holds_no_data_and_escapes_the_title(tmp_path):
    spec = demo_site_spec(tmp_path / "site")
    spec = dataclasses.replace(spec, title='</title><script>alert("x")</script>')
    data = collect(spec, offline=True)
    files = site_files(data, options=spec.site)
    page = files["index.html"].decode("utf-8")
    assert "<script>alert" not in page
    assert "&lt;/title&gt;&lt;script&gt;alert(&quot;x&quot;)" in page
    names = [
        f["n"] for layer in json.loads(files["data.json"])["layers"] for f in layer["features"]
    ]
    assert names and not any(n in page for n in names)
    assert "qr.svg" not in files  # no url: no QR code


def test_a_rebuild_of_the_same_data_is_the_same_version_and_needs_overwrite(demo_site, tmp_path):
    folder, spec = demo_site
    version = json.loads((folder / "version.json").read_text())["version"]
    with pytest.raises(OutputExistsError):
        build(spec, offline=True)
    build(spec, offline=True, overwrite=True)
    assert json.loads((folder / "version.json").read_text())["version"] == version
    assert json.loads((folder / "site.json").read_text())["version"] == version


def test_a_folder_civicmap_did_not_write_is_never_replaced(tmp_path):
    mine = tmp_path / "site"
    mine.mkdir()
    (mine / "notes.txt").write_text("my own notes", encoding="utf-8")
    with pytest.raises(OutputRefusedError, match="did not write"):
        build(demo_site_spec(mine), offline=True, overwrite=True)
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "my own notes"


@pytest.fixture(scope="module")
def toyama(tmp_path_factory, tile_server):
    mp = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("toyama_site")
    try:
        yield load_map(toyama_pack_map(folder, mp, tile_server)), mp
    finally:
        mp.undo()
        tiles._FETCHERS.clear()


def test_the_packs_tiles_go_in_the_site_when_their_terms_allow_storing(toyama):
    spec, _mp = toyama
    build(spec, overwrite=True)
    folder = spec.output_path("site")
    stored = sorted(str(p.relative_to(folder)) for p in (folder / "tiles").rglob("*.png"))
    assert len(stored) >= 4
    assert set(stored) <= set(_sw_files(folder))  # cached by the worker for airplane mode
    tile = json.loads((folder / "data.json").read_text())["tiles"][0]
    assert tile["url"] == "tiles/{z}/{x}/{y}.png" and tile["local"] is True


def test_tiles_whose_terms_forbid_storing_never_enter_the_site(toyama, tmp_path):
    spec, mp = toyama
    mp.setitem(REGISTRY, "gsi-pale", dataclasses.replace(REGISTRY["gsi-pale"], storable=False))
    try:
        data = collect(spec)
        files = site_files(data, options=SiteOptions(folder="site"))
    finally:
        mp.setitem(REGISTRY, "gsi-pale", dataclasses.replace(REGISTRY["gsi-pale"], storable=True))
    assert not [n for n in files if n.startswith("tiles/")]
    listed = json.loads(re.match(rb"var CIVICMAP_SW = (\{.*?\});\n", files["sw.js"]).group(1))
    assert not [n for n in listed["files"] if "tiles" in n or "//" in n]
    tile = json.loads(files["data.json"])["tiles"][0]
    assert tile["url"].startswith("http") and "local" not in tile  # online only, never stored


def test_the_paper_map_prints_the_sites_address_under_its_qr_code(tmp_path):
    import shutil
    import subprocess

    if shutil.which("pdftotext") is None:
        pytest.skip("needs pdftotext (poppler-utils)")
    spec = demo_site_spec(tmp_path / "site", url=URL, paper=tmp_path / "map.pdf")
    build(spec, offline=True, formats=("paper",))
    text = subprocess.run(["pdftotext", str(tmp_path / "map.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    assert URL in text.replace("\n", "")
    assert "Web版の地図" in text


def test_a_build_that_fails_later_leaves_the_old_site_whole(tmp_path, monkeypatch):
    from civicmap import pipeline

    folder = tmp_path / "site"
    spec = demo_site_spec(folder)
    build(spec, offline=True)
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    spec = dataclasses.replace(
        spec,
        title="新しい題",
        outputs={**spec.outputs, "geojson": str(tmp_path / "map.geojson")},
    )

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pipeline.export, "write_export", broken)
    with pytest.raises(OSError):
        build(spec, offline=True, overwrite=True)
    after = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before  # the old site, every file as it was
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".civicmap.part")]


def test_an_english_map_gets_the_sites_texts_in_english(tmp_path):
    spec = dataclasses.replace(demo_site_spec(tmp_path / "site"), language="en")
    files = site_files(collect(spec, offline=True), options=spec.site)
    texts = json.loads(files["site.json"])["texts"]
    assert texts["stale"] == "The data of this map is {days} days old"
    assert texts["data_as_of"] == "Data as of"
    assert '<html lang="en">' in files["index.html"].decode("utf-8")


def test_any_change_of_the_map_or_its_settings_is_a_new_version(tmp_path):
    spec = demo_site_spec(tmp_path / "site")
    data = collect(spec, offline=True)

    def version(data, **options) -> str:
        files = site_files(data, options=SiteOptions(folder="site", **options))
        return json.loads(files["version.json"])["version"]

    first = version(data)
    assert version(data) == first  # the same map twice: no update offered
    assert version(data, stale_after_days=30) != first
    assert version(data, url="https://example.org/x/") != first
    retitled = dataclasses.replace(data, spec=dataclasses.replace(data.spec, title="別の題"))
    assert version(retitled) != first
