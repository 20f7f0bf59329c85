-- sealtrail collector schema (SQLite). Keep in step with ../postgres/0001_schema.sql:
-- the same tables and columns, so one set of queries serves both stores.

-- One row per chain: the verified head and the highest anchored head.
CREATE TABLE chains (
    id            TEXT PRIMARY KEY,
    first_seen_ms BIGINT NOT NULL,
    updated_ms    BIGINT NOT NULL,
    last_seq      BIGINT,
    head          TEXT,
    last_ts_ms    BIGINT,
    anchor_seq    BIGINT,
    anchor_hash   TEXT,
    anchor_ms     BIGINT
);

-- Verified events, append-only. `line` is the event's canonical JSON, hash
-- included: the evidence itself. The other columns are indexes into it.
CREATE TABLE events (
    chain        TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    ts_ms        BIGINT NOT NULL,
    hash         TEXT NOT NULL,
    actor_id     TEXT NOT NULL,
    actor_name   TEXT,
    actor_role   TEXT NOT NULL,
    action       TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    record_id    TEXT,
    record_type  TEXT,
    ip           TEXT,
    demographics TEXT,
    line         TEXT NOT NULL,
    received_ms  BIGINT NOT NULL,
    PRIMARY KEY (chain, seq)
);
CREATE INDEX events_ts ON events (ts_ms);
CREATE INDEX events_record ON events (record_id, ts_ms);
CREATE INDEX events_actor ON events (actor_id, ts_ms);
CREATE INDEX events_action ON events (action, ts_ms);

-- Events past the retention period, moved here (never silently deleted).
CREATE TABLE events_archive (
    chain        TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    ts_ms        BIGINT NOT NULL,
    hash         TEXT NOT NULL,
    actor_id     TEXT NOT NULL,
    actor_name   TEXT,
    actor_role   TEXT NOT NULL,
    action       TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    record_id    TEXT,
    record_type  TEXT,
    ip           TEXT,
    demographics TEXT,
    line         TEXT NOT NULL,
    received_ms  BIGINT NOT NULL,
    archived_ms  BIGINT NOT NULL,
    PRIMARY KEY (chain, seq)
);

-- Every head anchor received (the highest is also in `chains`).
CREATE TABLE anchors (
    chain       TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    hash        TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    PRIMARY KEY (chain, seq, hash)
);

-- Fork and tamper findings and alert findings. `id` is a fingerprint, so a
-- retried bad batch or a recomputed alert is stored once. `evidence` is JSON
-- holding both versions (stored and uploaded) or the proving events.
CREATE TABLE findings (
    id         TEXT PRIMARY KEY,
    created_ms BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    severity   TEXT NOT NULL,
    rule       TEXT NOT NULL,
    chain      TEXT,
    seq        BIGINT,
    actor_id   TEXT,
    record_id  TEXT,
    message    TEXT NOT NULL,
    evidence   TEXT NOT NULL
);
CREATE INDEX findings_severity ON findings (severity, created_ms);

-- The collector's own chain of audit-log reads (who looked at the evidence),
-- written with the core's ChainWriter so it verifies like any other chain.
CREATE TABLE read_log (
    seq      BIGINT PRIMARY KEY,
    ts_ms    BIGINT NOT NULL,
    actor_id TEXT NOT NULL,
    line     TEXT NOT NULL
);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Append-only, enforced by the store itself: no update of evidence, and a
-- delete only of rows already copied to the archive (retention).
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER events_delete_archived_only BEFORE DELETE ON events
WHEN NOT EXISTS (SELECT 1 FROM events_archive a WHERE a.chain = OLD.chain AND a.seq = OLD.seq)
BEGIN SELECT RAISE(ABORT, 'audit events leave only for the archive'); END;
CREATE TRIGGER archive_no_update BEFORE UPDATE ON events_archive
BEGIN SELECT RAISE(ABORT, 'archived audit events are append-only'); END;
CREATE TRIGGER archive_no_delete BEFORE DELETE ON events_archive
BEGIN SELECT RAISE(ABORT, 'archived audit events are never deleted'); END;
CREATE TRIGGER read_log_no_update BEFORE UPDATE ON read_log
BEGIN SELECT RAISE(ABORT, 'the read log is append-only'); END;
CREATE TRIGGER read_log_no_delete BEFORE DELETE ON read_log
BEGIN SELECT RAISE(ABORT, 'the read log is append-only'); END;
