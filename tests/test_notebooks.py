"""The workshop notebooks (notebooks/*.ipynb) run top to bottom, offline, in a clean kernel.

Attendees run these on their own laptops on poor Wi-Fi, so each notebook is
executed here exactly as they would run it: a fresh ``python3`` kernel from this
venv, the working directory a temporary folder (outputs never land in the
checkout), and no network — a ``sitecustomize`` in the kernel refuses every
connection that is not to the loopback interface, so a notebook that tries to
reach a tile server or Overpass fails here instead of in a workshop room.

The committed files must be clean (no outputs, no execution counts) and every
heading must be Japanese first with an English line under it. Each notebook
sets ``LANG = "ja"`` in its first code cell and prints through ``say(ja, en)``;
it is run once as committed and once with ``LANG = "en"``, and the Japanese run
must print no English (no English phrase, no "日本語 / English" label). The English
run follows its Japanese run in the same kernel (names cleared, its own folder) and
does work that does not depend on the language the cheaper way (:data:`EN_RUN_EDITS`).
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"

#: The series, in teaching order. A notebook listed here must exist and run.
SERIES = [
    "01_hajimete_no_chizu.ipynb",
    "02_opendata_csv.ipynb",
    "03_osm_shisetsu.ipynb",
    "04_bousai_kami_map.ipynb",
    "05_hinanjo_made.ipynb",
    "06_umap_he.ipynb",
]

_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
#: English prose: three or more words in a row (identifiers, tags and key lists are not).
_ENGLISH_PHRASE = re.compile(r"\b[A-Za-z][a-z]+(?: [a-z]{2,}){2,}\b")
#: A bilingual label such as "直した行 / repaired".
_BILINGUAL_LABEL = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff）] / [A-Za-z]")
#: How each notebook chooses its language (first code cell); the English run replaces it.
LANG_LINE = 'LANG = "ja"'
#: What else a notebook's English run changes, and why. The English run is there for what a
#: language changes (what the notebook and civicmap print), and runs every cell; work that
#: is the same in every language and that the Japanese run has just proved is done the
#: cheaper way. 04's batch builds its three maps in the kernel (``workers=0``: the same
#: per-area build, in English) instead of on a new Dask worker process, whose start (its
#: imports, fonts and glossaries: most of the cell) does not depend on the language.
EN_RUN_EDITS = {
    "04_bousai_kami_map.ipynb": (("workers=1,", "workers=0,"), ("workers=1)", "workers=0)"))
}

#: Installed into the kernel through PYTHONPATH: any connection to a
#: non-loopback address raises, so an accidental network call fails loudly.
_NO_NETWORK = """
import ipaddress
import socket

_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_getaddrinfo = socket.getaddrinfo


def _is_local(address):
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse(address):
    raise OSError(f"network is disabled while testing workshop notebooks (tried {address!r})")


def connect(self, address):
    if not _is_local(address):
        _refuse(address)
    return _connect(self, address)


def connect_ex(self, address):
    if not _is_local(address):
        _refuse(address)
    return _connect_ex(self, address)


def getaddrinfo(host, *args, **kwargs):
    if not _is_local((host,)):
        _refuse(host)
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
socket.getaddrinfo = getaddrinfo
"""


def _load(name: str) -> dict:
    return json.loads((NOTEBOOK_DIR / name).read_text(encoding="utf-8"))


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def heading_problems(nb: dict) -> list[str]:
    """Every markdown heading whose text is not Japanese or has no English line under it."""
    problems = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        lines = _source(cell).splitlines()
        for j, line in enumerate(lines):
            if not re.match(r"#{1,6}\s", line):
                continue
            title = line.lstrip("#").strip()
            if not _JAPANESE.search(title):
                problems.append(f"cell {i}: heading {title!r} is not Japanese")
                continue
            following = next((x.strip() for x in lines[j + 1 :] if x.strip()), "")
            if (
                not following
                or following.startswith("#")
                or _JAPANESE.search(following)
                or not _LATIN_WORD.search(following)
            ):
                problems.append(
                    f"cell {i}: heading {title!r} needs an English line under it, got {following!r}"
                )
    return problems


def english_problems(text: str) -> list[str]:
    """Lines of a Japanese run's printed output that carry English."""
    problems = []
    for line in text.splitlines():
        m = _ENGLISH_PHRASE.search(line) or _BILINGUAL_LABEL.search(line)
        if m:
            problems.append(f"{m.group(0)!r} in {line[:160]!r}")
    return problems


def stored_output_problems(nb: dict) -> list[str]:
    """Every code cell that carries outputs or an execution count."""
    problems = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"cell {i}: has {len(cell['outputs'])} stored outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {i}: execution_count is {cell['execution_count']}")
    return problems


def private_name_problems(nb: dict) -> list[str]:
    """Uses of civicmap names starting with an underscore (attendees learn the public API)."""
    problems = []
    # A leading underscore marks a private name; dunders such as __version__ are public.
    pattern = re.compile(
        r"civicmap(?:\.\w+)*\._(?!_)\w+|from civicmap[\w.]* import [^\n]*\b_(?!_)\w+"
    )
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            problems += [f"cell {i}: {m}" for m in pattern.findall(_source(cell))]
    return problems


def public_api_problems(nb: dict) -> list[str]:
    """Uses of civicmap beyond ``civicmap.__all__`` (attendees learn only the public API)."""
    import civicmap

    public = set(civicmap.__all__)
    problems = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        src = _source(cell)
        for name in re.findall(r"\bcivicmap\.(\w+)", src):
            if name not in public:
                problems.append(f"cell {i}: civicmap.{name} is not in civicmap.__all__")
        for names in re.findall(r"^\s*from civicmap import ([^\n#]+)", src, re.M):
            for name in re.split(r"[\s,()]+", names):
                if name and name != "as" and name not in public:
                    problems.append(f"cell {i}: from civicmap import {name}: not in __all__")
        for module in re.findall(r"^\s*(?:from|import) (civicmap\.[\w.]+)", src, re.M):
            problems.append(f"cell {i}: imports {module}; use import civicmap and civicmap.NAME")
    return problems


def test_series_is_complete():
    """Every notebook of the series exists and nothing else is lying around."""
    found = sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb"))
    assert found == sorted(SERIES)


@pytest.mark.parametrize("name", SERIES)
def test_notebook_is_clean_and_bilingual(name):
    nb = _load(name)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert nb["cells"][0]["cell_type"] == "markdown"
    assert _source(nb["cells"][0]).startswith("# "), "the first cell is the notebook's title"
    assert stored_output_problems(nb) == []
    assert heading_problems(nb) == []
    assert private_name_problems(nb) == []
    assert public_api_problems(nb) == []
    # the language is chosen in one place, so the English run below means something
    first_code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert LANG_LINE in _source(first_code)
    assert "set_language(LANG)" in _source(first_code)


def test_checks_catch_bad_notebooks():
    """The checks above fail on the mistakes they are meant to catch."""
    bad = {
        "cells": [
            {"cell_type": "markdown", "source": "# Getting started\nはじめに"},
            {"cell_type": "markdown", "source": "## 地図をつくる\n地図の説明です"},
            {"cell_type": "markdown", "source": "## データ\n\n## 次へ\nNext"},
            {"cell_type": "markdown", "source": "## よい見出し\n*A good heading*"},
            {"cell_type": "code", "source": "1", "outputs": [{"a": 1}], "execution_count": 3},
            {"cell_type": "code", "source": "from civicmap.pipeline import _read_osm\n"
             "civicmap.sources._osmschema.to_schema\nprint(civicmap.__version__)",
             "outputs": [], "execution_count": None},
        ]
    }  # fmt: skip
    headings = heading_problems(bad)
    assert len(headings) == 3
    assert "'Getting started' is not Japanese" in headings[0]
    assert "'地図をつくる'" in headings[1]
    assert "'データ'" in headings[2] and "'## 次へ'" in headings[2]
    assert stored_output_problems(bad) == [
        "cell 4: has 1 stored outputs",
        "cell 4: execution_count is 3",
    ]
    assert len(private_name_problems(bad)) == 2
    api = public_api_problems(bad)
    assert "cell 5: civicmap.pipeline is not in civicmap.__all__" in api
    assert "cell 5: imports civicmap.pipeline; use import civicmap and civicmap.NAME" in api
    assert english_problems(
        "直した行 / repaired: 22\n注意: 10 of 10 shelters have no information\n"
        "使えるキー: categories, category, match\n[out:json];\nout geom;\n法人番号 = '5.2E+12'"
    ) == [
        "'行 / r' in '直した行 / repaired: 22'",
        "'shelters have no information' in '注意: 10 of 10 shelters have no information'",
    ]
    assert public_api_problems(
        {"cells": [{"cell_type": "code", "source": "from civicmap import load_map, join\n"
                    "import civicmap\ncivicmap.collect(civicmap.load_map('m.yaml'))"}]}
    ) == ["cell 0: from civicmap import join: not in __all__"]  # fmt: skip


@pytest.fixture
def kernel_env(tmp_path):
    """Environment for the notebook kernel: no network, an empty cache, offline mode."""
    import os

    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(_NO_NETWORK, encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(guard), env.get("PYTHONPATH")]))
    env["CIVICMAP_CACHE_DIR"] = str(tmp_path / "cache")
    env["CIVICMAP_OFFLINE"] = "1"
    env["MPLBACKEND"] = "Agg"
    return env


#: Run in a kept kernel before its next run: %reset -f, but the module's own dunder
#: names (``__spec__``, ``__loader__`` ...) stay as a fresh kernel has them (%reset drops
#: them, and Dask's worker processes, started with spawn, read ``__main__.__spec__``).
_FORGET = """
def __forget(ip=get_ipython()):
    keep = {k: v for k, v in ip.user_ns.items() if k.startswith("__") and k.endswith("__")}
    ip.run_line_magic("reset", "-f")
    ip.user_ns.update(keep)
__forget()
"""


class _Kernels:
    """The kernel each notebook's Japanese run started, kept for its English run.

    The Japanese run (the notebook as committed) starts a fresh kernel: that run shows
    the notebook needs nothing but what it does itself. The English run, right after
    it on the same worker, executes every cell again in that kernel, with its names
    cleared (``%reset -f``: a cell cannot lean on a name the ja run defined) and in its own
    empty working directory: it checks what is language-specific without paying again
    for what is not (the kernel's start, the imports, fonts and boundaries already read).
    A run of the English case alone starts its own fresh kernel.
    """

    def __init__(self) -> None:
        self.kept: dict[str, tuple] = {}

    def take(self, name: str) -> tuple | None:
        return self.kept.pop(name, None)

    def keep(self, name: str, km, kc) -> None:
        self.stop(self.kept.pop(name, None))
        self.kept[name] = (km, kc)

    @staticmethod
    def stop(kernel: tuple | None) -> None:
        if kernel is not None:
            km, kc = kernel
            kc.stop_channels()
            km.shutdown_kernel(now=True)

    def close(self) -> None:
        for name in list(self.kept):
            self.stop(self.kept.pop(name))


@pytest.fixture(scope="module")
def kernels():
    kept = _Kernels()
    yield kept
    kept.close()


def _execute(
    name: str, workdir: Path, env: dict, *, lang: str = "ja", kernels: _Kernels | None = None
) -> tuple[dict, float]:
    """Run notebook ``name`` in ``lang`` with ``workdir`` as its working directory.

    With ``kernels``: the ja run's kernel is kept there, and an en run executes in the
    kernel its ja run kept (moved to ``workdir`` first), shutting it down afterwards.
    """
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    if lang != "ja":  # as an attendee would: change the one LANG line
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.source = cell.source.replace(LANG_LINE, f'LANG = "{lang}"')
        for old, new in EN_RUN_EDITS.get(name, ()):
            found = [cell for cell in nb.cells if cell.cell_type == "code" and old in cell.source]
            assert found, f"{name}: {old!r} is gone; update EN_RUN_EDITS"
            for cell in found:
                cell.source = cell.source.replace(old, new)
    kept = kernels.take(name) if kernels is not None and lang != "ja" else None
    km, kc = kept if kept is not None else (KernelManager(kernel_name="python3"), None)
    client = NotebookClient(
        nb,
        km=km,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    client.kc = kc  # the kept kernel's client (None: a new one is made)
    start = time.perf_counter()
    try:
        if kept is not None:
            # the kept kernel forgets every name the ja run made (modules stay imported)
            # and moves to this run's own folder
            reply = kc.execute_interactive(
                _FORGET + f"import os as __os; __os.chdir({str(workdir)!r}); del __os",
                silent=True,
                timeout=60,
            )
            assert reply["content"]["status"] == "ok", reply["content"]
        client.execute(env=env, cwd=str(workdir))
    except BaseException:
        _Kernels.stop((km, client.kc) if client.kc is not None else None)
        raise
    if kernels is not None and lang == "ja":
        kernels.keep(name, km, client.kc)
    else:
        _Kernels.stop((km, client.kc))
    return nb, time.perf_counter() - start


def test_kernel_has_no_network(tmp_path, kernel_env):
    """The guard really blocks outside connections in the kernel (so the runs below mean offline)."""
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell("import os; print(os.getcwd())"),
        nbformat.v4.new_code_cell(
            "import socket\nsocket.create_connection(('tile.openstreetmap.org', 443), timeout=5)"
        ),
    ]
    client = NotebookClient(nb, km=KernelManager(kernel_name="python3"), timeout=60,
                            kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})  # fmt: skip
    with pytest.raises(CellExecutionError, match="network is disabled"):
        client.execute(env=kernel_env, cwd=str(tmp_path))
    assert nb.cells[0].outputs[0]["text"].strip() == str(tmp_path)


#: What a notebook's output must say, per language (civicmap's own messages follow
#: civicmap.set_language(LANG)): the invalid layer file of 03 and its suggestion, the
#: repaired file of 02 with no repairs left, the notes of 05 on unknown disaster types,
#: the note of 04's batch on places outside every area.
MESSAGES = {
    "ja": {
        "02_opendata_csv.ipynb": ("直した行: 0", "注意: 0"),
        "03_osm_shisetsu.ipynb": (
            "件の問題が見つかりました",
            "知らないキーです（'match' のことですか？）",
            "エラー: {'bigger_than': 3} になっています",
        ),
        "04_bousai_kami_map.ipynb": ("どの地図にも載りません",),
        "05_hinanjo_made.ipynb": ("地震への対応の情報がありません",),
    },
    "en": {
        "02_opendata_csv.ipynb": ("Rows repaired: 0", "Warnings: 0"),
        "03_osm_shisetsu.ipynb": ("problems found", "did you mean 'match'?"),
        # the batch and its 金沢市 sheet (built in the kernel, EN_RUN_EDITS) speak English
        "04_bousai_kami_map.ipynb": ("lie in none of the areas", "too crowded to read"),
        "05_hinanjo_made.ipynb": ("shelters have no information on 地震",),
    },
}


@pytest.mark.notebook
@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("name", SERIES)
def test_notebook_runs_offline(name, lang, tmp_path, kernel_env, kernels, capsys):
    """The notebook runs top to bottom in a clean kernel, offline, in under 60 s, in each language.

    The English run re-uses the kernel of the Japanese run just before it (see _Kernels)
    and makes the edits of EN_RUN_EDITS besides the LANG line.
    """
    workdir = tmp_path / "work"
    workdir.mkdir()
    before = sorted(p.name for p in NOTEBOOK_DIR.iterdir())
    nb, seconds = _execute(name, workdir, kernel_env, lang=lang, kernels=kernels)
    errors = [
        out for cell in nb.cells if cell.cell_type == "code"
        for out in cell.outputs if out.get("output_type") == "error"
    ]  # fmt: skip
    assert errors == []
    # Every code cell ran and the checkout stayed clean.
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip())
    assert stored_output_problems(_load(name)) == []
    assert sorted(p.name for p in NOTEBOOK_DIR.iterdir()) == before
    # everything the notebook writes lands under out/
    assert [p.name for p in workdir.iterdir() if p.name != ".ipynb_checkpoints"] in ([], ["out"])
    # what it prints is in the chosen language, and a Japanese run prints no English
    texts = "".join(
        out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
    )
    for expected in MESSAGES[lang].get(name, ()):
        assert expected in texts
    if lang == "ja":
        assert english_problems(texts) == []
    with capsys.disabled():
        print(f"\n{name} ({lang}): {seconds:.1f} s", file=sys.stderr)
    assert seconds < 60, f"{name} took {seconds:.1f} s; a workshop notebook must run in under 60 s"
