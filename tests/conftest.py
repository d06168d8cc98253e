"""Shared fixtures. Test data lives in tests/data (see its README for provenance)."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own empty response cache; nothing reaches ~/.cache."""
    from civicmap import settings

    monkeypatch.setattr(settings, "cache_folder", tmp_path_factory.mktemp("cache"))


# --- Overpass test server (tests/overpass_server.py) ---------------------------


@pytest.fixture(scope="session")
def _overpass_session():
    from overpass_server import OverpassServer

    server = OverpassServer(DATA / "osm" / "SmallAroundWaseda.osm")
    yield server
    server.stop()


@pytest.fixture
def overpass_server(_overpass_session, monkeypatch):
    """A real Overpass API on 127.0.0.1 answering from SmallAroundWaseda.osm.

    Each test starts with an empty failure script and request log; retry waits
    are made tiny and the default endpoint points at the server.
    """
    from civicmap import settings

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
    return server
