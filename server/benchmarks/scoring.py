"""Scores (0-100) from a run's figures and check results, and how much to trust an order of them.

- correctness: the weighted share of checks passed. The public split counts the success criteria and
  the public test cases; the private split the criteria and the private cases. A judge check the
  judge did not decide is left out (and said so in the details).
- efficiency: 100 x (1 - tokens / max_tokens); speed: 100 x (1 - seconds / (max_time_minutes x 60));
  cost: 100 x (1 - estimated cost / max_cost), max_cost defaulting to max_tokens at $10 per million.
  Each is clamped to 0-100, so a score depends on the task's budgets only, never on other entries.
- overall = correctness x (0.6 + 0.4 x (0.4 efficiency + 0.3 speed + 0.3 cost) / 100): never above
  correctness, so a fast wrong answer cannot outrank a slow right one.

Stability: ``interval`` bootstraps the checks (resampled with replacement, 400 times, seeded by the
entry) for a 95% interval of overall. ``flip_k`` is how many checks that the upper of two entries
passed and the lower failed must be dropped from the task before the lower is level or above: the
arena's version of "removing the k most influential votes". Scores never depend on other entries,
so removing entries cannot reorder the rest; checks are what can. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

W_CORRECT_FLOOR = 0.6
W_EFFICIENCY, W_SPEED, W_COST = 0.4, 0.3, 0.3
DEFAULT_USD_PER_MILLION = 10.0
BOOTSTRAP = 400
EVALUATOR_VERSION = "1.0"


def max_cost(task: Any) -> float:
    """The task's cost budget in USD."""
    if task["max_cost"] is not None:
        return float(task["max_cost"])
    return task["max_tokens"] * DEFAULT_USD_PER_MILLION / 1_000_000


def _budget(used: float | None, budget: float) -> float:
    if used is None or budget <= 0:
        return 0.0
    return round(max(0.0, min(100.0, 100.0 * (1 - used / budget))), 2)


def overall(correctness: float, efficiency: float, speed: float, cost: float) -> float:
    side = (W_EFFICIENCY * efficiency + W_SPEED * speed + W_COST * cost) / 100
    return round(correctness * (W_CORRECT_FLOOR + (1 - W_CORRECT_FLOOR) * side), 2)


def correctness(results: list[dict[str, Any]], split: str) -> float | None:
    """Weighted share passed (0-100) of the checks in ``split``; None when it has none."""
    rows = in_split(results, split)
    total = sum(r["weight"] for r in rows)
    if total <= 0:
        return None
    return round(100.0 * sum(r["weight"] for r in rows if r["passed"]) / total, 2)


def in_split(results: list[dict[str, Any]], split: str) -> list[dict[str, Any]]:
    """The decided checks of a split (criteria are in both)."""
    private = split == "private"
    return [r for r in results if r["passed"] is not None and (r["kind"] == "criterion" or r["private"] == private)]


def side_scores(task: Any, figures: Any) -> dict[str, float]:
    return {
        "efficiency": _budget(float(figures["total_tokens"]), float(task["max_tokens"])),
        "speed": _budget(None if figures["execution_time"] is None else float(figures["execution_time"]),
                         task["max_time_minutes"] * 60.0),
        "cost": _budget(float(figures["estimated_cost"]), max_cost(task)),
    }


def interval(results: list[dict[str, Any]], side: dict[str, float], seed: str) -> tuple[float, float] | None:
    """A 95% bootstrap interval of overall over the public split's checks."""
    rows = in_split(results, "public")
    if not rows:
        return None
    weights = np.array([r["weight"] for r in rows], dtype=float)
    passed = np.array([1.0 if r["passed"] else 0.0 for r in rows])
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))
    picks = rng.integers(0, len(rows), size=(BOOTSTRAP, len(rows)))
    w = weights[picks]
    corr = 100.0 * (w * passed[picks]).sum(axis=1) / w.sum(axis=1)
    factor = W_CORRECT_FLOOR + (1 - W_CORRECT_FLOOR) * (
        W_EFFICIENCY * side["efficiency"] + W_SPEED * side["speed"] + W_COST * side["cost"]) / 100
    lo, hi = np.percentile(corr * factor, [2.5, 97.5])
    return round(float(lo), 2), round(float(hi), 2)


def score(task: Any, figures: Any, results: list[dict[str, Any]], seed: str) -> dict[str, Any]:
    """Every score of an entry, with its public interval."""
    side = side_scores(task, figures)
    public = correctness(results, "public") or 0.0
    has_private = any(r["kind"] == "case" and r["private"] for r in results)
    private = correctness(results, "private") if has_private else None
    ci = interval(results, side, seed)
    return {
        **side,
        "correctness": public,
        "overall": overall(public, side["efficiency"], side["speed"], side["cost"]),
        "private_correctness": private,
        "private_overall": None if private is None else overall(private, side["efficiency"], side["speed"],
                                                                side["cost"]),
        "ci_low": ci[0] if ci else None,
        "ci_high": ci[1] if ci else None,
    }


def flip_k(upper: dict[str, Any], lower: dict[str, Any], split: str, k: int, metric: str = "overall") -> int | None:
    """The fewest checks (at most ``k``) whose removal from the task leaves ``lower`` level with or
    above ``upper`` on ``metric`` (overall or correctness); None when more than ``k`` would be needed.

    ``upper``/``lower``: {"results": [...], "side": {...}}. The checks removed are those ``upper``
    passed and ``lower`` failed, heaviest first: removing them is what narrows the gap most.
    """
    mine = {r["id"]: r for r in in_split(upper["results"], split)}
    theirs = {r["id"]: r for r in in_split(lower["results"], split)}
    favour = sorted((i for i in mine if mine[i]["passed"] and i in theirs and not theirs[i]["passed"]),
                    key=lambda i: -mine[i]["weight"])

    def value(rows: dict[str, dict[str, Any]], side: dict[str, float], dropped: set[str]) -> float:
        kept = [r for i, r in rows.items() if i not in dropped]
        w = sum(r["weight"] for r in kept)
        corr = round(100.0 * sum(r["weight"] for r in kept if r["passed"]) / w, 2) if w > 0 else 0.0
        return corr if metric == "correctness" else overall(corr, side["efficiency"], side["speed"], side["cost"])

    for n in range(0, min(k, len(favour)) + 1):
        dropped = set(favour[:n])
        if value(theirs, lower["side"], dropped) >= value(mine, upper["side"], dropped):
            return n
    return None
