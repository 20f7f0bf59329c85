-- Findings, anchors and chains are evidence too (postgres; keep in step with
-- ../sqlite/0009_append_only.sql): findings and anchors are never changed
-- or removed; a chain's row is never removed, keeps its id and first sight,
-- and only moves forward: its head and highest anchor never go back, a head
-- never changes at the same seq, and its guarantees only weaken. No table of
-- evidence can be emptied with TRUNCATE (which row triggers do not see).
CREATE TRIGGER findings_no_change BEFORE UPDATE OR DELETE ON findings
    FOR EACH ROW EXECUTE FUNCTION sealtrail_refuse();
CREATE TRIGGER anchors_no_change BEFORE UPDATE OR DELETE ON anchors
    FOR EACH ROW EXECUTE FUNCTION sealtrail_refuse();
CREATE TRIGGER chains_no_delete BEFORE DELETE ON chains
    FOR EACH ROW EXECUTE FUNCTION sealtrail_refuse();
CREATE FUNCTION sealtrail_chain_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id
       OR NEW.first_seen_ms IS DISTINCT FROM OLD.first_seen_ms
       OR (OLD.last_seq IS NOT NULL AND (NEW.last_seq IS NULL OR NEW.last_seq < OLD.last_seq))
       OR (NEW.last_seq IS NOT DISTINCT FROM OLD.last_seq AND NEW.head IS DISTINCT FROM OLD.head)
       OR (OLD.anchor_seq IS NOT NULL AND (NEW.anchor_seq IS NULL OR NEW.anchor_seq < OLD.anchor_seq))
       OR (NEW.anchor_seq IS NOT DISTINCT FROM OLD.anchor_seq AND NEW.anchor_hash IS DISTINCT FROM OLD.anchor_hash)
       OR (OLD.durability = 'bestEffort' AND NEW.durability IS DISTINCT FROM 'bestEffort')
       OR (OLD.storage = 'evictable' AND NEW.storage IS DISTINCT FROM 'evictable') THEN
        RAISE EXCEPTION 'a chain only moves forward';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER chains_forward_only BEFORE UPDATE ON chains
    FOR EACH ROW EXECUTE FUNCTION sealtrail_chain_forward();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION sealtrail_refuse();
CREATE TRIGGER archive_no_truncate BEFORE TRUNCATE ON events_archive
    FOR EACH STATEMENT EXECUTE FUNCTION sealtrail_refuse();
CREATE TRIGGER read_log_no_truncate BEFORE TRUNCATE ON read_log
    FOR EACH STATEMENT EXECUTE FUNCTION sealtrail_refuse();
CREATE TRIGGER findings_no_truncate BEFORE TRUNCATE ON findings
    FOR EACH STATEMENT EXECUTE FUNCTION sealtrail_refuse();
CREATE TRIGGER anchors_no_truncate BEFORE TRUNCATE ON anchors
    FOR EACH STATEMENT EXECUTE FUNCTION sealtrail_refuse();
CREATE TRIGGER chains_no_truncate BEFORE TRUNCATE ON chains
    FOR EACH STATEMENT EXECUTE FUNCTION sealtrail_refuse();
CREATE TRIGGER case_events_no_truncate BEFORE TRUNCATE ON case_events
    FOR EACH STATEMENT EXECUTE FUNCTION sealtrail_refuse();
