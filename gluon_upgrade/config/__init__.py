"""YAML configs: one schema (fields kept beside the code that reads them), ``_base_`` inheritance, overrides."""
