-- The operations console (seed: Echelon AI Agents). Teams with roles, agents run as a fleet, their
-- deployments, workflows, metrics, API usage and budgets.
--
-- Isolation between teams is the database's: every team-scoped table below has row-level security.
-- A request acts in a transaction that switches to the role arena_scoped and names the acting user
-- or agent (arena.user_id / arena.agent_id, transaction-local). The policies then show that actor
-- only its own and its teams' rows, whatever the Python forgot to check. Work the server does for
-- itself (sweeps, the usage writer, triggers) runs as the owner, which row security does not bind.

DO $$
BEGIN
    CREATE ROLE arena_scoped NOLOGIN;
EXCEPTION WHEN duplicate_object THEN
    NULL;  -- roles belong to the cluster: another database of it made it already
END
$$;
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT arena_scoped TO %I', current_user);  -- so SET ROLE is allowed
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO arena_scoped;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO arena_scoped;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO arena_scoped;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO arena_scoped;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO arena_scoped;

-- Who is acting in this transaction (NULL outside a scoped one).
CREATE FUNCTION arena_acting_user() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('arena.user_id', true), '')::uuid
$$;
CREATE FUNCTION arena_acting_agent() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('arena.agent_id', true), '')::uuid
$$;

-- Teams (004 teams) and their members with a role each (004 user_roles, always of a team here).
CREATE TABLE teams (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        varchar(255) NOT NULL CHECK (char_length(name) >= 1),
    slug        varchar(100) NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$'),
    plan        varchar(50) NOT NULL DEFAULT 'starter',
    created_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER teams_updated_at BEFORE UPDATE ON teams FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE team_members (
    team_id     uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        varchar(20) NOT NULL CHECK (role IN ('admin', 'agent_manager', 'viewer')),
    granted_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    granted_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_idx ON team_members (user_id);

-- An agent's operations side (004 agents' ops columns), one row per agent, made with the agent.
CREATE TABLE agent_ops (
    agent_id           uuid PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    team_id            uuid REFERENCES teams (id) ON DELETE SET NULL,
    type               varchar(100) NOT NULL DEFAULT 'general' CHECK (type ~ '^[a-z0-9_-]{1,100}$'),
    status             varchar(20) NOT NULL DEFAULT 'inactive'
                       CHECK (status IN ('active', 'paused', 'error', 'inactive')),
    config             jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(config) = 'object'),
    deployment_config  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(deployment_config) = 'object'),
    deployed_version   integer,
    last_version       integer NOT NULL DEFAULT 0,   -- the newest deployment's number
    last_activity      timestamptz,
    status_changed_at  timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_ops_team_idx ON agent_ops (team_id, status) WHERE team_id IS NOT NULL;
CREATE TRIGGER agent_ops_updated_at BEFORE UPDATE ON agent_ops FOR EACH ROW EXECUTE FUNCTION set_updated_at();
INSERT INTO agent_ops (agent_id) SELECT id FROM agents;

CREATE FUNCTION agent_ops_create() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    INSERT INTO agent_ops (agent_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NEW;
END
$$;
CREATE TRIGGER agents_ops_row AFTER INSERT ON agents FOR EACH ROW EXECUTE FUNCTION agent_ops_create();

-- What the acting user may do, read past row security (SECURITY DEFINER: a policy that read
-- team_members through its own policy would recurse).
CREATE FUNCTION arena_team_role(team uuid) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT role FROM team_members WHERE team_id = team AND user_id = arena_acting_user()
$$;
-- A new team's creator adds the first admin: itself.
CREATE FUNCTION arena_team_bootstrap(team uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT EXISTS (SELECT 1 FROM teams t WHERE t.id = team AND t.created_by = arena_acting_user())
       AND NOT EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = team)
$$;
-- The agents the actor sees: an agent itself; a user's own agents and its teams' agents.
CREATE FUNCTION arena_agents_seen() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT arena_acting_agent() WHERE arena_acting_agent() IS NOT NULL
    UNION ALL
    SELECT id FROM agents WHERE owner_id = arena_acting_user()
    UNION ALL
    SELECT o.agent_id FROM agent_ops o JOIN team_members m ON m.team_id = o.team_id
    WHERE m.user_id = arena_acting_user()
$$;
-- The agents the acting person may steer: their own, and their teams' agents where they are an
-- admin or agent manager (a viewer only looks). An agent steers nothing, not even itself: it only
-- answers its deployments and reports its metrics (the *_self policies below).
CREATE FUNCTION arena_agents_managed() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT id FROM agents WHERE owner_id = arena_acting_user()
    UNION ALL
    SELECT o.agent_id FROM agent_ops o JOIN team_members m ON m.team_id = o.team_id
    WHERE m.user_id = arena_acting_user() AND m.role IN ('admin', 'agent_manager')
$$;

-- The team an agent is in as the statement found it (a policy's check compares the new row with it).
CREATE FUNCTION arena_agent_team(agent uuid) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT team_id FROM agent_ops WHERE agent_id = agent
$$;

-- Agent templates (004): type and default config are part of an agent template's data
-- (template_data.type, template_data.default_config); see docs/data-model.md.

-- Deployments (004): numbered versions of an agent's config. pending (scheduled, or waiting) ->
-- deploying (pushed to the agent's sockets, deadline_at set) -> deployed (acknowledged) | failed
-- (refused, or no answer by the deadline) | stopped (superseded, cancelled, or replaced as current).
CREATE TABLE deployments (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id           uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    version            integer NOT NULL CHECK (version >= 1),
    status             varchar(20) NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'deploying', 'deployed', 'failed', 'stopped')),
    trigger_type       varchar(20) NOT NULL DEFAULT 'manual'
                       CHECK (trigger_type IN ('manual', 'config_change', 'scheduled')),
    trigger_config     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(trigger_config) = 'object'),
    config             jsonb NOT NULL CHECK (jsonb_typeof(config) = 'object'),
    deployment_config  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(deployment_config) = 'object'),
    rollback_of        uuid REFERENCES deployments (id) ON DELETE SET NULL,
    deployment_url     text,
    error_message      text CHECK (char_length(error_message) <= 2000),
    scheduled_at       timestamptz,
    deadline_at        timestamptz,
    deploying_at       timestamptz,
    deployed_at        timestamptz,
    stopped_at         timestamptz,
    created_by         uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (agent_id, version)
);
CREATE INDEX deployments_agent_idx ON deployments (agent_id, created_at DESC, id DESC);
CREATE INDEX deployments_due_idx ON deployments (scheduled_at) WHERE status = 'pending';
CREATE INDEX deployments_deadline_idx ON deployments (deadline_at) WHERE status = 'deploying';

-- Workflows (004): definitions owned by an agent; their runs are executions (executions.workflow_id).
-- The counters are kept by the trigger on executions below, so they are exact.
CREATE TABLE workflows (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id         uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    name             varchar(255) NOT NULL CHECK (char_length(name) >= 1),
    description      text CHECK (char_length(description) <= 5000),
    trigger_config   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(trigger_config) = 'object'),
    input            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(input) = 'object'),
    status           varchar(20) NOT NULL DEFAULT 'inactive'
                     CHECK (status IN ('active', 'paused', 'error', 'inactive')),
    last_execution   timestamptz,
    next_execution   timestamptz,
    execution_count  integer NOT NULL DEFAULT 0,
    success_count    integer NOT NULL DEFAULT 0,
    error_count      integer NOT NULL DEFAULT 0,
    created_by       uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflows_agent_idx ON workflows (agent_id, created_at DESC, id DESC);
CREATE INDEX workflows_due_idx ON workflows (next_execution) WHERE status = 'active' AND next_execution IS NOT NULL;
CREATE TRIGGER workflows_updated_at BEFORE UPDATE ON workflows FOR EACH ROW EXECUTE FUNCTION set_updated_at();

UPDATE executions SET workflow_id = NULL WHERE workflow_id IS NOT NULL;
ALTER TABLE executions ADD CONSTRAINT executions_workflow_fk
    FOREIGN KEY (workflow_id) REFERENCES workflows (id) ON DELETE SET NULL;
CREATE INDEX executions_workflow_idx ON executions (workflow_id, created_at DESC) WHERE workflow_id IS NOT NULL;

CREATE FUNCTION workflow_count_run() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE workflows SET execution_count = execution_count + 1,
                             last_execution = greatest(last_execution, NEW.created_at)
        WHERE id = NEW.workflow_id;
    ELSIF OLD.status NOT IN ('completed', 'failed', 'cancelled') THEN
        IF NEW.status = 'completed' THEN
            UPDATE workflows SET success_count = success_count + 1 WHERE id = NEW.workflow_id;
        ELSIF NEW.status IN ('failed', 'cancelled') THEN
            UPDATE workflows SET error_count = error_count + 1 WHERE id = NEW.workflow_id;
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER executions_workflow_run AFTER INSERT ON executions
    FOR EACH ROW WHEN (NEW.workflow_id IS NOT NULL) EXECUTE FUNCTION workflow_count_run();
CREATE TRIGGER executions_workflow_end AFTER UPDATE OF status ON executions
    FOR EACH ROW WHEN (NEW.workflow_id IS NOT NULL AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION workflow_count_run();

-- Metrics (004 agent_metrics): a time series per agent and type, reported by the agent or derived by
-- the arena from what it records (source).
CREATE TABLE agent_metrics (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent_id     uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    metric_type  varchar(100) NOT NULL CHECK (metric_type ~ '^[a-z0-9_.]{1,100}$'),
    value        double precision NOT NULL,
    unit         varchar(50),
    source       varchar(20) NOT NULL DEFAULT 'reported'
                 CHECK (source IN ('reported', 'battle', 'execution', 'benchmark')),
    metadata     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_metrics_series_idx ON agent_metrics (agent_id, metric_type, recorded_at);
CREATE INDEX agent_metrics_recorded_idx ON agent_metrics USING brin (recorded_at);

-- Derived: a battle turn's latency, a timeout, its tokens and cost.
CREATE FUNCTION metrics_from_turn() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    INSERT INTO agent_metrics (agent_id, metric_type, value, unit, source, metadata, recorded_at)
    SELECT NEW.agent_id, m.t, m.v, m.u, 'battle', jsonb_build_object('battle_id', NEW.battle_id,
           'turn_number', NEW.turn_number), NEW.created_at
    FROM (VALUES ('response_time', NEW.duration_ms::double precision, 'ms'),
                 ('timeout', CASE WHEN NEW.timed_out THEN 1 END, 'count'),
                 ('tokens', NEW.tokens::double precision, 'tokens'),
                 ('cost', NEW.cost::double precision, 'usd')) AS m (t, v, u)
    WHERE m.v IS NOT NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER battle_turns_metrics AFTER INSERT ON battle_turns FOR EACH ROW EXECUTE FUNCTION metrics_from_turn();

-- Derived: how long an execution's step took, and whether it failed.
CREATE FUNCTION metrics_from_step() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    INSERT INTO agent_metrics (agent_id, metric_type, value, unit, source, metadata)
    SELECT e.agent_id, m.t, m.v, m.u, 'execution',
           jsonb_build_object('execution_id', NEW.execution_id, 'step_id', NEW.step_id)
    FROM executions e,
         LATERAL (VALUES ('step_duration', NEW.duration_ms::double precision, 'ms'),
                         ('step_success', CASE NEW.status WHEN 'completed' THEN 1 ELSE 0 END, 'ratio'))
             AS m (t, v, u)
    WHERE e.id = NEW.execution_id AND m.v IS NOT NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER execution_steps_metrics AFTER UPDATE OF status ON execution_steps
    FOR EACH ROW WHEN (NEW.status IN ('completed', 'failed') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION metrics_from_step();

-- Derived: an execution's outcome (success_rate averages these).
CREATE FUNCTION metrics_from_execution() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    INSERT INTO agent_metrics (agent_id, metric_type, value, unit, source, metadata)
    VALUES (NEW.agent_id, 'success_rate', CASE NEW.status WHEN 'completed' THEN 1 ELSE 0 END, 'ratio',
            'execution', jsonb_build_object('execution_id', NEW.id, 'status', NEW.status));
    IF NEW.started_at IS NOT NULL AND NEW.completed_at IS NOT NULL THEN
        INSERT INTO agent_metrics (agent_id, metric_type, value, unit, source, metadata)
        VALUES (NEW.agent_id, 'execution_time', extract(epoch FROM NEW.completed_at - NEW.started_at) * 1000,
                'ms', 'execution', jsonb_build_object('execution_id', NEW.id));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER executions_metrics AFTER UPDATE OF status ON executions
    FOR EACH ROW WHEN (NEW.status IN ('completed', 'failed', 'cancelled')
                       AND OLD.status NOT IN ('completed', 'failed', 'cancelled'))
    EXECUTE FUNCTION metrics_from_execution();

-- Derived: a benchmark entry's scores, for the agent that ran it.
CREATE FUNCTION metrics_from_evaluation() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    INSERT INTO agent_metrics (agent_id, metric_type, value, unit, source, metadata)
    SELECT be.agent_id, m.t, m.v, 'score', 'benchmark',
           jsonb_build_object('entry_id', NEW.entry_id, 'task_id', NEW.task_id)
    FROM benchmark_entries be,
         LATERAL (VALUES ('accuracy', NEW.correctness_score::double precision),
                         ('benchmark_score', NEW.overall_score::double precision)) AS m (t, v)
    WHERE be.id = NEW.entry_id AND be.agent_id IS NOT NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER benchmark_evaluations_metrics AFTER INSERT OR UPDATE OF overall_score ON benchmark_evaluations
    FOR EACH ROW EXECUTE FUNCTION metrics_from_evaluation();

-- API usage (004 api_usage): one row per REST call and socket event, written in batches by COPY. No
-- foreign keys: a batch must never be refused because a user or agent went away meanwhile.
CREATE TABLE api_usage (
    id                bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    user_id           uuid,
    agent_id          uuid,
    endpoint          varchar(255) NOT NULL,
    method            varchar(10) NOT NULL,
    status_code       integer NOT NULL,
    response_time_ms  integer,
    cost_usd          numeric(12, 6),
    created_at        timestamptz NOT NULL
);
CREATE INDEX api_usage_agent_idx ON api_usage (agent_id, created_at) WHERE agent_id IS NOT NULL;
CREATE INDEX api_usage_user_idx ON api_usage (user_id, created_at) WHERE user_id IS NOT NULL;
CREATE INDEX api_usage_created_idx ON api_usage USING brin (created_at);

-- Budgets of an agent or a team: tokens, cost or calls per day, week or month. warn_at: the shares
-- of the limit at which the owners hear of it; at the limit the agent's new battles and executions
-- are refused. budget_periods keeps what each period used, exactly (increments under the row lock).
CREATE TABLE budgets (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id     uuid REFERENCES agents (id) ON DELETE CASCADE,
    team_id      uuid REFERENCES teams (id) ON DELETE CASCADE,
    metric       varchar(10) NOT NULL CHECK (metric IN ('tokens', 'cost', 'calls')),
    period       varchar(10) NOT NULL CHECK (period IN ('day', 'week', 'month')),
    limit_value  numeric(18, 6) NOT NULL CHECK (limit_value > 0),
    warn_at      numeric(4, 3)[] NOT NULL DEFAULT '{0.8}',
    created_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT budgets_subject CHECK ((agent_id IS NULL) <> (team_id IS NULL)),
    UNIQUE (agent_id, metric, period),
    UNIQUE (team_id, metric, period)
);
CREATE INDEX budgets_team_idx ON budgets (team_id) WHERE team_id IS NOT NULL;
CREATE TRIGGER budgets_updated_at BEFORE UPDATE ON budgets FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE budget_periods (
    budget_id     uuid NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
    period_start  timestamptz NOT NULL,
    used          numeric NOT NULL DEFAULT 0,
    announced     numeric(4, 3) NOT NULL DEFAULT 0,   -- the highest warning share already told
    reported      double precision NOT NULL DEFAULT 0,  -- the share last shown in the team's room
    check_due     boolean NOT NULL DEFAULT false,     -- used changed since the announcer looked
    exhausted_at  timestamptz,
    PRIMARY KEY (budget_id, period_start)
);
CREATE INDEX budget_periods_due_idx ON budget_periods (budget_id) WHERE check_due;

-- A budget's current period, in UTC whatever the session's time zone: its start and its end.
CREATE FUNCTION arena_period_start(period text) RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT date_trunc(period, now(), 'UTC')
$$;
CREATE FUNCTION arena_period_end(period text) RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT (date_trunc(period, now(), 'UTC') AT TIME ZONE 'UTC' + ('1 ' || period)::interval) AT TIME ZONE 'UTC'
$$;

-- Charge what agents used to their budgets and their teams' budgets, in the current period of each.
CREATE FUNCTION budget_charge(metric_name text, agents uuid[], amounts numeric[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
    INSERT INTO budget_periods AS p (budget_id, period_start, used, check_due, exhausted_at)
    SELECT b.id, arena_period_start(b.period), sum(c.amount), true,
           CASE WHEN sum(c.amount) >= b.limit_value THEN now() END
    FROM (SELECT a, sum(x) AS amount FROM unnest(agents, amounts) AS u (a, x)
          WHERE a IS NOT NULL GROUP BY a) c
    JOIN agent_ops o ON o.agent_id = c.a
    JOIN budgets b ON b.metric = metric_name AND (b.agent_id = c.a OR b.team_id = o.team_id)
    GROUP BY b.id
    ORDER BY b.id
    ON CONFLICT (budget_id, period_start) DO UPDATE SET
        used = p.used + EXCLUDED.used,
        check_due = true,
        exhausted_at = coalesce(p.exhausted_at, CASE WHEN p.used + EXCLUDED.used >= (
            SELECT limit_value FROM budgets WHERE id = p.budget_id) THEN now() END)
$$;

-- What stops an agent's new battles and executions: it is paused, or a budget of its own or of its
-- team is used up in the current period (judged against the limit as it is now). SECURITY DEFINER:
-- a request bound to a person who is not in the agent's team must still be stopped by the team's.
CREATE FUNCTION arena_gate(agent uuid)
RETURNS TABLE (status varchar, id uuid, team_id uuid, metric varchar, period varchar, limit_value float8,
               used float8, resets_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT o.status, x.id, x.team_id, x.metric, x.period, x.limit_value, x.used, x.resets_at
    FROM agent_ops o
    LEFT JOIN LATERAL (
        SELECT b.id, b.team_id, b.metric, b.period, b.limit_value::float8, p.used::float8,
               arena_period_end(b.period) AS resets_at
        FROM budgets b
        JOIN budget_periods p ON p.budget_id = b.id AND p.period_start = arena_period_start(b.period)
        WHERE (b.agent_id = o.agent_id OR b.team_id = o.team_id) AND p.used >= b.limit_value
        ORDER BY b.id
        LIMIT 1
    ) x ON true
    WHERE o.agent_id = agent
$$;

CREATE FUNCTION budget_charge_usage() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    PERFORM budget_charge('calls', array_agg(agent_id), array_agg(1::numeric))
    FROM fresh WHERE agent_id IS NOT NULL;
    PERFORM budget_charge('cost', array_agg(agent_id), array_agg(cost_usd))
    FROM fresh WHERE agent_id IS NOT NULL AND cost_usd IS NOT NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER api_usage_budgets AFTER INSERT ON api_usage REFERENCING NEW TABLE AS fresh
    FOR EACH STATEMENT EXECUTE FUNCTION budget_charge_usage();

CREATE FUNCTION budget_charge_metrics() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    PERFORM budget_charge('tokens', array_agg(agent_id), array_agg(value::numeric))
    FROM fresh WHERE metric_type = 'tokens' AND value > 0;
    PERFORM budget_charge('cost', array_agg(agent_id), array_agg(value::numeric))
    FROM fresh WHERE metric_type = 'cost' AND value > 0;
    RETURN NULL;
END
$$;
CREATE TRIGGER agent_metrics_budgets AFTER INSERT ON agent_metrics REFERENCING NEW TABLE AS fresh
    FOR EACH STATEMENT EXECUTE FUNCTION budget_charge_metrics();

-- Row-level security on every team-scoped table (the seed's policies, for this schema). Only the
-- role arena_scoped is bound; the owner (the server's own work) is not.
ALTER TABLE teams ENABLE ROW LEVEL SECURITY;
CREATE POLICY teams_read ON teams FOR SELECT TO arena_scoped USING (arena_team_role(id) IS NOT NULL);
CREATE POLICY teams_create ON teams FOR INSERT TO arena_scoped WITH CHECK (created_by = arena_acting_user());
CREATE POLICY teams_admin ON teams FOR UPDATE TO arena_scoped USING (arena_team_role(id) = 'admin');
CREATE POLICY teams_drop ON teams FOR DELETE TO arena_scoped USING (arena_team_role(id) = 'admin');

ALTER TABLE team_members ENABLE ROW LEVEL SECURITY;
CREATE POLICY members_read ON team_members FOR SELECT TO arena_scoped USING (arena_team_role(team_id) IS NOT NULL);
CREATE POLICY members_add ON team_members FOR INSERT TO arena_scoped WITH CHECK (
    arena_team_role(team_id) = 'admin'
    OR (arena_team_bootstrap(team_id) AND user_id = arena_acting_user() AND role = 'admin'));
CREATE POLICY members_change ON team_members FOR UPDATE TO arena_scoped USING (arena_team_role(team_id) = 'admin');
CREATE POLICY members_remove ON team_members FOR DELETE TO arena_scoped
    USING (arena_team_role(team_id) = 'admin' OR user_id = arena_acting_user());

ALTER TABLE agent_ops ENABLE ROW LEVEL SECURITY;
CREATE POLICY agent_ops_read ON agent_ops FOR SELECT TO arena_scoped
    USING (agent_id IN (SELECT arena_agents_seen()));
CREATE POLICY agent_ops_steer ON agent_ops FOR UPDATE TO arena_scoped
    USING (agent_id IN (SELECT arena_agents_managed()))
    WITH CHECK (team_id IS NULL OR team_id = arena_agent_team(agent_id)
                OR arena_team_role(team_id) IN ('admin', 'agent_manager'));
-- An agent's answer to its deployment moves its own config and status, never its team.
CREATE POLICY agent_ops_self ON agent_ops FOR UPDATE TO arena_scoped
    USING (agent_id = arena_acting_agent())
    WITH CHECK (agent_id = arena_acting_agent() AND team_id IS NOT DISTINCT FROM arena_agent_team(agent_id));

ALTER TABLE deployments ENABLE ROW LEVEL SECURITY;
CREATE POLICY deployments_read ON deployments FOR SELECT TO arena_scoped
    USING (agent_id IN (SELECT arena_agents_seen()));
CREATE POLICY deployments_make ON deployments FOR INSERT TO arena_scoped
    WITH CHECK (agent_id IN (SELECT arena_agents_managed()));
CREATE POLICY deployments_steer ON deployments FOR UPDATE TO arena_scoped
    USING (agent_id IN (SELECT arena_agents_managed()));
CREATE POLICY deployments_self ON deployments FOR UPDATE TO arena_scoped
    USING (agent_id = arena_acting_agent()) WITH CHECK (agent_id = arena_acting_agent());

ALTER TABLE workflows ENABLE ROW LEVEL SECURITY;
CREATE POLICY workflows_read ON workflows FOR SELECT TO arena_scoped
    USING (agent_id IN (SELECT arena_agents_seen()));
CREATE POLICY workflows_make ON workflows FOR INSERT TO arena_scoped
    WITH CHECK (agent_id IN (SELECT arena_agents_managed()));
CREATE POLICY workflows_steer ON workflows FOR UPDATE TO arena_scoped
    USING (agent_id IN (SELECT arena_agents_managed()));
CREATE POLICY workflows_drop ON workflows FOR DELETE TO arena_scoped
    USING (agent_id IN (SELECT arena_agents_managed()));

ALTER TABLE agent_metrics ENABLE ROW LEVEL SECURITY;
CREATE POLICY metrics_read ON agent_metrics FOR SELECT TO arena_scoped
    USING (agent_id IN (SELECT arena_agents_seen()));
CREATE POLICY metrics_report ON agent_metrics FOR INSERT TO arena_scoped
    WITH CHECK (agent_id = arena_acting_agent() OR agent_id IN (SELECT arena_agents_managed()));

ALTER TABLE api_usage ENABLE ROW LEVEL SECURITY;
CREATE POLICY usage_read ON api_usage FOR SELECT TO arena_scoped
    USING (user_id = arena_acting_user() OR agent_id IN (SELECT arena_agents_seen()));

ALTER TABLE budgets ENABLE ROW LEVEL SECURITY;
CREATE POLICY budgets_read ON budgets FOR SELECT TO arena_scoped
    USING (arena_team_role(team_id) IS NOT NULL OR agent_id IN (SELECT arena_agents_seen()));
CREATE POLICY budgets_make ON budgets FOR INSERT TO arena_scoped
    WITH CHECK (arena_team_role(team_id) = 'admin' OR agent_id IN (SELECT arena_agents_managed()));
CREATE POLICY budgets_steer ON budgets FOR UPDATE TO arena_scoped
    USING (arena_team_role(team_id) = 'admin' OR agent_id IN (SELECT arena_agents_managed()));
CREATE POLICY budgets_drop ON budgets FOR DELETE TO arena_scoped
    USING (arena_team_role(team_id) = 'admin' OR agent_id IN (SELECT arena_agents_managed()));

ALTER TABLE budget_periods ENABLE ROW LEVEL SECURITY;
CREATE POLICY budget_periods_read ON budget_periods FOR SELECT TO arena_scoped
    USING (budget_id IN (SELECT id FROM budgets));
-- A new limit judges the current period again (budgets_store.REJUDGE).
CREATE POLICY budget_periods_steer ON budget_periods FOR UPDATE TO arena_scoped
    USING (budget_id IN (SELECT id FROM budgets
                         WHERE arena_team_role(team_id) = 'admin' OR agent_id IN (SELECT arena_agents_managed())));

-- Charging is the triggers' (they run as the owner), never a request's.
REVOKE EXECUTE ON FUNCTION budget_charge(text, uuid[], numeric[]) FROM PUBLIC;
