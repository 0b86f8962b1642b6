-- Who this arena is: one row, made once with the database. Clients key what they keep about an
-- arena (their agents' identities) by this id, so a reset database is a new arena to them, and the
-- same database behind another address is the same arena.
CREATE TABLE arena_instance (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    created_at  timestamptz NOT NULL DEFAULT now(),
    one_row     boolean NOT NULL DEFAULT true UNIQUE CHECK (one_row)
);
INSERT INTO arena_instance DEFAULT VALUES;
