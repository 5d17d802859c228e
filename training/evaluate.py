"""Leave-one-source-out (LOSO) evaluation of the host model: the headline of the model card.

Usage (from the repository root; the lists are read from ``../shared/data`` or $TOXLINK_LISTS)::

    python training/evaluate.py                    # 13 folds, writes out/loso.json, logs to MLflow
    python training/evaluate.py --no-mlflow --folds spamdexing,dotgov --variant ngram

Protocol (deterministic for ``--seed``)
---------------------------------------
- Every list gets a held-out part: 20% of its registrable domains (seeded, grouped).
- For each list L (the *left-out source*): training rows are the other lists' non-held-out
  rows, minus every registrable domain L names; each list weighs the same inside its class.
  The test rows are all of L's hosts against the held-out rows of the *other* class's lists
  (each of those lists weighing the same). L's hosts never reach training, not even through
  the n-gram model.
- Reported per fold: ROC-AUC; recall at 1% and 2% FPR (for a spam list: share of L caught
  while at most 1%/2% of the clean held-out hosts are; for a clean list: share of held-out
  spam caught while at most 1%/2% of L is); band shares at the shipped thresholds (a clean
  list: share of L banded toxic and review-or-worse; a spam list: its recall in each band).
- Calibration: Platt scaling of the folds' raw scores fitted on the pooled left-out rows
  (:func:`loso_platt`), moved to the stated prior; the shipped model carries it.
- Thresholds are chosen on the LOSO probabilities of the clean lists (the highest list's
  98th / 75th percentile, so every left-out clean list stays within 2% toxic and 25%
  review-or-worse) and, as an honest check, once more leaving each clean list out of the
  choice (``bands_nested``).
- Peers on the same test rows: the rule baseline (``toxlink.evaluation.rule_baseline``) and
  the previously shipped model (``--previous``, host rows only; it was trained on 6 of the
  13 lists, so on those its figure is not out-of-source).
- Second view: one grouped split (the held-out 20% of every list against a model trained on
  every list's other 80%).
- List evidence: for each test host, how many *other* lists (not its own, not L) name its
  registrable domain, split by class; a logistic fit of the label on the model's log-odds
  plus the match counts over the pooled LOSO rows measures the log-odds shift per match.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

import hostmodel as H
from toxlink import basedata as B
from toxlink import metrics as M
from toxlink.evaluation import rule_baseline

#: stack: host-name features + the OOF n-gram score (shipped); lexical: without the n-gram
#: score; ngram: the n-gram score alone.
VARIANTS = ("stack", "lexical", "ngram", "without-domain", "without-tld", "without-hostname")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def held_out(data: H.HostData, seed: int, share: float = 0.2) -> np.ndarray:
    """True for rows in their list's held-out part (``share`` of its registrable domains)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 12]))
    out = np.zeros(len(data.y), dtype=bool)
    for s in B.SOURCE_NAMES:
        m = data.source == s
        groups = np.array(sorted(set(data.group[m])), dtype=object)
        pick = set(rng.permutation(groups)[: int(round(share * len(groups)))])
        out |= m & np.isin(data.group, list(pick))
    return out


def list_weights(sources: np.ndarray) -> np.ndarray:
    """1 / (rows of the row's list): every list weighs the same."""
    s = pd.Series(sources)
    return (1.0 / s.map(s.value_counts())).to_numpy(float)


def list_evidence(data: H.HostData) -> dict[str, dict[str, set]]:
    """{class: {source: registrable domains it names}} from every valid entry (caps ignored)."""
    led = data.ledger
    ok = ~led["status"].isin(["invalid host", "no public suffix", "IP address"])
    out: dict[str, dict[str, set]] = {"spam": {}, "clean": {}}
    for (src, label), g in led[ok].groupby(["source", "label"]):
        out["spam" if label == 1 else "clean"][str(src)] = set(g["group"].dropna().astype(str))
    return out


def matches(groups: np.ndarray, own: np.ndarray, left_out: str, ev: dict[str, set]) -> np.ndarray:
    """Per row, how many lists of *ev* other than its own and *left_out* name its domain."""
    n = np.zeros(len(groups))
    for src, names in ev.items():
        if src == left_out:
            continue
        n += np.isin(groups, list(names)) & (own != src)
    return n


def columns_for(variant: str, X: pd.DataFrame) -> list[str]:
    """LightGBM's inputs in *variant*: always within :func:`hostmodel.host_columns`."""
    cols = H.host_columns(X.columns)
    if variant == "stack":
        return cols
    if variant == "lexical":
        return [c for c in cols if c != H.NGRAM]
    if variant == "ngram":
        return [H.NGRAM]
    if variant.startswith("without-"):  # the per-family ablation
        from toxlink.features import families

        dropped = set(families()[variant.removeprefix("without-")])
        return [c for c in cols if c not in dropped]
    raise ValueError(variant)


def run_fold(data: H.HostData, hold: np.ndarray, left: str, variant: str, seed: int, ev) -> pd.DataFrame:
    """Train without *left*, score its hosts and the other class's held-out hosts.

    Returns
    -------
    DataFrame, one row per test host: ``source``, ``y``, ``w`` (list weight), ``raw``, ``p``
    (the fold's own in-source calibration at the stated prior; :func:`run` replaces it by the
    LOSO calibration), ``rule``, ``spam_matches``, ``clean_matches``.
    """
    src, y, grp = data.source, data.y, data.group
    left_label = int(y[src == left][0])
    left_groups = set(grp[src == left])
    train = (~hold) & (src != left) & ~np.isin(grp, list(left_groups))
    test = (src == left) | (hold & (y != left_label))
    tr = np.flatnonzero(train)
    links_tr = data.links.iloc[tr].reset_index(drop=True)
    w_tr = B.assign_weights(links_tr).to_numpy(float)
    hm = H.fit_host_model(data.X.iloc[tr].reset_index(drop=True), data.host[tr], y[tr], w_tr, grp[tr], seed=seed,
                          columns=columns_for(variant, data.X))
    te = np.flatnonzero(test)
    Xte = data.X.iloc[te].reset_index(drop=True)
    cols = columns_for(variant, data.X)
    Xte[[c for c in Xte.columns if c not in set(cols)]] = np.nan
    raw = hm.raw(Xte, data.host[te])
    p = hm.proba(Xte, data.host[te])
    rule, _ = rule_baseline(data.X.iloc[te])
    return pd.DataFrame({
        "fold": left, "source": src[te], "y": y[te], "w": list_weights(src[te]), "raw": raw, "p": p, "rule": rule,
        "spam_matches": matches(grp[te], src[te], left, ev["spam"]),
        "clean_matches": matches(grp[te], src[te], left, ev["clean"]),
    })


def loso_platt(rows: pd.DataFrame) -> dict:
    """Platt scaling of the folds' raw scores on the pooled left-out rows, spam and clean
    weighing 50/50 and every list the same inside its class: a probability scale measured
    on sources the models never saw (the in-fold calibration fold is in-source and overconfident)."""
    from sklearn.linear_model import LogisticRegression

    key = rows["fold"] + "|" + rows["source"]
    w = 1.0 / key.map(key.value_counts()).to_numpy(float)
    y = rows["y"].to_numpy(int)
    for c in (0, 1):
        per_list = pd.Series(w[y == c]).groupby(key[y == c].to_numpy()).sum()
        w[y == c] *= 0.5 / per_list.sum()
    lr = LogisticRegression(C=1e4, max_iter=1000).fit(rows[["raw"]].to_numpy(), y, sample_weight=w * len(w))
    return {"method": "platt", "a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0]), "fitted_on": "pooled LOSO rows, 50/50"}


def platt(raw, cal: dict) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(cal["a"] * np.asarray(raw, float) + cal["b"])))


def choose_band_thresholds(rows: pd.DataFrame, clean_sources, toxic_share=0.02, review_share=0.25) -> dict[str, float]:
    """Lowest thresholds at which every left-out clean list of *clean_sources* stays within
    *toxic_share* toxic and *review_share* review-or-worse (its own fold's probabilities)."""
    tox, rev = 0.0, 0.0
    for s in clean_sources:
        p = rows.loc[(rows["fold"] == s) & (rows["source"] == s), "p"].to_numpy()
        tox = max(tox, float(np.quantile(p, 1 - toxic_share, method="higher")) + 1e-9)
        rev = max(rev, float(np.quantile(p, 1 - review_share, method="higher")) + 1e-9)
    return {"toxic": tox, "review": min(rev, tox)}


def summarise(rows: pd.DataFrame, thresholds: dict, score: str = "p") -> pd.DataFrame:
    """Per left-out list: AUC, recall at 1%/2% FPR and band shares, from pooled fold rows."""
    out = []
    for left, r in rows.groupby("fold", sort=False):
        y, s, w = r["y"].to_numpy(), r[score].to_numpy(), r["w"].to_numpy()
        lab = int(r.loc[r["source"] == left, "y"].iloc[0])
        own = (r["source"] == left).to_numpy()
        rec = {"source": left, "class": "spam" if lab else "clean", "n": int(own.sum()), "roc_auc": M.roc_auc(y, s, w),
               "recall_at_1pct_fpr": M.recall_at_fpr(y, s, 0.01, w), "recall_at_2pct_fpr": M.recall_at_fpr(y, s, 0.02, w)}
        if score == "p":
            pl = r.loc[own, "p"].to_numpy()
            rec["toxic"] = float((pl >= thresholds["toxic"]).mean())
            rec["review_or_worse"] = float((pl >= thresholds["review"]).mean())
        out.append(rec)
    return pd.DataFrame(out)


def evidence_shift(rows: pd.DataFrame) -> dict:
    """Log-odds shift per list match, fitted on pooled LOSO rows (lists weighted equally),
    and the LOSO AUC with the shift applied."""
    from sklearn.linear_model import LogisticRegression

    z = np.log(np.clip(rows["p"], 1e-6, 1 - 1e-6) / np.clip(1 - rows["p"], 1e-6, 1))
    A = np.c_[z, rows["spam_matches"].clip(upper=3), rows["clean_matches"].clip(upper=3)]
    # Strong L2 (C=0.1): matches are perfectly separating in these lists (hosts on both
    # sides were dropped), so an unpenalised fit would give an infinite shift.
    lr = LogisticRegression(C=0.1).fit(A, rows["y"], sample_weight=rows["w"] / rows["w"].mean())
    a, s_spam, s_clean = (float(v) for v in lr.coef_[0])
    # Keys as toxlink.known reads them from the bundle: log-odds per list that names a host.
    shift = {"spam": round(s_spam / a, 3), "clean": round(s_clean / a, 3)}
    z2 = z + shift["spam"] * rows["spam_matches"].clip(upper=3) + shift["clean"] * rows["clean_matches"].clip(upper=3)
    after = rows.assign(p=1 / (1 + np.exp(-z2)))
    per = summarise(after, {"toxic": 1, "review": 1})
    cover = {"spam_hosts_with_spam_match": float((rows.loc[rows["y"] == 1, "spam_matches"] > 0).mean()),
             "clean_hosts_with_clean_match": float((rows.loc[rows["y"] == 0, "clean_matches"] > 0).mean())}
    return {"shift_per_match": shift, "coverage": cover, "roc_auc": dict(zip(per["source"], per["roc_auc"])),
            "mean_roc_auc": float(per["roc_auc"].mean()), "worst_roc_auc": float(per["roc_auc"].min())}


def previous_model_scores(rows_index: np.ndarray, data: H.HostData, path: str | None) -> np.ndarray | None:
    """Raw scores of the previously shipped bundle on host rows (its own feature list)."""
    if not path:
        return None
    from toxlink.model import ModelBundle

    old = ModelBundle.load(path, check_features=False)
    return old.raw_score(data.X.iloc[rows_index][old.feature_names])


def run(args) -> dict:
    data = H.load(args.lists, seed=args.seed)
    log(f"{len(data.y):,} hosts from {len(B.SOURCE_NAMES)} lists")
    hold = held_out(data, args.seed)
    ev = list_evidence(data)
    folds = args.folds.split(",") if args.folds else list(B.SOURCE_NAMES)
    if args.from_rows:
        # Re-summarise a finished run (calibration, thresholds, evidence) without refitting.
        rows = pd.read_csv(args.from_rows, dtype={"fold": str, "source": str})
        folds = list(dict.fromkeys(rows["fold"]))
    else:
        parts = []
        for left in folds:
            t0 = time.perf_counter()
            part = r = run_fold(data, hold, left, args.variant, args.seed, ev)
            log(f"  {left:<22} AUC {M.roc_auc(r['y'], r['raw'], r['w']):.3f}  rule {M.roc_auc(r['y'], r['rule'], r['w']):.3f}  "
                f"({time.perf_counter() - t0:.0f} s)")
            parts.append(part)
        rows = pd.concat(parts, ignore_index=True)
    calibration = loso_platt(rows)
    rows["p"] = H.prior_shift(platt(rows["raw"], calibration))
    clean = [s.name for s in B.SOURCES if s.label == 0 and s.name in folds]
    thresholds = choose_band_thresholds(rows, clean) if clean else {"toxic": 0.5, "review": 0.25}
    table = summarise(rows, thresholds)
    table["rule_roc_auc"] = summarise(rows, thresholds, score="rule")["roc_auc"].to_numpy()
    # Nested check of the band rule: each clean list's shares at thresholds chosen without it.
    nested = {}
    for s in clean:
        t = choose_band_thresholds(rows, [c for c in clean if c != s])
        p = rows.loc[(rows["fold"] == s) & (rows["source"] == s), "p"].to_numpy()
        nested[s] = {"toxic": float((p >= t["toxic"]).mean()), "review_or_worse": float((p >= t["review"]).mean())}
    result = {
        "variant": args.variant, "seed": args.seed, "prior": H.PRIOR, "thresholds": thresholds,
        "calibration": calibration,
        "per_source": table.to_dict("records"),
        "mean_roc_auc": float(table["roc_auc"].mean()), "worst_roc_auc": float(table["roc_auc"].min()),
        "worst_source": str(table.loc[table["roc_auc"].idxmin(), "source"]),
        "rule_mean_roc_auc": float(table["rule_roc_auc"].mean()),
        "clean_max_toxic": float(table.loc[table["class"] == "clean", "toxic"].max()) if clean else None,
        "clean_max_review_or_worse": float(table.loc[table["class"] == "clean", "review_or_worse"].max()) if clean else None,
        "bands_nested": nested,
        "spam_recall_toxic": float(table.loc[table["class"] == "spam", "toxic"].mean()),
        "spam_recall_review_or_worse": float(table.loc[table["class"] == "spam", "review_or_worse"].mean()),
        "list_evidence": evidence_shift(rows),
    }
    if args.previous and "previous" not in rows.columns:
        idx = []
        for left in folds:
            src, y, grp = data.source, data.y, data.group
            lab = int(y[src == left][0])
            idx.append(np.flatnonzero((src == left) | (hold & (y != lab))))
        rows["previous"] = previous_model_scores(np.concatenate(idx), data, args.previous)
    if "previous" in rows.columns:
        prev = summarise(rows, thresholds, score="previous")
        table["previous_roc_auc"] = prev["roc_auc"].to_numpy()
        result["per_source"] = table.to_dict("records")
        result["previous_mean_roc_auc"] = float(prev["roc_auc"].mean())
    if args.grouped:
        result["grouped_split"] = grouped_view(data, hold, args)
    return result, rows


def grouped_view(data: H.HostData, hold: np.ndarray, args) -> dict:
    """Second view: train on every list's 80%, test on every list's held-out 20%."""
    tr = np.flatnonzero(~hold)
    te = np.flatnonzero(hold)
    links_tr = data.links.iloc[tr].reset_index(drop=True)
    w_tr = B.assign_weights(links_tr).to_numpy(float)
    hm = H.fit_host_model(data.X.iloc[tr].reset_index(drop=True), data.host[tr], data.y[tr], w_tr, data.group[tr], seed=args.seed,
                          columns=columns_for(args.variant, data.X))
    p = hm.proba(data.X.iloc[te].reset_index(drop=True), data.host[te])
    w_te = B.assign_weights(data.links.iloc[te].reset_index(drop=True)).to_numpy(float)
    y = data.y[te]
    return {"n": int(len(te)), "roc_auc": M.roc_auc(y, p, w_te), "recall_at_1pct_fpr": M.recall_at_fpr(y, p, 0.01, w_te),
            "recall_at_2pct_fpr": M.recall_at_fpr(y, p, 0.02, w_te)}


def print_table(result: dict) -> None:
    t = pd.DataFrame(result["per_source"])
    print(t.to_string(index=False, float_format="%.3f"))
    print(f"mean ROC-AUC {result['mean_roc_auc']:.4f}, worst {result['worst_roc_auc']:.4f} ({result['worst_source']}); "
          f"thresholds {result['thresholds']}")
    print("list evidence:", json.dumps(result["list_evidence"]["shift_per_match"]),
          f"mean {result['list_evidence']['mean_roc_auc']:.4f} worst {result['list_evidence']['worst_roc_auc']:.4f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lists", default=str(H.LISTS_DIR))
    ap.add_argument("--variant", default="stack", choices=VARIANTS)
    ap.add_argument("--folds", default="", help="comma-separated list names (default: all 13)")
    ap.add_argument("--previous", default="", help="a previous bundle to score as a peer (directory or .json)")
    ap.add_argument("--grouped", action="store_true", help="also the grouped-split view")
    ap.add_argument("--from-rows", default="", help="re-summarise the per-host rows of a finished run (<out>.rows.csv.gz)")
    ap.add_argument("--out", default=str(H.ROOT / "out" / "loso.json"))
    ap.add_argument("--tracking-uri", default=None)
    ap.add_argument("--no-mlflow", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    result, rows = run(args)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=float), encoding="utf-8")
    rows.to_csv(out.with_suffix(".rows.csv.gz"), index=False)
    print_table(result)
    if not args.no_mlflow:
        log_loso(result, args)
    log(f"wrote {out} in {result['seconds']:.0f} s")
    return 0


def log_loso(result: dict, args) -> str:
    """One MLflow run (experiment ``toxlink-loso``) with the per-source and summary figures."""
    from toxlink.tracking import client_for

    client, _ = client_for(args.tracking_uri)
    exp = client.get_experiment_by_name("toxlink-loso")
    eid = exp.experiment_id if exp else client.create_experiment("toxlink-loso")
    run = client.create_run(eid, run_name=f"loso {args.variant} seed {args.seed}", tags={"kind": "loso"})
    rid = run.info.run_id
    for k in ("variant", "seed", "prior"):
        client.log_param(rid, k, str(result[k]))
    for k in ("mean_roc_auc", "worst_roc_auc", "rule_mean_roc_auc", "clean_max_toxic", "clean_max_review_or_worse",
              "spam_recall_toxic", "spam_recall_review_or_worse"):
        if result.get(k) is not None:
            client.log_metric(rid, k, float(result[k]))
    for r in result["per_source"]:
        for k, v in r.items():
            if isinstance(v, float) and np.isfinite(v):
                client.log_metric(rid, f"{r['source']}.{k}", v)
    client.set_terminated(rid, "FINISHED")
    return rid


if __name__ == "__main__":
    raise SystemExit(main())
