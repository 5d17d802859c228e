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


def test_first_retrain_is_gated_against_the_shipped_model(tmp_path):
    """Two labels on the bundled sample, empty registry: the shipped model is the champion to beat."""
    from toxlink import basedata as B
    from toxlink import features

    base = B.load_base_table(features.feature_names())
    # a slice of the shipped base rows keeps the test fast; the shipped model saw them all
    base = pd.concat([base[base[B.LABEL] == v].sample(1500, random_state=0) for v in (0, 1)], ignore_index=True)
    (tmp_path / "labels.csv").write_text("domain,label\nonline-pharma.ru,toxic\nhospitalityhub.it,ok\n")
    rep = T.retrain([SAMPLE], labels=tmp_path / "labels.csv", base_links=base, tracking_uri=_store(tmp_path),
                    out_dir=tmp_path / "model", config=T.TrainConfig(**FAST))
    g = rep.gate
    assert g.compared_with == "shipped model" and g.champion is not None and g.n_eval > 0
    not_worse = all(g.new[k] >= g.champion[k] - g.tolerance for k in ("roc_auc", "pr_auc"))
    assert g.promoted == not_worse
    text = "\n".join(rep.lines())
    # both models' figures side by side, as printed
    assert "shipped model" in text and f"{g.champion['roc_auc']:.4f}" in text and f"{g.new['roc_auc']:.4f}" in text
    assert (tmp_path / "model").is_dir() == g.promoted
    # the table is also the run's artifact gate.txt, the gate decision its tag
    from mlflow import MlflowClient

    c = MlflowClient(tracking_uri=rep.tracking_uri, registry_uri=rep.tracking_uri)
    c.download_artifacts(rep.run_id, "gate.txt", str(tmp_path))
    assert Path(tmp_path / "gate.txt").read_text() == "\n".join(g.lines()) + "\n"
    assert c.get_run(rep.run_id).data.tags["gate"].startswith("promoted" if g.promoted else "refused")


def _synthetic_labels(tmp_path):
    from synth import synth_links

    links = synth_links(4000, seed=11)
    host = links[S.SOURCE_URL].str.extract(r"//(?:www\.)?([^/]+)")[0]
    spam = sorted(set(host[host.str.contains("casino|slot|gacor|bet|loan|pharma|viagra|poker")]))
    clean = sorted(set(host) - set(spam))[:150]
    path = tmp_path / "labels.csv"
    path.write_text("domain,label\n" + "".join(f"{h},toxic\n" for h in spam) + "".join(f"{h},ok\n" for h in clean))
    return links, path


def test_refused_model_never_overwrites_output_unless_forced(tmp_path):
    links, labels = _synthetic_labels(tmp_path)
    uri, out = _store(tmp_path), tmp_path / "model"
    kw = dict(labels=labels, with_base=False, tracking_uri=uri, out_dir=out)
    first = T.retrain(links, baseline=None, config=T.TrainConfig(**FAST), **kw)
    assert first.gate.promoted and first.model_dir == str(out)
    before = _bundle_bytes(out)
    # leaves too large to split: constant scores, far worse than champion v1 on the same links
    stump = T.TrainConfig(**{**FAST, "min_data_in_leaf": 100_000})
    second = T.retrain(links, config=stump, **kw)
    assert not second.gate.promoted and second.gate.compared_with == "champion v1"
    assert second.model_dir is None and _bundle_bytes(out) == before
    assert any("--force" in w for w in second.warnings)
    forced = T.retrain(links, config=stump, force=True, **kw)
    assert not forced.gate.promoted and forced.model_dir == str(out) and _bundle_bytes(out) != before
    assert ModelBundle.load(out).data_hash == forced.data_hash


def test_retrain_without_registry_is_gated_too(tmp_path):
    """``register=False`` runs the same gate against the baseline: a worse model is not written."""
    links, labels = _synthetic_labels(tmp_path)
    good = T.retrain(links, labels=labels, with_base=False, register=False, baseline=None, out_dir=tmp_path / "good",
                     config=T.TrainConfig(**FAST))
    assert good.gate.promoted and good.gate.version is None and good.model_dir == str(tmp_path / "good")
    champion = ModelBundle.load(tmp_path / "good")
    stump = T.TrainConfig(**{**FAST, "min_data_in_leaf": 100_000})
    worse = T.retrain(links, labels=labels, with_base=False, register=False, baseline=champion, out_dir=tmp_path / "worse",
                      config=stump)
    assert worse.refused and worse.gate.compared_with == "shipped model"
    assert worse.gate.new["roc_auc"] < worse.gate.champion["roc_auc"] - worse.gate.tolerance
    assert worse.model_dir is None and not (tmp_path / "worse").exists()
    text = "\n".join(worse.lines())
    assert "REFUSED" in text and "not registered" in text and f"{worse.gate.champion['roc_auc']:.4f}" in text


def test_refused_model_exits_2_with_the_evidence(tmp_path, capsys, monkeypatch):
    """`toxlink train` prints both models' figures and exits 2 when the gate refuses."""
    from toxlink import cli

    links, labels = _synthetic_labels(tmp_path)
    export = tmp_path / "export.csv"
    links.to_csv(export, index=False)
    good = T.retrain(links, labels=labels, with_base=False, register=False, baseline=None, out_dir=tmp_path / "good",
                     config=T.TrainConfig(**FAST))
    champion = ModelBundle.load(tmp_path / "good")
    real = T.retrain

    def stump_vs_champion(*args, **kwargs):  # the CLI's call, with a model sure to lose
        return real(*args, **{**kwargs, "baseline": champion, "register": False,
                              "config": T.TrainConfig(**{**FAST, "min_data_in_leaf": 100_000})})

    monkeypatch.setattr(T, "retrain", stump_vs_champion)
    args = ["train", "--export", str(export), "--labels", str(labels), "--no-base", "-o", str(tmp_path / "model")]
    assert cli.main(args) == 2
    got = capsys.readouterr()
    assert "REFUSED" in got.out and "shipped model" in got.out and "refused" in got.err and "Traceback" not in got.err
    for line in ("roc_auc", "pr_auc"):
        assert line in got.out
    assert not (tmp_path / "model").exists()
    assert cli.main(args + ["--force"]) == 2  # written on request, still not promoted
    assert "on --force" in capsys.readouterr().err and ModelBundle.load(tmp_path / "model").feature_names
    monkeypatch.setattr(T, "retrain", lambda *a, **k: real(*a, **{**k, "baseline": None, "register": False,
                                                                    "config": T.TrainConfig(**FAST)}))
    assert cli.main(args) == 0 and good.gate.promoted


def test_too_little_to_evaluate_is_refused_with_exit_2(tmp_path, capsys):
    from toxlink import cli

    (tmp_path / "labels.csv").write_text("domain,label\nonline-pharma.ru,toxic\nhospitalityhub.it,ok\nviagra-soft.ru,toxic\n")
    db = tmp_path / "store" / "mlruns.db"
    code = cli.main(["train", "--export", str(SAMPLE), "--labels", str(tmp_path / "labels.csv"), "--no-base",
                     "-o", str(tmp_path / "model"), "--tracking-uri", f"sqlite:///{db}"])
    assert code == 2
    msg = capsys.readouterr().err
    assert "too little to evaluate" in msg and "Traceback" not in msg
    assert not (tmp_path / "model").exists() and not db.exists()


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


# --- where the MLflow store is ------------------------------------------------------------------
@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A home folder and a current folder of the test's own, no MLFLOW_TRACKING_URI."""
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(cwd)
    return home, cwd


def test_tracking_store_resolution(elsewhere, monkeypatch):
    from toxlink.model import local_store_path, resolve_tracking_uri

    home, cwd = elsewhere
    default = resolve_tracking_uri()
    assert local_store_path(default) == home / ".toxlink" / "mlruns.db"  # not the current folder
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////env/m.db")
    assert resolve_tracking_uri() == "sqlite:////env/m.db"
    assert resolve_tracking_uri("http://mlflow.team:5000") == "http://mlflow.team:5000"  # --tracking-uri first
    assert local_store_path("http://mlflow.team:5000") is None
    assert local_store_path(f"file://{cwd}/runs") == cwd / "runs"


def test_reading_the_champion_never_creates_a_store(elsewhere, capsys):
    from toxlink import cli
    from toxlink.model import ModelError

    home, cwd = elsewhere
    with pytest.raises(ModelError, match="no MLflow store at .*mlruns.db.*toxlink train"):
        ModelBundle.load("models:/toxlink@champion")
    with pytest.raises(ModelError, match="no MLflow store"):
        ModelBundle.load("models:/toxlink@champion", tracking_uri=f"sqlite:///{cwd / 'other.db'}")
    assert cli.main(["score", str(SAMPLE), "-o", str(cwd / "out"), "--model", "models:/toxlink@champion"]) == 2
    assert "no MLflow store" in capsys.readouterr().err
    assert list(home.iterdir()) == [] and [p.name for p in cwd.iterdir()] in ([], ["out"])
    assert not list(cwd.rglob("*.db"))


# --- labels from toxlink's own outputs ----------------------------------------------------------
@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    from toxlink import cli

    out = tmp_path_factory.mktemp("scored")
    assert cli.main(["score", str(SAMPLE), "-o", str(out)]) == 0
    return out


def _fill_decisions(src: Path, dest: Path, decide) -> None:
    """*src* as a user's spreadsheet leaves it: a ``decision`` column added, some cells filled."""
    lines = src.read_text(encoding="utf-8").splitlines()
    out = [lines[0] + ",decision"] + [f"{ln},{decide(i)}" for i, ln in enumerate(lines[1:])]
    dest.write_text("\n".join(out) + "\n", encoding="utf-8")


def test_domains_csv_with_decisions_labels_every_link_of_a_domain(scored, tmp_path):
    from toxlink.exports import read_export
    from toxlink.labels import label_links
    from toxlink.urls import with_hosts

    domains = pd.read_csv(scored / "domains.csv")
    many = domains.index[domains["n_links"] > 1][:2]  # domains with several links each
    decide = {many[0]: "toxic", many[1]: "ok"}
    _fill_decisions(scored / "domains.csv", tmp_path / "domains.csv", lambda i: decide.get(i, ""))
    links = with_hosts(read_export([SAMPLE]))
    lab = label_links(links, labels=tmp_path / "domains.csv")
    usable = (links[S.DUPLICATE_OF].isna() & links[S.ROW_ISSUE].isna()).to_numpy()
    domain = links["domain"].astype("string").fillna("")
    for i, value in ((many[0], 1.0), (many[1], 0.0)):
        of_domain = (domain == domains.at[i, "domain"]).to_numpy() & usable
        assert of_domain.sum() > 1 and (lab.label[of_domain] == value).all()
    # blank decisions label nothing
    assert lab.label.notna().sum() == (domain.isin(domains.loc[many, "domain"]).to_numpy() & usable).sum()
    assert lab.unmatched.empty


def test_links_csv_with_decisions_labels_those_links(scored, tmp_path):
    from toxlink.exports import read_export
    from toxlink.labels import LabelError, label_links
    from toxlink.urls import with_hosts

    _fill_decisions(scored / "links.csv", tmp_path / "links.csv", lambda i: {3: "toxic", 10: "ok"}.get(i, ""))
    links = with_hosts(read_export([SAMPLE]))
    lab = label_links(links, labels=tmp_path / "links.csv")
    scored_links = pd.read_csv(scored / "links.csv")
    for i, value in ((3, 1.0), (10, 0.0)):
        row = scored_links.iloc[i]
        same = (links[S.SOURCE_URL] == row[S.SOURCE_URL]) & (links[S.TARGET_URL] == row[S.TARGET_URL])
        assert (lab.label[same.to_numpy()] == value).all()
    assert lab.label.notna().sum() == 2 and lab.unmatched.empty
    _fill_decisions(scored / "links.csv", tmp_path / "none.csv", lambda i: "")
    with pytest.raises(LabelError, match="no decision filled in"):
        label_links(links, labels=tmp_path / "none.csv")


def test_ui_extra_is_the_full_mlflow_at_the_skinny_version():
    """`pip install toxlink[ui]` brings `mlflow ui`, reading the store mlflow-skinny writes."""
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    skinny = next(d for d in project["dependencies"] if d.startswith("mlflow-skinny"))
    (ui,) = project["optional-dependencies"]["ui"]
    assert re.fullmatch(r"mlflow\s*(>=.*)", ui).group(1) == skinny[len("mlflow-skinny"):].strip()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert 'pip install "toxlink[ui]"' in readme and 'mlflow ui --backend-store-uri "sqlite:///$HOME/.toxlink/mlruns.db"' in readme
