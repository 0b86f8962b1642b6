-- The lobby feed: one room every battle announces itself in when it is created, changes seats or
-- changes state, so a page can keep a live list without polling.
INSERT INTO rooms (name, kind) VALUES ('lobby:battles', 'lobby') ON CONFLICT (name) DO NOTHING;
