"""Bundled data: the demo area, N03 municipality boundaries and their credits."""
