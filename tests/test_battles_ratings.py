"""Battle ratings: pairwise decomposition per mode, the Elo update, the Bradley-Terry fit with bootstrap CIs."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest

from server.battles.ratings import (
    DEFAULT_RATING,
    PROVISIONAL_BATTLES,
    BTScore,
    PairResult,
    Seat,
    bradley_terry,
    elo_update,
    pairwise_results,
)


def _elo_delta(ra: float, rb: float, score: float, k: float = 32.0) -> float:
    """The textbook Elo change of a player rated `ra` scoring `score` against one rated `rb`."""
    return k * (score - 1.0 / (1.0 + 10.0 ** ((rb - ra) / 400.0)))


def _by_id(rows: list[BTScore]) -> dict[str, BTScore]:
    return {row.agent_id: row for row in rows}


# ------------------------------------------------------------------------------------------ decomposition


def test_head_to_head_winner_beats_the_other_seat() -> None:
    seats = [Seat("a"), Seat("b")]
    assert pairwise_results(seats, "HEAD_TO_HEAD", "a", None) == [PairResult("a", "b", 1.0)]
    assert pairwise_results(seats, "HEAD_TO_HEAD", "b", None) == [PairResult("b", "a", 1.0)]


def test_head_to_head_without_winner_is_a_draw() -> None:
    assert pairwise_results([Seat("a"), Seat("b")], "HEAD_TO_HEAD", None, None) == [PairResult("a", "b", 0.5)]


def test_team_winning_team_beats_every_member_of_the_other_team() -> None:
    seats = [Seat("a1", "red"), Seat("b1", "blue"), Seat("a2", "red"), Seat("b2", "blue")]
    pairs = pairwise_results(seats, "TEAM", None, "blue")
    assert sorted((p.a, p.b, p.score_a) for p in pairs) == [
        ("b1", "a1", 1.0),
        ("b1", "a2", 1.0),
        ("b2", "a1", 1.0),
        ("b2", "a2", 1.0),
    ]


def test_team_winner_given_as_agent_uses_that_agents_team() -> None:
    seats = [Seat("a1", "red"), Seat("a2", "red"), Seat("b1", "blue"), Seat("b2", "blue")]
    by_agent = pairwise_results(seats, "TEAM", "a2", None)
    assert by_agent == pairwise_results(seats, "TEAM", None, "red")
    assert {p.a for p in by_agent} == {"a1", "a2"} and {p.b for p in by_agent} == {"b1", "b2"}
    assert pairwise_results(seats, "TEAM", "a2", "red") == by_agent


def test_team_draw_is_a_draw_for_every_cross_team_pair() -> None:
    seats = [Seat("a1", "red"), Seat("a2", "red"), Seat("b1", "blue"), Seat("b2", "blue")]
    pairs = pairwise_results(seats, "TEAM", None, None)
    assert len(pairs) == 4
    assert all(p.score_a == 0.5 for p in pairs)
    cross = itertools.product(["a1", "a2"], ["b1", "b2"])
    assert {frozenset((p.a, p.b)) for p in pairs} == {frozenset(x) for x in cross}


@pytest.mark.parametrize("winner_team", ["red", "blue", None])
def test_team_decomposition_never_pairs_teammates(winner_team: str | None) -> None:
    team_of = {"r1": "red", "r2": "red", "r3": "red", "u1": "blue", "u2": "blue", "u3": "blue"}
    seats = [Seat(agent, team) for agent, team in team_of.items()]
    pairs = pairwise_results(seats, "TEAM", None, winner_team)
    assert len(pairs) == 9
    assert all(team_of[p.a] != team_of[p.b] for p in pairs)
    assert len({frozenset((p.a, p.b)) for p in pairs}) == 9


def test_free_for_all_winner_beats_each_other_seat_and_losers_are_not_paired() -> None:
    seats = [Seat("a"), Seat("b"), Seat("c"), Seat("d")]
    pairs = pairwise_results(seats, "FREE_FOR_ALL", "c", None)
    assert pairs == [PairResult("c", "a", 1.0), PairResult("c", "b", 1.0), PairResult("c", "d", 1.0)]


def test_free_for_all_without_winner_draws_every_pair() -> None:
    seats = [Seat("a"), Seat("b"), Seat("c"), Seat("d")]
    pairs = pairwise_results(seats, "FREE_FOR_ALL", None, None)
    assert len(pairs) == 6
    assert all(p.score_a == 0.5 for p in pairs)
    assert {frozenset((p.a, p.b)) for p in pairs} == {frozenset(x) for x in itertools.combinations("abcd", 2)}


@pytest.mark.parametrize(
    ("seats", "mode", "winner_agent", "winner_team", "match"),
    [
        ([Seat("a"), Seat("b")], "BATTLE_ROYALE", "a", None, "unknown battle mode"),
        ([Seat("a"), Seat("b")], "HEAD_TO_HEAD", "z", None, "not among the seats"),
        ([Seat("a"), Seat("b"), Seat("c")], "HEAD_TO_HEAD", "a", None, "exactly 2 seats"),
        ([Seat("a")], "HEAD_TO_HEAD", None, None, "exactly 2 seats"),
        ([Seat("a"), Seat("a")], "HEAD_TO_HEAD", "a", None, "more than once"),
        ([Seat("a"), Seat("b")], "HEAD_TO_HEAD", None, "red", "only applies to TEAM"),
        ([Seat("a"), Seat("b")], "FREE_FOR_ALL", "a", None, "3-8 seats"),
        ([Seat(str(i)) for i in range(9)], "FREE_FOR_ALL", "0", None, "3-8 seats"),
        ([Seat("a", "red"), Seat("b", "red"), Seat("c", "blue")], "TEAM", None, "red", "equal size"),
        ([Seat("a", "red"), Seat("b", "blue"), Seat("c", "green")], "TEAM", None, None, "exactly two teams"),
        ([Seat("a", "red"), Seat("b", "red")], "TEAM", None, "red", "exactly two teams"),
        ([Seat("a", "red"), Seat("b")], "TEAM", None, "red", "team_id on every seat"),
        ([Seat("a", "red"), Seat("b", "blue")], "TEAM", None, "green", "not among the teams"),
        ([Seat("a", "red"), Seat("b", "blue")], "TEAM", "a", "blue", "not on the winning team"),
        ([Seat("a", "red"), Seat("b", "blue")], "TEAM", "z", None, "not among the seats"),
    ],
)
def test_pairwise_results_rejects_nonsense(
    seats: list[Seat], mode: str, winner_agent: str | None, winner_team: str | None, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        pairwise_results(seats, mode, winner_agent, winner_team)


# ----------------------------------------------------------------------------------------------------- Elo


def test_elo_head_to_head_matches_hand_computed_value_and_is_zero_sum() -> None:
    new = elo_update({"a": 1500.0, "b": 1500.0}, [PairResult("a", "b", 1.0)], k=32.0)
    assert new == pytest.approx({"a": 1516.0, "b": 1484.0})
    uneven = elo_update({"a": 1612.0, "b": 1388.0}, [PairResult("b", "a", 0.5)], k=24.0)
    assert uneven["a"] + uneven["b"] == pytest.approx(1612.0 + 1388.0)
    assert uneven["b"] - 1388.0 == pytest.approx(_elo_delta(1388.0, 1612.0, 0.5, k=24.0))


def test_elo_unknown_agents_start_at_default_and_only_paired_agents_are_returned() -> None:
    new = elo_update({"bystander": 1800.0}, [PairResult("x", "y", 0.0)])
    assert set(new) == {"x", "y"}
    assert new["y"] == pytest.approx(DEFAULT_RATING + 16.0)
    assert new["x"] == pytest.approx(DEFAULT_RATING - 16.0)


def test_elo_favourite_winning_gains_less_than_underdog_winning() -> None:
    ratings = {"fav": 1700.0, "dog": 1400.0}
    fav_wins = elo_update(ratings, [PairResult("fav", "dog", 1.0)])["fav"] - 1700.0
    dog_wins = elo_update(ratings, [PairResult("dog", "fav", 1.0)])["dog"] - 1400.0
    assert 0.0 < fav_wins < dog_wins
    assert fav_wins + dog_wins == pytest.approx(32.0)


def test_elo_order_of_pairs_does_not_change_the_result() -> None:
    ratings = {"a": 1550.0, "b": 1480.0, "c": 1610.0, "d": 1390.0}
    seats = [Seat("a", "t1"), Seat("b", "t1"), Seat("c", "t2"), Seat("d", "t2")]
    pairs = pairwise_results(seats, "TEAM", None, "t1") + [PairResult("a", "c", 0.5)]
    expected = elo_update(ratings, pairs)
    rng = random.Random(7)
    for _ in range(5):
        shuffled = pairs[:]
        rng.shuffle(shuffled)
        assert elo_update(ratings, shuffled) == pytest.approx(expected)
    # Simultaneous update: a sequential update would have changed a's rating before its second pair.
    assert expected["c"] - 1610.0 == pytest.approx(
        (_elo_delta(1610.0, 1550.0, 0.0) + _elo_delta(1610.0, 1480.0, 0.0) + _elo_delta(1610.0, 1550.0, 0.5)) / 3
    )


def test_elo_ffa_winner_delta_is_the_mean_of_its_pairwise_deltas() -> None:
    ratings = {"w": 1500.0, "x": 1450.0, "y": 1620.0, "z": 1530.0}
    pairs = pairwise_results([Seat(a) for a in ratings], "FREE_FOR_ALL", "w", None)
    new = elo_update(ratings, pairs)
    pairwise = [_elo_delta(1500.0, ratings[o], 1.0) for o in ("x", "y", "z")]
    assert new["w"] - 1500.0 == pytest.approx(sum(pairwise) / 3)
    assert new["w"] - 1500.0 < max(pairwise)
    for loser in ("x", "y", "z"):  # each loser is in one pair only: the plain Elo update
        assert new[loser] - ratings[loser] == pytest.approx(_elo_delta(ratings[loser], 1500.0, 0.0))


def test_elo_rejects_self_pairs_and_out_of_range_scores() -> None:
    with pytest.raises(ValueError, match="itself"):
        elo_update({}, [PairResult("a", "a", 1.0)])
    with pytest.raises(ValueError, match="within"):
        elo_update({}, [PairResult("a", "b", 2.0)])


# ------------------------------------------------------------------------------------------- Bradley-Terry


def _simulate(true_elo: dict[str, float], games: int, seed: int) -> list[PairResult]:
    rng = random.Random(seed)
    agents = list(true_elo)
    pairs = []
    for _ in range(games):
        a, b = rng.sample(agents, 2)
        p_a = 1.0 / (1.0 + 10.0 ** ((true_elo[b] - true_elo[a]) / 400.0))
        pairs.append(PairResult(a, b, 1.0 if rng.random() < p_a else 0.0))
    return pairs


def test_bt_recovers_a_known_population() -> None:
    true_elo = {f"agent{i:02d}": 80.0 * i for i in range(12)}
    rows = bradley_terry(_simulate(true_elo, 4000, seed=3), rounds=100, seed=1)
    assert [row.agent_id for row in rows] == sorted(true_elo, key=true_elo.__getitem__, reverse=True)
    mean_true = sum(true_elo.values()) / len(true_elo)
    inside = sum(row.ci_low <= 1000.0 + true_elo[row.agent_id] - mean_true <= row.ci_high for row in rows)
    assert inside >= 10
    assert all(row.ci_high - row.ci_low < 150.0 for row in rows)
    assert sum(row.score for row in rows) / len(rows) == pytest.approx(1000.0)  # geometric mean maps to 1000


def test_bt_two_agents_score_gap_matches_the_log_odds() -> None:
    pairs = [PairResult("a", "b", 1.0)] * 900 + [PairResult("b", "a", 1.0)] * 100
    rows = _by_id(bradley_terry(pairs, rounds=0))
    assert rows["a"].score - rows["b"].score == pytest.approx(400.0 * math.log10(9.0), abs=3.0)
    assert rows["a"].score + rows["b"].score == pytest.approx(2000.0)


def test_bt_undefeated_agent_ranks_first_with_a_finite_score() -> None:
    others = {f"o{i}": 50.0 * i for i in range(6)}
    pairs = _simulate(others, 600, seed=5) + [PairResult("champ", o, 1.0) for o in others for _ in range(3)]
    rows = bradley_terry(pairs, rounds=50, seed=2)
    assert rows[0].agent_id == "champ"
    assert math.isfinite(rows[0].score) and math.isfinite(rows[0].ci_high)
    assert rows[0].score > rows[1].score
    assert math.isfinite(rows[-1].score)
    winless = _by_id(bradley_terry([PairResult("a", "b", 1.0)] * 5, rounds=20))
    assert math.isfinite(winless["b"].score) and winless["b"].score < winless["a"].score


def test_bt_confidence_intervals_contain_the_point_estimate() -> None:
    pairs = _simulate({"a": 0.0, "b": 100.0, "c": 150.0, "d": 400.0}, 300, seed=11)
    rows = bradley_terry(pairs, rounds=200, seed=4)
    assert all(row.ci_low <= row.score <= row.ci_high for row in rows)
    assert all(row.ci_high - row.ci_low > 1.0 for row in rows)  # the bootstrap actually spread the estimates
    no_boot = bradley_terry(pairs, rounds=0)
    assert all(row.ci_low == row.score == row.ci_high for row in no_boot)
    assert [row.score for row in no_boot] == [row.score for row in rows]


def test_bt_is_reproducible_for_a_seed_and_sorted_descending() -> None:
    pairs = _simulate({"a": 0.0, "b": 60.0, "c": 120.0, "d": 180.0, "e": 240.0}, 400, seed=9)
    first = bradley_terry(pairs, rounds=60, seed=42)
    assert bradley_terry(pairs, rounds=60, seed=42) == first
    other = bradley_terry(pairs, rounds=60, seed=43)
    assert [(r.ci_low, r.ci_high) for r in other] != [(r.ci_low, r.ci_high) for r in first]
    assert [r.score for r in first] == sorted((r.score for r in first), reverse=True)


def test_bt_battle_counts_and_provisional_flag() -> None:
    pairs = [PairResult("a", "b", 1.0)] * 6 + [PairResult("a", "c", 0.5)] * 2
    by_pairs = _by_id(bradley_terry(pairs, rounds=10))
    assert {k: v.battles for k, v in by_pairs.items()} == {"a": 8, "b": 6, "c": 2}
    assert {k: v.provisional for k, v in by_pairs.items()} == {"a": False, "b": False, "c": True}
    counts = {"a": PROVISIONAL_BATTLES - 1, "b": PROVISIONAL_BATTLES, "c": 40}
    by_counts = _by_id(bradley_terry(pairs, rounds=10, battle_counts=counts))
    assert {k: v.provisional for k, v in by_counts.items()} == {"a": True, "b": False, "c": False}
    assert by_counts["a"].battles == 8


def test_bt_symmetric_draws_give_equal_scores() -> None:
    pairs = [PairResult(a, b, 0.5) for a, b in itertools.combinations("abcde", 2) for _ in range(3)]
    rows = bradley_terry(pairs, rounds=50, seed=0)
    assert len(rows) == 5
    assert np.allclose([row.score for row in rows], 1000.0, atol=1e-3)


def test_bt_empty_input_and_invalid_arguments() -> None:
    assert bradley_terry([]) == []
    with pytest.raises(ValueError, match="itself"):
        bradley_terry([PairResult("a", "a", 0.5)])
    with pytest.raises(ValueError, match="rounds"):
        bradley_terry([PairResult("a", "b", 0.5)], rounds=-1)
