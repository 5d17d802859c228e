"""Label propagation: a user's labels reach the export's sites tied to them, and nothing else."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toxlink import schema as S
from toxlink.propagate import propagate_labels
from toxlink.urls import with_hosts


def _links(rows):
    """Links from ``(url, ip, title)`` rows."""
    frame = S.conform(pd.DataFrame({S.SOURCE_URL: [r[0] for r in rows], S.TARGET_URL: "https://me.example/",
                                    S.SOURCE_IP: [r[1] for r in rows], S.PAGE_TITLE: [r[2] for r in rows]}))
    return with_hosts(frame)


def test_subnet_title_and_name_carry_a_label():
    links = _links([
        ("https://casino-bonus-77.xyz/a", "10.1.2.3", "Best casino bonus codes today"),  # labelled toxic
        ("https://gardening-club.org/p", "20.1.1.1", "Our allotment diary, week 12"),  # labelled ok
        ("https://unrelated-one.net/", "10.1.2.99", None),  # same /24 as the toxic one
        ("https://other-site.info/", "30.3.3.3", "best  casino bonus codes TODAY"),  # same title
        ("https://casino-bonus-78.xyz/", "40.4.4.4", None),  # a name like the toxic one
        ("https://gardening-clubs.org/", "50.5.5.5", None),  # a name like the ok one
        ("https://zzqx.io/", "60.6.6.6", "short"),  # tied to nothing
    ])
    label = np.array([1, 0] + [np.nan] * 5)
    got, via = propagate_labels(links, label)
    assert np.isnan(got[:2]).all()  # the labelled links keep their own labels
    assert got[2] == 1 and via[2] == "subnet"
    assert got[3] == 1 and via[3] == "title"
    assert got[4] == 1 and via[4] == "name"
    assert got[5] == 0 and via[5] == "name"
    assert np.isnan(got[6]) and pd.isna(via[6])


def test_conflicts_and_withheld_labels_propagate_nothing():
    links = _links([
        ("https://a-one.com/", "10.0.0.1", None),
        ("https://b-two.com/", "10.0.0.2", None),
        ("https://c-three.com/", "10.0.0.3", None),  # its subnet holds one toxic and one ok label
        ("https://held-out-spam.biz/", "70.0.0.1", None),
        ("https://held-out-spam2.biz/", "70.0.0.2", None),
    ])
    label = np.array([1, 0, np.nan, 1, np.nan])
    got, _ = propagate_labels(links, label)
    assert np.isnan(got[2]) and got[4] == 1
    # a label that may not lend (held out to judge the model) reaches nobody
    lend = np.array([True, True, False, False, False])
    got, _ = propagate_labels(links, label, source=lend)
    assert np.isnan(got[4])


def test_neighbour_shift_moves_similar_names_towards_their_label():
    from toxlink.propagate import neighbour_shift, neighbour_spec

    spec = neighbour_spec(["casino-bonus-77.xyz", "gardening-club.org", "both.com", "both.com"], [1, 0, 1, 0], strength=2.0,
                          name_model_strength=0.0)
    assert "both.com" not in spec["names"]  # contradictory labels teach nothing
    got = neighbour_shift(["casino-bonus-77.xyz", "casino-bonus-78.top", "gardening-clubs.org", "zqxv.io"], spec)
    assert abs(got[0] - 2.0) < 1e-4  # the labelled site itself (a sibling host has the same registrable domain)
    assert 0 < got[1] < 2.0 and got[2] < 0 and got[3] == 0
    assert (neighbour_shift(["casino-bonus-78.top"], None) == 0).all()


def test_retrained_model_scores_siblings_of_labelled_sites_towards_their_label(tmp_path):
    from toxlink import train as T
    from toxlink.model import ModelBundle
    from toxlink.predictor import Predictor
    from toxlink.propagate import NEIGHBOURS
    from synth import synth_links

    links = synth_links(3000, seed=3)
    host = links[S.SOURCE_URL].str.extract(r"//(?:www\.)?([^/]+)")[0]
    spam = sorted(set(host[host.str.contains("casino|slot|gacor|bet|loan|pharma|viagra|poker")]))
    clean = sorted(set(host) - set(spam))[:150]
    (tmp_path / "labels.csv").write_text("domain,label\n" + "".join(f"{h},toxic\n" for h in spam)
                                         + "".join(f"{h},ok\n" for h in clean))
    fast = T.TrainConfig(num_boost_round=30, min_data_in_leaf=10, num_threads=1)
    rep = T.retrain(links, labels=tmp_path / "labels.csv", with_base=False, register=False, baseline=None,
                    out_dir=tmp_path / "model", config=fast)
    bundle = ModelBundle.load(tmp_path / "model")
    spec = bundle.extra[NEIGHBOURS]
    assert spec["names"] and set(spec["labels"]) == {0, 1} and rep.model_dir
    new_sites = S.conform(pd.DataFrame({S.SOURCE_URL: [f"https://news.{spam[0]}/p", f"https://blog.{clean[0]}/p"],
                                        S.TARGET_URL: "https://me.example/"}))
    scored = Predictor(bundle).score(new_sites)
    with_names = scored[S.RISK].to_numpy()
    bundle.extra.pop(NEIGHBOURS)
    plain = Predictor(bundle).score(new_sites)
    without = plain[S.RISK].to_numpy()
    assert with_names[0] > without[0] and with_names[1] < without[1]
    # and the reason says so, first
    assert scored[S.REASONS].iloc[0].startswith("named like sites you labelled toxic")
    assert scored[S.REASONS].iloc[1].startswith("named like sites you labelled ok")
    assert not plain[S.REASONS].str.contains("named like sites").any()


def test_name_model_generalises_from_the_labelled_names():
    from toxlink.propagate import neighbour_shift, neighbour_spec

    toxic = [f"casino-{w}.xyz" for w in ("royal", "lucky", "golden", "mega", "vegas", "star")]
    ok = [f"{w}-gardening.org" for w in ("urban", "rooftop", "organic", "allotment", "balcony", "school")]
    spec = neighbour_spec(toxic + ok, [1] * 6 + [0] * 6, strength=2.0, name_model_strength=1.0)
    names = ["casino-diamond.top", "patio-gardening.net"]
    alone = neighbour_shift(names, spec, strength=0.0)
    assert alone[0] > 0 > alone[1]  # no near twin, but the shared n-grams say which side
    assert (neighbour_shift(names, spec, strength=0.0, name_model_strength=0.0) == 0).all()
