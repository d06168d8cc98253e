"""Wrong on purpose: an own-module import inside a function, without a reason."""


def build():
    from civicmap import mapdata

    return mapdata
