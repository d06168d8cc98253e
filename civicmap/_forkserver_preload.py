"""The last module the batch's forkserver imports: it sets the imported stack aside.

:data:`civicmap.batch._FORKSERVER_PRELOAD` has the forkserver import the map-making stack,
then this module, before it forks any worker. Frozen here (:func:`civicmap._gc.set_imports_aside`),
the imported objects are set aside once for every worker, and a worker's garbage collector
never walks them: a walk writes to every object it visits, and each page it writes to is
copied out of the memory the worker shares with the server. Imported by the forkserver only.
"""

from __future__ import annotations

from civicmap._gc import set_imports_aside

set_imports_aside()
