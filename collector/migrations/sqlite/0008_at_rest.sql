-- Encryption at rest (src/at_rest.rs): the data keys, each sealed under a
-- master key the operator holds. Rotation re-seals them under a new master
-- key (the only change a row here takes); they are never deleted. Event
-- lines, findings evidence and case notes name the data key they are sealed
-- under in `key_id` (NULL: stored before a key was configured, plaintext).
CREATE TABLE at_rest_keys (
    id         TEXT PRIMARY KEY,
    master_id  TEXT NOT NULL,
    sealed     TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TRIGGER at_rest_keys_reseal_only BEFORE UPDATE ON at_rest_keys
WHEN NEW.id <> OLD.id OR NEW.created_ms <> OLD.created_ms
BEGIN SELECT RAISE(ABORT, 'a data key is only ever re-sealed'); END;
CREATE TRIGGER at_rest_keys_no_delete BEFORE DELETE ON at_rest_keys
BEGIN SELECT RAISE(ABORT, 'data keys are never deleted'); END;

ALTER TABLE events ADD COLUMN key_id TEXT;
ALTER TABLE events_archive ADD COLUMN key_id TEXT;
ALTER TABLE findings ADD COLUMN key_id TEXT;
ALTER TABLE case_events ADD COLUMN key_id TEXT;
