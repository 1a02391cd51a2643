import math

from evals.metrics import mrr_at, ndcg_at, percentile, recall_at


def test_ndcg_is_one_for_ideal_order_and_lower_otherwise():
    judged = {"a": 3, "b": 1}
    assert ndcg_at(["a", "b", "c"], judged) == 1.0
    swapped = ndcg_at(["b", "a"], judged)
    expected = (1 + 7 / math.log2(3)) / (7 + 1 / math.log2(3))
    assert math.isclose(swapped, expected)
    assert ndcg_at(["c", "d"], judged) == 0.0


def test_recall_and_mrr():
    judged = {"a": 2, "b": 1, "z": 0}
    assert recall_at(["x", "a", "y"], judged, 2) == 0.5
    assert recall_at(["b", "a"], judged, 5) == 1.0
    assert mrr_at(["x", "y", "b"], judged) == 1 / 3
    assert mrr_at(["x"], judged) == 0.0


def test_percentile_nearest_rank():
    assert percentile([5, 1, 3, 2, 4], 50) == 3
    assert percentile(list(range(1, 101)), 95) == 95
