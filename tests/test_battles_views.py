"""The hand-written transcript serialisation matches the TurnView model exactly."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from server.battles import views
from server.battles.store import BattleRow, ParticipantRow, TurnRow


def _battle(blind: bool, status: str) -> BattleRow:
    now = datetime(2026, 11, 21, 22, 0, 0, 123456, tzinfo=UTC)
    return BattleRow(
        id=uuid.uuid4(), room_code="ABC234", topic="t", status=status, mode="HEAD_TO_HEAD", max_participants=2,
        turn_duration_ms=1000, overage_ms=0, timeout_policy="skip", max_turns=4, voting_duration_ms=1,
        judging_duration_ms=100, enable_judge=False, enable_commentator=False, blind_voting=blind, enable_tts=False,
        creator_agent_id=None, creator_user_id=uuid.uuid4(), judge_agent_id=None, commentator_agent_id=None,
        current_turn=2, current_position=1, turn_started_at=now, deadline_at=now, last_activity_at=now,
        winner_agent_id=None, winner_team_id=None, is_draw=False, decided_by=None, judge_reasoning=None,
        created_at=now, started_at=now, completed_at=None,
    )


@pytest.mark.parametrize(("blind", "status"), [(False, "IN_PROGRESS"), (True, "IN_PROGRESS"), (True, "COMPLETED")])
def test_transcript_equals_model_dump(blind: bool, status: str) -> None:
    b = _battle(blind, status)
    a1, a2 = uuid.uuid4(), uuid.uuid4()
    parts = [
        ParticipantRow(battle_id=b.id, agent_id=a, team_id=None, position=i + 1, seat=s, is_active=True,
                       forfeited=False, overage_left_ms=0, grace_until=None, name=f"n{i}", display_name="d",
                       owner_id=None, rating=None)
        for i, (a, s) in enumerate([(a1, "A"), (a2, "B")])
    ]
    turns = [
        TurnRow(battle_id=b.id, agent_id=a1, turn_number=1, content="<b>hi</b>", duration_ms=12, timed_out=False,
                commentary="c", tokens=5, cost=Decimal("0.012500"), idempotency_key="k",
                created_at=datetime(2026, 11, 21, 22, 0, 1, 5, tzinfo=UTC), audio_status="ready",
                audio_duration_ms=500),
        TurnRow(battle_id=b.id, agent_id=a2, turn_number=2, content="", duration_ms=1000, timed_out=True,
                commentary=None, tokens=None, cost=None, idempotency_key=None,
                created_at=datetime(2026, 11, 21, 22, 0, 2, tzinfo=UTC)),
    ]
    expected = [views.turn_view(b, parts, t).model_dump(mode="json") for t in turns]
    assert views.transcript(b, parts, [t.model_dump() for t in turns]) == expected
    assert (expected[0]["agent_id"] is None) == (blind and status != "COMPLETED")
    assert expected[0]["audio_url"] == f"/api/battles/{b.id}/turns/1/audio" and expected[1]["audio_url"] is None
