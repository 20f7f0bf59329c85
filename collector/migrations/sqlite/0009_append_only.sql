-- Findings, anchors and chains are evidence too (sqlite; keep in step with
-- ../postgres/0009_append_only.sql): findings and anchors are never changed
-- or removed; a chain's row is never removed, keeps its id and first sight,
-- and only moves forward: its head and highest anchor never go back, a head
-- never changes at the same seq, and its guarantees only weaken.
CREATE TRIGGER findings_no_update BEFORE UPDATE ON findings
BEGIN SELECT RAISE(ABORT, 'findings are append-only'); END;
CREATE TRIGGER findings_no_delete BEFORE DELETE ON findings
BEGIN SELECT RAISE(ABORT, 'findings are append-only'); END;
CREATE TRIGGER anchors_no_update BEFORE UPDATE ON anchors
BEGIN SELECT RAISE(ABORT, 'anchors are append-only'); END;
CREATE TRIGGER anchors_no_delete BEFORE DELETE ON anchors
BEGIN SELECT RAISE(ABORT, 'anchors are append-only'); END;
CREATE TRIGGER chains_no_delete BEFORE DELETE ON chains
BEGIN SELECT RAISE(ABORT, 'chains are never removed'); END;
CREATE TRIGGER chains_forward_only BEFORE UPDATE ON chains
WHEN NEW.id IS NOT OLD.id
  OR NEW.first_seen_ms IS NOT OLD.first_seen_ms
  OR (OLD.last_seq IS NOT NULL AND (NEW.last_seq IS NULL OR NEW.last_seq < OLD.last_seq))
  OR (NEW.last_seq IS OLD.last_seq AND NEW.head IS NOT OLD.head)
  OR (OLD.anchor_seq IS NOT NULL AND (NEW.anchor_seq IS NULL OR NEW.anchor_seq < OLD.anchor_seq))
  OR (NEW.anchor_seq IS OLD.anchor_seq AND NEW.anchor_hash IS NOT OLD.anchor_hash)
  OR (OLD.durability = 'bestEffort' AND NEW.durability IS NOT 'bestEffort')
  OR (OLD.storage = 'evictable' AND NEW.storage IS NOT 'evictable')
BEGIN SELECT RAISE(ABORT, 'a chain only moves forward'); END;
