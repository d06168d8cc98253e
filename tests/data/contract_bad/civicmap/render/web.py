"""Wrong on purpose: render imports the pipeline (line 3); line 9 says why, so it is fine."""

from civicmap.pipeline import build

PAGE = "page"


def later():
    from civicmap.spec import mapfile  # why: the fixture's one justified in-function import

    return build, mapfile
