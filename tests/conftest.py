"""Shared test fixtures.

Tests may read ../shared (the team's fixtures and data); the package never does.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "benchmarks"))  # benchmarks/synth.py: seeded synthetic profiles

# MLflow runs in tests go to temporary stores, never to the developer's ./mlruns.db.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        # A fresh clone has no ../shared: its tests skip there (they run for every developer and in CI).
        pytest.skip(f"{SHARED} is absent (the team's public lists and fixtures live there)")
    return SHARED
