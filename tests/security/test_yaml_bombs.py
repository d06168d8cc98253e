"""Hostile YAML map and layer files: alias bombs, huge files, tabs, long values.

Each attack is generated here; none ends in a traceback, a long wait or a
message that echoes the whole value.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from civicmap import _yaml, settings
from civicmap.cli import main
from civicmap.errors import ConfigError
from civicmap.spec.mapfile import load_map


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """The classic: each anchor is a list of ``width`` aliases of the previous one."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        refs = ", ".join([f"*a{i - 1}"] * width)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(["title: bomb", *lines, f"area: *a{levels}", "layers: [childcare]", ""])


def test_billion_laughs_refused_fast_in_little_memory(tmp_path):
    """9**10 ≈ 3.5e9 values from a 1 kB file: refused within a second under a 1 GB limit."""
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs(), encoding="utf-8")
    assert bomb.stat().st_size < 1500
    script = textwrap.dedent(
        f"""
        import resource, sys, time
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from civicmap.errors import ConfigError
        from civicmap.spec.mapfile import load_map
        t = time.perf_counter()
        try:
            load_map({str(bomb)!r})
        except ConfigError as exc:
            print(f"{{time.perf_counter() - t:.3f}}")
            print(str(exc))
            sys.exit(3)
        sys.exit(0)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 3, proc.stderr[-2000:]
    seconds, message = proc.stdout.split("\n", 1)
    assert float(seconds) < 1.0
    assert "billion laughs" in message and "bomb.yaml" in message
    assert len(message) < 600


def test_billion_laughs_cli_one_line(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(billion_laughs(), encoding="utf-8")
    for args in (["check", str(bomb)], ["build", str(bomb)]):
        t = time.perf_counter()
        res = CliRunner().invoke(main, args)
        assert time.perf_counter() - t < 5
        assert res.exit_code in (1, 2), res.output
        assert "Traceback" not in res.output
        assert "billion laughs" in res.output
        assert len(res.output) < 1000


def test_self_referencing_alias_refused(tmp_path):
    f = tmp_path / "loop.yaml"
    f.write_text("title: x\narea: &a {bbox: *a}\nlayers: [childcare]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="refers to a value that contains it"):
        load_map(f)


def test_a_few_aliases_still_work(tmp_path):
    """Reusing a block with anchors is normal YAML and keeps working."""
    f = tmp_path / "map.yaml"
    f.write_text(
        "title: 西早稲田\n"
        "x-box: &box [139.70, 35.70, 139.72, 35.72]\n"
        "area: {bbox: *box}\n"
        "layers: [childcare]\n"
        "outputs: {web: {file: out/map.html}}\n",
        encoding="utf-8",
    )
    raw = _yaml.load_yaml(f)
    assert raw["area"]["bbox"] == [139.70, 35.70, 139.72, 35.72]


@pytest.fixture(scope="module")
def big_list(tmp_path_factory) -> Path:
    """An 8 MB layer file whose ``popup`` is one long list of strings."""
    path = tmp_path_factory.mktemp("big") / "big.yaml"
    item = "  - 住所とても長い列名のひとつ_{:07d}\n"
    n = 8 * 1024 * 1024 // len(item.format(0).encode("utf-8")) + 1
    with path.open("w", encoding="utf-8") as fh:
        fh.write("id: big\ntitle: 大\nsources:\n  - csv: {path: a.csv}\npopup: 12\nindex:\n")
        for i in range(n):
            fh.write(item.format(i))
    assert path.stat().st_size >= 8 * 1024 * 1024
    return path


def test_big_list_uses_the_c_loader(big_list, monkeypatch):
    """The 8 MB file is parsed by libyaml's CSafeLoader (seconds, not minutes)."""
    assert yaml.__with_libyaml__, "PyYAML here was built without libyaml"
    assert _yaml.LOADER is yaml.CSafeLoader
    used = []
    real = _yaml.LOADER

    def spy(text):
        loader = real(text)
        used.append(type(loader))
        return loader

    monkeypatch.setattr(_yaml, "LOADER", spy)
    raw = _yaml.load_yaml(big_list)
    assert used == [yaml.CSafeLoader]
    with big_list.open(encoding="utf-8") as fh:
        expected = sum(1 for line in fh if line.startswith("  - 住所"))
    assert len(raw["index"]) == expected


def test_big_value_is_quoted_short(big_list):
    """A wrong 8 MB value is named with a short excerpt, not echoed whole."""
    from civicmap.spec.layers import load_layer

    big = big_list.with_name("big2.yaml")
    big.write_text(
        big_list.read_text(encoding="utf-8").replace("popup: 12\nindex:", "popup: 12\nlabel:")
    )
    with pytest.raises(ConfigError) as info:
        load_layer(big)
    message = str(info.value)
    assert "label" in message and "住所とても長い列名のひとつ_0000000" in message
    assert len(message) < 1000


def test_file_size_cap(tmp_path, monkeypatch):
    f = tmp_path / "map.yaml"
    f.write_text("title: x\n" + "# padding\n" * 2000, encoding="utf-8")
    monkeypatch.setattr(settings, "yaml_max_bytes", 10_000)
    with pytest.raises(ConfigError, match=r"map\.yaml: larger than 0\.01 MB"):
        load_map(f)


def test_tab_indentation_says_use_spaces(tmp_path):
    f = tmp_path / "map.yaml"
    f.write_text("title: x\narea:\n\tbbox: [1, 2, 3, 4]\nlayers: [childcare]\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code in (1, 2)
    assert "use spaces, not tabs" in res.output
    assert "line 3" in res.output
    assert "Traceback" not in res.output


def test_deep_nesting_refused(tmp_path):
    f = tmp_path / "deep.yaml"
    f.write_text("title: x\narea: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code in (1, 2), res.output
    assert "nest" in res.output  # "exceeded maximum nesting depth" or ours
    assert "Traceback" not in res.output


def test_not_a_regular_file(tmp_path):
    with pytest.raises(ConfigError, match="not a regular file"):
        _yaml.load_yaml(tmp_path)


def test_huge_names_and_values_are_quoted_short(tmp_path):
    """100 kB layer ids, file names and titles: short messages, no 'File name too long' traceback."""
    long = "x" * 100_000
    f = tmp_path / "map.yaml"
    f.write_text(
        f"title: [{long}]\narea: {{boundary: {long}.geojson}}\nosm: {{file: {long}.pbf}}\n"
        f"layers: [{long}, {long}.yaml]\n? {long}\n: 1\n",
        encoding="utf-8",
    )
    res = CliRunner().invoke(main, ["check", str(f)])
    assert isinstance(res.exception, SystemExit) and res.exit_code == 2, res.exception
    assert "Traceback" not in res.output
    for needle in ("title", "area.boundary", "osm.file", "unknown key", "no built-in layer"):
        assert needle in res.output, needle
    assert len(res.output) < 3000
