"""Two studies on the same objectives: the chosen configuration followed from A into B."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from core import search
from core.decide import study_compare
from core.errors import UserInputError
from core.export import build as export_build
from core.export import bundle
from core.export.importing import import_study
from tests.conftest import make_small_spec


@pytest.fixture(scope="module")
def before_after(finished_study, demo_frame, tmp_path_factory):
    """A = the finished study (copied); B = a new study on other rows of the demo, warm-started
    from A's knee configuration, with only that first trial run."""
    url, name, _ = finished_study
    home = tmp_path_factory.mktemp("compare")
    copy = home / "study.db"
    src, dst = sqlite3.connect(url[len("sqlite:///") :]), sqlite3.connect(copy)
    src.backup(dst)
    src.close(), dst.close()
    url2 = f"sqlite:///{copy}"
    newer = home / "newer.csv"
    demo_frame.sample(n=1500, random_state=7).to_csv(newer, index=False)
    knee, _ = export_build.default_trial(url2, name)
    res = export_build.build(url2, name, knee, with_onnx=False, with_report=False)
    import_study(bundle.zip_bytes(res.files), url2, "after", data=str(newer))
    with threadpool_limits(limits=1):
        search.run("after", url2, max_trials=1)
    return url2, name, knee


def test_chosen_configuration_is_followed_into_the_new_study(before_after):
    url, name, knee = before_after
    c = study_compare.compare(url, name, "after")
    assert c.chosen_a == knee and "knee" in c.chosen_source
    assert c.match_b == 0  # the imported configuration ran first
    assert c.match_on_front_b is True  # the only finished trial of B is its front
    assert set(c.moved) == set(c.objectives) and c.moved_distance is not None and c.moved_distance >= 0
    row_a = c.frame_a[c.frame_a["number"] == knee].iloc[0]
    row_b = c.frame_b[c.frame_b["number"] == 0].iloc[0]
    assert c.moved["roc_auc"] == pytest.approx(row_b["roc_auc"] - row_a["roc_auc"])
    assert c.moved["roc_auc"] != 0  # other rows, other AUC
    text = " ".join(c.summary())
    assert f"trial #{knee}" in text and "still on its front" in text
    assert c.hypervolume_a > 0 and c.hypervolume_b > 0


def test_point_of_a_against_b_front(before_after):
    url, name, knee = before_after
    c = study_compare.compare(url, "after", name, chosen=0)
    assert c.chosen_a == 0 and c.chosen_source == "chosen by you"
    assert c.match_b == knee
    assert c.point_a_dominated_by_b in (True, False)
    assert (c.distance_to_front_b > 0) == c.point_a_dominated_by_b


def test_compare_figure(before_after):
    from core import viz

    url, name, _ = before_after
    c = study_compare.compare(url, name, "after")
    fig = viz.two_studies(c)
    names = [t.name for t in fig.data]
    assert any(n.startswith("chosen in") for n in names) and any(n.startswith("same configuration") for n in names)
    assert len(fig.layout.annotations) == 1  # the arrow from before to after


def test_different_objectives_are_refused_unless_named(before_after, small_csv):
    url, name, _ = before_after
    other = make_small_spec(small_csv, objectives=("roc_auc", "model_size_bytes"))
    search.create_study(other, url, "other-objectives")
    with pytest.raises(UserInputError, match="compare them on named objectives"):
        study_compare.compare(url, name, "other-objectives")
    c = study_compare.compare(url, name, "other-objectives", objectives=["roc_auc", "latency_p95_ms"])
    assert c.front_b.empty and c.match_b is None
    assert "has no trial with the same configuration" in " ".join(c.summary())


def test_params_match_with_float_tolerance():
    frame = pd.DataFrame(
        {
            "number": [0, 1],
            "state": ["COMPLETE", "COMPLETE"],
            "params": [
                {"family": "logreg", "logreg.C": 0.1, "logreg.class_weight": "none"},
                {"family": "logreg", "logreg.C": 0.3 + 1e-15, "logreg.class_weight": "none"},
            ],
        }
    )
    assert study_compare.find_config(frame, {"family": "logreg", "logreg.C": 0.3, "logreg.class_weight": "none"}) == 1
    assert study_compare.find_config(frame, {"family": "logreg", "logreg.C": 0.3}) is None
