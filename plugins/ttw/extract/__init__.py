"""Extractors: one module per upstream source family (file-level parsing only)."""
