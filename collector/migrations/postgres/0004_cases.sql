-- Cases: every finding and every break-glass is a case; what reviewers do
-- with it (assign, acknowledge, investigate, comment, resolve) is appended
-- here, never edited or deleted, and each row names the event of the
-- collector's own chain (read_log) that recorded it. A case's state is
-- derived from its rows, in `n` order. Keep in step with ../sqlite.
-- (0003 is left to the transparency log's tables.)
CREATE TABLE case_events (
    case_id    TEXT NOT NULL,
    n          BIGINT NOT NULL,
    ts_ms      BIGINT NOT NULL,
    op         TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    actor_name TEXT,
    assignee   TEXT,
    outcome    TEXT,
    note       TEXT,
    log_seq    BIGINT NOT NULL,
    PRIMARY KEY (case_id, n)
);
CREATE INDEX case_events_ts ON case_events (ts_ms);

CREATE TRIGGER case_events_no_change BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION sealtrail_refuse();

-- The notification hook's outbox: one row per message (`id` is its kind
-- and case, so a case is announced once), delivered with retries.
CREATE TABLE notifications (
    id           TEXT PRIMARY KEY,
    case_id      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    attempts     BIGINT NOT NULL,
    next_ms      BIGINT NOT NULL,
    delivered_ms BIGINT,
    last_error   TEXT
);
CREATE INDEX notifications_due ON notifications (delivered_ms, next_ms);
