-- The transparency log (sqlite). Keep in step with ../postgres/0003_tlog.sql.

-- Its leaves, in log order: which event each is (chain, seq, hash), never
-- what the event says. The tree is rebuilt from these at start.
CREATE TABLE tlog_leaves (
    idx   BIGINT PRIMARY KEY,
    chain TEXT NOT NULL,
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL
);
CREATE UNIQUE INDEX tlog_leaves_event ON tlog_leaves (chain, seq);

-- One row (id 1): the latest checkpoint the log signed, checked against the
-- rebuilt tree at start; and the log's private key when no key file is given.
CREATE TABLE tlog_state (
    id         BIGINT PRIMARY KEY,
    size       BIGINT NOT NULL,
    checkpoint TEXT NOT NULL
);
CREATE TABLE tlog_key (
    id      BIGINT PRIMARY KEY,
    private TEXT NOT NULL
);

-- Leaves are never changed nor removed (the tree is rebuilt from them).
CREATE TRIGGER tlog_leaves_no_update BEFORE UPDATE ON tlog_leaves
BEGIN SELECT RAISE(ABORT, 'log leaves are append-only'); END;
CREATE TRIGGER tlog_leaves_no_delete BEFORE DELETE ON tlog_leaves
BEGIN SELECT RAISE(ABORT, 'log leaves are append-only'); END;
