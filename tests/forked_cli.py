"""Start ``civicmap`` many times in one network namespace, each run a fresh child process.

Run as a script (``unshare -n python forked_cli.py``): it imports the heavy third-party
libraries civicmap uses (pandas, geopandas, folium, reportlab ...) once, prints
``ready``, then reads one JSON request a line from stdin, ``{"args": [...], "cwd": ...,
"env": {...}, "out": ..., "err": ...}``, and for each forks a child that sets that
environment and folder, sends its stdout and stderr to the two files, and runs
``civicmap ARGS`` exactly as ``python -c "from civicmap.cli import main; main()" ARGS``
would (civicmap itself is imported in the child, so its settings read the child's
environment). The answer is one JSON line, ``{"code": exit code, "seconds": run time}``,
the run time counted from the fork to the child's exit. civicmap's sources are compiled
once before ``ready`` (as the ``.pyc`` files of an installed copy would be).

Why: each ``unshare -n python -c ...`` paid the interpreter's start and these imports
again (about a second a run on this machine); forked children share them and still
start from nothing of civicmap's, so one run cannot change the next. The children live
in the namespace of this process: no network at all, as before.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import time
import traceback

#: What civicmap imports from outside the standard library (the slow part of its start).
PRELOAD = (
    "numpy", "pandas", "pyarrow", "shapely", "pyproj", "pyogrio", "geopandas", "scipy.sparse.csgraph",
    "scipy.spatial", "networkx", "osmium", "PIL.Image", "reportlab.pdfgen.canvas", "uharfbuzz",
    "folium", "branca", "jinja2", "segno", "rapidfuzz", "requests", "urllib3", "click", "yaml",
)  # fmt: skip


def _run(request: dict) -> int:
    """In the child: become ``civicmap ARGS`` in ``cwd`` with ``env``; return its exit code."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for fd, path, flags in (
        (0, os.devnull, os.O_RDONLY),  # never the requests meant for this process
        (1, request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        (2, request["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
    ):
        target = os.open(path, flags, 0o600)
        os.dup2(target, fd)
        os.close(target)
    sys.stdin = open(0, closefd=False)  # fd 0, now /dev/null (not what the loop had read ahead)
    sys.argv = ["-c", *request["args"]]
    code = 0
    try:
        from civicmap.cli import main

        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        code = 1
    atexit._run_exitfuncs()  # what the interpreter does on its way out
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def _compile_civicmap_once() -> None:
    """Compile civicmap's sources here, once, and let every child's import use that code.

    An installed civicmap has ``.pyc`` files (pip writes them); this environment may not
    write any (``PYTHONDONTWRITEBYTECODE``), and compiling the whole package again in each
    run cost about a second. Each child still imports (executes) every module itself;
    a source that differs from what was compiled here is compiled as usual.
    """
    spec = importlib.util.find_spec("civicmap")
    compiled: dict[str, tuple[bytes, object]] = {}
    for folder, _dirs, files in os.walk(os.path.dirname(spec.origin)):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, "rb") as f:
                    data = f.read()
                compiled[path] = (data, compile(data, path, "exec", dont_inherit=True))
    plain = importlib.machinery.SourceFileLoader.source_to_code

    def source_to_code(self, data, path, *, _optimize=-1):
        hit = compiled.get(path)
        if hit is not None and hit[0] == data and _optimize == -1:
            return hit[1]
        return plain(self, data, path, _optimize=_optimize)

    importlib.machinery.SourceFileLoader.source_to_code = source_to_code


def serve() -> None:
    """Preload, then answer one request a line until stdin closes."""
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # the child imports (and reports) it itself
    _compile_civicmap_once()
    # civicmap must start in each child: its settings read that child's environment
    assert not any(m == "civicmap" or m.startswith("civicmap.") for m in sys.modules)
    print("ready", flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the child: one civicmap run, then gone (never back into this loop)
            code = 1
            try:
                code = _run(request)
            finally:
                os._exit(code)
        _pid, status = os.waitpid(pid, 0)
        print(
            json.dumps(
                {"code": os.waitstatus_to_exitcode(status), "seconds": time.monotonic() - start}
            ),
            flush=True,
        )


if __name__ == "__main__":
    serve()
