"""toxlink works with the network cut: no name lookup, no connection, ever.

Each check runs in a fresh interpreter whose socket module trips on any network use
(tests/_offline.py), so imports done at start-up (tldextract's suffix list, MLflow's
telemetry) are covered too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OFFLINE = ROOT / "tests" / "_offline.py"
SAMPLE = ROOT / "data" / "sample" / "ahrefs-backlinks-sample.csv"


def _run(snippet: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(OFFLINE), snippet], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_tripwire_catches_a_network_call(tmp_path):
    # The guard itself must fail a run that touches the network, or the tests below prove nothing.
    r = _run("import urllib.request\ntry:\n    urllib.request.urlopen('http://example.com', timeout=1)\nexcept Exception:\n    pass", tmp_path)
    assert r.returncode == 3
    assert "NETWORK ATTEMPT" in r.stderr


def test_import_and_read_sample_offline(tmp_path):
    r = _run(
        "import toxlink\n"
        f"links = toxlink.read_export([{str(SAMPLE)!r}])\n"
        "from toxlink import urls\n"
        "print(len(links), urls.domains_of(urls.hosts_of(links['source_url'])).nunique())\n",
        tmp_path,
    )
    assert r.returncode == 0, r.stderr
    rows, domains = map(int, r.stdout.split())
    assert rows > 0 and domains > 0


def test_score_sample_offline(tmp_path):
    r = _run(
        "from toxlink.engine import score_exports\n"
        f"s = score_exports([{str(SAMPLE)!r}], {str(tmp_path / 'out')!r})\n"
        "print(s.rows)\n",
        tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.split()[-1]) > 0
    assert (tmp_path / "out" / "links.csv").is_file()
    assert (tmp_path / "out" / "disavow.txt").is_file()


def test_mlflow_tracking_offline(tmp_path):
    # An embedded SQLite store: a run is logged with telemetry off and no socket opened.
    r = _run(
        "import toxlink, mlflow\n"
        f"mlflow.set_tracking_uri('sqlite:///{tmp_path}/mlruns.db')\n"
        "with mlflow.start_run():\n"
        "    mlflow.log_metric('auc', 0.9)\n"
        "print('ok')\n",
        tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("ok")
