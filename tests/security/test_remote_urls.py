"""Hostile remote sources (issue 27): a map file's ``url:`` goes through _http's bounds only.

A redirect to another host, an answer larger than the cap, a ``file://`` address, a
loopback or private address without ``--allow-private-urls``, a tampered pack copy:
each is refused with one line, and a password or token in the URL is never printed.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from faults import HitRecorder
from remote_server import SHELTERS_V1, FileServer

from civicmap import settings
from civicmap.cli import main
from civicmap.errors import ConfigError
from civicmap.sources import remote
from civicmap.spec.mapfile import load_map


@pytest.fixture
def server(monkeypatch):
    srv = FileServer()
    srv.files["shelters.csv"] = SHELTERS_V1
    monkeypatch.setattr(settings, "backoff_base", 0.001)
    monkeypatch.setattr(settings, "max_wait", 0.05)
    monkeypatch.setattr(settings, "allow_private_urls", False)
    yield srv
    srv.stop()


def write_map(folder: Path, url: str) -> Path:
    (folder / "map.yaml").write_text(
        "title: t\narea: {bbox: [139.700, 35.700, 139.712, 35.712]}\nosm: false\n"
        "layers:\n  - id: living\n    title: 開設状況\n    sources:\n"
        f'      - csv: {{url: "{url}", refresh: 1h}}\n'
        "outputs:\n  geojson: {file: out/map.geojson}\n",
        encoding="utf-8",
    )
    return folder / "map.yaml"


def build(path: Path, *extra: str):
    return CliRunner().invoke(main, ["build", str(path), "--overwrite", *extra])


def test_a_loopback_url_is_refused_without_the_flag_and_read_with_it(tmp_path, server):
    path = write_map(tmp_path, server.url("shelters.csv"))
    refused = build(path)
    assert refused.exit_code != 0
    assert "--allow-private-urls" in refused.output and "Traceback" not in refused.output
    assert server.asked("shelters.csv") == 0  # refused before any request
    allowed = build(path, "--allow-private-urls")
    assert allowed.exit_code == 0, allowed.output
    assert server.asked("shelters.csv") == 1


def test_a_private_address_is_refused_even_with_a_copy_kept(tmp_path, server, monkeypatch):
    """A refused address is the map file's problem: never hidden behind a stale copy."""
    path = write_map(tmp_path, server.url("shelters.csv"))
    assert build(path, "--allow-private-urls").exit_code == 0
    monkeypatch.setattr(remote, "_now", lambda: dt.datetime(2099, 1, 1, tzinfo=dt.UTC))
    res = build(path)
    assert res.exit_code != 0 and "--allow-private-urls" in res.output


def test_a_redirect_to_another_host_is_refused_and_never_followed(tmp_path, server):
    other = HitRecorder()  # 127.0.0.2: another host
    try:
        server.script["shelters.csv"] = [("redirect", other.url)]
        res = build(write_map(tmp_path, server.url("shelters.csv")), "--allow-private-urls")
    finally:
        other.stop()
    assert res.exit_code != 0
    assert "redirected to another host" in res.output
    # The fix names where this address is written, not the Overpass options.
    assert "the map file" in res.output and "--overpass-url" not in res.output
    assert other.hits == []


def test_a_same_host_redirect_is_followed(tmp_path, server):
    server.files["moved.csv"] = SHELTERS_V1
    server.script["shelters.csv"] = [("redirect", server.url("moved.csv"))]
    res = build(write_map(tmp_path, server.url("shelters.csv")), "--allow-private-urls")
    assert res.exit_code == 0, res.output
    assert server.asked("moved.csv") == 1


def test_an_oversized_answer_is_refused_while_reading(tmp_path, server, monkeypatch):
    monkeypatch.setattr(settings, "http_max_bytes", 1_000_000)
    server.script["shelters.csv"] = ["huge"]
    started = time.monotonic()
    res = build(write_map(tmp_path, server.url("shelters.csv")), "--allow-private-urls")
    assert time.monotonic() - started < 30
    assert res.exit_code != 0
    assert "larger than 1 MB" in res.output
    assert not (tmp_path / "out" / "map.geojson").exists()


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.jp/shelters.csv", "https:///no-host.csv", "shelters"],
)
def test_a_url_that_is_not_http_is_refused_at_load_with_its_key(tmp_path, url):
    path = write_map(tmp_path, url)
    with pytest.raises(ConfigError) as err:
        load_map(path)
    (problem,) = err.value.problems
    assert problem.key.endswith("csv.url")
    assert "http:// or https://" in problem.message and "path:" in problem.message


def test_credentials_in_the_url_are_never_printed(tmp_path, server):
    url = server.url("shelters.csv").replace("http://", "http://alice:hunter2@") + "?token=abc123"
    path = write_map(tmp_path, url)
    first = build(path, "--allow-private-urls")
    assert first.exit_code == 0, first.output
    server.stop()
    (tmp_path / "out" / "map.geojson").unlink()
    res = CliRunner().invoke(main, ["-v", "build", str(path), "--allow-private-urls", "--refresh"])
    checked = CliRunner().invoke(main, ["check", "--json", str(path)])
    fetched = CliRunner().invoke(main, ["fetch", str(path), "--allow-private-urls"])
    manifest = (tmp_path / "osm-pack" / "manifest.json").read_text(encoding="utf-8")
    for text in (res.output, checked.output, fetched.output, manifest):
        assert "hunter2" not in text and "abc123" not in text and "alice" not in text
    assert "refresh failed" in res.output  # the kept copy was used, and said so
    assert json.loads(checked.output)["remote"][0]["url"].endswith("?token=***")


def test_a_tampered_copy_in_a_pack_is_refused(tmp_path, server):
    path = write_map(tmp_path, server.url("shelters.csv"))
    runner = CliRunner()
    res = runner.invoke(
        main, ["fetch", str(path), "-o", str(tmp_path / "pack"), "--allow-private-urls"]
    )
    assert res.exit_code == 0, res.output
    (copy,) = (tmp_path / "pack" / "remote").glob("*/shelters.csv")
    copy.write_bytes(copy.read_bytes().replace("開設".encode(), "閉鎖".encode()))
    res = runner.invoke(main, ["build", str(path), "--pack", str(tmp_path / "pack"), "--offline"])
    assert res.exit_code != 0
    assert "checksum" in res.output and "Traceback" not in res.output


def test_a_link_in_a_pack_is_never_followed(tmp_path, server):
    path = write_map(tmp_path, server.url("shelters.csv"))
    runner = CliRunner()
    res = runner.invoke(
        main, ["fetch", str(path), "-o", str(tmp_path / "pack"), "--allow-private-urls"]
    )
    assert res.exit_code == 0, res.output
    (copy,) = (tmp_path / "pack" / "remote").glob("*/shelters.csv")
    secret = tmp_path / "secret.csv"
    secret.write_text("名称,緯度,経度\n秘密,35.705,139.705\n", encoding="utf-8")
    copy.unlink()
    copy.symlink_to(secret)
    res = runner.invoke(main, ["build", str(path), "--pack", str(tmp_path / "pack"), "--offline"])
    assert res.exit_code != 0 and "秘密" not in res.output
    assert "link" in res.output
