-- Simulations (seed: the CrewAI agent builder): the building blocks (agent profiles, tools, tasks,
-- scenarios) and simulations in which a crew of connected agents works through a scenario's tasks.
--
-- The building blocks share the seed's marketplace fields. The marketplace tables (reviews,
-- collections, templates) are created here, empty, so issue 13 adds features, not tables.
-- A simulation's room (rooms.name = 'simulation:<id>') holds its seq and its events.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- 001's agent profile, 1:1 with the one agents table (ARCHITECTURE §9). Its owner is the agent's.
CREATE TABLE agent_profiles (
    agent_id          uuid PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    role              varchar(200),
    goal              text CHECK (char_length(goal) <= 5000),
    backstory         text CHECK (char_length(backstory) <= 10000),
    tools             jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tools) = 'array'),
    "verbose"         boolean NOT NULL DEFAULT false,
    allow_delegation  boolean NOT NULL DEFAULT false,
    reasoning         boolean NOT NULL DEFAULT false,
    category          varchar(50),
    tags              jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tags) = 'array'),
    is_public         boolean NOT NULL DEFAULT false,
    is_template       boolean NOT NULL DEFAULT false,
    allow_remixes     boolean NOT NULL DEFAULT true,
    version           varchar(20) NOT NULL DEFAULT '1.0.0',
    version_notes     text,
    usage_count       integer NOT NULL DEFAULT 0,
    clone_count       integer NOT NULL DEFAULT 0,
    average_rating    real NOT NULL DEFAULT 0,
    rating_count      integer NOT NULL DEFAULT 0,
    remixed_from      uuid REFERENCES agents (id) ON DELETE SET NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_profiles_category_idx ON agent_profiles (category);
CREATE INDEX agent_profiles_role_idx ON agent_profiles (lower(role));
CREATE INDEX agent_profiles_public_idx ON agent_profiles (created_at DESC, agent_id DESC) WHERE is_public;
CREATE INDEX agent_profiles_tags_idx ON agent_profiles USING gin (tags jsonb_path_ops);
CREATE INDEX agent_profiles_remixed_idx ON agent_profiles (remixed_from) WHERE remixed_from IS NOT NULL;
CREATE INDEX agents_display_name_trgm_idx ON agents USING gin (display_name gin_trgm_ops);
CREATE TRIGGER agent_profiles_updated_at BEFORE UPDATE ON agent_profiles
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE tools (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                 varchar(100) NOT NULL,
    description          text NOT NULL DEFAULT '',
    tool_type            varchar(50) NOT NULL,
    configuration        jsonb NOT NULL DEFAULT '{}',
    code                 text,
    language             varchar(30),
    parameters           jsonb NOT NULL DEFAULT '{}',
    usage_examples       text,
    tags                 jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tags) = 'array'),
    is_public            boolean NOT NULL DEFAULT false,
    is_template          boolean NOT NULL DEFAULT false,
    allow_remixes        boolean NOT NULL DEFAULT true,
    version              varchar(20) NOT NULL DEFAULT '1.0.0',
    version_notes        text,
    usage_count          integer NOT NULL DEFAULT 0,
    clone_count          integer NOT NULL DEFAULT 0,
    average_rating       real NOT NULL DEFAULT 0,
    rating_count         integer NOT NULL DEFAULT 0,
    created_by_user_id   uuid REFERENCES users (id) ON DELETE CASCADE,
    created_by_agent_id  uuid REFERENCES agents (id) ON DELETE CASCADE,
    remixed_from         uuid REFERENCES tools (id) ON DELETE SET NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tools_owner CHECK (created_by_user_id IS NOT NULL OR created_by_agent_id IS NOT NULL)
);
CREATE INDEX tools_user_idx ON tools (created_by_user_id, created_at DESC, id DESC);
CREATE INDEX tools_agent_idx ON tools (created_by_agent_id, created_at DESC, id DESC);
CREATE INDEX tools_type_idx ON tools (tool_type);
CREATE INDEX tools_public_idx ON tools (created_at DESC, id DESC) WHERE is_public;
CREATE INDEX tools_tags_idx ON tools USING gin (tags jsonb_path_ops);
CREATE INDEX tools_name_trgm_idx ON tools USING gin (name gin_trgm_ops);
CREATE INDEX tools_remixed_idx ON tools (remixed_from) WHERE remixed_from IS NOT NULL;
CREATE TRIGGER tools_updated_at BEFORE UPDATE ON tools FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Crew tasks (not 000's benchmark_tasks).
CREATE TABLE tasks (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    title                varchar(200) NOT NULL,
    description          text NOT NULL,
    expected_output      text,
    context              jsonb NOT NULL DEFAULT '{}',
    output_format        jsonb NOT NULL DEFAULT '{}',
    agent_id             uuid REFERENCES agents (id) ON DELETE SET NULL,
    category             varchar(50),
    tags                 jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tags) = 'array'),
    human_input          boolean NOT NULL DEFAULT false,
    is_public            boolean NOT NULL DEFAULT false,
    is_template          boolean NOT NULL DEFAULT false,
    allow_remixes        boolean NOT NULL DEFAULT true,
    version              varchar(20) NOT NULL DEFAULT '1.0.0',
    version_notes        text,
    usage_count          integer NOT NULL DEFAULT 0,
    clone_count          integer NOT NULL DEFAULT 0,
    average_rating       real NOT NULL DEFAULT 0,
    rating_count         integer NOT NULL DEFAULT 0,
    created_by_user_id   uuid REFERENCES users (id) ON DELETE CASCADE,
    created_by_agent_id  uuid REFERENCES agents (id) ON DELETE CASCADE,
    remixed_from         uuid REFERENCES tasks (id) ON DELETE SET NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tasks_owner CHECK (created_by_user_id IS NOT NULL OR created_by_agent_id IS NOT NULL)
);
CREATE INDEX tasks_user_idx ON tasks (created_by_user_id, created_at DESC, id DESC);
CREATE INDEX tasks_agent_owner_idx ON tasks (created_by_agent_id, created_at DESC, id DESC);
CREATE INDEX tasks_agent_idx ON tasks (agent_id);
CREATE INDEX tasks_category_idx ON tasks (category);
CREATE INDEX tasks_public_idx ON tasks (created_at DESC, id DESC) WHERE is_public;
CREATE INDEX tasks_tags_idx ON tasks USING gin (tags jsonb_path_ops);
CREATE INDEX tasks_title_trgm_idx ON tasks USING gin (title gin_trgm_ops);
CREATE INDEX tasks_remixed_idx ON tasks (remixed_from) WHERE remixed_from IS NOT NULL;
CREATE TRIGGER tasks_updated_at BEFORE UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE scenarios (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    title                varchar(200) NOT NULL,
    description          text NOT NULL DEFAULT '',
    industry             varchar(100),
    challenge            text,
    learning_objectives  jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(learning_objectives) = 'array'),
    source_type          varchar(10) NOT NULL DEFAULT 'manual' CHECK (source_type IN ('manual', 'pdf', 'template')),
    pdf_content          text,
    pdf_pages            integer,
    pdf_bytes            integer,
    category             varchar(50),
    tags                 jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tags) = 'array'),
    is_public            boolean NOT NULL DEFAULT false,
    is_template          boolean NOT NULL DEFAULT false,
    allow_remixes        boolean NOT NULL DEFAULT true,
    version              varchar(20) NOT NULL DEFAULT '1.0.0',
    version_notes        text,
    usage_count          integer NOT NULL DEFAULT 0,
    clone_count          integer NOT NULL DEFAULT 0,
    average_rating       real NOT NULL DEFAULT 0,
    rating_count         integer NOT NULL DEFAULT 0,
    created_by_user_id   uuid REFERENCES users (id) ON DELETE CASCADE,
    created_by_agent_id  uuid REFERENCES agents (id) ON DELETE CASCADE,
    remixed_from         uuid REFERENCES scenarios (id) ON DELETE SET NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT scenarios_owner CHECK (created_by_user_id IS NOT NULL OR created_by_agent_id IS NOT NULL)
);
CREATE INDEX scenarios_user_idx ON scenarios (created_by_user_id, created_at DESC, id DESC);
CREATE INDEX scenarios_agent_idx ON scenarios (created_by_agent_id, created_at DESC, id DESC);
CREATE INDEX scenarios_industry_idx ON scenarios (industry);
CREATE INDEX scenarios_source_type_idx ON scenarios (source_type);
CREATE INDEX scenarios_public_idx ON scenarios (created_at DESC, id DESC) WHERE is_public;
CREATE INDEX scenarios_tags_idx ON scenarios USING gin (tags jsonb_path_ops);
CREATE INDEX scenarios_title_trgm_idx ON scenarios USING gin (title gin_trgm_ops);
CREATE INDEX scenarios_remixed_idx ON scenarios (remixed_from) WHERE remixed_from IS NOT NULL;
CREATE TRIGGER scenarios_updated_at BEFORE UPDATE ON scenarios FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- A simulation: a scenario worked through by a crew. Its starter is a user or an agent.
CREATE TABLE simulations (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    scenario_id            uuid REFERENCES scenarios (id) ON DELETE SET NULL,
    title                  varchar(200) NOT NULL,
    user_id                uuid REFERENCES users (id) ON DELETE CASCADE,     -- the starter, or its agent's owner
    starter_agent_id       uuid REFERENCES agents (id) ON DELETE CASCADE,    -- set when an agent started it
    crew_configuration     jsonb NOT NULL DEFAULT '{}',
    process_type           varchar(12) NOT NULL CHECK (process_type IN ('sequential', 'hierarchical')),
    manager_agent_id       uuid REFERENCES agents (id) ON DELETE SET NULL,
    max_iterations         integer NOT NULL CHECK (max_iterations BETWEEN 1 AND 1000),
    max_retries            integer NOT NULL CHECK (max_retries BETWEEN 0 AND 10),
    task_timeout_s         integer NOT NULL CHECK (task_timeout_s BETWEEN 1 AND 86400),
    connect_wait_s         integer NOT NULL CHECK (connect_wait_s BETWEEN 0 AND 600),
    fallback_strategy      varchar(10) NOT NULL CHECK (fallback_strategy IN ('substitute', 'skip', 'fail')),
    message_policy         varchar(10) NOT NULL CHECK (message_policy IN ('reject', 'enqueue', 'interrupt')),
    is_public              boolean NOT NULL DEFAULT false,
    status                 varchar(30) NOT NULL DEFAULT 'ready'
                           CHECK (status IN ('ready', 'starting', 'running', 'completed', 'failed',
                                             'failed_missing_resources', 'cancelled')),
    scenario_snapshot      jsonb,
    completion_summary     text,
    failure_reason         text,
    fallback_log           jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(fallback_log) = 'array'),
    iterations             integer NOT NULL DEFAULT 0,
    deadline_at            timestamptz,          -- the next thing due (crew wait, a task's deadline)
    forked_from            uuid REFERENCES simulations (id) ON DELETE SET NULL,
    forked_from_position   integer,
    started_at             timestamptz,
    completed_at           timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT simulations_starter CHECK (user_id IS NOT NULL OR starter_agent_id IS NOT NULL),
    CONSTRAINT simulations_manager CHECK (process_type = 'sequential' OR manager_agent_id IS NOT NULL
                                          OR status <> 'ready')
);
CREATE INDEX simulations_user_status_idx ON simulations (user_id, status, created_at DESC, id DESC);
CREATE INDEX simulations_starter_agent_idx ON simulations (starter_agent_id, created_at DESC, id DESC);
CREATE INDEX simulations_scenario_idx ON simulations (scenario_id);
CREATE INDEX simulations_public_idx ON simulations (created_at DESC, id DESC) WHERE is_public;
CREATE INDEX simulations_forked_idx ON simulations (forked_from) WHERE forked_from IS NOT NULL;
CREATE INDEX simulations_due_idx ON simulations (deadline_at)
    WHERE deadline_at IS NOT NULL AND status IN ('starting', 'running');
CREATE TRIGGER simulations_updated_at BEFORE UPDATE ON simulations FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The crew: one row per member (the manager too), snapshotted at the start.
CREATE TABLE simulation_agents (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    simulation_id      uuid NOT NULL REFERENCES simulations (id) ON DELETE CASCADE,
    position           integer NOT NULL,
    original_agent_id  uuid NOT NULL,                                  -- as the crew was defined
    agent_id           uuid REFERENCES agents (id) ON DELETE SET NULL, -- who serves (a substitute)
    is_manager         boolean NOT NULL DEFAULT false,
    agent_snapshot     jsonb,
    status             varchar(12) NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'active', 'missing', 'substituted', 'skipped')),
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (simulation_id, original_agent_id),
    UNIQUE (simulation_id, position)
);
CREATE INDEX simulation_agents_agent_idx ON simulation_agents (agent_id);

-- The work: the crew's tasks in order, the manager's own run, and every delegation, one row each.
CREATE TABLE simulation_tasks (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    simulation_id          uuid NOT NULL REFERENCES simulations (id) ON DELETE CASCADE,
    position               integer NOT NULL,
    kind                   varchar(10) NOT NULL DEFAULT 'task' CHECK (kind IN ('task', 'manage', 'delegation')),
    task_id                uuid REFERENCES tasks (id) ON DELETE SET NULL,
    original_agent_id      uuid,                                       -- as the crew was defined
    agent_id               uuid REFERENCES agents (id) ON DELETE SET NULL,
    parent_id              uuid REFERENCES simulation_tasks (id) ON DELETE CASCADE,  -- the delegator's run
    delegated_by_agent_id  uuid REFERENCES agents (id) ON DELETE SET NULL,
    task_snapshot          jsonb NOT NULL,
    human_input            boolean NOT NULL DEFAULT false,
    status                 varchar(20) NOT NULL DEFAULT 'pending'
                           CHECK (status IN ('pending', 'running', 'waiting_human', 'awaiting_approval',
                                             'completed', 'skipped', 'failed', 'cancelled')),
    output                 text,
    progress               text NOT NULL DEFAULT '',
    attempts               integer NOT NULL DEFAULT 0,
    deadline_at            timestamptz,
    error                  text,
    inherited              boolean NOT NULL DEFAULT false,             -- copied by a fork
    started_at             timestamptz,
    completed_at           timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    UNIQUE (simulation_id, position)
);
CREATE INDEX simulation_tasks_task_idx ON simulation_tasks (task_id);
CREATE INDEX simulation_tasks_agent_open_idx ON simulation_tasks (agent_id)
    WHERE status IN ('running', 'waiting_human');
CREATE INDEX simulation_tasks_parent_idx ON simulation_tasks (parent_id) WHERE parent_id IS NOT NULL;
CREATE TRIGGER simulation_tasks_updated_at BEFORE UPDATE ON simulation_tasks
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The conversation with the crew: the person's messages and the crew's answers (kind 'message'), and
-- the crew's questions and the person's answers (kind 'question').
CREATE TABLE simulation_messages (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    simulation_id       uuid NOT NULL REFERENCES simulations (id) ON DELETE CASCADE,
    kind                varchar(10) NOT NULL CHECK (kind IN ('message', 'question')),
    user_message        text,                 -- the person's message, or answer to a question
    crew_response       text,                 -- the crew's answer, or its question
    agent_id            uuid REFERENCES agents (id) ON DELETE SET NULL,   -- who answered / asked
    task_run_id         uuid REFERENCES simulation_tasks (id) ON DELETE SET NULL,
    author_user_id      uuid REFERENCES users (id) ON DELETE SET NULL,
    status              varchar(12) NOT NULL
                        CHECK (status IN ('queued', 'delivered', 'answered', 'open', 'cancelled')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    answered_at         timestamptz
);
CREATE INDEX simulation_messages_simulation_idx ON simulation_messages (simulation_id, created_at, id);

CREATE TABLE simulation_fallbacks (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    simulation_id         uuid NOT NULL REFERENCES simulations (id) ON DELETE CASCADE,
    resource_type         varchar(10) NOT NULL CHECK (resource_type IN ('agent', 'task', 'tool')),
    original_resource_id  uuid,
    fallback_resource_id  uuid,
    fallback_strategy     varchar(10) NOT NULL CHECK (fallback_strategy IN ('substitute', 'skip', 'fail')),
    reason                text NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX simulation_fallbacks_simulation_idx ON simulation_fallbacks (simulation_id, created_at);

-- Ready for the marketplace (issue 13): reviews, collections and templates. No feature uses them yet.
CREATE TABLE agent_reviews (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id     uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    reviewer_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rating       smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment      text CHECK (char_length(comment) <= 5000),
    is_public    boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (agent_id, reviewer_id)
);
CREATE INDEX agent_reviews_reviewer_idx ON agent_reviews (reviewer_id);
CREATE INDEX agent_reviews_rating_idx ON agent_reviews (agent_id, rating);
CREATE TRIGGER agent_reviews_updated_at BEFORE UPDATE ON agent_reviews FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE tool_reviews (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tool_id      uuid NOT NULL REFERENCES tools (id) ON DELETE CASCADE,
    reviewer_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rating       smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment      text CHECK (char_length(comment) <= 5000),
    is_public    boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tool_id, reviewer_id)
);
CREATE INDEX tool_reviews_reviewer_idx ON tool_reviews (reviewer_id);
CREATE INDEX tool_reviews_rating_idx ON tool_reviews (tool_id, rating);
CREATE TRIGGER tool_reviews_updated_at BEFORE UPDATE ON tool_reviews FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE collections (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         varchar(200) NOT NULL,
    description  text,
    is_public    boolean NOT NULL DEFAULT false,
    created_by   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX collections_owner_idx ON collections (created_by);
CREATE TRIGGER collections_updated_at BEFORE UPDATE ON collections FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE collection_agents (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    collection_id  uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    agent_id       uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    order_index    integer NOT NULL,
    added_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (collection_id, agent_id)
);

CREATE TABLE collection_tools (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    collection_id  uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    tool_id        uuid NOT NULL REFERENCES tools (id) ON DELETE CASCADE,
    order_index    integer NOT NULL,
    added_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (collection_id, tool_id)
);

CREATE TABLE agent_templates (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name           varchar(200) NOT NULL,
    description    text,
    template_data  jsonb NOT NULL DEFAULT '{}',
    category       varchar(50),
    tags           jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tags) = 'array'),
    is_public      boolean NOT NULL DEFAULT false,
    created_by     uuid REFERENCES users (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER agent_templates_updated_at BEFORE UPDATE ON agent_templates
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE task_templates (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name           varchar(200) NOT NULL,
    description    text,
    template_data  jsonb NOT NULL DEFAULT '{}',
    category       varchar(50),
    tags           jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tags) = 'array'),
    is_public      boolean NOT NULL DEFAULT false,
    created_by     uuid REFERENCES users (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER task_templates_updated_at BEFORE UPDATE ON task_templates
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
