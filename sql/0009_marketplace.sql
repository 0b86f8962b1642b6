-- The marketplace (seed: the CrewAI agent builder's marketplace half). The building blocks of 0007
-- (agent profiles, tools, tasks, scenarios) are published in versions, remixed with a pinned source,
-- reviewed, collected, made from templates and discovered. What the database keeps exact under
-- concurrency, it keeps itself, in the triggers below: ratings, the listing every search reads,
-- the owners' counters, trending activity and collection followers.

-- People decide what others see of them.
ALTER TABLE users
    ADD COLUMN profile_public boolean NOT NULL DEFAULT true,
    ADD COLUMN allow_contact  boolean NOT NULL DEFAULT false;

-- Every building block: the exact version a remix came from, how it was derived, and the sum of its
-- ratings (average_rating = rating_sum / rating_count, both kept by the review triggers).
ALTER TABLE agent_profiles
    ADD COLUMN remixed_from_version varchar(20),
    ADD COLUMN remix_relation varchar(10) CHECK (remix_relation IN ('fork', 'adapt', 'compose')),
    ADD COLUMN rating_sum integer NOT NULL DEFAULT 0;
ALTER TABLE tools
    ADD COLUMN remixed_from_version varchar(20),
    ADD COLUMN remix_relation varchar(10) CHECK (remix_relation IN ('fork', 'adapt', 'compose')),
    ADD COLUMN rating_sum integer NOT NULL DEFAULT 0;
ALTER TABLE tasks
    ADD COLUMN remixed_from_version varchar(20),
    ADD COLUMN remix_relation varchar(10) CHECK (remix_relation IN ('fork', 'adapt', 'compose')),
    ADD COLUMN rating_sum integer NOT NULL DEFAULT 0;
ALTER TABLE scenarios
    ADD COLUMN remixed_from_version varchar(20),
    ADD COLUMN remix_relation varchar(10) CHECK (remix_relation IN ('fork', 'adapt', 'compose')),
    ADD COLUMN rating_sum integer NOT NULL DEFAULT 0;
CREATE INDEX agent_profiles_tools_idx ON agent_profiles USING gin (tools jsonb_path_ops);

-- A simulation may pin the versions of its scenario, tasks and crew profiles: {item id: version}.
ALTER TABLE simulations ADD COLUMN pins jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(pins) = 'object');

-- Each published version of an item, kept: what it was (snapshot), its notes, and whether others see
-- it (a private version is a draft only its owner sees).
CREATE TABLE item_versions (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind                   varchar(10) NOT NULL CHECK (kind IN ('agent', 'tool', 'task', 'scenario')),
    item_id                uuid NOT NULL,
    version                varchar(20) NOT NULL,
    version_notes          text CHECK (char_length(version_notes) <= 5000),
    is_public              boolean NOT NULL,
    snapshot               jsonb NOT NULL CHECK (jsonb_typeof(snapshot) = 'object'),
    published_by_user_id   uuid REFERENCES users (id) ON DELETE SET NULL,
    published_by_agent_id  uuid REFERENCES agents (id) ON DELETE SET NULL,
    published_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, item_id, version)
);
CREATE INDEX item_versions_item_idx ON item_versions (kind, item_id, published_at DESC, id DESC);

-- The marketplace's one index of items, kept by triggers from the four item tables (and agents):
-- what browsing, search, lineage and the owners' counters read. trend_score is the uses and clones
-- of the last 7 days (marketplace_activity), added as they happen and taken off as days age out.
CREATE TABLE marketplace_listings (
    kind                  varchar(10) NOT NULL CHECK (kind IN ('agent', 'tool', 'task', 'scenario')),
    item_id               uuid NOT NULL,
    name                  text NOT NULL,
    description           text NOT NULL DEFAULT '',
    category              varchar(50),
    industry              varchar(100),
    tool_type             varchar(50),
    tags                  jsonb NOT NULL DEFAULT '[]',
    owner_user_id         uuid,        -- the item's user, or its creating agent's owner
    owner_agent_id        uuid,        -- the agent that created it (tools, tasks, scenarios)
    is_public             boolean NOT NULL,
    is_template           boolean NOT NULL,
    allow_remixes         boolean NOT NULL,
    version               varchar(20) NOT NULL,
    usage_count           integer NOT NULL DEFAULT 0,
    clone_count           integer NOT NULL DEFAULT 0,
    average_rating        real NOT NULL DEFAULT 0,
    rating_count          integer NOT NULL DEFAULT 0,
    rating_sum            integer NOT NULL DEFAULT 0,
    trend_score           integer NOT NULL DEFAULT 0,
    remixed_from          uuid,
    remixed_from_version  varchar(20),
    remix_relation        varchar(10),
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    -- what search matches: the name, then the start of the description
    search_text           text GENERATED ALWAYS AS (name || ' ' || left(description, 500)) STORED,
    PRIMARY KEY (kind, item_id)
);
-- One index per sort, by kind and across kinds for the newest. Search: a trigram GiST index, which
-- hands out rows nearest first (ORDER BY q <<-> search_text LIMIT n reads n rows, however common a word).
CREATE INDEX listings_newest_idx ON marketplace_listings (kind, created_at DESC, item_id DESC) WHERE is_public;
CREATE INDEX listings_newest_all_idx ON marketplace_listings (created_at DESC, item_id DESC) WHERE is_public;
CREATE INDEX listings_used_idx ON marketplace_listings (kind, usage_count DESC, item_id DESC) WHERE is_public;
CREATE INDEX listings_cloned_idx ON marketplace_listings (kind, clone_count DESC, item_id DESC) WHERE is_public;
CREATE INDEX listings_rated_idx ON marketplace_listings (kind, average_rating DESC, rating_count DESC, item_id DESC)
    WHERE is_public;
CREATE INDEX listings_trending_idx ON marketplace_listings (kind, trend_score DESC, item_id DESC) WHERE is_public;
CREATE INDEX listings_search_idx ON marketplace_listings USING gist (search_text gist_trgm_ops) WHERE is_public;
CREATE INDEX listings_tags_idx ON marketplace_listings USING gin (tags jsonb_path_ops) WHERE is_public;
CREATE INDEX listings_owner_idx ON marketplace_listings (owner_user_id, created_at DESC);
CREATE INDEX listings_remixed_idx ON marketplace_listings (kind, remixed_from) WHERE remixed_from IS NOT NULL;

-- Uses and clones per item and day, for trending (rows older than 7 days are taken off and deleted).
CREATE TABLE marketplace_activity (
    kind     varchar(10) NOT NULL,
    item_id  uuid NOT NULL,
    day      date NOT NULL,
    uses     integer NOT NULL DEFAULT 0,
    clones   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, item_id, day)
);
CREATE INDEX marketplace_activity_day_idx ON marketplace_activity (day);

-- The seed's profile counters, kept with the entry statistics. reputation_score is the average rating
-- of everything the user published (0 until a first review), 0.0-5.0 as the seed says.
ALTER TABLE user_stats
    ADD COLUMN public_agents_count integer NOT NULL DEFAULT 0,
    ADD COLUMN public_tools_count  integer NOT NULL DEFAULT 0,
    ADD COLUMN total_downloads     bigint NOT NULL DEFAULT 0,
    ADD COLUMN review_count        integer NOT NULL DEFAULT 0,
    ADD COLUMN rating_sum          bigint NOT NULL DEFAULT 0,
    ADD COLUMN reputation_score    numeric(3, 2) GENERATED ALWAYS AS (
        CASE WHEN review_count > 0 THEN round(rating_sum::numeric / review_count, 2) ELSE 0 END) STORED;

-- Collections: followers of public ones, counted on the collection.
ALTER TABLE collections ADD COLUMN follower_count integer NOT NULL DEFAULT 0;
CREATE INDEX collections_public_idx ON collections (created_at DESC, id DESC) WHERE is_public;
CREATE TABLE collection_follows (
    collection_id  uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (collection_id, user_id)
);
CREATE INDEX collection_follows_user_idx ON collection_follows (user_id, created_at DESC);
CREATE INDEX collection_agents_agent_idx ON collection_agents (agent_id);
CREATE INDEX collection_tools_tool_idx ON collection_tools (tool_id);

CREATE INDEX agent_templates_list_idx ON agent_templates (created_at DESC, id DESC);
CREATE INDEX agent_templates_owner_idx ON agent_templates (created_by);
CREATE INDEX task_templates_list_idx ON task_templates (created_at DESC, id DESC);
CREATE INDEX task_templates_owner_idx ON task_templates (created_by);

-- -- the listing, kept from the items -------------------------------------------------------------

-- Tools, tasks and scenarios share the marketplace columns; their name is "name" or "title". A rise of
-- usage_count or clone_count is also the day's activity and the item's trend.
CREATE FUNCTION marketplace_sync_item() RETURNS trigger AS $$
DECLARE
    j jsonb := to_jsonb(NEW);
    rise integer := 0;
BEGIN
    INSERT INTO marketplace_listings AS l (
        kind, item_id, name, description, category, industry, tool_type, tags, owner_user_id, owner_agent_id,
        is_public, is_template, allow_remixes, version, usage_count, clone_count, average_rating, rating_count,
        rating_sum, remixed_from, remixed_from_version, remix_relation, created_at, updated_at)
    VALUES (
        TG_ARGV[0], NEW.id, coalesce(j ->> 'name', j ->> 'title'), coalesce(j ->> 'description', ''),
        j ->> 'category', j ->> 'industry', j ->> 'tool_type', NEW.tags,
        coalesce(NEW.created_by_user_id, (SELECT owner_id FROM agents WHERE id = NEW.created_by_agent_id)),
        NEW.created_by_agent_id, NEW.is_public, NEW.is_template, NEW.allow_remixes, NEW.version, NEW.usage_count,
        NEW.clone_count, NEW.average_rating, NEW.rating_count, NEW.rating_sum, NEW.remixed_from,
        NEW.remixed_from_version, NEW.remix_relation, NEW.created_at, NEW.updated_at)
    ON CONFLICT (kind, item_id) DO UPDATE SET
        name = EXCLUDED.name, description = EXCLUDED.description, category = EXCLUDED.category,
        industry = EXCLUDED.industry, tool_type = EXCLUDED.tool_type, tags = EXCLUDED.tags,
        owner_user_id = EXCLUDED.owner_user_id, owner_agent_id = EXCLUDED.owner_agent_id,
        is_public = EXCLUDED.is_public, is_template = EXCLUDED.is_template, allow_remixes = EXCLUDED.allow_remixes,
        version = EXCLUDED.version, usage_count = EXCLUDED.usage_count, clone_count = EXCLUDED.clone_count,
        average_rating = EXCLUDED.average_rating, rating_count = EXCLUDED.rating_count,
        rating_sum = EXCLUDED.rating_sum, remixed_from = EXCLUDED.remixed_from,
        remixed_from_version = EXCLUDED.remixed_from_version, remix_relation = EXCLUDED.remix_relation,
        updated_at = EXCLUDED.updated_at;
    IF TG_OP = 'UPDATE' THEN
        rise := (NEW.usage_count - OLD.usage_count) + (NEW.clone_count - OLD.clone_count);
        IF rise > 0 THEN
            PERFORM marketplace_note_activity(TG_ARGV[0], NEW.id, greatest(NEW.usage_count - OLD.usage_count, 0),
                                              greatest(NEW.clone_count - OLD.clone_count, 0));
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION marketplace_note_activity(k text, iid uuid, n_uses integer, n_clones integer) RETURNS void AS $$
BEGIN
    INSERT INTO marketplace_activity AS a (kind, item_id, day, uses, clones)
    VALUES (k, iid, current_date, n_uses, n_clones)
    ON CONFLICT (kind, item_id, day) DO UPDATE SET uses = a.uses + EXCLUDED.uses, clones = a.clones + EXCLUDED.clones;
    UPDATE marketplace_listings SET trend_score = trend_score + n_uses + n_clones WHERE kind = k AND item_id = iid;
END;
$$ LANGUAGE plpgsql;

-- An agent's listing joins the agent (name, description, owner, active) and its crew profile. Writers
-- of either row lock only that one, so the listing row is locked first and the upsert is a statement of
-- its own: it reads both rows as committed after any concurrent sync, never a stale side.
CREATE FUNCTION marketplace_sync_agent(aid uuid) RETURNS void AS $$
BEGIN
    PERFORM 1 FROM marketplace_listings WHERE kind = 'agent' AND item_id = aid FOR UPDATE;
    INSERT INTO marketplace_listings AS l (
        kind, item_id, name, description, category, industry, tool_type, tags, owner_user_id, owner_agent_id,
        is_public, is_template, allow_remixes, version, usage_count, clone_count, average_rating, rating_count,
        rating_sum, remixed_from, remixed_from_version, remix_relation, created_at, updated_at)
    SELECT 'agent', a.id, a.display_name, coalesce(a.description, ''), p.category, NULL, NULL, p.tags, a.owner_id,
           NULL, p.is_public AND a.is_active, p.is_template, p.allow_remixes, p.version, p.usage_count,
           p.clone_count, p.average_rating, p.rating_count, p.rating_sum, p.remixed_from, p.remixed_from_version,
           p.remix_relation, a.created_at, greatest(a.updated_at, p.updated_at)
    FROM agents a JOIN agent_profiles p ON p.agent_id = a.id
    WHERE a.id = aid
    ON CONFLICT (kind, item_id) DO UPDATE SET
        name = EXCLUDED.name, description = EXCLUDED.description, category = EXCLUDED.category,
        tags = EXCLUDED.tags, owner_user_id = EXCLUDED.owner_user_id, is_public = EXCLUDED.is_public,
        is_template = EXCLUDED.is_template, allow_remixes = EXCLUDED.allow_remixes, version = EXCLUDED.version,
        usage_count = EXCLUDED.usage_count, clone_count = EXCLUDED.clone_count,
        average_rating = EXCLUDED.average_rating, rating_count = EXCLUDED.rating_count,
        rating_sum = EXCLUDED.rating_sum, remixed_from = EXCLUDED.remixed_from,
        remixed_from_version = EXCLUDED.remixed_from_version, remix_relation = EXCLUDED.remix_relation,
        updated_at = EXCLUDED.updated_at;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION marketplace_sync_profile() RETURNS trigger AS $$
BEGIN
    PERFORM marketplace_sync_agent(NEW.agent_id);
    IF TG_OP = 'UPDATE' AND (NEW.usage_count > OLD.usage_count OR NEW.clone_count > OLD.clone_count) THEN
        PERFORM marketplace_note_activity('agent', NEW.agent_id, greatest(NEW.usage_count - OLD.usage_count, 0),
                                          greatest(NEW.clone_count - OLD.clone_count, 0));
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION marketplace_sync_agent_row() RETURNS trigger AS $$
BEGIN
    PERFORM marketplace_sync_agent(NEW.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION marketplace_forget() RETURNS trigger AS $$
DECLARE
    gone uuid := coalesce(to_jsonb(OLD) ->> 'id', to_jsonb(OLD) ->> 'agent_id')::uuid;
BEGIN
    DELETE FROM marketplace_listings WHERE kind = TG_ARGV[0] AND item_id = gone;
    DELETE FROM item_versions WHERE kind = TG_ARGV[0] AND item_id = gone;
    DELETE FROM marketplace_activity WHERE kind = TG_ARGV[0] AND item_id = gone;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tools_listing AFTER INSERT OR UPDATE ON tools
    FOR EACH ROW EXECUTE FUNCTION marketplace_sync_item('tool');
CREATE TRIGGER tasks_listing AFTER INSERT OR UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION marketplace_sync_item('task');
CREATE TRIGGER scenarios_listing AFTER INSERT OR UPDATE ON scenarios
    FOR EACH ROW EXECUTE FUNCTION marketplace_sync_item('scenario');
CREATE TRIGGER agent_profiles_listing AFTER INSERT OR UPDATE ON agent_profiles
    FOR EACH ROW EXECUTE FUNCTION marketplace_sync_profile();
CREATE TRIGGER agents_listing AFTER UPDATE OF display_name, description, owner_id, is_active ON agents
    FOR EACH ROW EXECUTE FUNCTION marketplace_sync_agent_row();
CREATE TRIGGER tools_unlisted AFTER DELETE ON tools FOR EACH ROW EXECUTE FUNCTION marketplace_forget('tool');
CREATE TRIGGER tasks_unlisted AFTER DELETE ON tasks FOR EACH ROW EXECUTE FUNCTION marketplace_forget('task');
CREATE TRIGGER scenarios_unlisted AFTER DELETE ON scenarios
    FOR EACH ROW EXECUTE FUNCTION marketplace_forget('scenario');
CREATE TRIGGER agent_profiles_unlisted AFTER DELETE ON agent_profiles
    FOR EACH ROW EXECUTE FUNCTION marketplace_forget('agent');

-- -- the owners' counters, kept from the listing ----------------------------------------------------

-- What one listing adds to its owner's counters; a change adds the new row's share and takes the old.
CREATE FUNCTION marketplace_owner_share(uid uuid, sign integer, l marketplace_listings) RETURNS void AS $$
DECLARE
    agents_n integer := sign * (l.kind = 'agent' AND l.is_public)::integer;
    tools_n integer := sign * (l.kind = 'tool' AND l.is_public)::integer;
    downloads bigint := sign * CASE WHEN l.is_public THEN l.clone_count + l.usage_count ELSE 0 END;
BEGIN
    IF uid IS NULL OR (agents_n = 0 AND tools_n = 0 AND downloads = 0 AND l.rating_count = 0) THEN
        RETURN;
    END IF;
    INSERT INTO user_stats AS s (user_id, public_agents_count, public_tools_count, total_downloads, review_count,
                                 rating_sum)
    VALUES (uid, agents_n, tools_n, downloads, sign * l.rating_count, sign * l.rating_sum)
    ON CONFLICT (user_id) DO UPDATE SET
        public_agents_count = s.public_agents_count + EXCLUDED.public_agents_count,
        public_tools_count = s.public_tools_count + EXCLUDED.public_tools_count,
        total_downloads = s.total_downloads + EXCLUDED.total_downloads,
        review_count = s.review_count + EXCLUDED.review_count,
        rating_sum = s.rating_sum + EXCLUDED.rating_sum,
        updated_at = now();
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION marketplace_owner_stats() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.owner_user_id IS NOT DISTINCT FROM OLD.owner_user_id
       AND NEW.is_public = OLD.is_public AND NEW.clone_count = OLD.clone_count
       AND NEW.usage_count = OLD.usage_count AND NEW.rating_count = OLD.rating_count
       AND NEW.rating_sum = OLD.rating_sum THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM marketplace_owner_share(OLD.owner_user_id, -1, OLD);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM marketplace_owner_share(NEW.owner_user_id, 1, NEW);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER marketplace_listings_owner_stats AFTER INSERT OR UPDATE OR DELETE ON marketplace_listings
    FOR EACH ROW EXECUTE FUNCTION marketplace_owner_stats();

-- -- ratings, kept from the reviews ------------------------------------------------------------------

-- One review's change to its item's sum and count, applied in one UPDATE (the item's row lock orders
-- concurrent reviews; nothing is recomputed from a read that could be stale).
CREATE FUNCTION marketplace_rate() RETURNS trigger AS $$
DECLARE
    d_sum integer := 0;
    d_count integer := 0;
    target uuid;
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        d_sum := d_sum + NEW.rating;
        d_count := d_count + 1;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        d_sum := d_sum - OLD.rating;
        d_count := d_count - 1;
    END IF;
    IF d_sum = 0 AND d_count = 0 THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'agent_reviews' THEN
        target := coalesce(to_jsonb(NEW) ->> 'agent_id', to_jsonb(OLD) ->> 'agent_id')::uuid;
        UPDATE agent_profiles SET rating_sum = rating_sum + d_sum, rating_count = rating_count + d_count,
            average_rating = CASE WHEN rating_count + d_count > 0
                                  THEN (rating_sum + d_sum)::real / (rating_count + d_count) ELSE 0 END
        WHERE agent_id = target;
    ELSE
        target := coalesce(to_jsonb(NEW) ->> 'tool_id', to_jsonb(OLD) ->> 'tool_id')::uuid;
        UPDATE tools SET rating_sum = rating_sum + d_sum, rating_count = rating_count + d_count,
            average_rating = CASE WHEN rating_count + d_count > 0
                                  THEN (rating_sum + d_sum)::real / (rating_count + d_count) ELSE 0 END
        WHERE id = target;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER agent_reviews_rate AFTER INSERT OR UPDATE OF rating OR DELETE ON agent_reviews
    FOR EACH ROW EXECUTE FUNCTION marketplace_rate();
CREATE TRIGGER tool_reviews_rate AFTER INSERT OR UPDATE OF rating OR DELETE ON tool_reviews
    FOR EACH ROW EXECUTE FUNCTION marketplace_rate();

-- -- collection followers ----------------------------------------------------------------------------

CREATE FUNCTION collection_count_follow() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE collections SET follower_count = follower_count + 1 WHERE id = NEW.collection_id;
    ELSE
        UPDATE collections SET follower_count = follower_count - 1 WHERE id = OLD.collection_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER collection_follows_count AFTER INSERT OR DELETE ON collection_follows
    FOR EACH ROW EXECUTE FUNCTION collection_count_follow();

-- -- what was there before -----------------------------------------------------------------------------

-- Items made before this migration are listed (the triggers above fire on each row). A public item
-- without a recorded version gets its current one recorded when it is first remixed.
UPDATE tools SET updated_at = updated_at;
UPDATE tasks SET updated_at = updated_at;
UPDATE scenarios SET updated_at = updated_at;
UPDATE agent_profiles SET updated_at = updated_at;
