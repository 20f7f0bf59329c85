-- `chains` is insert-only (postgres; keep in step with
-- ../sqlite/0010_chain_heads.sql): a row names a chain and when it was
-- first seen, nothing that changes. What changes is derived from
-- append-only rows: the head from `chain_heads` (one row per stored batch:
-- the head it moved the chain to, when, and the guarantees its upload
-- reported), the highest anchor from `anchors`. A chain's head is its
-- highest `seq` in `chain_heads`, its guarantees the weakest any row
-- reported, its last change the latest row's receive time. Ingest still
-- locks the chain's row (`FOR UPDATE` fires no trigger).
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
DROP TRIGGER chains_forward_only ON chains;
DROP FUNCTION sealtrail_chain_forward();
ALTER TABLE chains
    DROP COLUMN updated_ms,
    DROP COLUMN last_seq,
    DROP COLUMN head,
    DROP COLUMN last_ts_ms,
    DROP COLUMN anchor_seq,
    DROP COLUMN anchor_hash,
    DROP COLUMN anchor_ms,
    DROP COLUMN durability,
    DROP COLUMN storage;
CREATE TRIGGER chains_no_update BEFORE UPDATE ON chains
    FOR EACH ROW EXECUTE FUNCTION sealtrail_refuse();
CREATE TRIGGER chain_heads_no_change BEFORE UPDATE OR DELETE ON chain_heads
    FOR EACH ROW EXECUTE FUNCTION sealtrail_refuse();
CREATE TRIGGER chain_heads_no_truncate BEFORE TRUNCATE ON chain_heads
    FOR EACH STATEMENT EXECUTE FUNCTION sealtrail_refuse();
