"""No network at all (issue #30): every kind of request ends in seconds and says what to do.

Two ways to take the network away, both with the real public defaults (the GSI
tile URL, overpass-api.de, the GSI address search), so nothing is pointed at a
test server:

- ``civicmap`` run as a child under ``unshare -n`` (a network namespace with
  no interface up: DNS fails at once, as on a machine with no network), for
  the console a user sees, in Japanese and in English, timed from outside
  (each run a fresh process forked in one namespace: :class:`NoNetworkCli`);
- in process with the ``no_network`` socket guard (tests/conftest.py), which
  records every name looked up and every connect outside loopback, so a test
  can say how often the network was tried (once per host, or never).

Each case finishes well under 10 s with the fallback drawn and one message
naming the service that failed and its fix.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from paths import TESTS

import civicmap
from civicmap import _http, settings
from civicmap.errors import NetworkError
from civicmap.render import tiles

DATA = TESTS / "data"
ROOT = Path(civicmap.__file__).resolve().parents[1]
TOYAMA_CSV = (DATA / "childcare/toyama/toyama_nurseryFacilities_utf8bom.csv").resolve()
WASEDA_BBOX = [139.7031784, 35.7039554, 139.7098839, 35.7093917]
GSI = DATA / "shelters/gsi"
HOME = [36.5613, 136.6562]  # 金沢市 広坂


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    except OSError:
        return False


needs_unshare = pytest.mark.skipif(
    not _unshare_works(), reason="unshare -n (a network namespace) is not available here"
)


@pytest.fixture(autouse=True)
def _public_defaults(monkeypatch):
    """The real public servers (whatever the shell says), fresh fetchers, no pacing."""
    for name, value in (
        ("overpass_url", "https://overpass-api.de/api/interpreter"),
        ("geocoder_url", "https://msearch.gsi.go.jp/address-search/AddressSearch"),
        ("nominatim_url", "https://nominatim.openstreetmap.org/search"),
    ):
        monkeypatch.setattr(settings, name, value)
    monkeypatch.setattr(tiles, "PACE_SECONDS", 0.0)
    tiles._FETCHERS.clear()
    yield
    tiles._FETCHERS.clear()


# --------------------------------------------------------------------------- map files


def tile_map(folder: Path) -> Path:
    """富山市 nurseries on GSI tiles, no OSM: the fallback is the N03 outlines and the area."""
    raw = {
        "title": "富山市 保育施設マップ",
        "area": {"bbox": [137.19, 36.68, 137.23, 36.71]},
        "osm": False,
        "basemap": {"tiles": "gsi-pale"},
        "layers": [
            {
                "id": "nursery",
                "title": {"ja": "保育施設", "en": "Childcare"},
                "sources": [{"csv": {"path": str(TOYAMA_CSV)}}],
            }
        ],
        "outputs": {"paper": {"file": "out/toyama.pdf", "size": "A4"}},
    }
    return _write(folder, raw)


def overpass_map(folder: Path) -> Path:
    raw = {
        "title": "西早稲田",
        "area": {"bbox": WASEDA_BBOX},
        "osm": {"overpass": True},
        "layers": ["childcare"],
        "basemap": {"draw": False},
        "outputs": {"geojson": {"file": "out/map.geojson"}},
    }
    return _write(folder, raw)


def geocode_map(folder: Path) -> Path:
    shutil.copy(DATA / "opendata/hospitals_address_only.csv", folder / "hospitals.csv")
    raw = {
        "title": "病院",
        "area": {"bbox": [136.3, 36.3, 136.8, 36.7]},
        "osm": False,
        "layers": [
            {
                "id": "hospitals",
                "title": {"ja": "病院", "en": "Hospitals"},
                "sources": [{"csv": {"path": "hospitals.csv", "geocode": True}}],
            }
        ],
        "outputs": {"geojson": {"file": "out/map.geojson"}},
    }
    return _write(folder, raw)


def homes_map(folder: Path, *, homes_file: bool = False) -> Path:
    """金沢 shelters from GSI files, ``osm: false``, with homes: routes need a street network."""
    homes: dict = {"disaster": "地震", "points": [{"name": "集合場所A", "point": HOME}]}
    if homes_file:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "homes.csv").write_text(
            "名称,住所\r\n鞍月の集合場所,金沢市鞍月東2丁目1番地\r\n", encoding="utf-8"
        )
        homes = {"disaster": "地震", "file": "homes.csv", "geocode": True}
    raw = {
        "title": "金沢 避難マップ",
        "area": {"bbox": [136.62, 36.54, 136.69, 36.58]},
        "osm": False,
        "layers": [
            {
                "use": "shelters",
                "extra_sources": [
                    {"geojson": {"path": str(GSI / "evacuation_172014.json"),
                                 "category": "指定避難所"}},
                    {"geojson": {"path": str(GSI / "emergency_172014.json"),
                                 "category": "指定緊急避難場所"}},
                ],
            }
        ],
        "homes": homes,
        "outputs": {"geojson": {"file": "out/map.geojson"}},
    }  # fmt: skip
    return _write(folder, raw)


def _write(folder: Path, raw: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "map.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def pdftext(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    return "".join(out.stdout.split())


# --------------------------------------------------------------------------- unshare -n


class NoNetworkCli:
    """``civicmap`` runs in one network namespace with no network (``unshare -n``).

    One ``tests/forked_cli.py`` process per module holds the namespace and the heavy
    third-party imports; each run is a fresh child forked from it (its own
    environment, folder and civicmap import), so runs stay independent. A run's
    seconds are its own, from the fork to its exit: the interpreter and the
    third-party imports they share take the same time with a network or without
    (``start_seconds``), what is timed is what the missing network could add.
    """

    def __init__(self, folder: Path) -> None:
        self.logs, self.runs = folder, 0
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for name in ("CIVICMAP_OVERPASS_URL", "CIVICMAP_GEOCODER_URL", "CIVICMAP_OFFLINE",
                     "CIVICMAP_ALLOW_PRIVATE_URLS", "CIVICMAP_TRACEBACK"):  # fmt: skip
            env.pop(name, None)
        self.env = env
        t = time.monotonic()
        self.proc = subprocess.Popen(
            ["unshare", "-n", sys.executable, str(TESTS / "forked_cli.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=folder,
            text=True,
            start_new_session=True,  # its own process group: close() ends a stuck run too
        )
        assert self._line(120) == "ready"
        self.start_seconds = time.monotonic() - t

    def _line(self, timeout: float) -> str:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert ready, f"civicmap did not end within {timeout} s"
        return self.proc.stdout.readline().strip()

    def run(self, *args: str, cwd: Path, lang: str) -> tuple[int, str, float]:
        """``civicmap ARGS`` in ``cwd``; (exit code, stdout + stderr, seconds)."""
        env = {**self.env, "CIVICMAP_CACHE_DIR": str(cwd / "cache"), "CIVICMAP_LANG": lang}
        self.runs += 1
        out, err = self.logs / f"{self.runs}.out", self.logs / f"{self.runs}.err"
        request = {"args": list(args), "cwd": str(cwd), "env": env, "out": str(out),
                   "err": str(err)}  # fmt: skip
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self._line(120))
        text = out.read_text(encoding="utf-8") + err.read_text(encoding="utf-8")
        return answer["code"], text, answer["seconds"]

    def close(self) -> None:
        """End the namespace's process and any run a failed test left behind."""
        self.proc.stdin.close()
        # killed, not waited out: pandas & co. tearing down took a second for nothing
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def no_network_cli(tmp_path_factory):
    cli = NoNetworkCli(tmp_path_factory.mktemp("no-network-cli"))
    yield cli
    cli.close()


TILE_TEXTS = {
    "ja": ("地理院タイル", "cyberjapandata.gsi.go.jp に接続できません", "civicmap fetch MAP.yaml",
           "--offline"),
    "en": ("GSI tiles", "cyberjapandata.gsi.go.jp could not be reached", "civicmap fetch MAP.yaml",
           "--offline"),
}  # fmt: skip


@needs_unshare
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_tile_map_with_no_network_draws_the_fallback_in_seconds(no_network_cli, tmp_path, lang):
    code, out, seconds = no_network_cli.run(
        "build", str(tile_map(tmp_path)), cwd=tmp_path, lang=lang
    )
    assert code == 0, out
    assert seconds < 10, (seconds, out)
    service, why, fix, offline = TILE_TEXTS[lang]
    # said once, naming the background and how to get it; no retry lines
    told = [line for line in out.splitlines() if why in line]
    assert len(told) == 1, out
    assert service in told[0] and fix in told[0] and offline in told[0]
    assert "再試行" not in out and "retry" not in out
    assert "the cache" not in out or lang == "en"
    # drawn on the fallback (N03 outlines, the area) and never credited to GSI
    text = pdftext(tmp_path / "out/toyama.pdf")
    assert "背景地図なし" in text  # the map itself is in Japanese (its language)
    assert "地理院タイル" not in text and "国土地理院" not in text
    assert "測量法" not in out  # no reminder about tiles the map does not show


@needs_unshare
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_overpass_with_no_network_fails_at_once_naming_overpass_and_the_fix(
    no_network_cli, tmp_path, lang
):
    code, out, seconds = no_network_cli.run(
        "build", str(overpass_map(tmp_path)), cwd=tmp_path, lang=lang
    )
    assert code == 1 and seconds < 10, (seconds, out)
    line = out.strip().splitlines()[-1]
    assert len(out.strip().splitlines()) == 1, out  # one line, no retries before it
    if lang == "ja":
        assert line.startswith("エラー: Overpass（overpass-api.de）に接続できません")
        assert "civicmap fetch MAP.yaml" in line and "--offline" in line
    else:
        assert line.startswith("Error: Overpass (overpass-api.de) could not be reached")
        assert "civicmap fetch MAP.yaml" in line and "--offline" in line
    assert not (tmp_path / "out/map.geojson").exists()


@needs_unshare
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_geocoder_with_no_network_is_named_once_and_the_build_goes_on(
    no_network_cli, tmp_path, lang
):
    code, out, seconds = no_network_cli.run(
        "build", str(geocode_map(tmp_path)), cwd=tmp_path, lang=lang
    )
    assert code == 0 and seconds < 10, (seconds, out)
    name = (
        "地理院 住所検索（msearch.gsi.go.jp）に接続できません"
        if lang == "ja"
        else ("GSI address search (msearch.gsi.go.jp) could not be reached")
    )
    told = [line for line in out.splitlines() if name in line]
    assert len(told) == 1, out
    assert ("緯度" in told[0]) and ("overpass" not in told[0].lower())
    assert not list((tmp_path / "cache").rglob("*.json"))  # nothing cached


@needs_unshare
def test_homes_with_osm_false_never_ask_overpass_even_with_no_network(no_network_cli, tmp_path):
    code, out, seconds = no_network_cli.run(
        "build", str(homes_map(tmp_path)), cwd=tmp_path, lang="ja"
    )
    assert code == 0 and seconds < 10, (seconds, out)
    assert "Overpass" not in out and "overpass" not in out
    doc = json.loads((tmp_path / "out/map.geojson").read_text(encoding="utf-8"))
    assert doc["features"]


@needs_unshare
@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("which", ["overpass", "tiles"])
def test_fetch_with_no_network_ends_in_one_line_and_leaves_no_pack(
    no_network_cli, tmp_path, lang, which
):
    mapfile = overpass_map(tmp_path) if which == "overpass" else tile_map(tmp_path)
    code, out, seconds = no_network_cli.run(
        "fetch", str(mapfile), "-o", str(tmp_path / "pack"), cwd=tmp_path, lang=lang
    )
    assert code == 1 and seconds < 10, (seconds, out)
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    service = {"overpass": "Overpass", "tiles": "地理院タイル" if lang == "ja" else "GSI tiles"}
    assert service[which] in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == ["map.yaml"]


# --------------------------------------------------------------------------- socket guard


def test_tile_fetcher_tries_a_dead_network_once_not_once_per_tile(no_network, tmp_path):
    spec = civicmap.load_map(tile_map(tmp_path))
    t = time.monotonic()
    pdf = civicmap.build(spec, overwrite=True)["paper"][0]
    assert time.monotonic() - t < 10
    # one look-up of the tile server, no connect, no retry: 72 tiles × 3 retries before
    assert no_network.attempts == [("dns", "cyberjapandata.gsi.go.jp")]
    text = pdftext(pdf)
    assert "地理院タイル" not in text and "背景地図なし" in text


def test_a_failed_connection_marks_the_host_for_the_run(no_network):
    url = "https://overpass-api.de/api/interpreter"
    with _http.network_run():
        for _ in range(3):
            with pytest.raises(NetworkError, match=r"Overpass \(overpass-api\.de\) could not"):
                _http.overpass("[out:json];node(1,2,3,4);out;", url=url)
    assert no_network.attempts == [("dns", "overpass-api.de")]


def test_offline_reaches_every_request_with_no_network_attempt(no_network, tmp_path):
    """``--offline``: homes geocoding, Overpass, tiles and the area look-up ask nothing."""
    from click.testing import CliRunner

    from civicmap.cli import main

    no_network.strict = True
    runner = CliRunner()
    res = runner.invoke(main, ["build", str(homes_map(tmp_path / "h", homes_file=True)),
                               "--offline"])  # fmt: skip
    assert res.exit_code == 1, res.output  # the address is not in the cache: one clear line
    assert "GSI address search" in res.output and "offline" in res.output
    res = runner.invoke(main, ["build", str(overpass_map(tmp_path / "o")), "--offline"])
    assert res.exit_code == 1 and "Overpass" in res.output
    res = runner.invoke(main, ["build", str(tile_map(tmp_path / "t")), "--offline"])
    assert res.exit_code == 1 and "civicmap fetch" in res.output
    raw = yaml.safe_load((tmp_path / "h/map.yaml").read_text(encoding="utf-8"))
    raw.update(area={"place": "金沢市広坂"}, homes={"points": [{"name": "A", "point": HOME}]})
    res = runner.invoke(main, ["build", str(_write(tmp_path / "p", raw)), "--offline"])
    assert res.exit_code != 0 and "place-name search (Nominatim)" in res.output, res.output


def test_homes_with_osm_false_ask_no_street_network(no_network, tmp_path):
    no_network.strict = True
    data = civicmap.collect(civicmap.load_map(homes_map(tmp_path)))
    assert data.routes is not None and len(data.routes) >= 1
    assert set(data.routes["route"]) == {"straight"}
