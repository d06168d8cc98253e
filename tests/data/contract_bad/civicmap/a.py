"""Wrong on purpose: a and b import each other."""

from civicmap import b

B = b
