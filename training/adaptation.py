"""Adaptation to a few labels: what `toxlink train` makes of 1-10% of a profile labelled.

Usage (from the repository root; lists from ``../shared/data`` or $TOXLINK_LISTS)::

    nice -n 10 python training/adaptation.py                       # the sampled sources below
    nice -n 10 python training/adaptation.py --sources seo-networks --fractions 5 --variants 3:0,30:0.5

Protocol (deterministic for ``--seed``), on the leave-one-source-out setup of ``evaluate.py``
--------------------------------------------------------------------------------------------
- For a left-out list L, the *stand-in for the shipped model* is the LOSO fold model: the
  host model (``hostmodel.fit_host_model``) trained on the other lists' non-held-out rows,
  none of L's registrable domains. It never saw L, as the shipped model never saw a user's
  profile.
- The *profile* is the LOSO test set of L: every host of L plus the held-out hosts of the
  other class's lists (one list is one class; a profile needs both).
- *Labels*: a share f of each list's registrable domains in the profile (seeded), given to
  :func:`toxlink.train.retrain` -- the code ``toxlink train`` runs -- as domain labels, with
  the fold's training rows as base rows and the fold model as the baseline. The features
  are the host-model features with the fold's n-gram model (the shipped n-gram model saw
  L); retrain's own 20% hold-out for its gate is kept, so f is what the user labelled, not
  what trained the model.
- *Evaluation*: ROC-AUC on the profile's other domains (never labelled), every list weighing
  the same (as in ``evaluate.py``), for the retrained model and the fold model on the same
  rows.

Writes ``out/adaptation.json`` and prints the markdown table for ``models/MODEL_CARD.md``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import hostmodel as H
from evaluate import held_out, list_weights
from toxlink import basedata as B
from toxlink import labels as L
from toxlink import metrics as M
from toxlink import train as T
from toxlink.model import ModelBundle
from toxlink.propagate import NAME_MODEL_STRENGTH, NEIGHBOUR_STRENGTH, NEIGHBOURS, neighbour_shift

#: Sources sampled by default to keep the run in minutes on 2 cores: the two spam and the two
#: clean lists the shipped model does worst on under LOSO (models/MODEL_CARD.md), where a
#: user's labels matter most; ``--sources all`` runs the thirteen.
DEFAULT_SOURCES = ("copycat-scrapers", "community-disavow", "wikipedia-cited", "512kb-club")
FRACTIONS = (1, 2, 5, 10)
#: How the neighbour and name-model strengths were chosen (sources kept out of the default set).
TUNING_COMMAND = ("python training/adaptation.py --sources seo-networks,spamdexing --fractions 5 --variants 3:0.5 "
                  "--strengths 0:0,2:1,2:2,2:3,2:4,4:4")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def pick_domains(groups: np.ndarray, sources: np.ndarray, share: float, seed: int) -> set[str]:
    """*share* of each list's registrable domains (at least one per list), seeded."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 31, int(share * 1000)]))
    out: set[str] = set()
    for s in sorted(set(sources)):
        doms = np.array(sorted(set(groups[sources == s])), dtype=object)
        out |= set(rng.permutation(doms)[: max(1, int(round(share * len(doms))))])
    return out


def fold(data: H.HostData, hold: np.ndarray, left: str, seed: int):
    """The fold model for *left* and its profile: ``(host model, profile row indices)``."""
    src, y, grp = data.source, data.y, data.group
    left_label = int(y[src == left][0])
    train = (~hold) & (src != left) & ~np.isin(grp, list(set(grp[src == left])))
    tr = np.flatnonzero(train)
    w_tr = B.assign_weights(data.links.iloc[tr].reset_index(drop=True)).to_numpy(float)
    hm = H.fit_host_model(data.X.iloc[tr].reset_index(drop=True), data.host[tr], y[tr], w_tr, grp[tr], seed=seed)
    profile = np.flatnonzero((src == left) | (hold & (y != left_label)))
    return hm, profile


def _logit(p) -> np.ndarray:
    p = np.clip(np.asarray(p, float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def run_source(data: H.HostData, hold: np.ndarray, left: str, fractions, variants, strengths, seed: int,
               tmp: Path, min_similarity: float | None = None) -> list[dict]:
    t0 = time.perf_counter()
    hm, te = fold(data, hold, left, seed)
    log(f"{left}: fold model in {time.perf_counter() - t0:.0f} s; profile {len(te):,} hosts")
    links = data.links.iloc[te].reset_index(drop=True)
    X = data.X.iloc[te].reset_index(drop=True)
    keep = set(H.host_columns(X.columns))
    X[[c for c in X.columns if c not in keep]] = np.nan  # what the base rows hold, too
    X = hm.features(X, data.host[te])
    f = hm.fitted
    base = f.X.assign(**{B.LABEL: f.y, B.WEIGHT: f.w, B.GROUP: f.groups.to_numpy()})
    y, grp, src = data.y[te], data.group[te], data.source[te]
    shipped = hm.fitted.bundle
    rows = []
    for frac in fractions:
        chosen = pick_domains(grp, src, frac / 100, seed)
        labelled = np.isin(grp, list(chosen))
        table = pd.DataFrame({L.KIND: "domain", L.ITEM: sorted(chosen), L.TARGET: None, L.LINE: 0})
        table[L.LABEL_VALUE] = table[L.ITEM].map(dict(zip(grp[labelled], y[labelled]))).astype("int8")
        ev = ~labelled
        w_ev = list_weights(src[ev])
        auc_ship = M.roc_auc(y[ev], shipped.predict(X[ev]), w_ev)
        for uw, pw in variants:
            t1 = time.perf_counter()
            out = tmp / f"{left}-{frac}-{uw}-{pw}"
            base_rec = {"source": left, "fraction_pct": frac, "user_weight": uw, "propagated_weight": pw,
                        "labelled_domains": len(chosen), "labelled_hosts": int(labelled.sum()),
                        "eval_hosts": int(ev.sum()), "shipped_roc_auc": auc_ship}
            try:
                rep = T.retrain(links, labels=table, base_links=base, features=X, register=False, baseline=shipped,
                                force=True, out_dir=out, user_weight=uw, propagated_weight=pw, seed=seed)
            except T.TrainRefused as e:
                new, note = None, str(e).split(";")[0]
            else:
                new, note = ModelBundle.load(out, check_features=False), None
            seconds = time.perf_counter() - t1
            for st, lr_st in strengths:
                rec = {**base_rec, "neighbour_strength": st, "name_model_strength": lr_st, "seconds": seconds,
                       "variant": f"user weight {uw:g}, propagation {pw:g}, neighbours {st:g}, name model {lr_st:g}"}
                if new is None:
                    rec.update(retrained_roc_auc=float("nan"), note=note)
                else:
                    # what Predictor.score adds: the shift towards similarly named labelled sites
                    spec = new.extra.get(NEIGHBOURS)
                    if spec and min_similarity is not None:
                        spec = {**spec, "min_similarity": min_similarity}
                    z = _logit(new.predict(X[ev])) + neighbour_shift(grp[ev], spec, st, lr_st)
                    rec.update(retrained_roc_auc=M.roc_auc(y[ev], z, w_ev), gate_promoted=rep.gate.promoted,
                               propagated_hosts=rep.rows.get("propagated", 0))
                rows.append(rec)
                log(f"  {frac:g}% ({len(chosen)} domains), {rec['variant']}: shipped {auc_ship:.3f} -> "
                    f"retrained {rec['retrained_roc_auc']:.3f} ({seconds:.0f} s)")
    return rows


def table(rows: pd.DataFrame) -> str:
    """Markdown: one line per (source, user weight) and the mean, one column pair per fraction."""
    fr = sorted(rows["fraction_pct"].unique())
    head = ["left-out list", "retraining"] + [f"{f:g}%: shipped -> retrained" for f in fr]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for (src, uw), r in rows.groupby(["source", "variant"], sort=False):
        cells = [f"{r.loc[r.fraction_pct == f, 'shipped_roc_auc'].iloc[0]:.3f} -> "
                 f"{r.loc[r.fraction_pct == f, 'retrained_roc_auc'].iloc[0]:.3f}" for f in fr]
        lines.append("| " + " | ".join([src, uw] + cells) + " |")
    for uw, r in rows.groupby("variant", sort=False):
        m = r.groupby("fraction_pct")[["shipped_roc_auc", "retrained_roc_auc"]].mean()
        cells = [f"{m.at[f, 'shipped_roc_auc']:.3f} -> {m.at[f, 'retrained_roc_auc']:.3f}" for f in fr]
        lines.append("| " + " | ".join(["**mean**", uw] + cells) + " |")
    return "\n".join(lines)


CARD_HEADING = "## Adaptation to a few labels (`toxlink train`)"


def card_section(result: dict) -> list[str]:
    """The model card's adaptation section (markdown lines) from ``out/adaptation.json``."""
    frame = pd.DataFrame(result["rows"])
    means = frame.groupby(["variant", "fraction_pct"], sort=False)[["shipped_roc_auc", "retrained_roc_auc"]].mean()
    return [
        CARD_HEADING,
        "",
        f"Produced by `{result['command']}` ({result['seconds'] / 60:.0f} min on 2 shared cores; sources sampled: "
        f"{', '.join(dict.fromkeys(frame['source']))}). For a left-out list, the stand-in for the shipped model is "
        "its leave-one-source-out fold model (it never saw the list); the *profile* is the list plus the held-out "
        "hosts of the other class's lists; the labels are a share of each list's registrable domains in the profile, "
        "given to `toxlink.train.retrain` (what `toxlink train` runs, with the fold's training rows as base rows and "
        "its own 20% hold-out for the gate); ROC-AUC is on the profile's domains that were not labelled, every list "
        "weighing the same, for the fold model -> the retrained one, scored as `toxlink score` scores it. "
        "*propagation*: weight of the extra rows the labels lend to tied, similarly named sites "
        "(`toxlink.propagate.propagate_labels`); *neighbours* / *name model*: the log-odds shift at scoring time "
        "towards the nearest labelled name and by an n-gram model of the labelled names "
        "(`toxlink.propagate.neighbour_shift`); 0 / 0 is the retrained trees alone. The lists give host names only, "
        "so what a real export adds (shared subnet, page titles, anchors, the link features) is not measured here.",
        "",
        table(frame),
        "",
        "Mean at 5% labels (the issue's target: ROC-AUC >= 0.85 and >= +0.08 over the shipped model): "
        + "; ".join(f"{v}: {r.shipped_roc_auc:.3f} -> {r.retrained_roc_auc:.3f} ({r.retrained_roc_auc - r.shipped_roc_auc:+.3f}, "
                    + ("target met" if r.retrained_roc_auc >= 0.85 and r.retrained_roc_auc - r.shipped_roc_auc >= 0.08
                       else "target not met") + ")"
                    for (v, f), r in means.iterrows() if f == 5) + ". "
        f"The shipped strengths (neighbours {NEIGHBOUR_STRENGTH:g}, name model {NAME_MODEL_STRENGTH:g}) were chosen on "
        f"other sources (`{TUNING_COMMAND}`), not on these. Weighing the user's rows more did not help: on "
        "seo-networks at 5%, user weight 3 / 30 / 100 gave 0.878 / 0.871 / 0.863 (shipped 0.876; "
        "`--sources seo-networks --fractions 5 --variants 3:0,30:0,100:0 --strengths 0:0`).",
        "",
    ]


def write_card(card: Path, result: dict) -> None:
    """Put :func:`card_section` into *card*, replacing an earlier one (before ``## What the model is``)."""
    text = card.read_text(encoding="utf-8")
    section = "\n".join(card_section(result)) + "\n"
    if CARD_HEADING in text:
        start = text.index(CARD_HEADING)
        end = text.index("\n## ", start + 1) + 1
        text = text[:start] + section + text[end:]
    else:
        at = text.index("## What the model is")
        text = text[:at] + section + text[at:]
    card.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lists", default=str(H.LISTS_DIR))
    ap.add_argument("--sources", default=",".join(DEFAULT_SOURCES), help="comma-separated left-out lists, or 'all'")
    ap.add_argument("--fractions", default=",".join(map(str, FRACTIONS)), help="percent of each list's domains labelled")
    ap.add_argument("--variants", default=f"3:0,{T.USER_WEIGHT:g}:{T.PROPAGATED_WEIGHT:g}",
                    help="comma-separated user_weight:propagated_weight pairs of retrain to compare "
                         "(default: the former defaults, no propagation, and the current ones)")
    ap.add_argument("--strengths", default=f"0:0,{NEIGHBOUR_STRENGTH:g}:{NAME_MODEL_STRENGTH:g}",
                    help="comma-separated neighbour:name-model strengths (log-odds, toxlink.propagate) to score "
                         "each retrained model with (0:0 is the model alone)")
    ap.add_argument("--min-similarity", type=float, default=None,
                    help="name similarity at which the neighbour shift starts (default: the bundle's)")
    ap.add_argument("--out", default=str(H.ROOT / "out" / "adaptation.json"))
    ap.add_argument("--card", default=None, help="also write the table into this model card (models/MODEL_CARD.md)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    sources = list(B.SOURCE_NAMES) if args.sources == "all" else args.sources.split(",")
    fractions = [float(f) for f in args.fractions.split(",")]
    variants = [tuple(float(x) for x in v.split(":")) for v in args.variants.split(",")]
    strengths = [tuple(float(x) for x in v.split(":")) for v in args.strengths.split(",")]
    data = H.load(args.lists, seed=args.seed)
    hold = held_out(data, args.seed)
    log(f"{len(data.y):,} hosts loaded")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for left in sources:
            rows += run_source(data, hold, left, fractions, variants, strengths, args.seed, Path(tmp),
                               min_similarity=args.min_similarity)
    frame = pd.DataFrame(rows)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    import sys

    command = "python training/adaptation.py " + " ".join(sys.argv[1:] if argv is None else argv)
    result = {"rows": rows, "seconds": time.perf_counter() - t0, "command": command.strip()}
    out.write_text(json.dumps(result, indent=1, default=float), encoding="utf-8")
    print(table(frame))
    if args.card:
        write_card(Path(args.card), result)
    log(f"wrote {out} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
