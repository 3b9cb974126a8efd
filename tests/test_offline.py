"""The suite runs offline (conftest.py): the hub is never asked, and the toxicity stage decides
on its fallback without a connection test."""

from __future__ import annotations

import os
import socket

import pytest

from curate.filters.toxicity_models import detoxify_unavailable


def test_offline_variables_are_set_for_the_whole_suite() -> None:
    import huggingface_hub.constants

    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        assert os.environ.get(var) == "1", var
    assert huggingface_hub.constants.HF_HUB_OFFLINE is True  # read when the hub was imported


def test_toxicity_fallback_opens_no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a test opened a connection: {args}")

    monkeypatch.setattr(socket, "create_connection", no_network)
    reason = detoxify_unavailable("original", None)
    assert reason is not None and reason.startswith("offline (HF_HUB_OFFLINE is set)")
