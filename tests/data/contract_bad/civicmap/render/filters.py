"""Wrong on purpose: render reaches into a reader for a cell meaning."""

from civicmap.sources.layouts import flag_to_bool

FLAG = flag_to_bool
