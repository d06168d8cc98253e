"""How fast civicmap reads a large YAML file, C loader against the pure-Python one.

Writes a layer file whose ``index:`` is one long list (default 2 MB; the
pure-Python loader needs about 15 s per MB, so keep it modest) and times
:func:`civicmap._yaml.load_yaml` (libyaml's CSafeLoader, plus the alias check)
against ``yaml.load(..., Loader=yaml.SafeLoader)`` on the same file in the same
run. Prints seconds and the ratio. Not a test: nothing asserted.

    .venv/bin/python bench/bench_yaml.py [MEGABYTES]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import yaml

from civicmap import _yaml


def main(megabytes: float = 2.0) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.yaml"
        item = "  - 住所とても長い列名のひとつ_{:07d}\n"
        n = int(megabytes * 1024 * 1024 // len(item.format(0).encode("utf-8"))) + 1
        with path.open("w", encoding="utf-8") as fh:
            fh.write("id: big\ntitle: 大\nsources:\n  - csv: {path: a.csv}\nindex:\n")
            for i in range(n):
                fh.write(item.format(i))
        size = path.stat().st_size / 1e6
        t = time.perf_counter()
        fast = _yaml.load_yaml(path)
        t_fast = time.perf_counter() - t
        t = time.perf_counter()
        slow = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        t_slow = time.perf_counter() - t
        assert fast == slow
        print(f"file: {size:.1f} MB, {n} list items; civicmap loader: {_yaml.LOADER.__name__}")
        print(f"civicmap load_yaml: {t_fast:6.2f} s")
        print(f"yaml SafeLoader:    {t_slow:6.2f} s")
        print(f"ratio (pure Python / civicmap): {t_slow / t_fast:.1f}x")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 2.0)
