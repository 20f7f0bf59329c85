-- The address each batch came from (its TCP peer, or behind a trusted proxy
-- the client address that proxy forwarded), kept beside the event: the
-- browser cannot know its own address, and it is not part of the hashed
-- event. NULL for events stored before this column existed.
ALTER TABLE events ADD COLUMN peer_ip TEXT;
ALTER TABLE events_archive ADD COLUMN peer_ip TEXT;
