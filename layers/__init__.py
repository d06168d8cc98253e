"""The built-in layer library: one YAML file per layer (shipped inside the wheel)."""
