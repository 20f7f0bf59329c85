-- `chains` is insert-only (sqlite; keep in step with
-- ../postgres/0010_chain_heads.sql): a row names a chain and when it was
-- first seen, nothing that changes. What changes is derived from
-- append-only rows: the head from `chain_heads` (one row per stored batch:
-- the head it moved the chain to, when, and the guarantees its upload
-- reported), the highest anchor from `anchors`. A chain's head is its
-- highest `seq` in `chain_heads`, its guarantees the weakest any row
-- reported, its last change the latest row's receive time.
CREATE TABLE chain_heads (
    chain       TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    head        TEXT NOT NULL,
    ts_ms       BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    durability  TEXT,
    storage     TEXT,
    PRIMARY KEY (chain, seq)
);
INSERT INTO chain_heads (chain, seq, head, ts_ms, received_ms, durability, storage)
    SELECT id, last_seq, head, COALESCE(last_ts_ms, 0), updated_ms, durability, storage
    FROM chains WHERE last_seq IS NOT NULL AND head IS NOT NULL;
DROP TRIGGER chains_forward_only;
ALTER TABLE chains DROP COLUMN updated_ms;
ALTER TABLE chains DROP COLUMN last_seq;
ALTER TABLE chains DROP COLUMN head;
ALTER TABLE chains DROP COLUMN last_ts_ms;
ALTER TABLE chains DROP COLUMN anchor_seq;
ALTER TABLE chains DROP COLUMN anchor_hash;
ALTER TABLE chains DROP COLUMN anchor_ms;
ALTER TABLE chains DROP COLUMN durability;
ALTER TABLE chains DROP COLUMN storage;
CREATE TRIGGER chains_no_update BEFORE UPDATE ON chains
BEGIN SELECT RAISE(ABORT, 'chains are insert-only'); END;
CREATE TRIGGER chain_heads_no_update BEFORE UPDATE ON chain_heads
BEGIN SELECT RAISE(ABORT, 'chain heads are append-only'); END;
CREATE TRIGGER chain_heads_no_delete BEFORE DELETE ON chain_heads
BEGIN SELECT RAISE(ABORT, 'chain heads are append-only'); END;
