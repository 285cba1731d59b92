"""The scripts in examples/ run, quickly, and do what they say."""
import runpy
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load(name):
    path = EXAMPLES / name
    if not path.exists():
        pytest.fail(f"missing example {path}")
    return runpy.run_path(str(path), run_name="example")


@pytest.mark.slow
def test_skipgram_learns():
    losses = _load("skipgram.py")["main"]()
    assert np.isfinite(losses).all()
    assert np.mean(losses[-5:]) < 0.8 * losses[0]


@pytest.mark.slow
def test_bpr_learns_with_history_excluding_negatives():
    before, after = _load("bpr.py")["main"](epochs=3)
    assert before < 0.6 and after > 0.85


@pytest.mark.slow
def test_kg_corruption_transe_learns():
    losses, hits = _load("kg_corruption.py")["main"](epochs=4)
    assert losses[-1] < 0.9 * losses[0]
    assert hits > 0.55  # a random model ranks the true tail first half the time


@pytest.mark.slow
@pytest.mark.parametrize("temperature", [None, 0.5])
def test_retriever_mining_improves_recall(temperature):
    before, after = _load("retriever_mining.py")["main"](epochs=4, temperature=temperature)
    assert before < 0.01 and after > 0.08


@pytest.mark.slow
def test_sampled_softmax_logq_correction_tracks_full_softmax():
    results = _load("sampled_softmax.py")["main"]()
    (full_loss, full_acc), (raw_loss, raw_acc), (fixed_loss, fixed_acc) = (
        results[m] for m in ("full", "uncorrected", "corrected"))
    # The corrected model's full-softmax loss and accuracy are much closer
    # to full-softmax training's than the uncorrected one's.
    assert abs(fixed_loss - full_loss) < 0.25 * abs(raw_loss - full_loss)
    assert abs(fixed_acc - full_acc) < 0.5 * abs(raw_acc - full_acc)
    assert raw_loss > full_loss + 0.2 and fixed_acc > raw_acc + 0.03


def test_dns_bpr_beats_uniform_negatives():
    res = _load("dns_bpr.py")["main"](epochs=6)
    assert res["uniform"] > 30 * res["chance"]  # both runs learn
    assert res["dns"] > res["uniform"] + 0.03   # hard negatives help at hit rate@10
