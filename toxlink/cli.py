"""The ``toxlink`` command line: parse arguments, call the API, print.

Every user-facing error (bad export, bad disavow or label file, missing model) is printed
as one line naming the file (and line/column where it applies) with exit code 2; no
traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer
import typer.exceptions
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="toxlink: score backlink exports for spam and manipulation, explain why, and write a Google disavow file.",
)
out = Console()
err = Console(stderr=True)
_debug = False

ExportsArg = typer.Argument(..., help="Backlink export file(s): Ahrefs, Semrush, Moz, Majestic, Search Console, CSV or URL list.")
FormatOpt = typer.Option(None, "--format", "-f", help="Override format detection (ahrefs, semrush, semrush-audit, moz, majestic, gsc, generic, url-list).")
ClientOpt = typer.Option(None, "--client", help="Client name shown on the report's first page.")
LogoOpt = typer.Option(None, "--logo", help="Logo (PNG, JPEG or SVG file) shown on the report's first page, embedded in it.")


def _print_version(value: bool) -> None:
    if value:
        from toxlink import __version__

        out.print(f"toxlink {__version__}")
        raise typer.Exit()


@app.callback()
def _main(debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
          version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                       help="Print toxlink's version and exit.")) -> None:
    global _debug
    _debug = debug


@app.command()
def inspect(exports: List[Path] = ExportsArg, export_format: Optional[str] = FormatOpt) -> None:
    """Show what was detected in each export: vendor, encoding, delimiter, rows, columns mapped, rows flagged."""
    from toxlink.exports import inspect as inspect_exports

    for info in inspect_exports(exports, format=export_format):
        info = info if isinstance(info, dict) else info.__dict__
        table = Table(title=str(info.get("path")), show_header=False, title_justify="left")
        for key, value in info.items():
            if key == "path":
                continue
            if isinstance(value, dict):
                sep = " <- " if key == "mapped" else ": "  # canonical column <- vendor column
                value = "\n".join(f"{k}{sep}{v}" for k, v in value.items()) or "-"
            elif isinstance(value, (list, tuple)):
                value = ", ".join(map(str, value)) or "-"
            table.add_row(key.replace("_", " "), str(value))
        out.print(table)


@app.command()
def features(
    exports: List[Path] = ExportsArg,
    output: Path = typer.Option(..., "--output", "-o", help="File to write the feature matrix to: .parquet or .csv."),
    export_format: Optional[str] = FormatOpt,
) -> None:
    """Compute the feature matrix of the export(s) and write it as Parquet or CSV (by the file name)."""
    import toxlink
    from toxlink import features as F
    from toxlink import schema as S
    from toxlink.outputs import atomic_write, write_csv
    from toxlink.urls import with_hosts

    kind = output.suffix.lower()
    if kind not in (".parquet", ".csv"):
        raise typer.BadParameter(f"{output.name}: name a .parquet or a .csv file", param_hint="--output")
    for export in exports:
        _refuse_overwriting(export, [output], "--output")
    links = with_hosts(toxlink.read_export(exports, format=export_format))
    X = F.compute(links)
    X.insert(0, S.SOURCE_ROW, links[S.SOURCE_ROW].to_numpy())
    X.insert(0, S.SOURCE_FILE, links[S.SOURCE_FILE].to_numpy())
    if kind == ".csv":
        write_csv(X, output)
    else:
        with atomic_write(output, "wb") as fh:
            X.to_parquet(fh, index=False)
    out.print(f"wrote {len(X):,} rows x {X.shape[1] - 2} features to {output}")


@app.command()
def score(
    exports: List[Path] = ExportsArg,
    output: Path = typer.Option(Path("toxlink-out"), "--output", "-o", help="Folder for links.csv, domains.csv, disavow.txt, disavow-new.txt."),
    existing_disavow: Optional[Path] = typer.Option(None, "--existing-disavow", help="Your current disavow file: nothing in it is ever removed."),
    whitelist: Optional[Path] = typer.Option(None, "--whitelist", help="Domains/URLs never to disavow (one per line)."),
    known_spam: List[Path] = typer.Option([], "--known-spam", help="Your list of sites known to be spam (one host or domain: entry per line; repeatable): a match raises the risk and is shown as a reason."),
    known_clean: List[Path] = typer.Option([], "--known-clean", help="Your list of sites known to be fine (repeatable): a match lowers the risk and is shown as a reason."),
    brand: List[str] = typer.Option([], "--brand", help="Your site's brand name (repeatable), for the anchor categories (default: the name in the target URLs' host)."),
    money_keywords: Optional[Path] = typer.Option(None, "--money-keywords", help="Your commercial keywords, one per line (# comments): anchors that are or contain one are exact-match or partial-match."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model bundle path or models:/name@alias (default: the shipped model)."),
    export_format: Optional[str] = FormatOpt,
    toxic_threshold: Optional[float] = typer.Option(None, min=0.0, max=1.0, help="Risk at or above which a link is toxic (default: the model's)."),
    review_threshold: Optional[float] = typer.Option(None, min=0.0, max=1.0, help="Risk at or above which a link needs review (default: the model's)."),
    protect_gov_edu: bool = typer.Option(False, "--protect-gov-edu", help="Never disavow .gov/.edu/.ac.* domains."),
    report: bool = typer.Option(False, "--report", help="Also write report.html, a self-contained audit report."),
    client: Optional[str] = ClientOpt,
    logo: Optional[Path] = LogoOpt,
    excel: bool = typer.Option(False, "--excel", help="Start the CSV files with a UTF-8 byte order mark, so that Excel on Windows reads accents right."),
    chunksize: int = typer.Option(100_000, min=1, help="Rows per chunk when streaming the exports."),
    engine: str = typer.Option("embedded", help="embedded (one process, streaming) or dask (needs toxlink[scale])."),
    scheduler: Optional[str] = typer.Option(None, help="Dask scheduler address (default: a local cluster)."),
    timings: Optional[Path] = typer.Option(None, "--timings", help="Write the seconds spent per stage to this JSON file."),
    previous: Optional[Path] = typer.Option(None, "--previous", help="Output folder of an earlier audit: the report gets a section on what changed since (needs --report)."),
    label_next: int = typer.Option(100, "--label-next", min=0, help="Rows of label-next.csv: the referring domains whose label would teach a retrained model most (0: none)."),
) -> None:
    """Score backlink exports and write disavow recommendations."""
    from toxlink.anchors import AnchorTerms
    from toxlink.engine import score_exports
    from toxlink.known import KnownList
    from toxlink.policy import Policy, Whitelist
    from toxlink.report import Branding

    if (client or logo) and not report:
        raise typer.BadParameter("--client and --logo go on the report: add --report", param_hint="--client / --logo")
    branding = Branding.read(client, logo)  # before scoring: a bad logo stops the run at once
    if toxic_threshold is not None and review_threshold is not None and review_threshold > toxic_threshold:
        raise typer.BadParameter(f"{review_threshold} is above --toxic-threshold {toxic_threshold}",
                                 param_hint="--review-threshold")
    if previous is not None and not report:
        raise typer.BadParameter("adds a section to the report: give --report too (or run toxlink compare)",
                                 param_hint="--previous")
    policy = Policy(
        toxic_threshold=toxic_threshold,
        review_threshold=review_threshold,
        protect_gov_edu=protect_gov_edu,
        whitelist=Whitelist.read(whitelist) if whitelist else Whitelist(),
        known_lists=tuple([KnownList.read(p, spam=True) for p in known_spam]
                          + [KnownList.read(p, spam=False) for p in known_clean]),
        anchor_terms=AnchorTerms(brands=tuple(brand), money_keywords=_money_keywords(money_keywords)),
    )
    if (toxic_threshold is None) != (review_threshold is None):
        _check_thresholds(model, toxic_threshold, review_threshold)
    if engine == "dask":
        try:
            import dask.distributed  # noqa: F401
        except ImportError:
            raise typer.BadParameter("the dask engine needs the optional extra: pip install 'toxlink[scale]'",
                                     param_hint="--engine") from None
    if existing_disavow is not None:
        _refuse_overwriting(existing_disavow, [output / "disavow.txt", output / "disavow-new.txt"], "--existing-disavow")
    kwargs = dict(model=model, policy=policy, export_format=export_format, existing_disavow=existing_disavow,
                  chunksize=chunksize, report=report, excel_bom=excel, previous=previous, branding=branding,
                  label_rows=label_next)
    _return_freed_memory()
    with _progress() as on_chunk:
        if engine == "dask":
            from toxlink.scale import score_exports_dask

            summary = score_exports_dask(exports, output, scheduler=scheduler, **kwargs)
        elif engine == "embedded":
            summary = score_exports(exports, output, on_chunk=on_chunk, **kwargs)
        else:
            raise typer.BadParameter(f"unknown engine {engine!r}: use embedded or dask", param_hint="--engine")
    _print_summary(summary)
    if timings:
        import json

        timings.write_text(json.dumps(summary.stage_seconds, indent=2) + "\n", encoding="utf-8")


@app.command()
def explain(
    export: Path = typer.Argument(..., help="The backlink export holding the link."),
    url: Optional[str] = typer.Option(None, "--url", help="Source (referring page) URL of the link to explain (any scheme, with or without a trailing /)."),
    domain: Optional[str] = typer.Option(None, "--domain", help="Explain every link from this referring site instead."),
    model: Optional[str] = typer.Option(None, "--model", "-m"),
    export_format: Optional[str] = FormatOpt,
    shap: bool = typer.Option(False, "--shap", help="Show LightGBM's TreeSHAP values instead of the path attributions the reasons come from."),
) -> None:
    """Print one link's score and every signal behind it."""
    import toxlink

    if (url is None) == (domain is None):
        raise typer.BadParameter("give --url or --domain (one of them)", param_hint="--url / --domain")
    predictor = toxlink.Predictor.load(model)
    try:
        entries = predictor.explain(toxlink.read_export([export], format=export_format), url,
                                    method="shap" if shap else "paths", domain=domain)
    except KeyError as exc:
        raise _UserError(f"{export}: {exc.args[0]}") from None
    for e in entries:
        risk = "not scored" if e["risk"] is None else f"{e['risk']:.3f}"
        out.print(f"[bold]{e['source_url']}[/bold] -> {e['target_url']}  anchor: {e['anchor']!r}")
        out.print(f"risk {risk}  band [bold]{e['band']}[/bold]" + (f"  ({e['row_issue']})" if e["row_issue"] else "")
                  + (f"  base score {e['bias']:+.3f} (raw score = base + effects)" if e["bias"] is not None else ""))
        table = Table("signal", "family", "value", "effect", "reason")
        for s in e["signals"]:
            value = "missing" if s["value"] is None else f"{s['value']:g}"
            table.add_row(s["feature"], s["family"], value, f"{s['contribution']:+.3f}", s["reason"])
        out.print(table)


@app.command()
def train(
    export: List[Path] = typer.Option([], "--export", help="Backlink export(s) the labels refer to."),
    labels: Optional[Path] = typer.Option(None, "--labels", help="CSV of links or domains with a label (toxic/ok), or toxlink's domains.csv / links.csv with a 'decision' column filled in."),
    disavow: Optional[Path] = typer.Option(None, "--disavow", help="Your past disavow file: links it covers are labelled toxic."),
    whitelist: Optional[Path] = typer.Option(None, "--whitelist", help="Domains/URLs you keep: labelled ok."),
    with_base: bool = typer.Option(True, "--with-base/--no-base", help="Also train on toxlink's base data."),
    user_weight: float = typer.Option(3.0, help="Sample weight of your labelled links relative to base rows."),
    output: Path = typer.Option(Path("toxlink-model"), "--output", "-o", help="Folder for the new model bundle (written only if promoted, unless --force)."),
    force: bool = typer.Option(False, "--force", help="Write the new model to --output even if the promotion gate refuses it."),
    tracking_uri: Optional[str] = typer.Option(None, "--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else ~/.toxlink/mlruns.db)."),
) -> None:
    """Retrain on your own labels, log the run to MLflow and promote it if it is not worse.

    Exit code 2 when the model is refused: too little to evaluate, or worse than the champion
    (or, on a first run, the shipped model) on the same evaluation links, shown side by side.
    """
    from toxlink.train import RETRAIN_STAGES, retrain

    if not export:
        raise typer.BadParameter("give the export(s) your labels refer to", param_hint="--export")
    if labels is None and disavow is None and whitelist is None:
        raise typer.BadParameter("give --labels, or --disavow and/or --whitelist")
    try:
        with _progress(RETRAIN_STAGES, bars=()) as progress:
            result = retrain(export, labels=labels, disavow=disavow, whitelist=whitelist, with_base=with_base,
                             user_weight=user_weight, out_dir=output, tracking_uri=tracking_uri, force=force,
                             on_stage=lambda stage: progress(stage, 0, None))
    except ValueError as exc:  # retrain's own checks on what the user gave (no labels matched, ...)
        raise _UserError(str(exc)) from None
    out.print("\n".join(result.lines()), markup=False, highlight=False)
    if result.refused:
        # the side-by-side table above is the evidence; a script must not take this for a success
        kept = f"written to {result.model_dir} on --force" if result.model_dir else f"not written to {output}"
        err.print(f"toxlink: refused: the new model is worse than the {result.gate.compared_with} on the same "
                  f"evaluation links; it is {kept} and not promoted", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2)


@app.command()
def report(
    scored_dir: Path = typer.Argument(..., help="Output folder of `toxlink score` (links.csv, domains.csv)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="HTML file (default: SCORED_DIR/report.html)."),
    client: Optional[str] = ClientOpt,
    logo: Optional[Path] = LogoOpt,
    previous: Optional[Path] = typer.Option(None, "--previous", help="Output folder of an earlier audit: add a section on what changed since."),
) -> None:
    """Write a self-contained HTML audit report from a scoring run's outputs.

    The client and logo default to those `toxlink score --report` was given (run-info.json)."""
    from toxlink.report import Branding, report_from_dir

    branding = Branding.read(client, logo)  # first: a bad logo stops before any reading
    changes_html = ""
    if previous is not None:
        from toxlink.report.changes import previous_audit_section

        changes_html = previous_audit_section(previous, scored_dir)
    path = report_from_dir(scored_dir, output, changes_html=changes_html, branding=branding)
    out.print(f"wrote {path}")


@app.command()
def compare(
    old: Path = typer.Argument(..., help="Output folder of the earlier `toxlink score` run (links.csv, domains.csv)."),
    new: Path = typer.Argument(..., help="Output folder of the later run."),
    output: Path = typer.Option(Path("changes.csv"), "--output", "-o", help="CSV file for the changes."),
    excel: bool = typer.Option(False, "--excel", help="Start the CSV file with a UTF-8 byte order mark (Excel on Windows)."),
) -> None:
    """List the links and domains that are new, lost or judged differently in NEW than in OLD."""
    from toxlink.compare import CHANGES, change_counts, compare_runs
    from toxlink.outputs import write_csv

    from toxlink.engine import OUTPUT_FILES

    for folder in (old, new):
        for name in OUTPUT_FILES:
            _refuse_overwriting(folder / name, [output], "--output")
    changes = compare_runs(old, new)
    write_csv(changes, output, bom=excel)
    counts = change_counts(changes)
    table = Table("", *(c.replace("_", " ") for c in CHANGES), title=f"toxlink compare {old} -> {new}",
                  title_justify="left")
    for level in ("domain", "link"):
        table.add_row(f"{level}s", *(f"{counts[(level, c)]:,}" for c in CHANGES))
    out.print(table)
    out.print(f"wrote {len(changes):,} changes to {output}", markup=False, highlight=False, soft_wrap=True)


# -- helpers ---------------------------------------------------------------------------------
def _refuse_overwriting(source: Path, outputs: list[Path], option: str) -> None:
    """Stop before a command writes one of *outputs* over *source*, a file it reads."""
    if source.exists() and any(o.exists() and o.resolve() == source.resolve() for o in outputs):
        raise typer.BadParameter(f"{source} is read by this command, which would write over it: choose another file",
                                 param_hint=option)


def _check_thresholds(model: str | None, toxic: float | None, review: float | None) -> None:
    """Stop before reading when the one threshold given crosses the model's other one."""
    from toxlink.predictor import Predictor

    theirs = Predictor.load(model).bundle.thresholds
    if toxic is not None and toxic < theirs["review"]:
        raise typer.BadParameter(f"{toxic:g} is below the model's review threshold ({theirs['review']:.3f}): "
                                 "give a lower --review-threshold too", param_hint="--toxic-threshold")
    if review is not None and review > theirs["toxic"]:
        raise typer.BadParameter(f"{review:g} is above the model's toxic threshold ({theirs['toxic']:.3f}): "
                                 "give a higher --toxic-threshold too", param_hint="--review-threshold")


def _money_keywords(path: Path | None) -> tuple[str, ...]:
    """The terms of ``--money-keywords`` (none without the option); a file that gives none
    is the user's to fix."""
    from toxlink.anchors import AnchorTerms

    if path is None:
        return ()
    try:
        return AnchorTerms.read_keywords(path)
    except ValueError as exc:
        raise _UserError(str(exc)) from None


def _return_freed_memory() -> None:
    """The allocators' settings of a ``toxlink`` process, its own choice as a program.

    Arrow allocates from jemalloc (where pyarrow has it): Arrow's default allocator,
    mimalloc, keeps the pages a long run frees. glibc's malloc (numpy, pandas) gets at
    most 2 arenas: by default each of the engine's threads gets one of its own, and the
    freed memory scattered over them made the peak RSS of scoring 1M links ~1.2 GiB
    instead of ~0.9 GiB (``benchmarks/score.py``).
    """
    import pyarrow as pa

    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # a pyarrow built without jemalloc (e.g. on Windows)
        pass
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, 2)
        except (OSError, AttributeError):  # not glibc (musl, ...): its allocator, its rules
            pass


_M_ARENA_MAX = -8  # glibc's malloc.h


class _UserError(Exception):
    pass


class _progress:
    """What ``toxlink score`` (and ``train``) show while they run, from ``on_chunk(stage,
    amount, total)`` calls (:data:`toxlink.engine.OnChunk`).

    On a terminal, a bar for each stage of *bars*: ``read`` by bytes of the exports read
    (their size is known), ``score`` by rows (pass 1 counted them), each with percentage,
    rate and time left. On any stream, one line per stage as it ends: what it did (named by
    *labels*) and how long it took.
    """

    _LABELS = {"read": "reading the exports", "score": "scoring", "profile": "whole-export profile",
               "model": "waiting for the model", "domains": "domain roll-up, domains.csv and disavow files",
               "changes": "changes since the previous audit", "report": "report.html"}

    def __init__(self, labels: dict[str, str] | None = None, bars: tuple[str, ...] = ("read", "score")):
        self._labels = {**self._LABELS, **(labels or {})}
        self._bars = bars

    def __enter__(self):
        import time

        from rich.progress import (BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self._clock = time.perf_counter
        self._p = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                           TextColumn("{task.fields[detail]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                           console=err, transient=True, disable=not err.is_terminal)
        self._p.__enter__()
        self._tasks: dict = {}
        self._rows = 0  # rows read in pass 1
        self._current: tuple[str, float] | None = None  # the stage under way and when it started
        return self._update

    def _update(self, stage: str, amount: int, total: int | None = None) -> None:
        bar = "read" if stage == "read bytes" else stage
        if self._current is None or self._current[0] != bar:
            self._finish()
            self._current = (bar, self._clock())
        if bar not in self._bars:
            return  # a stage without a bar: its line is printed when it ends
        if bar not in self._tasks:
            self._tasks[bar] = self._p.add_task(self._labels[bar], total=None, detail="")
        task = self._tasks[bar]
        if stage == "read":
            self._rows += amount
        else:
            self._p.update(task, total=total, advance=amount)
        done, speed = self._task(task).completed, self._task(task).speed  # rich's own rate estimate
        if bar == "read":
            rate = f", {speed / 1e6:,.1f} MB/s" if speed else ""
            detail = f"{self._rows:,} rows, {done / 1e6:,.1f} MB{rate}"
        else:
            detail = f"{done:,.0f} rows" + (f", {speed:,.0f} rows/s" if speed else "")
        self._p.update(task, detail=detail)

    def _task(self, task_id):
        # Progress.tasks is a list in the order tasks were added, not indexed by id.
        return next(t for t in self._p.tasks if t.id == task_id)

    def _finish(self) -> None:
        """Print the line of the stage under way, which has just ended."""
        if self._current is None:
            return
        stage, start = self._current
        seconds = self._clock() - start
        what = self._labels.get(stage, stage)
        if stage == "read" and stage in self._bars:
            what += f": {self._rows:,} rows"
        elif stage == "score" and stage in self._tasks:
            what += f": {self._task(self._tasks[stage]).completed:,.0f} rows"
        if stage in self._tasks:  # its line replaces its bar
            self._p.remove_task(self._tasks.pop(stage))
        self._p.console.print(f"{what} ({seconds:,.1f} s)", markup=False, highlight=False, soft_wrap=True)
        self._current = None

    def __exit__(self, *exc):
        if exc[0] is None:
            self._finish()
        return self._p.__exit__(*exc)


def _print_summary(s) -> None:
    table = Table(title=f"toxlink score -> {s.out_dir}", show_header=False, title_justify="left")
    table.add_row("rows read", f"{s.rows:,}")
    table.add_row("duplicates (scored once, not counted)", f"{s.duplicates:,}")
    for band in ("toxic", "review", "ok", "rejected"):
        table.add_row(f"links {band}", f"{s.bands.get(band, 0):,}")
    table.add_row("referring domains", f"{s.domains:,}")
    for action in ("disavow-domain", "disavow-url", "review", "keep"):
        table.add_row(f"domains: {action}", f"{s.actions.get(action, 0):,}")
    table.add_row("disavow entries added", f"{s.disavow_added:,}")
    if s.disavow_overflow:
        table.add_row("new entries left for disavow-overflow.txt", f"{s.disavow_overflow:,}")
    table.add_row("already in your disavow file", f"{s.disavow_present:,}")
    table.add_row("whitelisted, skipped", f"{s.disavow_whitelisted:,}")
    for name, path in s.files.items():
        table.add_row(name, str(path))
    out.print(table)
    for note in s.notes:
        out.print(f"note: {note}", markup=False, soft_wrap=True)


# A full disk, a quota or a read-only file system: the user's to fix, not a bug to report.
_FULL_DISK = frozenset(getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EROFS") if hasattr(errno, name))


def _user_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [_UserError, FileNotFoundError, IsADirectoryError, NotADirectoryError,
                                        FileExistsError, PermissionError]
    for mod, name in (("toxlink.exports", "ExportError"), ("toxlink.disavow", "DisavowError"),
                      ("toxlink.model", "ModelError"), ("toxlink.labels", "LabelError"),
                      ("toxlink.report.files", "ReportError"), ("toxlink.report.branding", "LogoError")):
        try:
            errors.append(getattr(__import__(mod, fromlist=[name]), name))
        except (ImportError, AttributeError):
            pass
    return tuple(errors)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``toxlink`` console script; returns the exit code.

    0 done, 2 bad input or usage (with one message naming what), 130 interrupted, 70 a bug
    of toxlink's (with ``--debug`` for the traceback).
    """
    try:
        code = app(args=argv, standalone_mode=False)
    except SystemExit as exc:  # --help and click's own exits
        return int(exc.code or 0)
    except KeyboardInterrupt:
        code = _INTERRUPTED
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        code = _INTERRUPTED
    except BaseException as exc:  # noqa: BLE001 - the one place that turns errors into messages
        return _report(exc)
    if code == _INTERRUPTED:  # click turns Ctrl-C into this code when it does not raise
        err.print("toxlink: interrupted; no partial output was left behind")
        return _INTERRUPTED
    return code if isinstance(code, int) else 0


_INTERRUPTED = 130


def _report(exc: BaseException) -> int:
    """Print *exc* for the user and return the exit code."""
    # typer bundles its own click: its usage errors derive from typer's TyperException, not
    # from the click package's ClickException.
    if isinstance(exc, typer.exceptions.TyperException) and hasattr(exc, "show"):
        exc.show(file=sys.stderr)
        return int(getattr(exc, "exit_code", 2) or 2)
    if _debug or os.environ.get("TOXLINK_DEBUG"):
        raise exc
    if isinstance(exc, OSError) and exc.errno in _FULL_DISK:  # the outputs or the spool
        where = f" writing {exc.filename}" if exc.filename else ""
        err.print(f"toxlink: error: {exc.strerror}{where}: free some space, or choose an output folder "
                  "on another disk (-o); no partial output was left behind", markup=False, highlight=False,
                  soft_wrap=True)
        return 2
    if isinstance(exc, _user_errors()):
        msg = str(exc)
        if isinstance(exc, OSError) and exc.filename:
            msg = f"{exc.filename}: {exc.strerror}"
        # soft_wrap: a path must never be broken across lines (users copy it)
        err.print(f"toxlink: error: {msg}", markup=False, highlight=False, soft_wrap=True)
        return 2
    err.print(f"toxlink: internal error: {type(exc).__name__}: {exc}\n(run with --debug for the traceback, and please report it)",
              markup=False, highlight=False, soft_wrap=True)
    return 70


if __name__ == "__main__":
    sys.exit(main())
