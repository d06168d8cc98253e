"""The sample data bundled with civicmap (the demo area, the workshop files).

Notebooks and tutorials find these files through :func:`sample_path` instead
of reaching into the package's folders, so the layout can change without
breaking a workshop.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from civicmap.errors import SourceError
from civicmap.i18n import _


def sample_path(*parts: str) -> Path:
    """The path of a bundled sample file, e.g. ``sample_path("demo", "SmallAroundWaseda.osm.bz2")``.

    Raises
    ------
    SourceError
        Naming the files that exist, when ``parts`` names none.
    """
    root = Path(str(resources.files("civicmap.data")))
    path = root.joinpath(*parts)
    if not path.exists():
        found = sorted(
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc")
        )
        raise SourceError(
            _("no bundled sample %(name)r; the samples are: %(names)s")
            % {"name": "/".join(parts), "names": ", ".join(found)}
        )
    return path
