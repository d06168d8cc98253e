"""Shared fixtures. Test data lives in tests/data (see its README for provenance)."""

from __future__ import annotations

import errno
import gc
import ipaddress
import json
import shutil
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import loopback
import pytest
from overpass_server import OverpassServer
from remote_server import SHELTERS_V1, Clock, FileServer
from tile_server import TileServer, use_loopback_gsi

from civicmap import _http, settings
from civicmap._gc import set_imports_aside
from civicmap.spec.mapfile import parse_map

DATA = Path(__file__).parent / "data"

#: Test modules (paths below tests/) whose tests are ``slow``: batches on Dask, kills,
#: notebooks, atlases, whole-page print checks and the browser. ``make check`` leaves
#: them out; ``make test`` runs everything. A single slow test elsewhere is named in
#: :data:`SLOW_TESTS` (or carries ``@pytest.mark.slow`` itself).
SLOW_MODULES = (
    "browser/",
    "security/test_output_faults.py",
    "security/test_dask_security.py",
    "test_batch.py",
    "test_notebooks.py",
    "render/paper/test_paper_atlas.py",
    "render/paper/test_paper_print.py",
    "render/paper/test_paper_single_sheet.py",
    # every test starts civicmap with the network switched off (unshare) and times it
    "render/test_network_down.py",
    # the heaviest modules left in make check at the end of round 5 (make check --durations,
    # summed per module on this 2-core machine): 7-39 s each, together 123 of its 259 s:
    # starter builds of whole prefectures, deadlines and drips waited out on purpose,
    # bombs, Dask workers, tile fetches through loopback servers, whole check+build pairs
    "cli/test_init.py",
    "security/test_network_faults.py",
    "sources/test_remote.py",
    "security/test_category_bombs.py",
    "render/test_tiles.py",
    "security/test_spreadsheet_bombs.py",
    "cli/test_check_build_agree.py",
    "cli/test_batch_private_urls.py",
    "render/test_tiles_web.py",
    "security/test_serve_paths.py",
    "security/test_yaml_bombs.py",
)

#: Single slow tests elsewhere (``module::test``: all its parameters; ``module::test[id]``:
#: one), each over ~5 s in ``make check --durations`` on this 2-core machine (issue 23):
#: whole builds of a real municipal file, a batch worker, 4-million-pair conflation,
#: bombs made in setup. ``make test`` still runs them.
SLOW_TESTS = (
    "cli/test_init.py::test_init_from_a_csv_writes_a_commented_japanese_map_file",
    "cli/test_init.py::test_the_csv_starter_checks_and_builds_offline",
    "cli/test_init.py::test_starter_titles_the_map_by_the_datas_kind_and_place",
    "cli/test_init.py::test_a_shelter_list_starter_is_a_shelter_layer",
    "cli/test_init.py::test_the_starters_first_build_passes_the_readability_check[ishikawa]",
    "security/test_output_rule.py::test_two_builds_into_one_folder_never_mix",
    "security/test_hostile_inputs.py::test_zip_bomb_is_refused_quickly_without_unpacking",
    "sources/test_opendata_names.py::test_bench_table_every_file_accounts_for_every_row",
    "cli/test_i18n_ja.py::test_a_batch_worker_speaks_the_callers_language",
    "cli/test_cli.py::test_the_demo_console_is_calm_and_says_more_with_v",
    "cli/test_cli.py::test_long_steps_report_their_progress",
    "join/test_conflate_same.py::test_point_lists_take_the_grid_and_ties_go_back_to_the_tree",
    "join/test_conflate_same.py::test_synthetic_2k_by_2k_same_as_reference",
    "cli/test_diff_cli.py::test_diff_refuses_to_overwrite_without_the_flag",
    "test_schema_utm.py::test_the_cached_zone_is_the_one_geopandas_picks_across_japan",
)


#: The longest test files, longest first (each file's tests summed, from a ``make test`` run
#: on 2026-12-07, round 8: 27 s for the notebooks down to 5 s; re-measure when a file grows). They run
#: first so that ``make test`` (``--dist loadfile --no-loadscope-reorder``: one file on one
#: worker, files handed out in this order) never ends waiting for a long file that started
#: last while the other core is idle. A file not named here keeps its place after them.
LONG_FIRST = (
    "test_notebooks.py",
    "test_split.py",  # the address-space cap test alone is ~14 s
    "test_batch.py",
    "browser/test_site_offline.py",
    "browser/test_web_popups_print.py",
    "browser/test_filters_phone.py",
    "browser/test_hazards_web.py",
    "cli/test_check_build_agree.py",
    "security/test_dask_security.py",
    "cli/test_cli.py",
    "render/test_network_down.py",
    "render/test_tiles.py",
    "cli/test_init.py",
    "test_hazards.py",
    "cli/test_batch_private_urls.py",
    "render/paper/test_paper_print.py",
    "render/paper/test_paper_atlas.py",
    "browser/",
)


def _in(rel: str, names) -> bool:
    return any(rel == m or (m.endswith("/") and rel.startswith(m)) for m in names)


def _long_rank(rel: str) -> int:
    for rank, name in enumerate(LONG_FIRST):
        if _in(rel, (name,)):
            return rank
    return len(LONG_FIRST)


def pytest_collection_finish(session):
    """After collection every library is imported: set them aside from the garbage collector,
    as the ``civicmap`` command does (civicmap._gc), and collect less often. Measured on three
    build-heavy files: 8-13 % less CPU (issue 23)."""
    set_imports_aside()
    gc.set_threshold(20_000, 20, 20)  # default (700, 10, 10): builds allocate in bulk


def pytest_collection_modifyitems(config, items):
    root = Path(__file__).parent
    rank: dict[str, int] = {}
    for item in items:
        try:
            rel = Path(item.fspath).relative_to(root).as_posix()
        except ValueError:
            rank[item.nodeid] = len(LONG_FIRST)
            continue
        rank[item.nodeid] = _long_rank(rel)
        if _in(rel, SLOW_MODULES):
            item.add_marker(pytest.mark.slow)
        elif {f"{rel}::{item.originalname}", f"{rel}::{item.name}"} & set(SLOW_TESTS):
            item.add_marker(pytest.mark.slow)
    # stable: the tests of a file keep their order (and their module fixtures, their sharing)
    items.sort(key=lambda item: rank[item.nodeid])


@pytest.fixture
def data_dir() -> Path:
    return DATA


#: The area of tests/data/osm/SmallAroundWaseda.osm (west, south, east, north).
WASEDA_BBOX = [139.7031784, 35.7039554, 139.7098839, 35.7093917]


@pytest.fixture
def waseda_map():
    """Make an in-memory map of the SmallAroundWaseda area (300 m buffer).

    ``waseda_map(osm, layers=("childcare", "shelters"), **extra)``: ``osm`` is
    the map's ``osm:`` section (a file name is relative to tests/data/osm),
    ``extra`` further top-level keys (``basemap``, ``outputs``).
    """

    def make(osm: dict, layers=("childcare", "shelters"), **extra):
        raw = {
            "title": "t",
            "area": {"bbox": WASEDA_BBOX, "buffer": 300},
            "osm": osm,
            "layers": list(layers),
            **extra,
        }
        return parse_map(raw, file="t.yaml", base_dir=(DATA / "osm").resolve())

    return make


@pytest.fixture
def aed_map(tmp_path: Path) -> Path:
    """A map of the real 石川県 AED list alone (no OSM, no network) with a GeoJSON output."""
    shutil.copy(
        DATA / "messy" / "170003_aed_MOJIBAKE_cp932-as-latin1-in-utf8.csv", tmp_path / "aed.csv"
    )
    (tmp_path / "aed.yaml").write_text(
        "id: aed\ntitle: {ja: AED, en: AED}\nsources:\n  - csv: {path: aed.csv}\n"
        'style: {color: "#e03131", symbol: cross}\n',
        encoding="utf-8",
    )
    (tmp_path / "map.yaml").write_text(
        "title: 石川県 AED\narea: {bbox: [136.2, 36.0, 137.4, 37.6]}\nlayers: [aed.yaml]\n"
        "basemap: {draw: false}\noutputs:\n  geojson: {file: out/aed.geojson}\n",
        encoding="utf-8",
    )
    return tmp_path / "map.yaml"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own empty response cache; nothing reaches ~/.cache.

    ``offline`` is set to its default (off) too, whatever ``CIVICMAP_OFFLINE``
    says in the shell running the tests; ``--offline`` itself never changes it.
    """
    monkeypatch.setattr(settings, "cache_folder", tmp_path_factory.mktemp("cache"))
    # hosts found unreachable and retries spent belong to one test, as to one command
    monkeypatch.setattr(_http, "_DEFAULT_RUN", _http.NetworkRun())
    monkeypatch.setattr(settings, "offline", False)
    # the CLI speaks Japanese unless told otherwise; tests read English unless they pass --lang ja
    monkeypatch.setenv("CIVICMAP_LANG", "en")
    # a bug in civicmap shows its traceback in the tests (users get one line and -v)
    monkeypatch.setenv("CIVICMAP_TRACEBACK", "1")


# --- Overpass test server (tests/overpass_server.py) ---------------------------


@pytest.fixture(scope="session")
def _overpass_session():
    server = OverpassServer(DATA / "osm" / "SmallAroundWaseda.osm")
    yield server
    server.stop()


@pytest.fixture
def overpass_server(_overpass_session, monkeypatch):
    """A real Overpass API on 127.0.0.1 answering from SmallAroundWaseda.osm.

    Each test starts with an empty failure script and request log; retry waits
    are made tiny and the default endpoint points at the server.
    """
    server = _overpass_session
    server.script.clear()
    server.requests.clear()
    server.status_wait = None
    server.slow_seconds = 2.0
    monkeypatch.setattr(settings, "overpass_url", server.url)
    monkeypatch.setattr(settings, "backoff_base", 0.001)
    monkeypatch.setattr(settings, "max_wait", 0.05)
    monkeypatch.setattr(settings, "overpass_http_timeout", 1.0)
    monkeypatch.setattr(settings, "offline", False)
    # map files in tests name this loopback server: allowed like --allow-private-urls
    monkeypatch.setattr(settings, "allow_private_urls", True)
    return server


# --- XYZ tile test server (tests/tile_server.py) -------------------------------


@pytest.fixture(scope="module")
def tile_server():
    """A loopback XYZ tile server serving generated PNGs (can answer 404, 429, slow, broken)."""
    server = TileServer()
    yield server
    server.stop()


@pytest.fixture
def gsi(tile_server, monkeypatch):
    """The registry's gsi-pale pointed at the loopback tile server, without pacing."""
    tile_server.reset()
    use_loopback_gsi(monkeypatch, tile_server)
    return tile_server


# --- remote sources' file server (tests/remote_server.py) ----------------------


@pytest.fixture
def remote_files(monkeypatch):
    """A loopback file server serving SHELTERS_V1 as ``shelters.csv``, private URLs allowed.

    Its answer can change between two fetches (``files[...] = SHELTERS_V2``) or fail
    (``script``, ``stop()``); retry waits are tiny and ``SOURCE_DATE_EPOCH`` is unset.
    """
    srv = FileServer()
    srv.files["shelters.csv"] = SHELTERS_V1
    monkeypatch.setattr(settings, "allow_private_urls", True)  # as --allow-private-urls
    monkeypatch.setattr(settings, "backoff_base", 0.001)
    monkeypatch.setattr(settings, "max_wait", 0.05)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    yield srv
    srv.stop()


@pytest.fixture
def remote_clock(monkeypatch):
    """The clock of civicmap.sources.remote, at remote_server.T0 until ``advance(...)``."""
    return Clock(monkeypatch)


# --- fake GSI address search (geocoder) ----------------------------------------

#: What the fake geocoder knows (NFKC-normalised query → lon, lat), GSI answer format.
KNOWN_ADDRESSES = {
    "金沢市鞍月東2丁目1番地": (136.6297, 36.6070),
    "小松市向本折町ホ60番地": (136.4541, 36.4135),
    # line 1 of デジタル庁's header-less Sapporo list, where its own abr-geocoder puts it
    "北海道札幌市西区二十四軒4条2丁目6-17": (141.309670499, 43.07713071),
}


@pytest.fixture
def geocoder(monkeypatch):
    """A GSI-style address search on 127.0.0.1 knowing KNOWN_ADDRESSES; yields its queries."""
    queries: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            q = parse_qs(urlparse(self.path).query).get("q", [""])[0]
            queries.append(q)
            hit = KNOWN_ADDRESSES.get(q)
            body = (
                []
                if hit is None
                else [
                    {
                        "geometry": {"coordinates": list(hit), "type": "Point"},
                        "type": "Feature",
                        "properties": {"addressCode": "", "title": q},
                    }
                ]
            )
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    loopback.start(server)
    monkeypatch.setattr(
        settings, "geocoder_url", f"http://127.0.0.1:{server.server_address[1]}/search"
    )
    monkeypatch.setattr(settings, "offline", False)
    yield queries
    loopback.stop(server)


# --- the network down (issue #30) ----------------------------------------------


class NetworkGuard:
    """What a test tried to reach outside loopback while the network was down.

    ``attempts`` lists ``("dns", name)`` and ``("connect", address)`` in order.
    With ``strict`` (see :func:`no_network`) any attempt fails the test.
    """

    def __init__(self) -> None:
        self.attempts: list[tuple[str, str]] = []
        self.strict = False

    def hosts(self) -> list[str]:
        return [what for _kind, what in self.attempts]


def _is_loopback(host: object) -> bool:
    name = str(host or "").strip("[]").lower()
    if name in ("localhost", "localhost.localdomain") or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture
def no_network(monkeypatch):
    """The network is down, as on a machine with no network: a socket guard.

    A name outside loopback does not resolve (``gaierror`` at once, as with no
    network) and a connect to an address outside loopback fails (``ENETUNREACH``);
    each attempt is recorded in ``guard.attempts``. Loopback works (the test
    servers). ``guard.strict = True``: the test fails on any attempt at all (a run
    that must not touch the network: ``--offline``, ``osm: false``).
    """
    guard = NetworkGuard()
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host, *args, **kwargs):
        if not _is_loopback(host):
            try:
                ipaddress.ip_address(str(host).strip("[]"))
            except ValueError:
                guard.attempts.append(("dns", str(host)))
                raise socket.gaierror(
                    socket.EAI_AGAIN, "Temporary failure in name resolution"
                ) from None
        return real_getaddrinfo(host, *args, **kwargs)

    def check(address) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not _is_loopback(host) and not host.startswith("/"):
            guard.attempts.append(("connect", host))
            raise OSError(errno.ENETUNREACH, "Network is unreachable")

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            check(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            check(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield guard
    if guard.strict and guard.attempts:
        pytest.fail(f"the network was used although it must not be: {guard.attempts}")
