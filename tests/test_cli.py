"""The command line as a user meets it: outputs, summaries, and errors without tracebacks."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from toxlink import schema as S

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample" / "ahrefs-backlinks-sample.csv"
EXISTING = ROOT / "data" / "sample" / "existing-disavow.txt"
FIXTURES = ROOT / "tests" / "fixtures" / "exports"


def toxlink(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toxlink.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("score")
    r = toxlink("score", SAMPLE, "--existing-disavow", EXISTING, "-o", out)
    return r, out


def test_score_writes_every_output_and_a_summary(sample_run):
    r, out = sample_run
    assert r.returncode == 0, r.stderr
    for name in ("links.csv", "domains.csv", "disavow.txt", "disavow-new.txt", "disavow-diff.csv"):
        assert (out / name).is_file(), name
    assert "rows read" in r.stdout and "referring domains" in r.stdout
    assert not list(out.glob(".*.tmp")), "temporary files left behind"


def test_links_csv_has_every_input_row_once(sample_run):
    _, out = sample_run
    links = pd.read_csv(out / "links.csv", dtype=str, keep_default_na=False)
    with open(SAMPLE, encoding="utf-16") as fh:
        data_lines = sum(1 for line in fh if line.strip()) - 1
    assert len(links) == data_lines
    assert links[S.SOURCE_ROW].astype(int).is_unique
    assert set(links[S.BAND]) <= {"toxic", "review", "ok", "rejected"}
    assert (links[S.BAND] == "rejected").sum() == 2


def test_merged_disavow_keeps_every_existing_line(sample_run):
    _, out = sample_run
    existing = EXISTING.read_text(encoding="utf-8").splitlines()
    merged = (out / "disavow.txt").read_text(encoding="utf-8").splitlines()
    assert merged[: len(existing)] == existing
    new = [line for line in (out / "disavow-new.txt").read_text(encoding="utf-8").splitlines()
           if line and not line.startswith("#")]
    assert all(line in merged for line in new)


def test_excel_formulas_are_neutralised(tmp_path):
    export = tmp_path / "generic.csv"
    export.write_text("source url,anchor\nhttps://a.example/x,=HYPERLINK(\"http://evil\")\n"
                      "https://b.example/y,@SUM(A1)\nhttps://c.example/z,plain anchor\n", encoding="utf-8")
    r = toxlink("score", export, "-o", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    with open(tmp_path / "out" / "links.csv", encoding="utf-8", newline="") as fh:
        anchors = [row[S.ANCHOR] for row in csv.DictReader(fh)]
    assert anchors == ["'=HYPERLINK(\"http://evil\")", "'@SUM(A1)", "plain anchor"]


@pytest.mark.parametrize(
    "content, expect",
    [
        (b"source url,anchor\nhttps://a.example/,x\x00y\n", "NUL"),
        (b'source url,anchor\nhttps://a.example/,"unterminated\n', "line 2"),
        (b"anchor,title\nfoo,bar\n", "source URL"),
    ],
)
def test_bad_export_is_one_message_and_exit_2(tmp_path, content, expect):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    r = toxlink("score", bad, "-o", tmp_path / "out")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "bad.csv" in r.stderr and expect.lower() in r.stderr.lower()
    assert not (tmp_path / "out" / "links.csv").exists()


def test_missing_file_and_bad_disavow_file(tmp_path):
    r = toxlink("score", tmp_path / "nope.csv", "-o", tmp_path / "out")
    assert r.returncode == 2 and "nope.csv" in r.stderr and "Traceback" not in r.stderr
    bad = tmp_path / "old-disavow.txt"
    bad.write_text("# ok\ndomain:good.example\ndomain:\n", encoding="utf-8")
    r = toxlink("score", SAMPLE, "--existing-disavow", bad, "-o", tmp_path / "out")
    assert r.returncode == 2 and "line 3" in r.stderr and "Traceback" not in r.stderr
    taken = tmp_path / "taken"
    taken.write_text("not a folder\n", encoding="utf-8")
    r = toxlink("score", SAMPLE, "-o", taken)
    assert r.returncode == 2 and "taken" in r.stderr and "not a folder" in r.stderr and "Traceback" not in r.stderr
    assert taken.read_text(encoding="utf-8") == "not a folder\n"


def test_failed_run_leaves_no_partial_links_csv(tmp_path):
    # The second export breaks half-way: links.csv must not appear at all.
    good = tmp_path / "a.csv"
    shutil.copy(FIXTURES / "semrush_backlinks.csv", good)
    broken = tmp_path / "b.csv"
    lines = ["source url,anchor"] + [f"https://s{i}.example/p,a{i}" for i in range(500)] + ['https://x.example/,"open']
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = toxlink("score", good, broken, "-o", tmp_path / "out", "--chunksize", "100")
    assert r.returncode == 2
    assert not (tmp_path / "out" / "links.csv").exists()
    assert not list((tmp_path / "out").glob(".*.tmp")) if (tmp_path / "out").exists() else True


def test_inspect_and_explain(sample_run):
    r = toxlink("inspect", SAMPLE)
    assert r.returncode == 0, r.stderr
    assert "ahrefs" in r.stdout and "utf-16" in r.stdout.lower()
    _, out = sample_run
    links = pd.read_csv(out / "links.csv", dtype=str, keep_default_na=False)
    url = links.loc[links[S.BAND] == "toxic", S.SOURCE_URL].iloc[0]
    r = toxlink("explain", SAMPLE, "--url", url)
    assert r.returncode == 0, r.stderr
    assert "band toxic" in r.stdout and "signal" in r.stdout
    r = toxlink("explain", SAMPLE, "--url", url, "--shap")
    assert r.returncode == 0, r.stderr
    assert "band toxic" in r.stdout
    r = toxlink("explain", SAMPLE, "--url", "https://absent.example/")
    assert r.returncode == 2 and "absent.example" in r.stderr


def test_features_command_writes_parquet(tmp_path):
    from toxlink.features import feature_names

    r = toxlink("features", FIXTURES / "semrush_backlinks.csv", "-o", tmp_path / "f.parquet")
    assert r.returncode == 0, r.stderr
    X = pd.read_parquet(tmp_path / "f.parquet")
    assert list(X.columns[2:]) == feature_names()


def test_report_command_rebuilds_the_report_from_a_run(sample_run, tmp_path):
    _, out = sample_run
    r = toxlink("report", out, "-o", tmp_path / "again.html")
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "again.html").read_text(encoding="utf-8")
    domains = pd.read_csv(out / "domains.csv")
    assert f'id="n-domains" data-value="{len(domains)}"' in html
    assert "<script src=" not in html
    r = toxlink("report", tmp_path)  # not a scoring run's folder
    assert r.returncode == 2 and "links.csv" in r.stderr and "Traceback" not in r.stderr


def test_a_full_disk_is_a_clear_message_not_an_internal_error(tmp_path, monkeypatch, capsys):
    # The outputs and the spool all go to the output folder.
    import errno

    from toxlink import cli, engine

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out" / "links.csv.tmp"))

    monkeypatch.setattr(engine, "score_exports", full)
    assert cli.main(["score", str(SAMPLE), "-o", str(tmp_path / "out")]) == 2
    msg = capsys.readouterr().err
    assert "No space left on device writing" in msg and "links.csv.tmp" in msg and "internal error" not in msg


@pytest.mark.parametrize("args, says", [
    ([], "Usage"),
    (["scor"], "No such command 'scor'"),
    (["--bogus"], "No such option: --bogus"),
    (["score"], "Missing argument"),
    (["score", "x.csv", "--chunksize", "abc"], "--chunksize"),
    (["score", "x.csv", "--engine", "spark"], "unknown engine 'spark'"),
    (["score", "x.csv", "--chunksize", "0"], "--chunksize"),
    (["score", "x.csv", "--toxic-threshold", "1.5"], "--toxic-threshold"),
    (["score", "x.csv", "--toxic-threshold", "0.3", "--review-threshold", "0.5"], "is above --toxic-threshold"),
])
def test_usage_errors_print_usage_and_exit_2(args, says, capsys):
    from toxlink import cli

    assert cli.main(args) == 2
    printed = capsys.readouterr()
    text = printed.out + printed.err
    assert says in text and "internal error" not in text and "Traceback" not in text


def test_version(capsys):
    from toxlink import __version__, cli

    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"toxlink {__version__}"


def test_ctrl_c_mid_run_exits_130_and_leaves_nothing_behind(tmp_path, monkeypatch, capsys):
    """Interrupted in pass 2, after links.csv was started and the spool written."""
    from toxlink import cli
    from toxlink.predictor import Predictor

    score, calls = Predictor.score, []

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return score(self, *args, **kwargs)

    monkeypatch.setattr(Predictor, "score", interrupted)
    out = tmp_path / "out"
    assert cli.main(["score", str(SAMPLE), "-o", str(out), "--chunksize", "200"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert calls and (not out.exists() or not any(out.iterdir()))  # no spool, no temporary, no partial file


def test_scoring_an_output_into_its_own_folder_is_refused(tmp_path, capsys):
    from toxlink import cli

    audit = tmp_path / "audit"
    audit.mkdir()
    shutil.copy(SAMPLE, audit / "links.csv")
    before = (audit / "links.csv").read_bytes()
    assert cli.main(["score", str(audit / "links.csv"), "-o", str(audit)]) == 2
    assert "would write over it" in capsys.readouterr().err
    assert (audit / "links.csv").read_bytes() == before and sorted(p.name for p in audit.iterdir()) == ["links.csv"]


def test_outputs_read_well_in_a_spreadsheet(sample_run):
    """Risks with 3 decimals at most; a list cell is its items, '; '-joined, not a Python list."""
    _, out = sample_run
    links = pd.read_csv(out / "links.csv", dtype=str, keep_default_na=False)
    domains = pd.read_csv(out / "domains.csv", dtype=str, keep_default_na=False)
    for frame, columns in ((links, [S.RISK]), (domains, [S.MAX_RISK, S.MEAN_RISK, S.TOXIC_SHARE])):
        for c in columns:
            written = frame[c][frame[c] != ""]
            assert len(written) and written.str.fullmatch(r"[01](\.\d{1,3})?").all(), c
    entries = domains[S.DISAVOW_ENTRIES]
    assert not entries.str.contains(r"[\[\]']").any()
    # The shipped model scores host names (every link of a host has one risk), so the sample
    # may hold no URL-level action; when it does, its entries are URLs.
    by_url = entries[domains[S.ACTION] == "disavow-url"]
    assert by_url.str.split("; ").map(lambda e: all(x.startswith("http") for x in e)).all()
    by_domain = domains[domains[S.ACTION] == "disavow-domain"]
    assert len(by_domain) and (by_domain[S.DISAVOW_ENTRIES] == "domain:" + by_domain[S.DOMAIN]).all()


def test_features_command_writes_csv_by_its_name_and_refuses_other_names(tmp_path):
    from toxlink.features import feature_names

    r = toxlink("features", FIXTURES / "semrush_backlinks.csv", "-o", tmp_path / "f.csv")
    assert r.returncode == 0, r.stderr
    X = pd.read_csv(tmp_path / "f.csv")
    assert list(X.columns[2:]) == feature_names() and not (tmp_path / "f.csv").read_bytes().startswith(b"PAR1")
    r = toxlink("features", FIXTURES / "semrush_backlinks.csv", "-o", tmp_path / "f.txt")
    assert r.returncode == 2 and ".parquet or a .csv" in r.stderr and not (tmp_path / "f.txt").exists()


def test_explain_finds_a_url_whatever_its_scheme_and_a_whole_domain():
    import toxlink as T

    links = T.read_export(SAMPLE)
    predictor = T.Predictor.load()
    url = links[S.SOURCE_URL].iloc[0]
    same = predictor.explain(links, url)
    other = "HTTP://" + url.split("://", 1)[1].upper() + "/"
    assert [e["source_url"] for e in predictor.explain(links, other)] == [e["source_url"] for e in same]
    scored = predictor.score(links)
    site = scored[S.DOMAIN].value_counts().index[0]
    from_site = predictor.explain(links, domain=site)
    assert len(from_site) == int((scored[S.DOMAIN] == site).sum()) > 1
    assert {e["risk"] for e in from_site} <= set(scored.loc[scored[S.DOMAIN] == site, S.RISK])
    # ... however the user writes the site
    for written in (site.upper(), f"https://{site}/", f"domain:{site}"):
        assert len(predictor.explain(links, domain=written)) == len(from_site), written


@pytest.mark.parametrize("links, says", [
    (b'garbage\x00\xff\n"unterminated\n', "not a CSV file written by toxlink score"),
    (b"a,b\n1,2\n", "line 1: not the links.csv of toxlink score (no risk, band column)"),
    (b'risk,band\n0.5,review\n"x\n', "cannot be read"),
])
def test_report_of_a_folder_with_garbage_is_a_message_and_exit_2(tmp_path, links, says):
    (tmp_path / "links.csv").write_bytes(links)
    (tmp_path / "domains.csv").write_text("domain,action\na.com,keep\n", encoding="utf-8")
    r = toxlink("report", tmp_path)
    assert r.returncode == 2 and says in r.stderr and "internal error" not in r.stderr
    assert not (tmp_path / "report.html").exists()


def test_a_damaged_model_is_a_message_and_exit_2(tmp_path):
    from toxlink.model import MODEL_FILE, ModelBundle

    ModelBundle.load().save(tmp_path / "model")
    text = (tmp_path / "model" / MODEL_FILE).read_bytes()
    (tmp_path / "model" / MODEL_FILE).write_bytes(text[: len(text) // 3])
    r = toxlink("score", SAMPLE, "-o", tmp_path / "out", "--model", tmp_path / "model")
    assert r.returncode == 2 and "checksum differs" in r.stderr and "internal error" not in r.stderr


def test_urls_no_disavow_file_can_name_are_rejected_at_read_time(tmp_path):
    """They used to pass the reader, score toxic, and stop the disavow writer after links.csv
    was written; a second export's header joined into the file is a rejected row too."""
    rows = ['"https://x.ru/page 117/"', "https://[2001:db8::1]/p", "https://com/", "-", "n/a", "https://localhost/x",
            "http://256.256.256.256/", "Source URL", "https://fine.example/"]
    path = tmp_path / "joined.csv"
    path.write_text("Source URL,Target URL,Anchor\n" + "".join(f"{u},https://t.example/,casino\n" for u in rows)
                    + "https://t2.example/,not a url,x\n", encoding="utf-8")
    r = toxlink("score", path, "-o", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    links = pd.read_csv(tmp_path / "out" / "links.csv", dtype=str, keep_default_na=False)
    assert links[S.SOURCE_ROW].astype(int).tolist() == list(range(2, 12))  # every row once
    rejected = links[S.BAND] == "rejected"
    assert rejected.tolist() == [True] * 8 + [False, False]
    assert links[S.ROW_ISSUE][7] == "a repeated header row"
    assert (tmp_path / "out" / "disavow.txt").is_file()


def test_toxicity_is_the_risk_on_a_0_to_100_scale(sample_run):
    _, out = sample_run
    links = pd.read_csv(out / "links.csv")
    scored = links[S.RISK].notna()
    # whole numbers within rounding of 100 x the risk as written (3 decimals: +-0.05 on this scale)
    for toxicity, risk in ((links.loc[scored, S.TOXICITY], links.loc[scored, S.RISK]),
                           (domains_of(out)[S.TOXICITY], domains_of(out)[S.MAX_RISK])):
        assert (toxicity == toxicity.round()).all() and ((toxicity - risk * 100).abs() <= 0.55).all()
    assert links.loc[~scored, S.TOXICITY].isna().all()
    domains = domains_of(out)
    assert list(domains.columns).index(S.TOXICITY) == list(domains.columns).index(S.MAX_RISK) + 1


def domains_of(out):
    return pd.read_csv(out / "domains.csv")


def test_excel_option_starts_every_csv_with_a_bom_and_the_report_still_rebuilds(tmp_path):
    import re

    from toxlink import report as R

    out = tmp_path / "out"
    r = toxlink("score", SAMPLE, "--existing-disavow", EXISTING, "-o", out, "--excel", "--report")
    assert r.returncode == 0, r.stderr
    for name in ("links.csv", "domains.csv", "disavow-diff.csv"):
        assert (out / name).read_bytes().startswith(b"\xef\xbb\xbf" + b'"'), name
    assert pd.read_csv(out / "domains.csv", encoding="utf-8-sig").columns[0] == S.DOMAIN
    again = R.report_from_dir(out, tmp_path / "again.html")
    stamp = re.compile(r"generated \d\d \w+ \d{4} \d\d:\d\d UTC")
    assert stamp.sub("", again.read_text(encoding="utf-8")) == stamp.sub("", (out / "report.html").read_text(encoding="utf-8"))


def test_a_logo_that_is_not_an_image_is_a_message_naming_it_and_exit_2(sample_run, tmp_path):
    _, out = sample_run
    bad = tmp_path / "logo.png"
    bad.write_text("not an image\n", encoding="utf-8")
    for args in (("report", out, "-o", tmp_path / "r.html", "--logo", bad),
                 ("score", SAMPLE, "-o", tmp_path / "run", "--report", "--logo", bad)):
        r = toxlink(*args)
        assert r.returncode == 2 and str(bad) in r.stderr and "not a PNG, JPEG or SVG" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "run").exists()  # stopped before any work
    r = toxlink("report", out, "-o", tmp_path / "r.html", "--logo", tmp_path / "missing.svg")
    assert r.returncode == 2 and str(tmp_path / "missing.svg") in r.stderr and "Traceback" not in r.stderr
    r = toxlink("score", SAMPLE, "-o", tmp_path / "run", "--client", "ACME")  # no --report: nowhere to put it
    assert r.returncode == 2 and "--report" in r.stderr


def test_no_command_writes_over_a_file_it_reads(tmp_path, capsys):
    from toxlink import cli

    export = tmp_path / "export.csv"
    shutil.copyfile(SAMPLE, export)
    before = export.read_bytes()
    assert cli.main(["features", str(export), "-o", str(export)]) == 2
    assert "would write over it" in capsys.readouterr().err and export.read_bytes() == before
    run = tmp_path / "run"
    assert cli.main(["score", str(export), "-o", str(run), "--label-next", "0"]) == 0
    links = (run / "links.csv").read_bytes()
    assert cli.main(["compare", str(run), str(run), "-o", str(run / "links.csv")]) == 2
    assert "would write over it" in capsys.readouterr().err and (run / "links.csv").read_bytes() == links
    disavow = (run / "disavow.txt").read_bytes()
    assert cli.main(["score", str(export), "-o", str(run), "--existing-disavow", str(run / "disavow.txt")]) == 2
    assert "--existing-disavow" in capsys.readouterr().err and (run / "disavow.txt").read_bytes() == disavow


@pytest.mark.parametrize("flag, value, says", [("--toxic-threshold", "0.05", "below the model's review threshold"),
                                               ("--review-threshold", "0.99", "above the model's toxic threshold")])
def test_one_threshold_crossing_the_models_other_stops_before_reading(tmp_path, capsys, flag, value, says):
    from toxlink import cli

    out = tmp_path / "out"
    assert cli.main(["score", str(SAMPLE), "-o", str(out), flag, value]) == 2
    err = capsys.readouterr().err
    assert says in err and "internal error" not in err and not out.exists()


def test_the_dask_engine_without_its_extra_is_a_usage_error(tmp_path, capsys, monkeypatch):
    from toxlink import cli

    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # as if toxlink[scale] were not installed
    assert cli.main(["score", str(SAMPLE), "-o", str(tmp_path / "out"), "--engine", "dask"]) == 2
    err = capsys.readouterr().err
    assert "toxlink[scale]" in err and "internal error" not in err
