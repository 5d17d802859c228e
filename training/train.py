"""Reproduce the shipped model from ``data/``: build, train, evaluate, track, write ``models/``.

Usage (from the repository root)::

    python training/train.py                      # writes models/ and logs to ./mlruns.db
    python training/train.py --out /tmp/m --tracking-uri sqlite:////tmp/m/mlruns.db
    python training/train.py --quick --no-ablation  # a fast smoke run (not the shipped model)

Steps
-----
1. ``toxlink.basedata.build_base_links(seed)``: labelled links from the public lists in
   ``data/labels/`` (real host rows + simulated link rows, see that module).
2. ``grouped_split`` (20% of each list's registrable domains held out; no domain on both
   sides); weights re-balanced per side with ``assign_weights``; features computed per side.
3. ``toxlink.train.fit``: LightGBM with early stopping on a grouped validation fold,
   isotonic calibration and thresholds on a grouped calibration fold. Training weights are
   the dataset's, re-balanced so that spam and clean weigh the same inside each TLD x
   name-length cell (``balance_within``; ``--no-suffix-balance`` turns it off): the lists'
   suffix and name-length mix is an artefact of their compilation. The alternative is
   trained too, for the card.
4. Evaluation on the held-out domains, three ways (see the model card for why):
   all rows, *real rows only* (the honest figure for domain signals: no simulated attribute
   exists there), and the *masked view* (every simulated attribute blanked).
   Plus the source split (train with one spam list, test on the other), per-source
   results, the family ablation and the rule baseline.
5. MLflow: the run (params, metrics, data hash, bundle + card as artifacts) goes to the
   tracking store; the model is registered as ``toxlink`` and ``@champion`` moves only if it
   is not worse than the current champion on the same held-out real rows.
6. ``models/toxlink-model.txt``, ``models/toxlink-model.json``, ``models/MODEL_CARD.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from toxlink import __version__  # noqa: E402
from toxlink import basedata as B  # noqa: E402
from toxlink import train as T  # noqa: E402

SPAM_LISTS = [s.name for s in B.SOURCES if s.label == 1]
HEADLINE = ["n", "positives", "roc_auc", "pr_auc", "precision", "recall", "f1", "recall_at_1pct_fpr", "recall_at_2pct_fpr", "ece"]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """A split with its weights re-balanced (basedata: call assign_weights after subsetting)."""
    frame = frame.reset_index(drop=True)
    return frame.assign(**{B.WEIGHT: B.assign_weights(frame).to_numpy()})


def suffix_kind(X: pd.DataFrame) -> np.ndarray:
    """Suffix kind of each row from the TLD features (first match in SUFFIX_KINDS order, else "other")."""
    kind = np.full(len(X), "other", dtype=object)
    taken = np.zeros(len(X), dtype=bool)
    for name, feat in SUFFIX_KINDS:
        m = (X[feat].to_numpy() == 1) & ~taken
        kind[m] = name
        taken |= m
    return kind


#: Registrable-label length bins for balancing (characters): short famous names vs long ones.
LENGTH_BINS = (0, 8, 12, 16, np.inf)


def balance_cells(frame: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
    """The balancing cell of each row: its TLD (last label of the public suffix) x label-length bin.

    Both are artefacts of how the lists were compiled: the spam lists are full of expired
    European domains with long names (``bezirkslandfrauen-fmtk.de``), the clean lists of
    famous short .com/.org names and US institutions. Left alone, the model learns ".de =
    spam" and "long name = spam", i.e. "obscure = spam", and flags most of an ordinary
    German site's backlinks.
    """
    from toxlink import schema as S
    from toxlink import urls

    hosts = T.with_hosts(frame)[S.HOST]
    suffix = hosts.map(urls.host_table(hosts)["suffix"]).fillna("").astype(str)
    tld = suffix.str.rsplit(".", n=1).str[-1].to_numpy(dtype=object)
    length = np.digitize(X["dom_label_length"].fillna(0).to_numpy(), LENGTH_BINS[1:-1])
    return tld + "|" + length.astype(str)


def balance_within(w: np.ndarray, y: np.ndarray, kind: np.ndarray, cap: float = 4.0) -> np.ndarray:
    """Reweight so that inside each cell (:func:`balance_cells`) spam and clean carry equal weight.

    The model then has to find evidence beyond the TLD and the name's length. Factors are
    capped to [1/cap, cap] so a cell with almost no rows of one class (institutional spam)
    is not blown up; a cell with one class only (.xyz spam) keeps its weight.
    """
    w = np.asarray(w, float).copy()
    for k in np.unique(kind):
        m = kind == k
        ws, wc = w[m & (y == 1)].sum(), w[m & (y == 0)].sum()
        if ws == 0 or wc == 0:
            continue
        half = (ws + wc) / 2
        w[m & (y == 1)] *= np.clip(half / ws, 1 / cap, cap)
        w[m & (y == 0)] *= np.clip(half / wc, 1 / cap, cap)
    return w * (len(w) / w.sum())


def eval_views(bundle, X, X_masked, y, w, real) -> dict[str, dict]:
    """Headline metrics on every view of a test set, unweighted and weighted.

    ``real rows`` are scored on the *masked* features: a real row's profile features would
    otherwise count the simulated links of its host (anchors per domain, shared titles).
    """
    return {
        "real rows": T.evaluate(bundle, X_masked[real], y[real]),
        "real rows, weighted": T.evaluate(bundle, X_masked[real], y[real], w[real]),
        "masked view": T.evaluate(bundle, X_masked, y),
        "masked view, weighted": T.evaluate(bundle, X_masked, y, w),
        "all rows (simulated)": T.evaluate(bundle, X, y),
        "all rows (simulated), weighted": T.evaluate(bundle, X, y, w),
    }


# --- markdown helpers ----------------------------------------------------------------------------
def fmt(v, digits=3) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "n/a"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, float) and v.is_integer() and abs(v) > 1:
        return f"{int(v):,}"
    return f"{v:.{digits}f}"


def md_table(rows: list[dict], columns: list[str], headers: list[str] | None = None) -> str:
    headers = headers or columns
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(fmt(r.get(c)) if not isinstance(r.get(c), str) else r[c] for c in columns) + " |")
    return "\n".join(lines)


def metric_rows(views: dict[str, dict], label: str = "view") -> list[dict]:
    return [{label: k, **v} for k, v in views.items()]


METRIC_HEADERS = ["rows", "toxic", "ROC-AUC", "PR-AUC", "precision", "recall", "F1", "recall@1%FPR", "recall@2%FPR", "ECE"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "models"), help="directory for the bundle and MODEL_CARD.md")
    ap.add_argument("--tracking-uri", default=None, help="MLflow store (default $MLFLOW_TRACKING_URI or sqlite:///<cwd>/mlruns.db)")
    ap.add_argument("--no-mlflow", action="store_true", help="do not log or register")
    ap.add_argument("--no-ablation", action="store_true")
    ap.add_argument("--quick", action="store_true", help="few trees: a smoke run, not the shipped model")
    ap.add_argument("--no-suffix-balance", action="store_true", help="keep the lists' TLD and name-length mix (see balance_within)")
    args = ap.parse_args(argv)

    t_start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = T.TrainConfig(seed=args.seed)
    if args.quick:
        cfg = T.TrainConfig(seed=args.seed, num_boost_round=30, early_stopping_rounds=10)

    # 1-2. data, split, features -------------------------------------------------------------
    log("building the base dataset")
    ledger = B.host_ledger(seed=args.seed)
    base = B.build_base_links(args.seed, ledger=ledger)
    base_hash = B.dataset_hash(base)
    noise = B.noise_report(ledger, seed=args.seed)
    counts = B.source_counts(base)
    log(f"{len(base):,} rows, {base[B.GROUP].nunique():,} registrable domains, {int(base[B.SIMULATED].sum()):,} simulated rows")
    train_df, test_df = B.grouped_split(base, test_size=0.2, seed=args.seed)
    train_df, test_df = prepare(train_df), prepare(test_df)
    assert not set(train_df[B.GROUP]) & set(test_df[B.GROUP]), "grouped split leaked a domain"
    log("computing features")
    X_train = T.compute_features(train_df)
    X_test = T.compute_features(test_df)
    X_test_masked = T.compute_features(B.mask_simulated(test_df))
    y_test = test_df[B.LABEL].to_numpy(float)
    w_test = test_df[B.WEIGHT].to_numpy(float)
    real = ~test_df[B.SIMULATED].to_numpy(bool)

    # 3. fit ------------------------------------------------------------------------------------
    balance = not args.no_suffix_balance
    cells_train = balance_cells(train_df, X_train)
    y_train = train_df[B.LABEL].to_numpy(int)

    def weights(balanced: bool) -> np.ndarray:
        w = train_df[B.WEIGHT].to_numpy(float)
        return balance_within(w, y_train, cells_train) if balanced else w

    log("training")
    fitted = T.fit(train_df, X=X_train, w=weights(balance), config=cfg, data_hash_=B.dataset_hash(train_df))
    bundle = fitted.bundle
    bundle.params["suffix_balance"] = balance
    log(f"{bundle.booster.num_trees()} trees, calibration {bundle.calibration['method']}, thresholds {bundle.thresholds}")
    log("training the alternative (suffix balance " + ("off" if balance else "on") + ") for comparison")
    alt = T.fit(train_df, X=X_train, w=weights(not balance), config=cfg).bundle

    # 4. evaluation -----------------------------------------------------------------------------
    log("evaluating on held-out domains")
    held = eval_views(bundle, X_test, X_test_masked, y_test, w_test, real)
    p_test = bundle.predict(X_test)
    p_real = bundle.predict(X_test_masked[real])
    src_all = T.by_source(p_test, y_test, test_df[B.LABEL_SOURCE], bundle.thresholds)
    src_real = T.by_source(p_real, y_test[real], test_df.loc[real, B.LABEL_SOURCE], bundle.thresholds)

    suffix_fp = suffix_kind_table(p_real, y_test[real], X_test_masked[real], bundle.thresholds)
    synth_bands = synthetic_profile_check(bundle)

    log("rule baseline")
    ca = fitted.folds == 2
    rule = {}
    for name, (Xv, yv, wv) in {
        "real rows": (X_test_masked[real], y_test[real], None),
        "real rows, weighted": (X_test_masked[real], y_test[real], w_test[real]),
        "all rows (simulated)": (X_test, y_test, None),
        "all rows (simulated), weighted": (X_test, y_test, w_test),
    }.items():
        rule[name] = T.rule_baseline_metrics(Xv, yv, wv, X_calib=fitted.X[ca], y_calib=fitted.y[ca])
    _, used_markers = T.rule_baseline(X_test)

    log("source split")
    source_split, alt_source_split = {}, {}
    for tr_src, te_src in ((SPAM_LISTS[0], SPAM_LISTS[1]), (SPAM_LISTS[1], SPAM_LISTS[0])):
        s_tr, s_te = B.source_split(base, [tr_src], [te_src], seed=args.seed)
        s_tr, s_te = prepare(s_tr), prepare(s_te)
        Xs_tr = T.compute_features(s_tr)
        Xs = T.compute_features(s_te)
        Xs_masked = T.compute_features(B.mask_simulated(s_te))
        ys, ws = s_te[B.LABEL].to_numpy(float), s_te[B.WEIGHT].to_numpy(float)
        rs = ~s_te[B.SIMULATED].to_numpy(bool)
        key = f"train {tr_src} -> test {te_src}"
        for balanced, dest in ((balance, source_split), (not balance, alt_source_split)):
            ws_tr = s_tr[B.WEIGHT].to_numpy(float)
            if balanced:
                ws_tr = balance_within(ws_tr, s_tr[B.LABEL].to_numpy(int), balance_cells(s_tr, Xs_tr))
            sf = T.fit(s_tr, X=Xs_tr, w=ws_tr, config=cfg)
            dest[key] = {
                "real rows": T.evaluate(sf.bundle, Xs_masked[rs], ys[rs]),
                "real rows, weighted": T.evaluate(sf.bundle, Xs_masked[rs], ys[rs], ws[rs]),
                "all rows": T.evaluate(sf.bundle, Xs, ys),
            }
        log(f"  {key}: real-rows ROC-AUC {source_split[key]['real rows']['roc_auc']:.3f} "
            f"(alternative {alt_source_split[key]['real rows']['roc_auc']:.3f})")

    choice = compare_variants(
        balance,
        {"shipped": (bundle, source_split), "alternative": (alt, alt_source_split)},
        X_test_masked[real], y_test[real], w_test[real],
    )

    abl = None
    if not args.no_ablation:
        log("family ablation (one retrain per family)")
        abl = T.ablation(fitted, X_test, y_test, extra_tests={"real": (X_test_masked[real], y_test[real])})

    bundle.metrics = {
        "held_out": {k: {m: v[m] for m in HEADLINE} for k, v in held.items()},
        "source_split": {k: {m: v["real rows"][m] for m in HEADLINE} for k, v in source_split.items()},
        "rule_baseline": {k: {m: v[m] for m in HEADLINE} for k, v in rule.items()},
        "calibration_fold": fitted.info["calib_metrics"],
    }
    bundle.extra.update(
        {
            "base_data_hash": base_hash,
            "base_rows": int(len(base)),
            "split": {"train_rows": int(len(train_df)), "test_rows": int(len(test_df)), "test_domains": int(test_df[B.GROUP].nunique())},
            "seed": args.seed,
        }
    )

    # 6. write the bundle and the card --------------------------------------------------------
    bundle.save(out)
    size_kb = (out / "toxlink-model.txt").stat().st_size / 1024
    card = model_card(
        bundle=bundle, fitted=fitted, base=base, counts=counts, noise=noise, base_hash=base_hash,
        train_df=train_df, test_df=test_df, held=held, src_all=src_all, src_real=src_real, rule=rule,
        used_markers=used_markers, source_split=source_split, abl=abl, size_kb=size_kb, quick=args.quick,
        suffix_fp=suffix_fp, synth_bands=synth_bands, choice=choice,
    )
    (out / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    log(f"wrote {out / 'toxlink-model.txt'} ({size_kb:.0f} KB), toxlink-model.json, MODEL_CARD.md")

    # 5. MLflow -----------------------------------------------------------------------------------
    if not args.no_mlflow:
        metrics = {"held_out": bundle.metrics["held_out"], "source_split": bundle.metrics["source_split"],
                   "rule_baseline": bundle.metrics["rule_baseline"]}
        if abl is not None:
            metrics["ablation"] = {r["family"].replace(" ", "_"): {"roc_auc": r["roc_auc"], "roc_auc_real": r["roc_auc[real]"]} for r in abl.to_dict("records")}
        rid = T.log_run(bundle, tracking_uri=args.tracking_uri, run_name="training/train.py", metrics=metrics,
                        params={"seed": args.seed, "base_rows": len(base), "quick": args.quick},
                        tags={"kind": "base", "base_data_hash": base_hash},
                        artifacts={"": out / "MODEL_CARD.md"})
        # gate on the headline rows: held-out real rows (no simulated attribute can sway it)
        gate = T.register_and_gate(rid, bundle, X_test_masked[real], y_test[real], tracking_uri=args.tracking_uri)
        log(f"MLflow run {rid}")
        for line in gate.lines():
            log("  " + line)

    print_summary(held, source_split, rule, abl)
    log(f"done in {time.perf_counter() - t_start:.0f} s")
    return 0


SUFFIX_KINDS = (("institutional (.gov, .edu, ac.*)", "tld_institutional"), ("new gTLD (.xyz, .top, ...)", "tld_new_gtld"),
                ("country code (.de, .co.uk, ...)", "tld_country"), ("legacy generic (.com, .org, .net, ...)", "tld_generic"))


def suffix_kind_table(p, y, X, thresholds) -> list[dict]:
    """Flag rates on held-out real rows by suffix kind: where false positives concentrate."""
    rows = []
    taken = np.zeros(len(y), dtype=bool)
    for name, feat in SUFFIX_KINDS:
        m = (X[feat].to_numpy() == 1) & ~taken
        taken |= m
        for label, cls in (("clean", 0), ("spam", 1)):
            mm = m & (y == cls)
            rows.append({"suffix kind": name, "class": label, "n": int(mm.sum()),
                         "flagged toxic": float((p[mm] >= thresholds["toxic"]).mean()) if mm.any() else float("nan"),
                         "flagged review or toxic": float((p[mm] >= thresholds["review"]).mean()) if mm.any() else float("nan")})
    return rows


def synthetic_profile_check(bundle) -> dict:
    """Band shares on benchmarks/synth.py's synthetic profile with every spam-lexicon domain,
    title and vendor flag removed, and digits stripped from host names: a stand-in for an
    ordinary site's backlinks (synthetic, not evidence of accuracy)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from synth import synth_links

    from toxlink import schema as S

    links = synth_links(5000, seed=123)
    links[S.SOURCE_URL] = links[S.SOURCE_URL].str.replace(r"(//(?:www\.)?[a-z]+?)\d+(\.)", r"\1\2", regex=True)
    spam = links[S.SOURCE_URL].str.contains("casino|slot|gacor|bet|loan|pharma|viagra|essay|backlinks|seo|cheap|pills|poker", regex=True)
    spam |= links[S.PAGE_TITLE].str.contains("Casino", regex=False).fillna(False) | links[S.VENDOR_SPAM].fillna(False)
    links = links[~spam.to_numpy(bool)].reset_index(drop=True)
    p = bundle.predict(T.compute_features(links))
    band = bundle.band(p)
    out = {"n": int(len(links)), **{b: float((band == b).mean()) for b in ("toxic", "review", "ok")}}
    tld = T.with_hosts(links)[S.DOMAIN].str.extract(r"\.([a-z.]+)$")[0]
    out["toxic_by_tld"] = {str(k): float(v) for k, v in pd.Series(band == "toxic").groupby(tld.to_numpy()).mean().sort_values().items()}
    return out


def compare_variants(balance: bool, variants: dict, X_real, y_real, w_real) -> list[dict]:
    """The shipped model and its alternative (suffix balancing toggled) on the same real rows."""
    cc = suffix_kind(X_real) == SUFFIX_KINDS[2][0]
    clean_cc = cc & (y_real == 0)
    rows = []
    for name, (b, ss) in variants.items():
        on = balance if name == "shipped" else not balance
        m = T.evaluate(b, X_real, y_real)
        mw = T.evaluate(b, X_real, y_real, w_real)
        p = b.predict(X_real)
        keys = list(ss)
        rows.append({
            "model": f"{name}: suffix balance {'on' if on else 'off'}",
            "roc_auc": m["roc_auc"], "pr_auc": m["pr_auc"], "roc_auc_w": mw["roc_auc"],
            "precision": m["precision"], "recall": m["recall"],
            "clean_cc_toxic": float((p[clean_cc] >= b.thresholds["toxic"]).mean()),
            "clean_cc_review": float((p[clean_cc] >= b.thresholds["review"]).mean()),
            "ss0": ss[keys[0]]["real rows"]["roc_auc"], "ss1": ss[keys[1]]["real rows"]["roc_auc"],
        })
    return rows


def print_summary(held, source_split, rule, abl) -> None:
    cols = ["roc_auc", "pr_auc", "precision", "recall", "recall_at_1pct_fpr", "recall_at_2pct_fpr", "ece"]
    print("\nheld-out domains")
    print(pd.DataFrame(held).T[["n", "positives"] + cols].to_string(float_format="%.3f"))
    print("\nsource split")
    print(pd.DataFrame({k: v["real rows"] for k, v in source_split.items()}).T[["n", "positives"] + cols].to_string(float_format="%.3f"))
    print("\nrule baseline")
    print(pd.DataFrame(rule).T[["n", "positives"] + cols].to_string(float_format="%.3f"))
    if abl is not None:
        print("\nablation")
        print(abl.to_string(float_format="%.3f"))


def model_card(*, bundle, fitted, base, counts, noise, base_hash, train_df, test_df, held, src_all, src_real,
               rule, used_markers, source_split, abl, size_kb, quick, suffix_fp, synth_bands, choice) -> str:
    cols = HEADLINE
    t = bundle.thresholds
    info = fitted.info
    sim_share = float(base[B.SIMULATED].mean())
    today = datetime.now(timezone.utc).date().isoformat()
    counts_rows = counts.reset_index().rename(columns={B.LABEL_SOURCE: "source"}).to_dict("records")
    for r in counts_rows:
        r["label"] = "spam" if int(r["label"]) == 1 else "clean"
    dropped = "; ".join(f"{src}: " + ", ".join(f"{n:,} {why}" for why, n in d.items()) for src, d in noise["dropped"].items())
    both = noise["listed_on_both_sides"]
    noise_lines = [
        "- Entries read / kept per list: " + ", ".join(f"{k} {noise['entries'][k]:,} / {noise['kept'].get(k, 0):,}" for k in noise["entries"]),
        f"- Dropped: {dropped or 'none'}.",
        f"- Registrable domains listed on both sides (dropped from both): {len(both)}" + (f" ({', '.join(both[:10])}{', ...' if len(both) > 10 else ''})" if both else "") + ".",
        f"- Spam hosts on institutional suffixes, kept as spam: {len(noise['institutional_spam'])}"
        + (f" ({', '.join(noise['institutional_spam'][:8])}{', ...' if len(noise['institutional_spam']) > 8 else ''})" if noise["institutional_spam"] else "") + ".",
        f"- Spam hosts that are subdomains (often hacked sites), kept as spam: {len(noise['subdomain_spam'])}.",
        f"- Platform roots dropped from clean lists: {noise['platform_clean_dropped']:,}; user sites on platform suffixes kept: "
        f"{noise['platform_user_sites_kept']['spam']:,} spam, {noise['platform_user_sites_kept']['clean']:,} clean.",
    ]
    parts = [
        "# toxlink model card",
        "",
        ("> **Smoke run (`--quick`): not the shipped model.**\n" if quick else "")
        + f"LightGBM binary classifier, {bundle.booster.num_trees()} trees, {len(bundle.feature_names)} features, "
        f"text model {size_kb:.0f} KB. toxlink {__version__}, trained {bundle.created}. "
        f"Rebuilt by `python training/train.py` (seed {fitted.config.seed}); card generated {today}.",
        "",
        "## Intended use",
        "",
        "Scores each backlink of a site's export with a calibrated probability that the link is spam or "
        "manipulation, so an SEO can review and disavow. It is a triage aid: the `toxic` band is meant to be "
        "reviewed before disavowing, the `review` band needs a human look, and the reasons shown per link come "
        "from the model's feature contributions. It does not know what Google thinks of a link; no public "
        "benchmark for backlink disavow scoring exists, so every figure below rests on toxlink's own held-out lists.",
        "",
        "Not intended for: judging a whole site's quality, automated disavowal without review, or any use where "
        "a false positive costs more than a human check.",
        "",
        "## Training data",
        "",
        f"`toxlink.basedata.build_base_links(seed={fitted.config.seed})`: {len(base):,} rows from six public host lists "
        f"in `data/labels/` (provenance and licences in `data/SOURCES.md`), {base[B.GROUP].nunique():,} registrable domains, "
        f"{sim_share:.0%} of rows with **simulated** link attributes. Each listed host gives one real row "
        "(`https://host/`, every other column missing, as in a Search Console export); a label-independent half of "
        "the hosts also get simulated links whose anchors, flags, dates and metrics are drawn from overlapping "
        "class-conditional priors (`toxlink/basedata.py`). Dataset hash (sha256): `" + base_hash + "`.",
        "",
        md_table(counts_rows, ["source", "label", "rows", "real_rows", "simulated_rows", "groups", "class_weight_share"],
                 ["list", "label", "rows", "real rows", "simulated rows", "domains", "share of class weight"]),
        "",
        "Label noise found while building (`basedata.noise_report`):",
        "",
        *noise_lines,
        "",
        "## Training",
        "",
        f"- Split: {len(train_df):,} training rows / {len(test_df):,} held-out rows; 20% of each list's registrable "
        "domains held out (`grouped_split`): no domain is on both sides. Weights re-balanced per side "
        "(`assign_weights`: spam and clean 50/50, each list its documented share, each domain equal within its list).",
        f"- Inside the training side: grouped folds fit / valid / calib = {info['rows']['fit']:,} / {info['rows']['valid']:,} / "
        f"{info['rows']['calib']:,} rows.",
        f"- LightGBM: learning rate {fitted.config.learning_rate}, num_leaves {fitted.config.num_leaves}, "
        f"min_data_in_leaf {fitted.config.min_data_in_leaf}, at most {fitted.config.num_boost_round} trees with early "
        f"stopping on the valid fold's average precision ({bundle.booster.num_trees()} kept); deterministic "
        f"(`deterministic=True`, `force_row_wise=True`, {fitted.config.num_threads} threads, seed {fitted.config.seed}).",
        f"- Class imbalance: dataset weights plus `scale_pos_weight` = {bundle.params['scale_pos_weight']:.3f} "
        "(weighted negatives / positives on the fit fold).",
        f"- Calibration: {bundle.calibration['method']} on the calib fold ({bundle.calibration.get('n', 0):,} rows, dataset "
        "weights), outputs kept in [0.001, 0.999].",
        f"- Thresholds: toxic >= **{t['toxic']:.3f}** ({info['threshold_rule']['toxic']}); review >= **{t['review']:.3f}** "
        f"({info['threshold_rule']['review']}).",
        "",
        "## Results on held-out domains",
        "",
        "Three views of the same held-out domains. **Real rows** hold only real information (the host name, "
        "its suffix, `https://host/`), scored with features computed on the masked view so that no simulated "
        "link of the same host leaks in through profile features: this is the honest figure for what the "
        "model knows about *domains*, and the headline. The **masked view** scores every held-out row with each "
        "simulated attribute blanked (`basedata.mask_simulated`), keeping the simulated rows' real host and "
        "label-independent path. **All rows (simulated)** include the simulated link attributes, drawn from the "
        "documented priors: any skill there beyond the real rows is those priors echoed back, not evidence. "
        "*Weighted* rows give each list its documented share (as in training); unweighted rows count every row once.",
        "",
        md_table(metric_rows(held), ["view"] + cols, ["view"] + METRIC_HEADERS),
        "",
        f"Precision / recall / F1 at the toxic threshold ({t['toxic']:.3f}); ECE on 10 equal-width probability bins.",
        "",
        "### Per list (held-out real rows)",
        "",
        "Each list is of one class; its AUC is against every held-out row of the other class.",
        "",
        md_table(src_real.to_dict("records"), ["source", "n", "toxic_share", "flagged_toxic", "flagged_review_or_toxic", "mean_risk", "auc_vs_other_class"],
                 ["list", "rows", "labelled toxic", "flagged toxic", "flagged review or toxic", "mean risk", "AUC vs other class"]),
        "",
        "### Per list (held-out, all rows — simulated)",
        "",
        md_table(src_all.to_dict("records"), ["source", "n", "toxic_share", "flagged_toxic", "flagged_review_or_toxic", "mean_risk", "auc_vs_other_class"],
                 ["list", "rows", "labelled toxic", "flagged toxic", "flagged review or toxic", "mean risk", "AUC vs other class"]),
        "",
        "### Choice: balancing TLD and name length",
        "",
        "The lists' suffix and name-length mix is an artefact of how they were compiled (expired European domains "
        "with long names on the spam side, famous short .com/.org names and US institutions on the clean side), so "
        "the shipped model is trained with `balance_within` (inside each TLD x registrable-label-length cell, spam "
        "and clean carry equal weight; factors capped at 4): it then has to find evidence beyond \"this is a .de "
        "domain with a long name\". The alternative, trained on the same "
        "folds without it, scores better on these lists (which share the artefact) and worse on clean "
        "country-code sites. Held-out real rows:",
        "",
        md_table(choice, ["model", "roc_auc", "roc_auc_w", "pr_auc", "precision", "recall", "clean_cc_toxic", "clean_cc_review", "ss0", "ss1"],
                 ["model", "ROC-AUC", "ROC-AUC weighted", "PR-AUC", "precision", "recall", "clean ccTLD flagged toxic",
                  "clean ccTLD flagged review+", "source split " + SPAM_LISTS[0] + " -> " + SPAM_LISTS[1],
                  "source split " + SPAM_LISTS[1] + " -> " + SPAM_LISTS[0]]),
        "",
        "### False positives by suffix kind (held-out real rows)",
        "",
        "The clean lists are dominated by .gov, .edu and famous .com/.org hosts, while the spam lists hold many "
        "country-code and new-gTLD domains, so the model leans on the suffix (see the ablation: the TLD family "
        "carries most of the real signal). This table shows where that puts clean sites at risk.",
        "",
        md_table(suffix_fp, ["suffix kind", "class", "n", "flagged toxic", "flagged review or toxic"]),
        "",
        "### Sanity check on an ordinary-looking synthetic profile (synthetic)",
        "",
        f"`benchmarks/synth.py` profile ({synth_bands['n']:,} links) with every spam-word domain, spam title and vendor "
        "spam flag removed and digits stripped from host names, i.e. links that *nothing* marks as spam. "
        f"Bands: toxic {synth_bands['toxic']:.0%}, review {synth_bands['review']:.0%}, ok {synth_bands['ok']:.0%}. "
        "Share banded toxic by suffix: " + ", ".join(f".{k} {v:.0%}" for k, v in synth_bands["toxic_by_tld"].items()) + ". "
        "The profile is synthetic (random word-pair domains on a fixed TLD mix, random link attributes), so this "
        "is not an error rate, but it shows the model's prior against unknown sites: **expect false positives on "
        "ordinary small sites"
        + (", most of all on " + ", ".join("." + k for k, v in synth_bands["toxic_by_tld"].items() if v >= 0.5)
           if any(v >= 0.5 for v in synth_bands["toxic_by_tld"].values()) else "")
        + ", and review before disavowing.**",
        "",
        "## Source split: a spam list never seen in training",
        "",
        "Train with one spam list (plus the clean lists' training domains), test on the other spam list and "
        "held-out clean domains. Real rows only (domain signal), and all rows (simulated).",
        "",
        md_table([{"split": k + " (real rows)", **v["real rows"]} for k, v in source_split.items()]
                 + [{"split": k + " (real rows, weighted)", **v["real rows, weighted"]} for k, v in source_split.items()]
                 + [{"split": k + " (all rows, simulated)", **v["all rows"]} for k, v in source_split.items()],
                 ["split"] + cols, ["split"] + METRIC_HEADERS),
        "",
        "Precision/recall here use the split model's own thresholds (chosen on its calibration fold).",
        "",
        "## Rule baseline",
        "",
        "A Semrush/open-source-auditor style score: the weighted count of binary toxic markers "
        f"(`toxlink.train.RULE_MARKERS`; {len(used_markers)} markers: " + "; ".join(used_markers) + "). "
        "The count is mapped to a probability by isotonic calibration on the same calibration fold as the "
        "model and thresholded by the same precision rule, then scored on the same held-out rows.",
        "",
        md_table(metric_rows(rule), ["view"] + cols, ["view"] + METRIC_HEADERS),
        "",
    ]
    if abl is not None:
        abl_rows = abl.to_dict("records")
        parts += [
            "## Feature-family ablation",
            "",
            "The model retrained without each family (same folds, same parameters); ROC-AUC of the raw score on "
            "the held-out rows. Δ is the change against all features (negative = the family helps). On all rows, "
            "the link, anchor, content and profile families carry mostly **simulated** attributes; the real-rows "
            "column is where only real signal exists.",
            "",
            md_table(abl_rows, ["family", "n_features", "roc_auc", "d_roc_auc", "roc_auc[real]", "d_roc_auc[real]", "pr_auc", "d_pr_auc"],
                     ["model", "features", "ROC-AUC all rows (simulated)", "Δ", "ROC-AUC real rows", "Δ", "PR-AUC all rows", "Δ"]),
            "",
        ]
    parts += [
        "## Limits",
        "",
        "- **Domain signal only is real.** The lists name hosts, not links. Link attributes (anchors, rel flags, "
        "dates, page metrics, titles, link networks) in the training data are simulated from documented priors; "
        "the model's use of them is a prior, not something learnt from real spam links. The anchor vocabularies "
        "used to simulate anchors are basedata's own and not the feature lexicons, but a lexicon-based feature "
        "firing on simulated anchors is still no proof that toxlink detects real spam anchors.",
        "- **Biased clean lists.** Clean hosts are universities, .gov, Wikipedia's most-cited hosts and "
        "awesome-selfhosted project sites: more reputable than a typical site's long tail of backlinks. Expect "
        "more false positives on ordinary small sites than the figures above show; the `review` band exists for that.",
        "- **Spam lists** are referrer-spam and spamdexing blocklists: they over-represent certain spam kinds "
        "(SEO-service domains, expired-domain networks, gambling) and contain hacked legitimate hosts (label noise).",
        "- Probabilities are calibrated to the training mixture (spam and clean weighted 50/50), not to the "
        "share of toxic links in a real profile, which is usually far lower: read `risk` as a ranking and a "
        "relative confidence, and always review before disavowing.",
        "- Retrain on your own labels (`toxlink train`) to adapt the model to your site; the promotion gate keeps "
        "the previous model unless the new one is at least as good on the same held-out links.",
        "",
        "## How to rebuild",
        "",
        "```",
        "python training/train.py            # writes models/, logs to ./mlruns.db (+ ./mlruns-artifacts)",
        "```",
        "",
        "Deterministic for a seed on the same library versions (LightGBM `deterministic=True`, fixed threads). "
        "MLflow runs and the `toxlink@champion` alias live in the local SQLite store; nothing goes over the network.",
        "",
    ]
    return "\n".join(parts)


if __name__ == "__main__":
    raise SystemExit(main())
