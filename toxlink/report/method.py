"""What the report says about the model a run scored with: :class:`ModelFacts`, and the
methodology section built from them.

The facts are read from the model bundle's metadata through the public
:class:`toxlink.predictor.Predictor` API when a run scores, and saved with the run
(``run-info.json``) so that ``toxlink report`` rebuilds the same page without the model.
"""

from __future__ import annotations

import html as _html
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from toxlink.report.branding import Branding

#: The file of a run folder holding its :class:`ModelFacts` (under ``"model"``).
RUN_INFO = "run-info.json"
# The metrics the page quotes: LOSO (each public list left out in turn) and the calibration fold.
_LOSO_KEYS = ("mean_roc_auc", "worst_roc_auc", "worst_source", "clean_max_toxic", "clean_max_review_or_worse",
              "spam_recall_toxic", "spam_recall_review_or_worse")
_FOLD_KEYS = ("n", "roc_auc", "precision", "recall", "ece")


@dataclass(frozen=True)
class ModelFacts:
    """The model and thresholds behind a run's scores, as plain JSON-able values.

    Attributes
    ----------
    toxic_threshold, review_threshold : float
        The thresholds the run used (the model's unless the user set others).
    model_toxic_threshold, model_review_threshold : float
        The model's own thresholds (from its metadata).
    version, created : str
        toxlink version that trained the model, and when.
    prior : float or None
        The share of spam the probabilities are calibrated to.
    threshold_rule : str
        How the model's thresholds were chosen (from the metadata; may be empty).
    names_only : bool
        The model splits on the referring site's name alone (domain, TLD, host name).
    loso, calibration : dict
        The metrics quoted (subsets of the metadata's ``metrics["loso"]`` and
        ``metrics["calibration_fold"]``); a missing one is left out of the page.
    """

    toxic_threshold: float
    review_threshold: float
    model_toxic_threshold: float
    model_review_threshold: float
    version: str = ""
    created: str = ""
    prior: float | None = None
    threshold_rule: str = ""
    names_only: bool = False
    loso: dict = field(default_factory=dict)
    calibration: dict = field(default_factory=dict)

    @classmethod
    def of(cls, predictor, policy=None) -> "ModelFacts":
        """The facts of a loaded :class:`~toxlink.predictor.Predictor`; thresholds from
        *policy* (the run's, default the predictor's)."""
        bundle = predictor.bundle
        policy = policy or predictor.policy
        metrics, extra = bundle.metrics or {}, bundle.extra or {}
        rule = extra.get("threshold_rule")
        if not isinstance(rule, str):  # older bundles: a dict per band under extra.training
            rule = "; ".join(f"{k}: {v}" for k, v in (extra.get("training", {}).get("threshold_rule") or {}).items())
        prior = extra.get("prior", (bundle.calibration or {}).get("prior"))
        return cls(
            toxic_threshold=float(policy.toxic_threshold), review_threshold=float(policy.review_threshold),
            model_toxic_threshold=float(bundle.thresholds["toxic"]),
            model_review_threshold=float(bundle.thresholds["review"]),
            version=str(bundle.version or ""), created=str(bundle.created or ""),
            prior=None if prior is None else float(prior), threshold_rule=rule, names_only=bool(predictor.knows_names_only),
            loso={k: metrics.get("loso", {})[k] for k in _LOSO_KEYS if k in metrics.get("loso", {})},
            calibration={k: metrics.get("calibration_fold", {})[k] for k in _FOLD_KEYS
                         if k in metrics.get("calibration_fold", {})},
        )

    def to_json(self) -> dict:
        """The facts as a JSON object (``from_json`` reads it back equal)."""
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict) -> "ModelFacts":
        known = {k: v for k, v in obj.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def write_run_info(path: str | os.PathLike, facts: ModelFacts | None, branding: Branding | None = None) -> None:
    """Write *facts* and *branding* (the client's name and logo data URI, when it has
    either) to the run-info file *path* atomically: JSON ``{"model": ..., "branding": ...}``,
    a key left out when its value is ``None`` or empty."""
    from toxlink.outputs import atomic_write

    info = {} if facts is None else {"model": facts.to_json()}
    if branding is not None and (branding.client or branding.logo):
        info["branding"] = branding.to_json()
    with atomic_write(Path(path)) as fh:
        fh.write(json.dumps(info, indent=2, sort_keys=True) + "\n")


def read_run_info(path: str | os.PathLike) -> ModelFacts | None:
    """The :class:`ModelFacts` saved in a run-info file, ``None`` when the file is absent
    or holds none (a run of an older toxlink)."""
    model = _run_info(path).get("model")
    try:
        return ModelFacts.from_json(model) if isinstance(model, dict) else None
    except TypeError:
        return None


def read_run_branding(path: str | os.PathLike) -> Branding:
    """The :class:`~toxlink.report.branding.Branding` saved in a run-info file (empty when
    the file is absent or holds none: a run without ``--client``/``--logo``, or an older one)."""
    return Branding.from_json(_run_info(path).get("branding"))


def _run_info(path: str | os.PathLike) -> dict:
    """The JSON object of a run-info file; ``{}`` when it is absent or not one."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return {}
    return obj if isinstance(obj, dict) else {}


# --- the methodology section --------------------------------------------------------------
def method_html(facts: ModelFacts | None) -> str:
    """The methodology section's body: what the score means, the bands, the model's
    measured accuracy and its limits. Without *facts* (a report built from a scored table
    alone) the model's numbers are left out. Every value is HTML-escaped."""
    items = [
        "<b>Risk</b> is the model's calibrated probability that a link is spam or part of a link scheme "
        "(manipulation)" + (f", calibrated to a prior of {_p(facts.prior)} spam among links" if facts and facts.prior else "")
        + ". <b>Toxicity</b> (0–100, in links.csv and domains.csv) is the same number rescaled: "
        "round(100 × risk); a site's is its riskiest link's. It is a rescaling, not a second model, and is not "
        "the same scale as another tool's toxicity or spam score.",
    ]
    if facts:
        items.append(_bands(facts))
        if facts.threshold_rule:
            items.append(f"The model's thresholds were chosen on public lists left out of its training: {_e(facts.threshold_rule)}.")
        accuracy = _accuracy(facts)
        if accuracy:
            items.append(accuracy)
    else:
        items.append("<b>Toxic</b> links are above the disavow threshold, <b>review</b> links need a human look, "
                     "<b>OK</b> links are left alone; links whose source URL cannot be used are <b>not scored</b>.")
    limits = []
    if facts and facts.names_only:
        limits.append("The model scores a link on the referring site's name alone (its domain, TLD and host name): "
                      "anchors, nofollow flags and vendor metrics are shown in this report but do not move the risk.")
    limits.append("Its measured accuracy comes from public lists of spam and clean sites, not from your links: "
                  "review the sites near the thresholds by hand before disavowing them.")
    items.append("<b>Limits.</b> " + " ".join(limits))
    items += [
        "Duplicate rows (the same source URL, target URL and anchor in several exports) are counted once.",
        "Anchor categories, first rule that matches: empty; naked URL (a URL or host name); branded (contains a "
        "brand given with <code>--brand</code>, else the target's name, e.g. <i>acmetools</i>); generic (\"click "
        "here\", \"website\", …); exact match (one of the money keywords, or a short anchor made mostly of "
        "commercial or spam words such as \"buy\", \"cheap\", \"casino\"); partial match (contains such a word "
        "or keyword); other.",
        "Disavowing tells Google to ignore links; it does not remove them. Keep every earlier entry in the file you "
        "upload: each upload replaces the previous file.",
    ]
    model = (f'<p class="muted small" id="model-version">Model trained by toxlink {_e(facts.version)}'
             f'{" on " + _e(facts.created[:10]) if facts.created else ""}.</p>') if facts and facts.version else ""
    return "<ul>" + "".join(f"<li>{x}</li>" for x in items) + "</ul>" + model


def _bands(f: ModelFacts) -> str:
    t, r = f.toxic_threshold, f.review_threshold
    rows = [("toxic", "Toxic: disavow", f"risk ≥ {t:.3f} (toxicity ≥ {_tox(t)})"),
            ("review", "Review: a human decides", f"{r:.3f} ≤ risk < {t:.3f}"),
            ("ok", "OK: left alone", f"risk < {r:.3f}"),
            ("rejected", "Not scored", "the source URL cannot be used")]
    table = ('<table class="data compact" id="bands"><thead><tr><th>Band</th><th>Rule</th></tr></thead><tbody>'
             + "".join(f'<tr data-band="{b}"><td><span class="badge {b}">{_e(label)}</span></td><td>{_e(rule)}</td></tr>'
                       for b, label, rule in rows) + "</tbody></table>")
    own = (t, r) == (f.model_toxic_threshold, f.model_review_threshold)
    note = ("The thresholds are the model's." if own else
            f"This run set its own thresholds; the model's are {f.model_toxic_threshold:.3f} (toxic) and "
            f"{f.model_review_threshold:.3f} (review).")
    return f"<b>Bands</b>, from the risk of each link. {_e(note)}{table}"


def _accuracy(f: ModelFacts) -> str:
    lo, cal = f.loso, f.calibration
    parts = []
    if "mean_roc_auc" in lo:
        worst = (f", {lo['worst_roc_auc']:.2f} on the hardest ({_e(lo.get('worst_source', ''))})"
                 if "worst_roc_auc" in lo else "")
        parts.append("Tested on each public list of spam or clean sites left out of training in turn, it ranks a "
                     f"spam site above a clean one with a probability (ROC AUC) of {lo['mean_roc_auc']:.2f} on "
                     f"average{worst}.")
    if "spam_recall_toxic" in lo and "clean_max_toxic" in lo:
        parts.append(f"On those left-out lists, {_p(lo['spam_recall_toxic'])} of spam sites score toxic "
                     f"({_p(lo.get('spam_recall_review_or_worse'))} toxic or review), while at most "
                     f"{_p(lo['clean_max_toxic'])} of any clean list's sites score toxic "
                     f"({_p(lo.get('clean_max_review_or_worse'))} toxic or review).")
    if "precision" in cal and "recall" in cal:
        n = f" ({int(cal['n']):,} sites)" if "n" in cal else ""
        extra = f", calibration error {cal['ece']:.3f}" if "ece" in cal else ""
        parts.append(f"On the calibration fold{n}, {_p(cal['precision'])} of the sites it calls toxic are spam "
                     f"(precision) and it calls {_p(cal['recall'])} of spam sites toxic (recall){extra}.")
    return ("<b>Measured accuracy.</b> " + " ".join(parts)) if parts else ""


def _p(x) -> str:
    return "–" if x is None else f"{float(x):.0%}"


def _tox(x: float) -> int:
    return int(round(100 * x))


def _e(value) -> str:
    return _html.escape(str(value), quote=True)
