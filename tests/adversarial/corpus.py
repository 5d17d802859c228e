"""The adversarial corpus: hostile inputs to ``toxlink score`` and the promise each must keep.

Every case is generated here (a few lines each, nothing binary checked in): ``build(folder)``
writes its files into *folder* and returns the arguments of ``toxlink score`` (without
``-o``). ``test_corpus.py`` runs each and checks the promises the README makes:

- the exit code (0, or 2 for the user's bad input: never 70, never a traceback);
- on exit 2, one message naming the file, the line and, where it applies, the column,
  and an output folder with nothing in it;
- on exit 0, every input row in ``links.csv`` exactly once, in order (``rows``: the
  expected ``source_row`` of each), rows that cannot be scored rejected with a reason
  (``rejected``: source_row -> part of the ``row_issue``), the others not;
- in both cases no temporary, spool or staging file left in the output folder.

Groups: encodings, structure, urls, injection, disavow, models (interruption is a test of
its own in ``test_corpus.py``: it needs a real SIGINT).
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample" / "ahrefs-backlinks-sample.csv"  # UTF-16, 1,500 rows, some toxic
HEAD = "Source URL,Target URL,Anchor\n"


def row(url: str, anchor: str = "x", target: str = "https://acmetools.example/") -> str:
    return f"{url},{target},{anchor}\n"


@dataclass(frozen=True)
class Case:
    """One hostile input; see the module docstring for what each field promises."""

    group: str
    name: str
    build: Callable[[Path], list[str]]
    exit: int = 0
    says: tuple[str, ...] = ()  # parts of the message (stderr on exit 2, stdout notes on 0); {dir} is the folder
    rows: tuple[int, ...] | None = None
    rejected: dict[int, str] = field(default_factory=dict)
    others_scored: bool = True  # rows not in ``rejected`` must not be rejected
    check: Callable[[Path], None] | None = None  # more checks of the output folder (exit 0)


def _export(data: bytes | str, name: str = "export.csv", encoding: str = "utf-8"):
    """A builder writing one export file."""
    def build(folder: Path) -> list[str]:
        path = folder / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
        return [str(path)]

    return build


def _with(build: Callable[[Path], list[str]], *args: str) -> Callable[[Path], list[str]]:
    return lambda folder: build(folder) + [a.format(dir=folder) for a in args]


def _fail(why: str) -> None:
    raise AssertionError(why)


def _links(folder: Path):
    import pandas as pd

    return pd.read_csv(folder / "links.csv", dtype=str, keep_default_na=False)


# -- encodings -----------------------------------------------------------------------------------

_CAFE = HEAD + row("https://a.example.fr/", "café crème") + row("https://b.example.fr/", "naïve")


def _anchors(*want: str):
    def check(out: Path) -> None:
        assert _links(out)["anchor"].tolist() == list(want)
    return check


_LATE = HEAD + row("https://a.example.com/", "x" * 500) * 2000  # > 1 MiB of ASCII before the accent

ENCODINGS = [
    Case("encodings", "utf8-bom", _export(codecs.BOM_UTF8 + _CAFE.encode()), rows=(2, 3),
         check=_anchors("café crème", "naïve")),
    Case("encodings", "utf16-le-bom-tabs", _export(codecs.BOM_UTF16_LE + _CAFE.replace(",", "\t").encode("utf-16-le")),
         rows=(2, 3), check=_anchors("café crème", "naïve")),
    Case("encodings", "utf16-be-no-bom", _export(_CAFE.encode("utf-16-be")), rows=(2, 3),
         check=_anchors("café crème", "naïve")),
    Case("encodings", "cp1252", _export(_CAFE, encoding="cp1252"), rows=(2, 3), says=("read as cp1252",),
         check=_anchors("café crème", "naïve")),
    Case("encodings", "utf8-stray-byte-near-the-top",
         _export(HEAD.encode() + b"https://a.example.fr/,https://acmetools.example/,x\xffy\n"
                 + row("https://b.example.fr/", "café").encode()),
         rows=(2, 3), says=("export.csv: 1 row(s) had bytes that are not valid utf-8", "first on line 2"),
         check=_anchors("x\ufffdy", "café")),
    Case("encodings", "stray-byte-in-the-source-url",
         _export(HEAD.encode() + b"https://a.example.fr/\xfe,https://acmetools.example/,x\n"
                 + row("https://b.example.fr/", "café").encode()),
         rows=(2, 3), rejected={2: "source URL has bytes that are not in the file's encoding"}),
    Case("encodings", "cp1252-accent-after-1-mib",
         _export(_LATE + row("https://c.example.com/", "café"), encoding="cp1252"),
         rows=tuple(range(2, 2003)), says=("read as cp1252 from line 2002",),
         check=lambda out: _links(out)["anchor"].iloc[-1] == "café" or _fail("last anchor is not café")),
]


# -- structure -------------------------------------------------------------------------------------

STRUCTURE = [
    Case("structure", "short-row-padded", _export(HEAD + "https://a.example/,https://acmetools.example/\n"
                                                  + row("https://b.example/")), rows=(2, 3)),
    Case("structure", "too-many-fields", _export(HEAD + row("https://a.example/") + "https://b.example/,t,x,extra\n"),
         exit=2, says=("{dir}/export.csv, line 3, column 4", "4 fields but the header has 3")),
    Case("structure", "unclosed-quote", _export(HEAD + row("https://a.example/") + 'https://b.example/,t,"open\n'
                                                + row("https://c.example/")),
         exit=2, says=("{dir}/export.csv, line 3, column 3", "unterminated quoted field")),
    Case("structure", "empty-file", _export(b""), exit=2, says=("{dir}/export.csv: the file is empty",)),
    Case("structure", "header-only", _export(HEAD), rows=()),
    Case("structure", "repeated-header-row", _export(HEAD + row("https://a.example/") + HEAD + row("https://b.example/")),
         rows=(2, 3, 4), rejected={3: "a repeated header row"}),
    Case("structure", "nul-byte", _export(HEAD + row("https://a.example/") + "https://b.example/,t,x\x00y\n"),
         exit=2, says=("{dir}/export.csv, line 3, column 3", "NUL byte")),
    Case("structure", "very-long-field", _export(HEAD + row("https://a.example/", "y" * 300_000) + row("https://b.example/")),
         rows=(2, 3), check=lambda out: len(_links(out)["anchor"][0]) == 300_000 or _fail("anchor cut")),
    # A record longer than the parser's block goes to Python's csv module, whose field limit
    # (131,072 characters) stops the file: a message naming the line, not a crash.
    Case("structure", "field-longer-than-a-block", _export(HEAD + row("https://a.example/")
                                                           + row("https://b.example/", "y" * (2 << 20))),
         exit=2, says=("{dir}/export.csv, line 3", "field larger than field limit")),
    Case("structure", "blank-lines-and-crlf", _export(HEAD.replace("\n", "\r\n") + "\r\n" + row("https://a.example/")
                                                      + "\n\n" + row("https://b.example/")), rows=(3, 6)),
    Case("structure", "cr-only-line-ends", _export((HEAD + row("https://a.example/") + row("https://b.example/"))
                                                   .replace("\n", "\r")), rows=(2, 3)),
    Case("structure", "not-an-export", _export("hello world\nthis is a letter\n"),
         exit=2, says=("{dir}/export.csv, line 1: unknown format",)),
]


# -- URL oddities --------------------------------------------------------------------------------

_ODD = ['"https://x.ru/page 117/"', "https://[2001:db8::1]/p", "https://com/", "hello", "n/a", "-",
        "https://localhost/x", "http://256.256.256.256/"]
_IDN = ["https://xn--caf-dma.example/p", "https://café.example/p", "https://fine.example/"]

URLS = [
    Case("urls", "unusable-source-urls-rejected-at-read-time",
         _export(HEAD + "".join(row(u) for u in _ODD + _IDN)),
         rows=tuple(range(2, 13)), rejected={k: "" for k in range(2, 10)}),
    Case("urls", "bad-target-url-does-not-stop-the-run",
         _export(HEAD + row("https://a.example/", target="not a url") + row("https://b.example/")), rows=(2, 3)),
]


# -- injection -----------------------------------------------------------------------------------

def _formulas_escaped(out: Path) -> None:
    links = _links(out)
    assert links["anchor"].tolist()[:2] == ["'=HYPERLINK(\"http://evil.example\",\"x\")", "'@SUM(1+1)*cmd|' /C calc'!A0"]
    report = (out / "report.html").read_text(encoding="utf-8")
    # The target host is the report's title: shown, as text.
    assert "&lt;img src=x onerror=alert(1)&gt;" in report and "<img src=x" not in report


INJECTION = [
    Case("injection", "formula-cells-and-html",
         _with(_export(HEAD + row("https://a.example/", '"=HYPERLINK(""http://evil.example"",""x"")"')
                       + row("https://b.example/", "\"@SUM(1+1)*cmd|' /C calc'!A0\"")
                       + "".join(row(f"https://c{i}.example/<b>p</b>", "<script>alert(1)</script>",
                                     target="https://acme<img src=x onerror=alert(1)>.example/p") for i in range(3))),
               "--report"),
         rows=(2, 3, 4, 5, 6), check=_formulas_escaped),
]


# -- disavow limits ------------------------------------------------------------------------------

def _full_disavow(folder: Path) -> list[str]:
    # Google's limit exactly: 100,000 lines (under 2 MB), valid as it is.
    lines = [f"domain:a{i}.io" for i in range(100_000)]
    (folder / "mine.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [str(SAMPLE), "--existing-disavow", str(folder / "mine.txt")]


def _kept_and_overflowed(out: Path) -> None:
    mine = (out.parent / "mine.txt").read_text(encoding="utf-8").splitlines()
    merged = (out / "disavow.txt").read_text(encoding="utf-8").splitlines()
    assert merged == mine  # kept as it is: no room for anything new
    added = (out / "disavow-overflow.txt").read_text(encoding="utf-8")
    assert "domain:" in added  # the new entries are there instead


def _lone_cr_disavow(folder: Path) -> list[str]:
    (folder / "mine.txt").write_bytes(b"# my old file\rdomain:spam-one.example\rhttps://spam-two.example/p\r")
    return _export(HEAD + row("https://a.example/"))(folder) + ["--existing-disavow", str(folder / "mine.txt")]


def _lone_cr_kept(out: Path) -> None:
    merged = (out / "disavow.txt").read_text(encoding="utf-8").splitlines()
    assert merged[:3] == ["# my old file", "domain:spam-one.example", "https://spam-two.example/p"]


DISAVOW = [
    Case("disavow", "existing-file-at-100000-lines", _full_disavow, rows=tuple(range(2, 1502)), others_scored=False,
         says=("disavow-overflow.txt",), check=_kept_and_overflowed),
    Case("disavow", "existing-file-with-lone-cr", _lone_cr_disavow, rows=(2,), check=_lone_cr_kept),
]


# -- model files ---------------------------------------------------------------------------------

def _model(damage: Callable[[Path], None]) -> Callable[[Path], list[str]]:
    def build(folder: Path) -> list[str]:
        from toxlink.model import ModelBundle

        ModelBundle.load().save(folder / "model")
        damage(folder / "model")
        return _export(HEAD + row("https://a.example/"))(folder) + ["--model", str(folder / "model")]

    return build


def _truncate(model: Path) -> None:
    from toxlink.model import MODEL_FILE

    text = (model / MODEL_FILE).read_bytes()
    (model / MODEL_FILE).write_bytes(text[: len(text) // 3])


def _nan_threshold(model: Path) -> None:
    from toxlink.model import META_FILE

    meta = json.loads((model / META_FILE).read_text(encoding="utf-8"))
    meta["thresholds"]["toxic"] = float("nan")
    (model / META_FILE).write_text(json.dumps(meta), encoding="utf-8")  # json writes NaN


MODELS = [
    Case("models", "truncated-model", _model(_truncate), exit=2, says=("toxlink-model.txt", "checksum differs")),
    Case("models", "nan-threshold", _model(_nan_threshold), exit=2, says=("thresholds",)),
]

CASES = ENCODINGS + STRUCTURE + URLS + INJECTION + DISAVOW + MODELS
