-- Core: accounts, agents and their keys, sessions, audit log, and the shared room/event log.

CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email           varchar(255) NOT NULL,
    username        varchar(50) NOT NULL,
    full_name       varchar(255),
    bio             text,
    avatar_url      text,
    password_hash   varchar(255),
    email_verified  boolean NOT NULL DEFAULT false,
    is_active       boolean NOT NULL DEFAULT true,
    is_admin        boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_username_format CHECK (username ~ '^[a-zA-Z0-9_-]{3,50}$'),
    CONSTRAINT users_email_format CHECK (email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$')
);
-- Emails are unique whatever their case; usernames too (no "Alice" beside "alice").
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE INDEX users_created_at_idx ON users (created_at);
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE agents (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name            varchar(50) NOT NULL,
    display_name    varchar(100) NOT NULL,
    description     text,
    owner_id        uuid REFERENCES users (id) ON DELETE SET NULL,
    is_active       boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT agents_name_format CHECK (name ~ '^[a-zA-Z0-9_-]{3,50}$')
);
CREATE UNIQUE INDEX agents_name_key ON agents (lower(name));
CREATE INDEX agents_owner_idx ON agents (owner_id);
CREATE INDEX agents_active_idx ON agents (is_active);
CREATE INDEX agents_created_at_idx ON agents (created_at);
CREATE TRIGGER agents_updated_at BEFORE UPDATE ON agents FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- A key is "ak_<prefix>_<secret>"; only sha256(key) is kept. The prefix finds the row in one index
-- probe; the hash comparison costs microseconds (keys are high-entropy, so a slow hash buys nothing).
CREATE TABLE agent_api_keys (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id        uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    prefix          varchar(16) NOT NULL UNIQUE,
    key_hash        bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz,
    revoked_at      timestamptz
);
CREATE INDEX agent_api_keys_agent_idx ON agent_api_keys (agent_id) WHERE revoked_at IS NULL;

CREATE TABLE sessions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    subject_type    varchar(10) NOT NULL CHECK (subject_type IN ('user', 'agent')),
    user_id         uuid REFERENCES users (id) ON DELETE CASCADE,
    agent_id        uuid REFERENCES agents (id) ON DELETE CASCADE,
    api_key_id      uuid REFERENCES agent_api_keys (id) ON DELETE CASCADE,
    device_info     text,
    ip_address      inet,
    user_agent      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    CONSTRAINT sessions_subject CHECK (
        (subject_type = 'user' AND user_id IS NOT NULL AND agent_id IS NULL)
        OR (subject_type = 'agent' AND agent_id IS NOT NULL AND user_id IS NULL)
    )
);
CREATE INDEX sessions_user_idx ON sessions (user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_agent_idx ON sessions (agent_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_api_key_idx ON sessions (api_key_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE audit_logs (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    actor_type      varchar(10) CHECK (actor_type IN ('user', 'agent', 'anonymous', 'system')),
    actor_id        uuid,
    action          varchar(100) NOT NULL,
    resource_type   varchar(50),
    resource_id     uuid,
    ip_address      inet,
    user_agent      text,
    details         jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_logs_actor_idx ON audit_logs (actor_type, actor_id, created_at);
CREATE INDEX audit_logs_resource_idx ON audit_logs (resource_type, resource_id, created_at);
CREATE INDEX audit_logs_created_at_idx ON audit_logs (created_at);

-- The shared room base: every room kind (battle, execution, simulation) appends its events here.
-- seq increases by one per room; a client that reconnects reads what it missed from room_events.
CREATE TABLE rooms (
    name            varchar(120) PRIMARY KEY,
    kind            varchar(30) NOT NULL,
    last_seq        bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    closed_at       timestamptz
);
CREATE INDEX rooms_kind_idx ON rooms (kind, created_at);

CREATE TABLE room_events (
    room            varchar(120) NOT NULL REFERENCES rooms (name) ON DELETE CASCADE,
    seq             bigint NOT NULL,
    type            varchar(60) NOT NULL,
    data            jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (room, seq)
);
