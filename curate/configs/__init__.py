"""Shipped default configs, loaded with importlib.resources (``filter.yaml``: `curate filter`)."""
