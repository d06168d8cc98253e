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
