"""Shared fixtures: the tiny test model and its transformers reference."""
from __future__ import annotations

import json
import os
import pathlib
from typing import Any, Dict

import pytest

FIXTURES = pathlib.Path(os.environ.get(
    "APOLLO_FIXTURES", pathlib.Path(__file__).resolve().parents[3] / "tests" / "fixtures"))
MODEL = FIXTURES / "models" / "tiny-tied"


def _between(s: str, start: str, end: str, pos: int):
    a = s.index(start, pos) + len(start)
    b = s.index(end, a)
    return s[a:b], b + len(end)


def load_scenario(variant: str = "tiny-tied", kind: str = "text") -> Dict[str, Any]:
    """The reference scenario with q1, a1, q2 taken back out of its ChatML prompt."""
    ref = json.loads((FIXTURES / "reference" / variant / kind / "scenario.json").read_text(
        encoding="utf-8"))
    text = ref["prompt_text"]
    ref["q1"], p = _between(text, "<|im_start|>user\n", "<|im_end|>", 0)
    ref["a1"], p = _between(text, "<|im_start|>assistant\n", "<|im_end|>", p)
    ref["q2"], p = _between(text, "<|im_start|>user\n", "<|im_end|>", p)
    return ref


@pytest.fixture(scope="session")
def scenario() -> Dict[str, Any]:
    return load_scenario()


@pytest.fixture(scope="session")
def model_dir() -> pathlib.Path:
    return MODEL


@pytest.fixture()
def model():
    import apollo
    with apollo.Model(MODEL, n_threads=2) as m:
        yield m
