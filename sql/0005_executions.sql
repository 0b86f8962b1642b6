-- Executions (seeds: MRWA executions, execution_logs, artifacts; Echelon workflow_executions and
-- agent_thoughts): an executor agent reports a run of a workflow; anyone allowed watches it live.
--
-- An execution's room (rooms.name = 'execution:<id>') holds its seq. Status, step, thought and
-- artifact events are room_events; log lines live only in execution_logs, each with its seq from the
-- same counter (a batch takes its range in one UPDATE of rooms.last_seq).

CREATE TABLE executions (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id             uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,    -- the executor
    user_id              uuid REFERENCES users (id) ON DELETE SET NULL,             -- its owner
    workflow_id          uuid,               -- a workflow definition's run (issue 14 adds the table)
    trace_id             varchar(32),        -- set when the run came in as an OpenTelemetry trace
    input_type           varchar(50) NOT NULL,
    input_value          text NOT NULL CHECK (char_length(input_value) <= 100000),
    input_file_path      text,               -- under the data directory, relative
    input_file_size      bigint,
    input_file_mime      varchar(100),
    status               varchar(20) NOT NULL DEFAULT 'planned'
                         CHECK (status IN ('planned', 'running', 'validating', 'correcting', 'completed',
                                           'failed', 'cancelled')),
    is_public            boolean NOT NULL DEFAULT false,
    current_step         varchar(100),
    total_steps          integer NOT NULL DEFAULT 0,
    corrections_applied  integer NOT NULL DEFAULT 0,
    metadata             jsonb NOT NULL DEFAULT '{}',
    error_message        text CHECK (char_length(error_message) <= 10000),
    cancel_requested_at  timestamptz,
    cancel_deadline_at   timestamptz,
    cancel_reason        text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    started_at           timestamptz,
    completed_at         timestamptz
);
CREATE INDEX executions_user_status_idx ON executions (user_id, status);
CREATE INDEX executions_agent_created_idx ON executions (agent_id, created_at DESC, id DESC);
CREATE INDEX executions_created_idx ON executions (created_at DESC, id DESC);
CREATE INDEX executions_public_created_idx ON executions (created_at DESC, id DESC) WHERE is_public;
CREATE INDEX executions_active_idx ON executions (started_at)
    WHERE status IN ('running', 'validating', 'correcting');
CREATE INDEX executions_cancel_due_idx ON executions (cancel_deadline_at)
    WHERE cancel_deadline_at IS NOT NULL AND status NOT IN ('completed', 'failed', 'cancelled');
CREATE INDEX executions_completed_idx ON executions (status, completed_at)
    WHERE status IN ('completed', 'failed', 'cancelled');
CREATE UNIQUE INDEX executions_trace_idx ON executions (agent_id, trace_id) WHERE trace_id IS NOT NULL;
CREATE TRIGGER executions_updated_at BEFORE UPDATE ON executions FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The plan's steps, one row each, so a step changes live without rewriting the plan.
CREATE TABLE execution_steps (
    execution_id  uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    step_id       varchar(100) NOT NULL,
    position      integer NOT NULL,
    name          varchar(200) NOT NULL,
    description   text CHECK (char_length(description) <= 4000),
    status        varchar(20) NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'running', 'validating', 'correcting', 'completed', 'failed',
                                    'skipped')),
    output        text CHECK (char_length(output) <= 100000),
    attempts      integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    duration_ms   bigint CHECK (duration_ms >= 0),
    started_at    timestamptz,
    completed_at  timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (execution_id, step_id),
    UNIQUE (execution_id, position)
);

-- Log lines: the execution's high-volume event log. level: 10 debug, 20 info, 30 warning, 40 error,
-- 50 critical (a number, so "at least warning" is one comparison).
CREATE TABLE execution_logs (
    execution_id  uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    seq           bigint NOT NULL,
    level         smallint NOT NULL CHECK (level IN (10, 20, 30, 40, 50)),
    message       text NOT NULL,
    metadata      jsonb,
    step_id       varchar(100),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (execution_id, seq)
);
CREATE INDEX execution_logs_created_idx ON execution_logs (created_at);
-- A watcher at warning or error reads only those lines: without these, it would scan the whole log.
CREATE INDEX execution_logs_warning_idx ON execution_logs (execution_id, seq) WHERE level >= 30;
CREATE INDEX execution_logs_error_idx ON execution_logs (execution_id, seq) WHERE level >= 40;

-- A batch sent with an idempotency key is stored once: a retry finds its range here.
CREATE TABLE execution_log_batches (
    execution_id     uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    idempotency_key  varchar(100) NOT NULL,
    from_seq         bigint NOT NULL,
    to_seq           bigint NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (execution_id, idempotency_key)
);

-- The reasoning tree of a run (Echelon's agent_thoughts, on our executions).
CREATE TABLE agent_thoughts (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    execution_id        uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    agent_id            uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    node_id             varchar(100) NOT NULL,
    parent_node_id      varchar(100),
    node_type           varchar(20) NOT NULL CHECK (node_type IN ('input', 'processing', 'action', 'output')),
    content             text NOT NULL CHECK (char_length(content) <= 20000),
    metadata            jsonb NOT NULL DEFAULT '{}',
    confidence_score    numeric(3, 2) CHECK (confidence_score BETWEEN 0 AND 1),
    processing_time_ms  integer CHECK (processing_time_ms >= 0),
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (execution_id, node_id)
);
CREATE INDEX agent_thoughts_agent_idx ON agent_thoughts (agent_id);
CREATE INDEX agent_thoughts_created_idx ON agent_thoughts (created_at);

CREATE TABLE execution_artifacts (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    execution_id     uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    type             varchar(20) NOT NULL
                     CHECK (type IN ('summary', 'analysis', 'documentation', 'visualization', 'data_export')),
    name             varchar(255) NOT NULL,
    data             jsonb,
    file_path        text,               -- under the data directory, relative
    file_size_bytes  bigint CHECK (file_size_bytes >= 0),
    mime_type        varchar(100),       -- sniffed from the bytes, never taken from the client
    sha256           varchar(64),
    verified         boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT execution_artifacts_content CHECK (num_nonnulls(data, file_path) = 1)
);
CREATE INDEX execution_artifacts_execution_idx ON execution_artifacts (execution_id, created_at);
CREATE INDEX execution_artifacts_type_idx ON execution_artifacts (type);
