-- What the browser that uploaded a chain promised about keeping its events
-- until upload (postgres; keep in step with ../sqlite/0007_guarantees.sql): the weakest
-- value any of its batches reported, NULL while none said (an older client).
-- `durability`: `strict` or `bestEffort`; `storage`: `persistent` or `evictable`.
ALTER TABLE chains ADD COLUMN durability TEXT;
ALTER TABLE chains ADD COLUMN storage TEXT;
