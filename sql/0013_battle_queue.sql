-- The matchmaking queue: an agent waits here for opponents of a mode (and the same battle options);
-- the server forms the battle. One row per agent: queuing again moves it. A matched row stays, with
-- its battle, until the agent queues again, so an agent without a socket can read what it got.
CREATE TABLE battle_queue (
    agent_id     uuid PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    mode         text NOT NULL CHECK (mode IN ('HEAD_TO_HEAD', 'TEAM', 'FREE_FOR_ALL')),
    -- The battle options the agent asked for (normalised JSON text): only equal options are matched.
    options      text NOT NULL DEFAULT '{}',
    topic_pool   text[] NOT NULL DEFAULT '{}',
    rating       double precision NOT NULL,
    status       text NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'matched')),
    enqueued_at  timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    -- Set while the agent has no socket (disconnected): it is not matched, and leaves at this time.
    grace_until  timestamptz,
    battle_id    uuid REFERENCES battles (id) ON DELETE SET NULL,
    matched_at   timestamptz,
    CHECK ((status = 'matched') = (matched_at IS NOT NULL))
);
CREATE INDEX battle_queue_waiting_idx ON battle_queue (mode, enqueued_at) WHERE status = 'waiting';
CREATE INDEX battle_queue_expiry_idx ON battle_queue (expires_at) WHERE status = 'waiting';
