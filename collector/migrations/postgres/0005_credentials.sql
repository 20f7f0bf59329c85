-- Upload credentials seen per chain (docs/protocol.md, "Credentials"): the
-- first binds the chain to its owner (`sub`, `sid`, `role`); each one's
-- window (`iat`..`exp`, in milliseconds) is time the chain's events may be
-- stamped with. Append-only, like the evidence it vouches for.
CREATE TABLE credentials (
    chain       TEXT NOT NULL,
    sub         TEXT NOT NULL,
    sid         TEXT NOT NULL,
    role        TEXT NOT NULL,
    iat_ms      BIGINT NOT NULL,
    exp_ms      BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    PRIMARY KEY (chain, iat_ms, exp_ms)
);
CREATE TRIGGER credentials_no_change BEFORE UPDATE OR DELETE ON credentials
    FOR EACH ROW EXECUTE FUNCTION sealtrail_refuse();
CREATE TRIGGER credentials_no_truncate BEFORE TRUNCATE ON credentials
    FOR EACH STATEMENT EXECUTE FUNCTION sealtrail_refuse();
