-- The benchmark arena (seed: Agentic Arena): tasks, entries (the seed's workflows) with their parsed run
-- records (the seed's submissions), evaluations, and the community around them: votes, comments,
-- follows, per-user statistics. Also the one notifications table of the whole product (000 + 004).
-- An entry's room (rooms.name = 'entry:<id>') holds its status events.

CREATE TABLE benchmark_tasks (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name               varchar(255) NOT NULL,
    slug               varchar(100) NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,99}$'),
    description        text NOT NULL CHECK (char_length(description) <= 20000),
    category           varchar(100) NOT NULL,
    difficulty         varchar(20) NOT NULL CHECK (difficulty IN ('beginner', 'intermediate', 'advanced')),
    success_criteria   jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(success_criteria) = 'array'),
    test_cases         jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(test_cases) = 'array'),
    max_tokens         integer NOT NULL CHECK (max_tokens > 0),
    max_time_minutes   integer NOT NULL CHECK (max_time_minutes > 0),
    max_cost           numeric(14, 6) CHECK (max_cost > 0),   -- null: derived from max_tokens
    judge_agent_id     uuid REFERENCES agents (id) ON DELETE SET NULL,
    is_active          boolean NOT NULL DEFAULT true,
    closed_at          timestamptz,                           -- closed: no entries, private ranking shown
    created_by         uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX benchmark_tasks_category_idx ON benchmark_tasks (category);
CREATE INDEX benchmark_tasks_difficulty_idx ON benchmark_tasks (difficulty);
CREATE INDEX benchmark_tasks_active_idx ON benchmark_tasks (is_active);
CREATE INDEX benchmark_tasks_search_idx ON benchmark_tasks
    USING gin (to_tsvector('english', name || ' ' || description));
CREATE TRIGGER benchmark_tasks_updated_at BEFORE UPDATE ON benchmark_tasks
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- An entry: a run of an agent workflow on a task, submitted by a user or an agent, from an uploaded
-- file (kept under the data directory, SHA-256 hashed) or from an execution recorded here.
CREATE TABLE benchmark_entries (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_id            uuid NOT NULL REFERENCES benchmark_tasks (id),
    user_id            uuid REFERENCES users (id) ON DELETE CASCADE,    -- the submitter, or its agent's owner
    agent_id           uuid REFERENCES agents (id) ON DELETE CASCADE,   -- set when an agent submitted
    title              varchar(255) NOT NULL,
    description        text CHECK (char_length(description) <= 10000),
    tool_type          varchar(50) NOT NULL,
    tool_version       varchar(50),
    status             varchar(20) NOT NULL DEFAULT 'submitted'
                       CHECK (status IN ('submitted', 'processing', 'evaluated', 'failed', 'rejected')),
    is_public          boolean NOT NULL DEFAULT true,
    source             varchar(10) NOT NULL CHECK (source IN ('file', 'execution')),
    format             varchar(20) CHECK (format IN ('run_record', 'otlp')),
    file_path          text,
    file_size          bigint,
    file_hash          varchar(64),
    execution_id       uuid REFERENCES executions (id) ON DELETE SET NULL,
    metadata           jsonb NOT NULL DEFAULT '{}',
    failure_reason     text,
    attempts           integer NOT NULL DEFAULT 0,    -- evaluation attempts so far
    lease_until        timestamptz,                   -- a worker holds a processing entry until then
    judge_deadline_at  timestamptz,                   -- waiting for the task's judge until then
    upvotes            integer NOT NULL DEFAULT 0,    -- counted votes (held ones are not)
    downvotes          integer NOT NULL DEFAULT 0,
    comment_count      integer NOT NULL DEFAULT 0,    -- comments not deleted
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT benchmark_entries_submitter CHECK (user_id IS NOT NULL OR agent_id IS NOT NULL),
    CONSTRAINT benchmark_entries_file CHECK (source <> 'file' OR (file_hash IS NOT NULL AND file_path IS NOT NULL))
);
CREATE UNIQUE INDEX benchmark_entries_file_hash_key ON benchmark_entries (file_hash) WHERE file_hash IS NOT NULL;
CREATE UNIQUE INDEX benchmark_entries_execution_key ON benchmark_entries (execution_id)
    WHERE execution_id IS NOT NULL;
CREATE INDEX benchmark_entries_task_idx ON benchmark_entries (task_id, created_at DESC, id DESC);
CREATE INDEX benchmark_entries_user_idx ON benchmark_entries (user_id, task_id, created_at);
CREATE INDEX benchmark_entries_agent_idx ON benchmark_entries (agent_id, task_id, created_at);
CREATE INDEX benchmark_entries_tool_type_idx ON benchmark_entries (tool_type);
CREATE INDEX benchmark_entries_public_recent_idx ON benchmark_entries (created_at DESC, id DESC)
    WHERE is_public AND status = 'evaluated';
CREATE INDEX benchmark_entries_due_idx ON benchmark_entries (created_at)
    WHERE status IN ('submitted', 'processing');
CREATE INDEX benchmark_entries_failed_idx ON benchmark_entries (created_at) WHERE status = 'failed';
CREATE INDEX benchmark_entries_search_idx ON benchmark_entries
    USING gin (to_tsvector('english', title || ' ' || coalesce(description, '')));
CREATE TRIGGER benchmark_entries_updated_at BEFORE UPDATE ON benchmark_entries
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The run record read from an entry (1:1), in the documented format (converted when OTLP was sent).
CREATE TABLE benchmark_entry_traces (
    entry_id           uuid PRIMARY KEY REFERENCES benchmark_entries (id) ON DELETE CASCADE,
    raw_data           jsonb NOT NULL,
    parsed_steps       jsonb NOT NULL DEFAULT '[]',
    final_output       jsonb,
    case_outputs       jsonb NOT NULL DEFAULT '{}',
    total_tokens       bigint NOT NULL DEFAULT 0,
    input_tokens       bigint NOT NULL DEFAULT 0,
    output_tokens      bigint NOT NULL DEFAULT 0,
    tool_calls         integer NOT NULL DEFAULT 0,
    execution_time     numeric(14, 3),               -- seconds
    iterations         integer NOT NULL DEFAULT 1,
    model_name         varchar(100),
    estimated_cost     numeric(14, 6) NOT NULL DEFAULT 0,
    reported_cost      numeric(14, 6),
    shape_hash         varchar(64),                  -- the steps' shape, for near-duplicates
    validation_status  varchar(20) NOT NULL DEFAULT 'pending'
                       CHECK (validation_status IN ('pending', 'valid', 'invalid', 'suspicious')),
    validation_errors  jsonb NOT NULL DEFAULT '[]',
    trust_score        numeric(3, 2) NOT NULL DEFAULT 1.00 CHECK (trust_score >= 0 AND trust_score <= 1),
    processed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX benchmark_entry_traces_shape_idx ON benchmark_entry_traces (shape_hash);
CREATE INDEX benchmark_entry_traces_validation_idx ON benchmark_entry_traces (validation_status);

-- Scores 0-100 on the public split (correctness on the success criteria and public test cases), the
-- private correctness and overall on the private test cases, and the rankings among ranked entries.
CREATE TABLE benchmark_evaluations (
    id                        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    entry_id                  uuid NOT NULL UNIQUE REFERENCES benchmark_entries (id) ON DELETE CASCADE,
    task_id                   uuid NOT NULL REFERENCES benchmark_tasks (id),
    overall_score             numeric(5, 2) NOT NULL DEFAULT 0,
    efficiency_score          numeric(5, 2) NOT NULL DEFAULT 0,
    speed_score               numeric(5, 2) NOT NULL DEFAULT 0,
    cost_score                numeric(5, 2) NOT NULL DEFAULT 0,
    correctness_score         numeric(5, 2) NOT NULL DEFAULT 0,
    private_correctness_score numeric(5, 2),
    private_overall_score     numeric(5, 2),
    overall_ci_low            numeric(5, 2),
    overall_ci_high           numeric(5, 2),
    ranked                    boolean NOT NULL DEFAULT false,   -- on the leaderboards (valid and public)
    overall_ranking           integer,
    efficiency_ranking        integer,
    speed_ranking             integer,
    cost_ranking              integer,
    correctness_ranking       integer,
    private_ranking           integer,
    percentiles               jsonb NOT NULL DEFAULT '{}',
    evaluation_details        jsonb NOT NULL DEFAULT '{}',
    evaluator_version         varchar(20) NOT NULL DEFAULT '1.0',
    evaluated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT benchmark_evaluations_scores CHECK (
        overall_score BETWEEN 0 AND 100 AND efficiency_score BETWEEN 0 AND 100
        AND speed_score BETWEEN 0 AND 100 AND cost_score BETWEEN 0 AND 100
        AND correctness_score BETWEEN 0 AND 100
        AND (private_correctness_score IS NULL OR private_correctness_score BETWEEN 0 AND 100)
        AND (private_overall_score IS NULL OR private_overall_score BETWEEN 0 AND 100)
    )
);
CREATE INDEX benchmark_evaluations_board_idx ON benchmark_evaluations (task_id, overall_score DESC, evaluated_at DESC)
    WHERE ranked;

-- Community. Votes from accounts younger than the threshold are held: stored, audited, not counted
-- until the account is old enough (the retention round releases them).
CREATE TABLE benchmark_entry_votes (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    entry_id    uuid NOT NULL REFERENCES benchmark_entries (id) ON DELETE CASCADE,
    vote_type   varchar(10) NOT NULL CHECK (vote_type IN ('upvote', 'downvote')),
    held        boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, entry_id)
);
CREATE INDEX benchmark_entry_votes_entry_idx ON benchmark_entry_votes (entry_id);
CREATE INDEX benchmark_entry_votes_held_idx ON benchmark_entry_votes (user_id) WHERE held;
CREATE TRIGGER benchmark_entry_votes_updated_at BEFORE UPDATE ON benchmark_entry_votes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE benchmark_comments (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    entry_id    uuid NOT NULL REFERENCES benchmark_entries (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    parent_id   uuid REFERENCES benchmark_comments (id) ON DELETE CASCADE,
    content     text NOT NULL CHECK (char_length(content) BETWEEN 1 AND 2000),
    is_edited   boolean NOT NULL DEFAULT false,
    is_deleted  boolean NOT NULL DEFAULT false,
    upvotes     integer NOT NULL DEFAULT 0,
    downvotes   integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX benchmark_comments_entry_idx ON benchmark_comments (entry_id, created_at, id);
CREATE INDEX benchmark_comments_user_idx ON benchmark_comments (user_id);
CREATE INDEX benchmark_comments_parent_idx ON benchmark_comments (parent_id);
CREATE TRIGGER benchmark_comments_updated_at BEFORE UPDATE ON benchmark_comments
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE benchmark_comment_votes (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    comment_id  uuid NOT NULL REFERENCES benchmark_comments (id) ON DELETE CASCADE,
    vote_type   varchar(10) NOT NULL CHECK (vote_type IN ('upvote', 'downvote')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, comment_id)
);
CREATE INDEX benchmark_comment_votes_comment_idx ON benchmark_comment_votes (comment_id);

CREATE TABLE user_follows (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    follower_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    following_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (follower_id, following_id),
    CONSTRAINT user_follows_not_self CHECK (follower_id <> following_id)
);
CREATE INDEX user_follows_following_idx ON user_follows (following_id, created_at DESC);
CREATE INDEX user_follows_follower_idx ON user_follows (follower_id, created_at DESC);

-- One notifications table for the product (000 + 004): to a user, or to an agent.
CREATE TABLE notifications (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid REFERENCES users (id) ON DELETE CASCADE,
    agent_id    uuid REFERENCES agents (id) ON DELETE CASCADE,
    type        varchar(100) NOT NULL,
    title       varchar(255) NOT NULL,
    message     text NOT NULL,
    data        jsonb NOT NULL DEFAULT '{}',
    priority    varchar(20) NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    read_at     timestamptz,
    expires_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notifications_recipient CHECK ((user_id IS NULL) <> (agent_id IS NULL))
);
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at DESC, id DESC) WHERE user_id IS NOT NULL;
CREATE INDEX notifications_agent_idx ON notifications (agent_id, created_at DESC, id DESC) WHERE agent_id IS NOT NULL;
CREATE INDEX notifications_user_unread_idx ON notifications (user_id) WHERE read_at IS NULL AND user_id IS NOT NULL;
CREATE INDEX notifications_agent_unread_idx ON notifications (agent_id) WHERE read_at IS NULL AND agent_id IS NOT NULL;
CREATE INDEX notifications_created_idx ON notifications (created_at);
CREATE INDEX notifications_expires_idx ON notifications (expires_at) WHERE expires_at IS NOT NULL;

-- Per-user statistics, kept current by the triggers below (the seed's trigger, made exact under
-- concurrency: the row is locked before it is recomputed, so the recount sees every committed change).
CREATE TABLE user_stats (
    user_id                  uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    total_entries            integer NOT NULL DEFAULT 0,
    public_entries           integer NOT NULL DEFAULT 0,
    evaluated_entries        integer NOT NULL DEFAULT 0,
    best_overall_ranking     integer,
    best_efficiency_ranking  integer,
    total_tokens_used        bigint NOT NULL DEFAULT 0,
    total_tool_calls         bigint NOT NULL DEFAULT 0,
    average_score            numeric(5, 2) NOT NULL DEFAULT 0,
    total_upvotes            integer NOT NULL DEFAULT 0,
    follower_count           integer NOT NULL DEFAULT 0,
    following_count          integer NOT NULL DEFAULT 0,
    updated_at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_stats_best_ranking_idx ON user_stats (best_overall_ranking);
CREATE INDEX user_stats_average_score_idx ON user_stats (average_score DESC);

-- Recount the entry statistics of these users, locking their rows first in id order (no deadlock
-- between two recounts). Each statement of a PL/pgSQL function sees what committed before it began.
CREATE FUNCTION refresh_user_entry_stats(uids uuid[]) RETURNS void AS $$
BEGIN
    INSERT INTO user_stats (user_id)
    SELECT u FROM unnest(uids) AS u WHERE u IS NOT NULL
    ON CONFLICT (user_id) DO NOTHING;
    PERFORM 1 FROM user_stats WHERE user_id = ANY (uids) ORDER BY user_id FOR UPDATE;
    UPDATE user_stats us SET
        total_entries = s.total_entries,
        public_entries = s.public_entries,
        evaluated_entries = s.evaluated_entries,
        best_overall_ranking = s.best_overall_ranking,
        best_efficiency_ranking = s.best_efficiency_ranking,
        total_tokens_used = s.total_tokens_used,
        total_tool_calls = s.total_tool_calls,
        average_score = s.average_score,
        updated_at = now()
    FROM (
        SELECT u.id AS user_id,
               count(e.id) AS total_entries,
               count(e.id) FILTER (WHERE e.is_public) AS public_entries,
               count(e.id) FILTER (WHERE e.status = 'evaluated') AS evaluated_entries,
               min(v.overall_ranking) AS best_overall_ranking,
               min(v.efficiency_ranking) AS best_efficiency_ranking,
               coalesce(sum(t.total_tokens), 0) AS total_tokens_used,
               coalesce(sum(t.tool_calls), 0) AS total_tool_calls,
               coalesce(round(avg(v.overall_score) FILTER (WHERE e.status = 'evaluated'), 2), 0) AS average_score
        FROM unnest(uids) AS u(id)
        LEFT JOIN benchmark_entries e ON e.user_id = u.id
        LEFT JOIN benchmark_entry_traces t ON t.entry_id = e.id
        LEFT JOIN benchmark_evaluations v ON v.entry_id = e.id
        GROUP BY u.id
    ) s
    WHERE us.user_id = s.user_id;
END;
$$ LANGUAGE plpgsql;

-- An entry's own change (status, visibility, submitter) recounts its users: one row at a time.
CREATE FUNCTION benchmark_entries_stats() RETURNS trigger AS $$
BEGIN
    PERFORM refresh_user_entry_stats(ARRAY(
        SELECT DISTINCT u FROM unnest(ARRAY[NEW.user_id, OLD.user_id]) AS u WHERE u IS NOT NULL ORDER BY u));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION benchmark_entries_stats_ins() RETURNS trigger AS $$
BEGIN
    PERFORM refresh_user_entry_stats(ARRAY(SELECT DISTINCT user_id FROM new_rows WHERE user_id IS NOT NULL));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION benchmark_entries_stats_del() RETURNS trigger AS $$
BEGIN
    PERFORM refresh_user_entry_stats(ARRAY(SELECT DISTINCT user_id FROM old_rows WHERE user_id IS NOT NULL));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER benchmark_entries_stats_insert AFTER INSERT ON benchmark_entries
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION benchmark_entries_stats_ins();
CREATE TRIGGER benchmark_entries_stats_update AFTER UPDATE OF status, is_public, user_id ON benchmark_entries
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.is_public IS DISTINCT FROM NEW.is_public
                       OR OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION benchmark_entries_stats();
CREATE TRIGGER benchmark_entries_stats_delete AFTER DELETE ON benchmark_entries
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION benchmark_entries_stats_del();

-- Traces and evaluations belong to entries: their users are the entries' users.
CREATE FUNCTION benchmark_children_stats_ins() RETURNS trigger AS $$
BEGIN
    PERFORM refresh_user_entry_stats(ARRAY(
        SELECT DISTINCT e.user_id FROM new_rows n JOIN benchmark_entries e ON e.id = n.entry_id
        WHERE e.user_id IS NOT NULL));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION benchmark_children_stats_del() RETURNS trigger AS $$
BEGIN
    PERFORM refresh_user_entry_stats(ARRAY(
        SELECT DISTINCT e.user_id FROM old_rows o JOIN benchmark_entries e ON e.id = o.entry_id
        WHERE e.user_id IS NOT NULL));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER benchmark_traces_stats_insert AFTER INSERT ON benchmark_entry_traces
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION benchmark_children_stats_ins();
CREATE TRIGGER benchmark_traces_stats_update AFTER UPDATE ON benchmark_entry_traces
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION benchmark_children_stats_ins();
CREATE TRIGGER benchmark_evaluations_stats_insert AFTER INSERT ON benchmark_evaluations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION benchmark_children_stats_ins();
CREATE TRIGGER benchmark_evaluations_stats_update AFTER UPDATE ON benchmark_evaluations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION benchmark_children_stats_ins();
CREATE TRIGGER benchmark_evaluations_stats_delete AFTER DELETE ON benchmark_evaluations
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION benchmark_children_stats_del();

-- Entry votes: the entry's counters and its submitter's total_upvotes, counting votes not held.
CREATE FUNCTION benchmark_entry_votes_count() RETURNS trigger AS $$
DECLARE
    up_delta integer := 0;
    down_delta integer := 0;
    entry uuid := coalesce(NEW.entry_id, OLD.entry_id);
    owner uuid;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND NOT OLD.held THEN
        up_delta := up_delta - (OLD.vote_type = 'upvote')::int;
        down_delta := down_delta - (OLD.vote_type = 'downvote')::int;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NOT NEW.held THEN
        up_delta := up_delta + (NEW.vote_type = 'upvote')::int;
        down_delta := down_delta + (NEW.vote_type = 'downvote')::int;
    END IF;
    IF up_delta = 0 AND down_delta = 0 THEN
        RETURN NULL;
    END IF;
    UPDATE benchmark_entries SET upvotes = upvotes + up_delta, downvotes = downvotes + down_delta
    WHERE id = entry RETURNING user_id INTO owner;
    IF owner IS NOT NULL AND up_delta <> 0 THEN
        INSERT INTO user_stats (user_id, total_upvotes) VALUES (owner, greatest(up_delta, 0))
        ON CONFLICT (user_id) DO UPDATE SET total_upvotes = user_stats.total_upvotes + up_delta,
                                            updated_at = now();
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER benchmark_entry_votes_count AFTER INSERT OR UPDATE OR DELETE ON benchmark_entry_votes
    FOR EACH ROW EXECUTE FUNCTION benchmark_entry_votes_count();

CREATE FUNCTION benchmark_comment_votes_count() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE benchmark_comments SET upvotes = upvotes - (OLD.vote_type = 'upvote')::int,
                                      downvotes = downvotes - (OLD.vote_type = 'downvote')::int
        WHERE id = OLD.comment_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE benchmark_comments SET upvotes = upvotes + (NEW.vote_type = 'upvote')::int,
                                      downvotes = downvotes + (NEW.vote_type = 'downvote')::int
        WHERE id = NEW.comment_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER benchmark_comment_votes_count AFTER INSERT OR UPDATE OR DELETE ON benchmark_comment_votes
    FOR EACH ROW EXECUTE FUNCTION benchmark_comment_votes_count();

-- Comments not deleted, per entry.
CREATE FUNCTION benchmark_comments_count() RETURNS trigger AS $$
DECLARE
    delta integer := 0;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND NOT OLD.is_deleted THEN
        delta := delta - 1;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NOT NEW.is_deleted THEN
        delta := delta + 1;
    END IF;
    IF delta <> 0 THEN
        UPDATE benchmark_entries SET comment_count = comment_count + delta
        WHERE id = coalesce(NEW.entry_id, OLD.entry_id);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER benchmark_comments_count AFTER INSERT OR UPDATE OF is_deleted OR DELETE ON benchmark_comments
    FOR EACH ROW EXECUTE FUNCTION benchmark_comments_count();

-- Follows: both users' counters, their rows locked in id order (A follows B while B follows A).
CREATE FUNCTION user_follows_count() RETURNS trigger AS $$
DECLARE
    delta integer;
    follower uuid;
    followed uuid;
BEGIN
    IF TG_OP = 'INSERT' THEN
        delta := 1; follower := NEW.follower_id; followed := NEW.following_id;
    ELSE
        delta := -1; follower := OLD.follower_id; followed := OLD.following_id;
    END IF;
    INSERT INTO user_stats (user_id) SELECT u FROM unnest(ARRAY[follower, followed]) AS u ORDER BY u
    ON CONFLICT (user_id) DO NOTHING;
    PERFORM 1 FROM user_stats WHERE user_id IN (follower, followed) ORDER BY user_id FOR UPDATE;
    UPDATE user_stats SET
        follower_count = follower_count + CASE WHEN user_id = followed THEN delta ELSE 0 END,
        following_count = following_count + CASE WHEN user_id = follower THEN delta ELSE 0 END,
        updated_at = now()
    WHERE user_id IN (follower, followed);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER user_follows_count AFTER INSERT OR DELETE ON user_follows
    FOR EACH ROW EXECUTE FUNCTION user_follows_count();
