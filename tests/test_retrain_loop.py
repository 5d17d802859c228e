"""The user's retraining loop: the shipped model as first champion, refusals, safe writes, stores, labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toxlink import schema as S
from toxlink import train as T
from toxlink.model import META_FILE, MODEL_FILE, ModelBundle

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample" / "ahrefs-backlinks-sample.csv"
FAST = dict(num_boost_round=40, early_stopping_rounds=10, min_data_in_leaf=10, num_threads=1, min_isotonic_rows=300, min_isotonic_class=30)


def _store(tmp_path) -> str:
    (tmp_path / "store").mkdir(exist_ok=True)
    return f"sqlite:///{tmp_path / 'store' / 'mlruns.db'}"


def _bundle_bytes(d: Path) -> tuple[bytes, bytes]:
    return (d / MODEL_FILE).read_bytes(), (d / META_FILE).read_bytes()


def test_save_folder_is_whole_or_absent(tmp_path, monkeypatch):
    b = ModelBundle.load()
    out = tmp_path / "model"
    b.save_folder(out)
    before = _bundle_bytes(out)

    def cut_short(self, directory):
        (Path(directory) / MODEL_FILE).write_bytes(before[0][:100])
        raise KeyboardInterrupt

    monkeypatch.setattr(ModelBundle, "save", cut_short)
    with pytest.raises(KeyboardInterrupt):
        b.save_folder(out)
    with pytest.raises(KeyboardInterrupt):
        b.save_folder(tmp_path / "new")
    monkeypatch.undo()
    assert _bundle_bytes(out) == before and not (tmp_path / "new").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temporary folder left
    # a folder holding anything but a bundle is never replaced
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a model folder"):
        b.save_folder(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    b.save_folder(out)  # replacing a bundle folder works
    assert ModelBundle.load(out).feature_names == b.feature_names
