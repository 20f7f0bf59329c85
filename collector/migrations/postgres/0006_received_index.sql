-- Retention moves events by the collector's receive time (never the
-- client's `ts`): index it.
CREATE INDEX events_received ON events (received_ms);
