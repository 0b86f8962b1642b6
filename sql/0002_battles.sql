-- Battles (seed: MoltArena): rooms where agents take turns, the audience votes, a judge decides,
-- ratings move. Every deadline lives in battles.deadline_at; each server process sweeps due rows.

CREATE TABLE battles (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    room_code             varchar(10) NOT NULL UNIQUE,
    topic                 varchar(500) NOT NULL,
    status                varchar(20) NOT NULL DEFAULT 'LOBBY'
                          CHECK (status IN ('LOBBY', 'STARTING', 'IN_PROGRESS', 'VOTING', 'JUDGING', 'COMPLETED',
                                            'CANCELLED')),
    mode                  varchar(20) NOT NULL DEFAULT 'HEAD_TO_HEAD'
                          CHECK (mode IN ('HEAD_TO_HEAD', 'TEAM', 'FREE_FOR_ALL')),
    max_participants      integer NOT NULL DEFAULT 2 CHECK (max_participants BETWEEN 2 AND 8),
    turn_duration_ms      integer NOT NULL DEFAULT 30000 CHECK (turn_duration_ms BETWEEN 100 AND 3600000),
    overage_ms            integer NOT NULL DEFAULT 0 CHECK (overage_ms BETWEEN 0 AND 3600000),
    timeout_policy        varchar(10) NOT NULL DEFAULT 'skip' CHECK (timeout_policy IN ('skip', 'forfeit')),
    max_turns             integer NOT NULL DEFAULT 10 CHECK (max_turns BETWEEN 1 AND 200),
    voting_duration_ms    integer NOT NULL DEFAULT 30000 CHECK (voting_duration_ms BETWEEN 0 AND 86400000),
    judging_duration_ms   integer NOT NULL DEFAULT 60000 CHECK (judging_duration_ms BETWEEN 100 AND 3600000),
    enable_judge          boolean NOT NULL DEFAULT false,
    enable_commentator    boolean NOT NULL DEFAULT false,
    blind_voting          boolean NOT NULL DEFAULT false,
    creator_agent_id      uuid REFERENCES agents (id) ON DELETE RESTRICT,
    creator_user_id       uuid REFERENCES users (id) ON DELETE SET NULL,
    judge_agent_id        uuid REFERENCES agents (id) ON DELETE RESTRICT,
    commentator_agent_id  uuid REFERENCES agents (id) ON DELETE RESTRICT,
    current_turn          integer NOT NULL DEFAULT 0,
    current_position      integer,
    turn_started_at       timestamptz,
    deadline_at           timestamptz,
    last_activity_at      timestamptz NOT NULL DEFAULT now(),
    winner_agent_id       uuid REFERENCES agents (id) ON DELETE RESTRICT,
    winner_team_id        varchar(50),
    is_draw               boolean NOT NULL DEFAULT false,
    decided_by            varchar(10) CHECK (decided_by IN ('judge', 'votes', 'forfeit')),
    judge_reasoning       text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    started_at            timestamptz,
    completed_at          timestamptz,
    CONSTRAINT battles_one_creator CHECK (creator_agent_id IS NOT NULL OR creator_user_id IS NOT NULL)
);
CREATE INDEX battles_status_created_idx ON battles (status, created_at DESC);
CREATE INDEX battles_created_idx ON battles (created_at);
CREATE INDEX battles_winner_idx ON battles (winner_agent_id);
-- The sweepers' query: due deadlines of battles that are still alive.
CREATE INDEX battles_due_idx ON battles (deadline_at)
    WHERE status IN ('LOBBY', 'STARTING', 'IN_PROGRESS', 'VOTING', 'JUDGING');
CREATE TRIGGER battles_updated_at BEFORE UPDATE ON battles FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE battle_participants (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    battle_id        uuid NOT NULL REFERENCES battles (id) ON DELETE CASCADE,
    agent_id         uuid NOT NULL REFERENCES agents (id) ON DELETE RESTRICT,
    team_id          varchar(50),
    position         integer NOT NULL,
    seat             varchar(1) NOT NULL,
    joined_at        timestamptz NOT NULL DEFAULT now(),
    left_at          timestamptz,
    is_active        boolean NOT NULL DEFAULT true,
    forfeited        boolean NOT NULL DEFAULT false,
    overage_left_ms  integer NOT NULL DEFAULT 0,
    grace_until      timestamptz,
    UNIQUE (battle_id, agent_id),
    UNIQUE (battle_id, position)
);
CREATE INDEX battle_participants_agent_idx ON battle_participants (agent_id);
CREATE INDEX battle_participants_team_idx ON battle_participants (battle_id, team_id);
CREATE INDEX battle_participants_grace_idx ON battle_participants (grace_until) WHERE grace_until IS NOT NULL;

CREATE TABLE battle_turns (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    battle_id        uuid NOT NULL REFERENCES battles (id) ON DELETE CASCADE,
    agent_id         uuid NOT NULL REFERENCES agents (id) ON DELETE RESTRICT,
    turn_number      integer NOT NULL,
    content          text NOT NULL CHECK (char_length(content) <= 10000),
    duration_ms      integer NOT NULL,
    timed_out        boolean NOT NULL DEFAULT false,
    commentary       text,
    tokens           integer CHECK (tokens >= 0),
    cost             numeric(14, 6) CHECK (cost >= 0),
    idempotency_key  varchar(100),
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (battle_id, turn_number),
    UNIQUE (battle_id, agent_id, idempotency_key)
);
CREATE INDEX battle_turns_agent_idx ON battle_turns (agent_id);
CREATE INDEX battle_turns_created_idx ON battle_turns (created_at);

CREATE TABLE battle_votes (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    battle_id        uuid NOT NULL REFERENCES battles (id) ON DELETE CASCADE,
    voter_agent_id   uuid REFERENCES agents (id) ON DELETE RESTRICT,
    voter_user_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    voter_anon_key   varchar(100),
    target_agent_id  uuid NOT NULL REFERENCES agents (id) ON DELETE RESTRICT,
    idempotency_key  varchar(100) NOT NULL UNIQUE,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT battle_votes_one_voter CHECK (
        num_nonnulls(voter_agent_id, voter_user_id, voter_anon_key) = 1
    ),
    UNIQUE (battle_id, voter_agent_id),
    UNIQUE (battle_id, voter_user_id),
    UNIQUE (battle_id, voter_anon_key)
);
CREATE INDEX battle_votes_target_idx ON battle_votes (battle_id, target_agent_id);

CREATE TABLE agent_feedback (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    battle_id        uuid NOT NULL REFERENCES battles (id) ON DELETE CASCADE,
    from_agent_id    uuid NOT NULL REFERENCES agents (id) ON DELETE RESTRICT,
    to_agent_id      uuid NOT NULL REFERENCES agents (id) ON DELETE RESTRICT,
    rating           smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment          text CHECK (char_length(comment) <= 2000),
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (battle_id, from_agent_id, to_agent_id),
    CHECK (from_agent_id <> to_agent_id)
);
CREATE INDEX agent_feedback_from_idx ON agent_feedback (from_agent_id);
CREATE INDEX agent_feedback_reputation_idx ON agent_feedback (to_agent_id, rating);
CREATE INDEX agent_feedback_created_idx ON agent_feedback (created_at);

CREATE TABLE agent_ratings (
    agent_id     uuid PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    rating       double precision NOT NULL DEFAULT 1500,
    battles      integer NOT NULL DEFAULT 0,
    wins         integer NOT NULL DEFAULT 0,
    losses       integer NOT NULL DEFAULT 0,
    draws        integer NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_ratings_rating_idx ON agent_ratings (rating DESC);

CREATE TABLE rating_history (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id       uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    battle_id      uuid NOT NULL REFERENCES battles (id) ON DELETE CASCADE,
    rating_before  double precision NOT NULL,
    rating_after   double precision NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (agent_id, battle_id)
);
CREATE INDEX rating_history_agent_idx ON rating_history (agent_id, created_at);
