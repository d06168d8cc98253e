"""Dask in ``civicmap batch``: nobody else can use the batch's cluster, no peer runs code in it.

Every server here is real and listens on 127.0.0.1: the batch's own ``LocalCluster``, a Dask
scheduler started by the test, and fake "schedulers" (a plain TCP server that answers an
HTTP error, one that never answers, one that sends a Dask-framed pickle).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import dask
import msgpack
import psutil
import pytest
from click.testing import CliRunner
from distributed import Client
from distributed.protocol.utils import pack_frames
from distributed.security import Security

from civicmap.batch import batch, local_client, remote_client
from civicmap.cli import main
from civicmap.errors import BatchError

#: The module (``civicmap.batch`` is also the name of a function the package exports).
batch_mod = importlib.import_module("civicmap.batch")
DATA = Path(__file__).parents[1] / "data"
HIEZU = DATA / "boundaries" / "chome_hiezu" / "hiezu_chome.shp"


class _Marker:
    """Unpickling this creates ``path``: what a hostile scheduler would run instead."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def _framed_pickle(marker: Path) -> bytes:
    """A Dask comm message (as distributed's TCP comm reads it) whose body is a pickle."""
    frames = [
        msgpack.dumps({"__Pickled__": 1}),
        msgpack.dumps({"pickled-obj": pickle.dumps(_Marker(marker)), "num-sub-frames": 0}),
    ]
    body = pack_frames(frames)
    return struct.pack("Q", len(body)) + body


@pytest.fixture
def fake_server():
    """Start TCP servers on 127.0.0.1 that send ``answer`` on connect (None: never answer)."""
    servers: list[socket.socket] = []
    held: list[socket.socket] = []

    def start(answer: bytes | None) -> int:
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        servers.append(srv)

        def run() -> None:
            while True:
                try:
                    conn, _addr = srv.accept()
                except OSError:
                    return
                held.append(conn)  # kept open: a silent peer, not a closed one
                if answer:
                    conn.sendall(answer)

        threading.Thread(target=run, daemon=True).start()
        return srv.getsockname()[1]

    yield start
    for s in held + servers:
        s.close()


def _small_map(folder: Path) -> Path:
    """A map of one made-up place per 日吉津村 町丁目, GeoJSON output only (fast builds)."""
    (folder / "places.csv").write_text(
        "name,lat,lon\n施設A,35.4420,133.3800\n施設B,35.4380,133.3760\n", encoding="utf-8"
    )
    (folder / "places.yaml").write_text(
        "id: places\ntitle: {ja: 施設, en: Places}\nsources:\n  - csv: {path: places.csv}\n"
        'style: {color: "#2f9e44", symbol: circle}\n',
        encoding="utf-8",
    )
    (folder / "map.yaml").write_text(
        "title: 地図\narea: {bbox: [133.36, 35.42, 133.40, 35.46]}\nosm: false\n"
        "basemap: {draw: false}\nlayers: [places.yaml]\n"
        "outputs:\n  geojson: {file: out/map.geojson}\n",
        encoding="utf-8",
    )
    return folder / "map.yaml"


def _tls_config(security: Security) -> dict[str, str]:
    """The Dask configuration a cluster's user has: its CA and a client certificate."""
    return {
        "distributed.comm.tls.ca-file": security.tls_ca_file,
        "distributed.comm.tls.client.cert": security.tls_client_cert,
        "distributed.comm.tls.client.key": security.tls_client_key,
    }


def test_a_fake_scheduler_sending_a_pickle_runs_nothing(tmp_path, fake_server):
    marker = tmp_path / "ran"
    port = fake_server(_framed_pickle(marker))
    # The payload is real: Dask's own comm runs it on connect (what the old batch did).
    from distributed.comm import connect

    with pytest.raises(Exception):  # noqa: B017  (the handshake is not a dict; it ran first)
        asyncio.run(asyncio.wait_for(connect(f"tcp://127.0.0.1:{port}", timeout=3), 10))
    assert marker.exists()
    marker.unlink()
    # tcp:// is refused outright; with --insecure-scheduler the greeting is checked first
    with pytest.raises(BatchError, match="only a tls://"):
        remote_client(f"tcp://127.0.0.1:{port}", timeout=3)
    with pytest.raises(BatchError, match="greeting"):
        remote_client(f"tcp://127.0.0.1:{port}", insecure=True, timeout=3)
    # tls:// with the user's certificates: the fake server cannot pass the TLS handshake
    with dask.config.set(_tls_config(Security.temporary())):
        with pytest.raises(BatchError, match="TLS"):
            remote_client(f"tls://127.0.0.1:{port}", timeout=3)
    assert not marker.exists()


#: The scheduler timeout the CLI runs with here (``CIVICMAP_SCHEDULER_TIMEOUT``, default 10 s):
#: a port that never answers is given up after it, and the message names it. The silent port
#: is waited out in full, so it is short (the fake server is on this computer).
SCHEDULER_TIMEOUT_S = 1


def _cli(args: list[str], *, timeout: float) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2]), "CIVICMAP_LANG": "en",
           "CIVICMAP_SCHEDULER_TIMEOUT": str(SCHEDULER_TIMEOUT_S)}  # fmt: skip
    env.pop("CIVICMAP_TRACEBACK", None)
    t = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", "from civicmap.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    return proc, time.monotonic() - t


@pytest.mark.parametrize(
    ("answer", "reason"),
    [(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", "not a Dask message"),
     (None, f"no answer within {SCHEDULER_TIMEOUT_S} s")],
)  # fmt: skip
def test_an_address_that_is_not_a_scheduler_ends_in_one_line(tmp_path, fake_server, answer, reason):
    port = fake_server(answer)
    mapfile = _small_map(tmp_path)
    proc, took = _cli(
        ["batch", str(mapfile), "--each", str(HIEZU), "--name", "MOJI", "-o", str(tmp_path / "o"),
         "--scheduler", f"tcp://127.0.0.1:{port}", "--insecure-scheduler"],
        timeout=SCHEDULER_TIMEOUT_S + 90,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "MemoryError" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and reason in errors[0] and f":{port}" in errors[0], proc.stderr
    assert "insecure-scheduler" in proc.stderr  # the warning that says what it risks
    assert took < SCHEDULER_TIMEOUT_S + 30


def test_not_a_scheduler_message_in_japanese(fake_server):
    port = fake_server(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    from civicmap.i18n import use_language

    with use_language("ja"), pytest.raises(BatchError) as err:
        remote_client(f"tcp://127.0.0.1:{port}", insecure=True, timeout=3)
    assert "Dask のスケジューラ" in str(err.value), err.value
    with use_language("ja"), pytest.raises(BatchError) as err:
        remote_client(f"tcp://127.0.0.1:{port}", timeout=3)
    assert "tls://" in str(err.value) and "受け付け" in str(err.value), err.value


def test_a_wrong_scheduler_is_said_before_the_inputs_are_read(tmp_path, fake_server, monkeypatch):
    """A prefecture's inputs take minutes to read: a wrong --scheduler is said before that."""
    port = fake_server(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    read: list[str] = []

    def read_inputs(*args, **kwargs):
        read.append("inputs")
        raise RuntimeError("the inputs were read")

    monkeypatch.setattr(batch_mod.pipeline, "read_inputs", read_inputs)
    mapfile = _small_map(tmp_path)
    with pytest.raises(BatchError, match="not a Dask message"):
        batch(mapfile, each=str(HIEZU), name_field="MOJI", out_dir=tmp_path / "out",
              scheduler=f"tcp://127.0.0.1:{port}", insecure_scheduler=True)  # fmt: skip
    assert read == []
    # without certificates for a tls:// address: said before reading as well
    with pytest.raises(BatchError, match=r"distributed\.comm\.tls\.ca-file"):
        batch(mapfile, each=str(HIEZU), name_field="MOJI", out_dir=tmp_path / "out",
              scheduler=f"tls://127.0.0.1:{port}")  # fmt: skip
    assert read == []


def test_areas_of_a_killed_worker_are_sent_again_not_failed(tmp_path, caplog, monkeypatch):
    """Kill the worker that holds the most areas' data after the first area ends."""
    folder = tmp_path
    _small_map(folder)  # the layer and its CSV; the map gets a PDF too (slower areas)
    (folder / "map.yaml").write_text(
        "title: 防災マップ\narea: {bbox: [133.36, 35.42, 133.40, 35.46]}\nosm: false\n"
        "basemap: {draw: false}\nlayers: [places.yaml]\n"
        "outputs:\n  geojson: {file: out/map.geojson}\n  paper: {file: out/map.pdf, size: A4}\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(batch_mod, "PROGRESS_EVERY_S", 0.2)
    client = local_client(2)
    killed: list[int] = []
    reports: list[batch_mod.BatchProgress] = []

    def progress(p: batch_mod.BatchProgress) -> None:
        reports.append(p)
        if p.row is None or killed:
            return
        held = client.has_what()
        busiest = max(held, key=lambda w: len(held[w]))
        pid = client.run(os.getpid, workers=[busiest])[busiest]
        os.kill(pid, signal.SIGKILL)
        killed.append(len(held[busiest]))

    try:
        with caplog.at_level("WARNING", logger="civicmap.batch"):
            result = batch(folder / "map.yaml", each=str(HIEZU), name_field="MOJI",
                           out_dir=folder / "out", client=client, progress=progress)  # fmt: skip
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    assert killed and killed[0] > 0  # the killed worker held data of areas not yet built
    assert [r["status"] for r in result.rows] == ["ok"] * 7, [r["error"] for r in result.rows]
    assert "sending it again" in caplog.text
    for r in result.rows:
        assert (folder / "out" / r["key"] / "map.pdf").read_bytes().startswith(b"%PDF")
    # progress: every area once, and periodic reports in between
    assert [p.done for p in reports if p.row is not None] == list(range(1, 8))
    assert reports[-1].done == reports[-1].total == 7
    assert any(p.row is None for p in reports)
    doc = json.loads((folder / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert {r["status"] for r in doc["rows"]} == {"ok"}


# --- the batch's own clusters, running ---------------------------------------------
# Last in the module: the two clusters are started once for these tests, and a running
# cluster is not free (heartbeats, TLS): alive during the tests above, it cost more CPU
# than starting it again.


@pytest.fixture(scope="module")
def two_batch_clusters():
    """Two of the batch's own locked clusters running at once, and the warnings of their start.

    Started once for the module (each start adds a worker process): the tests below only
    connect to them, list their sockets or build on one through ``--scheduler``.
    """
    with warnings.catch_warnings(record=True) as started:
        warnings.simplefilter("always")
        first = local_client(1)
        try:
            second = local_client(1)
        except BaseException:
            first.close()
            first.cluster.close()
            raise
    yield first, second, started
    for client in (second, first):
        cluster = client.cluster
        client.close()
        cluster.close()


def test_a_second_local_user_cannot_connect_to_a_running_batchs_cluster(two_batch_clusters):
    client, _second, _warned = two_batch_clusters
    address = client.scheduler.address
    assert address.startswith("tls://127.0.0.1:")
    workers = list(client.scheduler_info()["workers"])
    assert workers and all(w.startswith("tls://") for w in workers)
    assert client.submit(sum, [1, 2]).result() == 3  # the batch itself gets in
    # another user: plain TCP (what the old cluster spoke), then TLS with their own
    # certificates; to the scheduler and to a worker
    for target in (address, workers[0]):
        with pytest.raises((OSError, TimeoutError)):
            Client(target.replace("tls://", "tcp://"), timeout=3)
        with pytest.raises((OSError, TimeoutError)):
            Client(target, security=Security.temporary(), timeout=3)
    assert len(client.scheduler_info()["workers"]) == 1


def test_a_tls_scheduler_with_the_users_configuration_builds_the_batch(
    tmp_path, two_batch_clusters
):
    """A running TLS cluster (one of the batch's own, locked with its run's certificate)
    reached by ``--scheduler``: refused without the certificates, built with them."""
    client, _second, _warned = two_batch_clusters
    mapfile = _small_map(tmp_path)
    address = client.scheduler.address
    assert address.startswith("tls://")
    # without the configuration: one clear error, nothing built
    res = CliRunner().invoke(
        main, ["batch", str(mapfile), "--each", str(HIEZU), "--name", "MOJI",
               "-o", str(tmp_path / "none"), "--scheduler", address],
    )  # fmt: skip
    assert res.exit_code == 2 and "distributed.comm.tls.ca-file" in res.output, res.output
    assert not list((tmp_path / "none").glob("*/map.geojson"))
    with dask.config.set(_tls_config(client.security)):
        result = batch(mapfile, each=str(HIEZU), name_field="MOJI",
                       out_dir=tmp_path / "out", scheduler=address)  # fmt: skip
    assert [r["status"] for r in result.rows] == ["ok"] * 7
    assert all((tmp_path / "out" / r["key"] / "map.geojson").exists() for r in result.rows)
    # the batch closed its own client only: the cluster it was given still runs
    assert len(client.scheduler_info()["workers"]) == 1


def test_two_batch_clusters_at_once_bind_no_fixed_port_and_warn_nothing(two_batch_clusters):
    # A workshop PC running two batches (or a batch and a notebook): the scheduler's HTTP
    # server used the fixed port 8787, and the second one warned in English that it was taken
    # (that warning then showed in a Japanese notebook's output).
    first, second, started = two_batch_clusters
    assert first.scheduler.address != second.scheduler.address
    # this process (schedulers, nannies) and the clusters' workers: not every child of the
    # test process (a browser driver of another test file listens on ::1 as well)
    workers = {*first.run(os.getpid).values(), *second.run(os.getpid).values()}
    assert len(workers) == 2
    listening = {
        (c.laddr.ip, c.laddr.port)
        for p in [psutil.Process(os.getpid()), *map(psutil.Process, workers)]
        for c in p.net_connections()
        if c.status == psutil.CONN_LISTEN
    }
    assert len(listening) >= 4  # two schedulers and two workers at least
    assert all(ip == "127.0.0.1" for ip, _port in listening), listening
    assert 8787 not in {port for _ip, port in listening}
    assert not [w for w in started if "already in use" in str(w.message)]
