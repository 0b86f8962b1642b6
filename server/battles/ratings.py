"""Ratings for finished battles: pairwise decomposition, a live Elo update and a Bradley-Terry leaderboard.

Pure functions, no I/O. A finished battle is broken into pairwise results (`pairwise_results`); those feed
either the incremental Elo update (`elo_update`, applied once per battle) or the batch Bradley-Terry fit with
bootstrap confidence intervals (`bradley_terry`, recomputed over the whole history as Chatbot Arena does).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

DEFAULT_RATING = 1500.0
PROVISIONAL_BATTLES = 5  # an agent with fewer completed battles is marked provisional

HEAD_TO_HEAD = "HEAD_TO_HEAD"
TEAM = "TEAM"
FREE_FOR_ALL = "FREE_FOR_ALL"
MODES = (HEAD_TO_HEAD, TEAM, FREE_FOR_ALL)
FFA_MIN_SEATS = 3
FFA_MAX_SEATS = 8

BT_SCALE = 400.0  # Elo-like points per factor of 10 in strength
BT_CENTER = 1000.0  # score of the geometric-mean strength
BT_TOLERANCE = 1e-6  # largest relative change of any strength between two MM iterations at convergence
BT_MAX_ITERATIONS = 1000
BT_PRIOR_DRAWS = 1.0  # virtual draws of every agent against an anchor of strength 1


@dataclass(frozen=True)
class Seat:
    """One participant of a finished battle."""

    agent_id: str
    team_id: str | None = None


@dataclass(frozen=True)
class PairResult:
    """One decomposed pairwise result."""

    a: str
    b: str
    score_a: float  # 1.0 = a beat b, 0.5 = draw, 0.0 = b beat a


@dataclass(frozen=True)
class BTScore:
    """One leaderboard row of the Bradley-Terry fit."""

    agent_id: str
    score: float  # BT_CENTER + BT_SCALE * log10(strength / geometric mean strength of all agents)
    ci_low: float  # 2.5th bootstrap percentile (widened to include `score` if needed)
    ci_high: float  # 97.5th bootstrap percentile (widened to include `score` if needed)
    battles: int  # number of pairs the agent appears in
    provisional: bool  # completed battles (battle_counts, else pairs) < PROVISIONAL_BATTLES


# --------------------------------------------------------------------------------------------- decomposition


def _beats(winner: str, losers: list[str]) -> list[PairResult]:
    return [PairResult(winner, loser, 1.0) for loser in losers]


def _all_draws(ids: list[str]) -> list[PairResult]:
    return [PairResult(a, b, 0.5) for i, a in enumerate(ids) for b in ids[i + 1 :]]


def _team_pairs(seats: list[Seat], winner_agent_id: str | None, winner_team_id: str | None) -> list[PairResult]:
    teams: dict[str, list[str]] = {}
    for seat in seats:
        if seat.team_id is None:
            raise ValueError(f"TEAM mode needs a team_id on every seat; {seat.agent_id!r} has none")
        teams.setdefault(seat.team_id, []).append(seat.agent_id)
    if len(teams) != 2:
        raise ValueError(f"TEAM mode needs exactly two teams, got {len(teams)}: {sorted(teams)}")
    (first, first_ids), (second, second_ids) = teams.items()
    if len(first_ids) != len(second_ids):
        raise ValueError(f"TEAM mode needs teams of equal size, got {first!r}={len(first_ids)}, "
                         f"{second!r}={len(second_ids)}")
    if winner_agent_id is not None:
        agent_team = next(seat.team_id for seat in seats if seat.agent_id == winner_agent_id)
        if winner_team_id is not None and winner_team_id != agent_team:
            raise ValueError(f"winner agent {winner_agent_id!r} is on team {agent_team!r}, "
                             f"not on the winning team {winner_team_id!r}")
        winner_team_id = agent_team
    if winner_team_id is None:
        return [PairResult(a, b, 0.5) for a in first_ids for b in second_ids]
    if winner_team_id not in teams:
        raise ValueError(f"winning team {winner_team_id!r} is not among the teams {sorted(teams)}")
    losers = second_ids if winner_team_id == first else first_ids
    return [pair for winner in teams[winner_team_id] for pair in _beats(winner, losers)]


def pairwise_results(
    seats: list[Seat], mode: str, winner_agent_id: str | None, winner_team_id: str | None
) -> list[PairResult]:
    """Break a finished battle into pairwise results.

    HEAD_TO_HEAD (2 seats): one pair. TEAM (two equal teams): every cross-team pair, the winning team's members
    beating the other's (the winner is `winner_team_id`, or the team of `winner_agent_id`). FREE_FOR_ALL (3-8
    seats): the winner beats every other seat. With no winner every produced pair is a draw (in FREE_FOR_ALL:
    every pair of seats). Pairs with a winner are `PairResult(winner, loser, 1.0)`; draws keep seat order.
    Raises ValueError on an unknown mode, a wrong seat count, duplicate agents, bad teams or a winner not seated.
    """
    if mode not in MODES:
        raise ValueError(f"unknown battle mode {mode!r}; expected one of {', '.join(MODES)}")
    ids = [seat.agent_id for seat in seats]
    duplicates = sorted(agent for agent, n in Counter(ids).items() if n > 1)
    if duplicates:
        raise ValueError(f"agents seated more than once: {duplicates}")
    if winner_agent_id is not None and winner_agent_id not in ids:
        raise ValueError(f"winner {winner_agent_id!r} is not among the seats")
    if mode == TEAM:
        if len(seats) < 2:
            raise ValueError(f"TEAM mode needs at least 2 seats, got {len(seats)}")
        return _team_pairs(seats, winner_agent_id, winner_team_id)
    if winner_team_id is not None:
        raise ValueError(f"winner_team_id only applies to TEAM mode, not {mode}")
    if mode == HEAD_TO_HEAD and len(seats) != 2:
        raise ValueError(f"HEAD_TO_HEAD mode needs exactly 2 seats, got {len(seats)}")
    if mode == FREE_FOR_ALL and not FFA_MIN_SEATS <= len(seats) <= FFA_MAX_SEATS:
        raise ValueError(f"FREE_FOR_ALL mode needs {FFA_MIN_SEATS}-{FFA_MAX_SEATS} seats, got {len(seats)}")
    if winner_agent_id is None:
        return _all_draws(ids)
    return _beats(winner_agent_id, [agent for agent in ids if agent != winner_agent_id])


def _check_pair(pair: PairResult) -> None:
    if pair.a == pair.b:
        raise ValueError(f"agent {pair.a!r} cannot be paired with itself")
    if not 0.0 <= pair.score_a <= 1.0:
        raise ValueError(f"score_a must be within [0, 1], got {pair.score_a!r} for {pair.a!r} vs {pair.b!r}")


# ------------------------------------------------------------------------------------------------------- Elo


def expected_score(rating_a: float, rating_b: float) -> float:
    """Elo expected score of a player rated `rating_a` against one rated `rating_b`."""
    return 1.0 / (1.0 + 10.0 ** ((rating_b - rating_a) / 400.0))


def elo_update(ratings: dict[str, float], pairs: list[PairResult], k: float = 32.0) -> dict[str, float]:
    """New ratings of every agent appearing in `pairs` after one battle (agents unknown to `ratings` start at
    DEFAULT_RATING).

    Every pairwise delta k * (score - expected) uses the pre-battle ratings, so pair order does not matter. Each
    agent's summed delta is divided by the number of pairs it appears in, so a multi-seat battle moves a rating
    about as much as a duel; a single-pair duel is the plain (zero-sum) Elo update.
    """
    before: dict[str, float] = {}
    total: dict[str, float] = {}
    count: dict[str, int] = {}
    for pair in pairs:
        _check_pair(pair)
        for agent in (pair.a, pair.b):
            before.setdefault(agent, float(ratings.get(agent, DEFAULT_RATING)))
            total.setdefault(agent, 0.0)
            count[agent] = count.get(agent, 0) + 1
    for pair in pairs:
        delta = k * (pair.score_a - expected_score(before[pair.a], before[pair.b]))
        total[pair.a] += delta
        total[pair.b] -= delta
    return {agent: before[agent] + total[agent] / count[agent] for agent in before}


# -------------------------------------------------------------------------------------------- Bradley-Terry


@dataclass(frozen=True)
class _Design:
    """The comparison graph: unique unordered agent pairs (lo < hi) and, per input pair, its edge and the score
    of the edge's `lo` agent."""

    n: int
    lo: np.ndarray  # (U,) agent index
    hi: np.ndarray  # (U,) agent index
    edge: np.ndarray  # (P,) index into lo/hi for each input pair
    score_lo: np.ndarray  # (P,) score of the lo agent in each input pair


def _design(pairs: list[PairResult], index: dict[str, int]) -> _Design:
    ia = np.fromiter((index[p.a] for p in pairs), dtype=np.int64, count=len(pairs))
    ib = np.fromiter((index[p.b] for p in pairs), dtype=np.int64, count=len(pairs))
    score = np.fromiter((p.score_a for p in pairs), dtype=np.float64, count=len(pairs))
    lo, hi = np.minimum(ia, ib), np.maximum(ia, ib)
    keys, edge = np.unique(lo * len(index) + hi, return_inverse=True)
    score_lo = np.where(ia == lo, score, 1.0 - score)
    return _Design(len(index), keys // len(index), keys % len(index), edge.reshape(-1), score_lo)


def _best_scale(p: np.ndarray) -> np.ndarray:
    """`p` times the factor c that maximises the likelihood along the scale direction.

    Real games only depend on strength ratios, so only the anchor's virtual draws fix the scale: the optimum
    solves sum_i tanh((log c + log p_i) / 2) = 0, a monotone equation in log c; Newton's method from c = 1 (the
    MM step barely moves the scale, so one or two steps suffice).
    """
    half_logs = np.log(p) / 2.0
    u = 0.0
    for _ in range(50):
        t = np.tanh(half_logs + u / 2.0)
        step = float(np.add.reduce(t)) / (0.5 * float(np.add.reduce(1.0 - t * t)))
        u -= step
        if abs(step) < 1e-10:
            break
    return p * math.exp(u)


def _fit(design: _Design, weights: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """Bradley-Terry strengths by Hunter's MM iteration, each input pair counted `weights` times.

    Every agent also plays BT_PRIOR_DRAWS virtual draws against a fixed anchor of strength 1, which keeps
    unbeaten and winless agents finite and pins the scale. Update: p_i <- W_i / sum_j N_ij / (p_i + p_j), followed
    by an exact rescaling (`_best_scale`); both steps raise the likelihood, and the rescaling removes MM's slow
    drift along the weakly pinned scale direction (about 4x fewer iterations).
    """
    n, lo, hi = design.n, design.lo, design.hi
    games = np.bincount(design.edge, weights=weights, minlength=len(lo))
    wins_lo = np.bincount(design.edge, weights=weights * design.score_lo, minlength=len(lo))
    wins = (np.bincount(lo, weights=wins_lo, minlength=n) + np.bincount(hi, weights=games - wins_lo, minlength=n)
            + BT_PRIOR_DRAWS / 2.0)
    live = games > 0
    lo, hi, games = lo[live], hi[live], games[live]
    p = np.ones(n) if start is None else start.copy()
    for _ in range(BT_MAX_ITERATIONS):
        per_edge = games / (p[lo] + p[hi])
        denom = np.bincount(lo, weights=per_edge, minlength=n) + np.bincount(hi, weights=per_edge, minlength=n)
        new = _best_scale(wins / (denom + BT_PRIOR_DRAWS / (p + 1.0)))
        done = np.max(np.abs(new / p - 1.0)) < BT_TOLERANCE
        p = new
        if done:
            break
    return p


def _to_scores(strengths: np.ndarray) -> np.ndarray:
    """Elo-like scale along the last axis: BT_CENTER + BT_SCALE * log10(p / geometric mean of p)."""
    logs = np.log10(strengths)
    return BT_CENTER + BT_SCALE * (logs - logs.mean(axis=-1, keepdims=True))


def bradley_terry(
    pairs: list[PairResult], *, rounds: int = 200, seed: int = 0, battle_counts: dict[str, int] | None = None
) -> list[BTScore]:
    """Bradley-Terry leaderboard over all `pairs` (draws count as half a win each way), sorted by score descending.

    The maximum-likelihood fit (MM iteration, with one virtual draw per agent against an anchor of strength 1 as
    a regularising prior) is mapped to `1000 + 400 * log10(strength / geometric mean)`. 95% confidence intervals
    come from `rounds` bootstrap refits over pairs resampled with replacement (numpy Generator seeded by `seed`,
    so results are reproducible); the percentile interval is widened to contain the point estimate if needed.
    `provisional` compares battle_counts[agent] (distinct completed battles) when available, else the agent's
    pair count, with PROVISIONAL_BATTLES. Empty input returns [].
    """
    if rounds < 0:
        raise ValueError(f"rounds must be >= 0, got {rounds}")
    if not pairs:
        return []
    for pair in pairs:
        _check_pair(pair)
    agents = sorted({p.a for p in pairs} | {p.b for p in pairs})
    index = {agent: i for i, agent in enumerate(agents)}
    design = _design(pairs, index)
    strengths = _fit(design, np.ones(len(pairs)))
    scores = _to_scores(strengths)
    low, high = scores.copy(), scores.copy()
    if rounds:
        rng = np.random.default_rng(seed)
        samples = np.empty((rounds, len(agents)))
        for r in range(rounds):
            weights = np.bincount(rng.integers(0, len(pairs), size=len(pairs)), minlength=len(pairs))
            samples[r] = _fit(design, weights.astype(np.float64), start=strengths)
        boot = _to_scores(samples)
        low = np.minimum(np.percentile(boot, 2.5, axis=0), scores)
        high = np.maximum(np.percentile(boot, 97.5, axis=0), scores)
    appearances = Counter(p.a for p in pairs) + Counter(p.b for p in pairs)
    counts = battle_counts or {}
    rows = [
        BTScore(
            agent_id=agent,
            score=float(scores[i]),
            ci_low=float(low[i]),
            ci_high=float(high[i]),
            battles=appearances[agent],
            provisional=counts.get(agent, appearances[agent]) < PROVISIONAL_BATTLES,
        )
        for i, agent in enumerate(agents)
    ]
    rows.sort(key=lambda row: (-row.score, row.agent_id))
    return rows
