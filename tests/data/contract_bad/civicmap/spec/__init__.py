"""Wrong on purpose: spec sits at the bottom."""
