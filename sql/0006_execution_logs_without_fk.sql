-- Log lines without a foreign key to their execution.
--
-- A foreign key is checked once per inserted row (a lookup of the execution per line): measured on a
-- COPY of 2,000-line groups it took 40% of the rate (112k lines/s without it, 68-77k with it). What it
-- guarded is kept another way, once per group instead of once per line:
--   - a line cannot point at a missing execution: the writer reads the execution's row FOR SHARE
--     in the same transaction as its COPY (executions/store.py, TAKE_LOG_RANGE), so the execution
--     cannot be deleted before the lines are committed, and a deleted one is refused;
--   - deleting an execution deletes its lines (what ON DELETE CASCADE did): the trigger below, once
--     per statement, for every way an execution goes (retention, an agent or user deleted).
ALTER TABLE execution_logs DROP CONSTRAINT execution_logs_execution_id_fkey;

CREATE FUNCTION execution_logs_follow_deletes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM execution_logs l USING gone g WHERE l.execution_id = g.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER executions_delete_logs AFTER DELETE ON executions
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION execution_logs_follow_deletes();
