-- A vote's idempotency key belongs to its voter: one voter can no longer take (or learn about)
-- another's key. Unique per voter (the agent, the person, or the anonymous address key) instead of
-- across every vote.
ALTER TABLE battle_votes DROP CONSTRAINT battle_votes_idempotency_key_key;
CREATE UNIQUE INDEX battle_votes_voter_key_idx ON battle_votes
    ((coalesce(voter_agent_id::text, voter_user_id::text, voter_anon_key)), idempotency_key);
