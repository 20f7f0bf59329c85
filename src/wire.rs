//! The upload protocol's replies (`docs/protocol.md`, "Upload" and "Head
//! anchors") as types both sides share: the collector serialises them, the
//! browser's uploader parses them strictly.
//!
//! The uploader deletes stored events only on an [`Acknowledged`] that
//! [`Acknowledged::check`] accepts against the batch it sent: a `200` whose
//! body does not parse, names another chain, acknowledges a `seq` outside
//! the batch, or whose `head` is not the local hash of that `seq` deletes
//! nothing and is retried (an SSO page or a captive portal answers `200`
//! too). Every other answer is a [`Refusal`], tagged by its `error` member.
//!
//! Parsing reads a `serde_json::Value` (already in every build) member by
//! member rather than through serde's derives, which would add about 20 KB
//! to the browser's `.wasm` for these few shapes; each member is required
//! with its exact type, and a member the shape does not have is refused.
//! (Duplicate member names are not looked for: whoever can answer a `200`
//! at all can answer a well-formed one, and the acknowledgement's `head`
//! check is what keeps an accidental `200` from deleting anything.)
//! Serialising (the collector) uses the derives.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::event::ChainId;
use crate::Digest;

/// Why a reply's body is not the shape it should be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Not JSON at all (an HTML page, an empty body).
    #[error("the collector's answer is not JSON ({0})")]
    NotJson(String),
    /// JSON, but not this reply.
    #[error("the collector's answer is not {what}: member `{member}` {problem}")]
    Shape {
        /// The reply expected (`an acknowledgement`, ...).
        what: &'static str,
        /// The member at fault.
        member: String,
        /// What is wrong with it.
        problem: &'static str,
    },
}

/// `200` to `POST /chains/{chain}/events`: everything up to `acked_seq` is
/// stored and verified, and the event at `acked_seq` has hash `head`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Acknowledged {
    /// The chain, as the path named it.
    pub chain: ChainId,
    /// The last `seq` stored, always one of the batch's.
    pub acked_seq: u64,
    /// The hash of the event at `acked_seq`.
    pub head: Digest,
    /// Where the batch is in the collector's transparency log (none from a
    /// collector running without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<LogReceipt>,
}

/// An acknowledgement's place in the transparency log (`docs/protocol.md`,
/// "Transparency log"): what [`crate::tlog::receipt::check`] checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogReceipt {
    /// The leaf of the event at `ackedSeq`.
    pub index: u64,
    /// The leaf of the batch's first fresh event (`null` for a retry that
    /// stored nothing new).
    pub first_index: Option<u64>,
    /// A C2SP `tlog-proof` of leaf `index` in a signed checkpoint.
    pub proof: String,
}

/// Why a `200` is not an acknowledgement of the batch sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// The body is not `{"chain", "ackedSeq", "head"}` (a login page, a portal).
    #[error("{0}; nothing was deleted")]
    Malformed(WireError),
    /// The acknowledgement names another chain.
    #[error(
        "the collector acknowledged chain `{found}`, expected `{expected}`; nothing was deleted"
    )]
    OtherChain {
        /// The chain uploaded.
        expected: String,
        /// The chain named.
        found: String,
    },
    /// `ackedSeq` is not one of the batch's.
    #[error("the collector acknowledged seq {acked}, outside the batch sent (seq {first} to {last}); nothing was deleted")]
    OutsideBatch {
        /// The `seq` acknowledged.
        acked: u64,
        /// The batch's first `seq`.
        first: u64,
        /// The batch's last `seq`.
        last: u64,
    },
    /// `head` is not the hash of the local event at `ackedSeq`.
    #[error("the collector's head at seq {seq} is `{found}`, expected the local hash `{expected}`; nothing was deleted")]
    OtherHead {
        /// The `seq` acknowledged.
        seq: u64,
        /// The local hash there.
        expected: String,
        /// The hash the collector named.
        found: String,
    },
}

impl Acknowledged {
    /// Parses `{"chain": C, "ackedSeq": N, "head": H, "log"?: L}`, nothing else.
    pub fn parse(body: &str) -> Result<Self, WireError> {
        let what = "an acknowledgement";
        let mut m = Members::parse(body, what)?;
        let ack = Self {
            chain: m.chain("chain")?,
            acked_seq: m.uint("ackedSeq")?,
            head: m.digest("head")?,
            log: match m.map.remove("log") {
                None => None,
                Some(v) => {
                    let mut l = Members::from_value(v, "a log receipt")?;
                    let receipt = LogReceipt {
                        index: l.uint("index")?,
                        first_index: match l.value("firstIndex")? {
                            Value::Null => None,
                            v => Some(v.as_u64().ok_or_else(|| l.wrong("firstIndex"))?),
                        },
                        proof: l.string("proof")?,
                    };
                    l.finish()?;
                    Some(receipt)
                }
            },
        };
        m.finish()?;
        Ok(ack)
    }

    /// Parses a `200`'s body and checks that it acknowledges the batch of
    /// `chain` with `seq` `first..=last` that was sent; `local_hash` gives the
    /// hash of each event of the batch by `seq`.
    pub fn check(
        body: &str,
        chain: &ChainId,
        first: u64,
        last: u64,
        local_hash: impl Fn(u64) -> Option<Digest>,
    ) -> Result<Self, AckError> {
        let ack = Self::parse(body).map_err(AckError::Malformed)?;
        if ack.chain != *chain {
            return Err(AckError::OtherChain {
                expected: chain.to_string(),
                found: ack.chain.to_string(),
            });
        }
        if !(first..=last).contains(&ack.acked_seq) {
            return Err(AckError::OutsideBatch {
                acked: ack.acked_seq,
                first,
                last,
            });
        }
        match local_hash(ack.acked_seq) {
            Some(h) if h == ack.head => Ok(ack),
            expected => Err(AckError::OtherHead {
                seq: ack.acked_seq,
                expected: expected.map(|h| h.to_hex()).unwrap_or_default(),
                found: ack.head.to_hex(),
            }),
        }
    }
}

/// `200` to a head anchor: the anchor is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Anchored {
    /// The chain.
    pub chain: ChainId,
    /// The highest `seq` anchored for it now.
    pub anchored_seq: u64,
}

impl Anchored {
    /// Parses `{"chain": C, "anchoredSeq": N}`, nothing else.
    pub fn parse(body: &str) -> Result<Self, WireError> {
        let mut m = Members::parse(body, "an anchor's acknowledgement")?;
        let a = Self {
            chain: m.chain("chain")?,
            anchored_seq: m.uint("anchoredSeq")?,
        };
        m.finish()?;
        Ok(a)
    }
}

/// Every answer but a `200`, as `{"error": code, "message": text, ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "error",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase"
)]
pub enum Refusal {
    /// `409`: the batch starts past the next `seq` expected; resend from `expected_seq`.
    Gap {
        /// The next `seq` the collector expects.
        expected_seq: u64,
        /// What a person reads.
        message: String,
    },
    /// `409`: the event at `seq` differs from the stored one (evidence: never retried).
    Fork {
        /// Where.
        seq: u64,
        /// What a person reads.
        message: String,
    },
    /// `409`: the event at `seq` breaks the chain or an anchor, or an anchor
    /// contradicts what is stored (evidence: never retried).
    Tamper {
        /// Where.
        seq: u64,
        /// What a person reads.
        message: String,
    },
    /// `409`: the event at `seq` is stamped outside every window its chain's
    /// credentials cover, or ahead of the collector's clock.
    Clock {
        /// Where.
        seq: u64,
        /// What a person reads.
        message: String,
    },
    /// `400`: not a batch of events, or an event breaks a verification `rule`.
    BadRequest {
        /// What a person reads.
        message: String,
        /// The rule broken (`format`, ...), when one is.
        #[serde(skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
    },
    /// `401`: no valid credential for this chain (missing, expired, forged,
    /// or for another chain).
    Unauthorized {
        /// What a person reads.
        message: String,
    },
    /// `403`: the credential is valid but not this chain's owner's, or an
    /// event names another actor, session or role than the credential.
    Forbidden {
        /// What a person reads.
        message: String,
        /// The event at fault, when one is.
        #[serde(skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// `404`.
    NotFound {
        /// What a person reads.
        message: String,
    },
    /// `409` of a review action that does not fit the case's state (a
    /// resolved case takes comments only); never an upload's answer.
    Conflict {
        /// What a person reads.
        message: String,
    },
    /// `405`.
    MethodNotAllowed {
        /// What a person reads.
        message: String,
    },
    /// `413`: the body, the batch or the anchor is over a limit; send less.
    TooLarge {
        /// What a person reads.
        message: String,
    },
    /// `429`: too many requests from this address or credential; retry later.
    RateLimited {
        /// What a person reads.
        message: String,
    },
    /// `408`: the request (its body included) took longer than the
    /// collector allows; retry.
    Timeout {
        /// What a person reads.
        message: String,
    },
    /// `503`: too many batches in flight; retry later.
    Busy {
        /// What a person reads.
        message: String,
    },
    /// `500`: the collector failed; retry later.
    Internal {
        /// What a person reads.
        message: String,
    },
}

impl Refusal {
    /// The HTTP status this refusal is sent with.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Gap { .. }
            | Refusal::Fork { .. }
            | Refusal::Tamper { .. }
            | Refusal::Clock { .. }
            | Refusal::Conflict { .. } => 409,
            Refusal::BadRequest { .. } => 400,
            Refusal::Unauthorized { .. } => 401,
            Refusal::Forbidden { .. } => 403,
            Refusal::NotFound { .. } => 404,
            Refusal::MethodNotAllowed { .. } => 405,
            Refusal::TooLarge { .. } => 413,
            Refusal::RateLimited { .. } => 429,
            Refusal::Timeout { .. } => 408,
            Refusal::Busy { .. } => 503,
            Refusal::Internal { .. } => 500,
        }
    }

    /// The `error` member's value.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Gap { .. } => "gap",
            Refusal::Fork { .. } => "fork",
            Refusal::Tamper { .. } => "tamper",
            Refusal::Clock { .. } => "clock",
            Refusal::BadRequest { .. } => "bad-request",
            Refusal::Unauthorized { .. } => "unauthorized",
            Refusal::Forbidden { .. } => "forbidden",
            Refusal::NotFound { .. } => "not-found",
            Refusal::Conflict { .. } => "conflict",
            Refusal::MethodNotAllowed { .. } => "method-not-allowed",
            Refusal::TooLarge { .. } => "too-large",
            Refusal::RateLimited { .. } => "rate-limited",
            Refusal::Timeout { .. } => "timeout",
            Refusal::Busy { .. } => "busy",
            Refusal::Internal { .. } => "internal",
        }
    }

    /// What a person reads.
    pub fn message(&self) -> &str {
        match self {
            Refusal::Gap { message, .. }
            | Refusal::Fork { message, .. }
            | Refusal::Tamper { message, .. }
            | Refusal::Clock { message, .. }
            | Refusal::BadRequest { message, .. }
            | Refusal::Unauthorized { message }
            | Refusal::Forbidden { message, .. }
            | Refusal::NotFound { message }
            | Refusal::Conflict { message }
            | Refusal::MethodNotAllowed { message }
            | Refusal::TooLarge { message }
            | Refusal::RateLimited { message }
            | Refusal::Timeout { message }
            | Refusal::Busy { message }
            | Refusal::Internal { message } => message,
        }
    }

    /// The `seq` a conflict names (fork, tamper, clock; a forbidden event).
    pub fn seq(&self) -> Option<u64> {
        match self {
            Refusal::Fork { seq, .. }
            | Refusal::Tamper { seq, .. }
            | Refusal::Clock { seq, .. } => Some(*seq),
            Refusal::Forbidden { seq, .. } => *seq,
            _ => None,
        }
    }

    /// Parses a refusal: `error` one of the codes, the members its variant
    /// has with their types, and no other member.
    pub fn parse(body: &str) -> Result<Self, WireError> {
        let mut m = Members::parse(body, "a refusal")?;
        let code = m.string("error")?;
        let message = m.string("message")?;
        let refusal = match code.as_str() {
            "gap" => Refusal::Gap {
                expected_seq: m.uint("expectedSeq")?,
                message,
            },
            "fork" => Refusal::Fork {
                seq: m.uint("seq")?,
                message,
            },
            "tamper" => Refusal::Tamper {
                seq: m.uint("seq")?,
                message,
            },
            "clock" => Refusal::Clock {
                seq: m.uint("seq")?,
                message,
            },
            "bad-request" => Refusal::BadRequest {
                rule: m.opt_string("rule")?,
                message,
            },
            "unauthorized" => Refusal::Unauthorized { message },
            "forbidden" => Refusal::Forbidden {
                seq: m.opt_uint("seq")?,
                message,
            },
            "not-found" => Refusal::NotFound { message },
            "method-not-allowed" => Refusal::MethodNotAllowed { message },
            "too-large" => Refusal::TooLarge { message },
            "rate-limited" => Refusal::RateLimited { message },
            "timeout" => Refusal::Timeout { message },
            "busy" => Refusal::Busy { message },
            "internal" => Refusal::Internal { message },
            _ => {
                return Err(WireError::Shape {
                    what: "a refusal",
                    member: "error".into(),
                    problem: "is not one of the protocol's codes",
                })
            }
        };
        m.finish()?;
        Ok(refusal)
    }
}

/// A JSON object's members, taken one by one; [`Members::finish`] refuses
/// any member left over. (Not generic over converters: one copy of each in
/// the `.wasm`.)
struct Members {
    what: &'static str,
    map: Map<String, Value>,
}

/// A reply's body as JSON.
fn json(body: &str) -> Result<Value, WireError> {
    serde_json::from_slice(body.as_bytes()).map_err(|e| WireError::NotJson(e.to_string()))
}

impl Members {
    fn parse(body: &str, what: &'static str) -> Result<Self, WireError> {
        Self::from_value(json(body)?, what)
    }

    fn from_value(value: Value, what: &'static str) -> Result<Self, WireError> {
        match value {
            Value::Object(map) => Ok(Self { what, map }),
            _ => Err(WireError::Shape {
                what,
                member: String::new(),
                problem: "is not an object",
            }),
        }
    }

    fn shape(&self, member: &str, problem: &'static str) -> WireError {
        WireError::Shape {
            what: self.what,
            member: member.to_owned(),
            problem,
        }
    }

    fn wrong(&self, member: &str) -> WireError {
        self.shape(member, "has the wrong type or form")
    }

    /// The member `name`, required.
    fn value(&mut self, name: &str) -> Result<Value, WireError> {
        self.map
            .remove(name)
            .ok_or_else(|| self.shape(name, "is missing"))
    }

    fn string(&mut self, name: &str) -> Result<String, WireError> {
        match self.value(name)? {
            Value::String(s) => Ok(s),
            _ => Err(self.wrong(name)),
        }
    }

    fn uint(&mut self, name: &str) -> Result<u64, WireError> {
        self.value(name)?.as_u64().ok_or_else(|| self.wrong(name))
    }

    fn chain(&mut self, name: &str) -> Result<ChainId, WireError> {
        let text = self.string(name)?;
        ChainId::parse(&text).map_err(|_| self.wrong(name))
    }

    fn digest(&mut self, name: &str) -> Result<Digest, WireError> {
        let text = self.string(name)?;
        Digest::parse(&text).map_err(|_| self.wrong(name))
    }

    fn opt_string(&mut self, name: &str) -> Result<Option<String>, WireError> {
        match self.map.contains_key(name) {
            true => self.string(name).map(Some),
            false => Ok(None),
        }
    }

    fn opt_uint(&mut self, name: &str) -> Result<Option<u64>, WireError> {
        match self.map.contains_key(name) {
            true => self.uint(name).map(Some),
            false => Ok(None),
        }
    }

    fn finish(self) -> Result<(), WireError> {
        match self.map.keys().next() {
            None => Ok(()),
            Some(name) => Err(self.shape(name, "is not part of this reply")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chain() -> ChainId {
        ChainId::parse("00112233445566778899aabbccddeeff").unwrap()
    }

    fn hash(seq: u64) -> Option<Digest> {
        (seq <= 9).then(|| Digest::of(&seq.to_be_bytes()))
    }

    fn ack(chain: &str, seq: u64, head: Digest) -> String {
        json!({ "chain": chain, "ackedSeq": seq, "head": head }).to_string()
    }

    #[test]
    fn accepts_an_acknowledgement_of_the_batch_and_round_trips() {
        let body = ack(chain().as_str(), 7, hash(7).unwrap());
        let a = Acknowledged::check(&body, &chain(), 5, 9, hash).unwrap();
        assert_eq!(a.acked_seq, 7);
        let back: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(serde_json::to_value(&a).unwrap(), back);
        let anchored = Anchored {
            chain: chain(),
            anchored_seq: 4,
        };
        let text = serde_json::to_string(&anchored).unwrap();
        assert_eq!(Anchored::parse(&text).unwrap(), anchored);
    }

    #[test]
    fn an_acknowledgement_may_carry_its_log_receipt() {
        let head = hash(9).unwrap();
        let log = json!({ "index": 41, "firstIndex": 32, "proof": "p" });
        let body = json!({ "chain": chain(), "ackedSeq": 9, "head": head, "log": log });
        let a = Acknowledged::check(&body.to_string(), &chain(), 5, 9, hash).unwrap();
        assert_eq!(a.log.as_ref().map(|l| l.first_index), Some(Some(32)));
        assert_eq!(serde_json::to_value(&a).unwrap(), body);
        let retry = json!({ "index": 41, "firstIndex": null, "proof": "p" });
        let body = json!({ "chain": chain(), "ackedSeq": 9, "head": head, "log": retry });
        let a = Acknowledged::parse(&body.to_string()).unwrap();
        assert_eq!(a.log.map(|l| l.first_index), Some(None));
        for bad in [
            json!({ "index": 41, "proof": "p" }),
            json!({ "index": 41, "firstIndex": 1, "proof": "p", "x": 1 }),
            json!({ "index": "41", "firstIndex": 1, "proof": "p" }),
            json!("p"),
        ] {
            let body = json!({ "chain": chain(), "ackedSeq": 9, "head": head, "log": bad });
            assert!(Acknowledged::parse(&body.to_string()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_200_that_is_not_an_acknowledgement_deletes_nothing() {
        let c = chain();
        let head = hash(9).unwrap();
        for body in [
            "<html>Sign in</html>".to_owned(),
            String::new(),
            "[]".to_owned(),
            "{}".to_owned(),
            json!({ "chain": c, "head": head }).to_string(),
            json!({ "chain": c, "ackedSeq": 9, "head": head, "extra": 1 }).to_string(),
            json!({ "chain": c, "ackedSeq": -1, "head": head }).to_string(),
            json!({ "chain": c, "ackedSeq": 9.5, "head": head }).to_string(),
            json!({ "chain": c, "ackedSeq": "9", "head": head }).to_string(),
            json!({ "chain": c, "ackedSeq": 9, "head": "ABC" }).to_string(),
            json!({ "chain": "not-a-chain", "ackedSeq": 9, "head": head }).to_string(),
        ] {
            let e = Acknowledged::check(&body, &c, 5, 9, hash).unwrap_err();
            assert!(matches!(e, AckError::Malformed(_)), "{body}: {e}");
            assert!(e.to_string().contains("nothing was deleted"), "{e}");
        }
        let other = ack("ffeeddccbbaa99887766554433221100", 9, head);
        assert!(matches!(
            Acknowledged::check(&other, &c, 5, 9, hash),
            Err(AckError::OtherChain { .. })
        ));
        for seq in [4, 10, u64::MAX] {
            let past = ack(c.as_str(), seq, head);
            assert_eq!(
                Acknowledged::check(&past, &c, 5, 9, hash),
                Err(AckError::OutsideBatch {
                    acked: seq,
                    first: 5,
                    last: 9
                })
            );
        }
        let wrong = ack(c.as_str(), 8, head);
        let e = Acknowledged::check(&wrong, &c, 5, 9, hash).unwrap_err();
        assert!(matches!(e, AckError::OtherHead { seq: 8, .. }), "{e}");
    }

    #[test]
    fn refusals_round_trip_with_their_status() {
        let cases = [
            (
                json!({ "error": "gap", "expectedSeq": 3, "message": "m" }),
                409,
            ),
            (json!({ "error": "fork", "seq": 3, "message": "m" }), 409),
            (json!({ "error": "tamper", "seq": 3, "message": "m" }), 409),
            (json!({ "error": "clock", "seq": 3, "message": "m" }), 409),
            (
                json!({ "error": "bad-request", "message": "m", "rule": "format" }),
                400,
            ),
            (json!({ "error": "bad-request", "message": "m" }), 400),
            (json!({ "error": "unauthorized", "message": "m" }), 401),
            (
                json!({ "error": "forbidden", "message": "m", "seq": 2 }),
                403,
            ),
            (json!({ "error": "forbidden", "message": "m" }), 403),
            (json!({ "error": "not-found", "message": "m" }), 404),
            (
                json!({ "error": "method-not-allowed", "message": "m" }),
                405,
            ),
            (json!({ "error": "too-large", "message": "m" }), 413),
            (json!({ "error": "rate-limited", "message": "m" }), 429),
            (json!({ "error": "timeout", "message": "m" }), 408),
            (json!({ "error": "busy", "message": "m" }), 503),
            (json!({ "error": "internal", "message": "m" }), 500),
        ];
        for (body, status) in cases {
            let r = Refusal::parse(&body.to_string()).unwrap();
            assert_eq!(r.status(), status, "{body}");
            assert_eq!(r.code(), body["error"], "{body}");
            assert_eq!(r.message(), "m");
            assert_eq!(serde_json::to_value(&r).unwrap(), body);
        }
        for bad in [
            json!({ "error": "gap", "message": "m" }),
            json!({ "error": "fork", "seq": 3 }),
            json!({ "error": "fork", "seq": null, "message": "m" }),
            json!({ "error": "fork", "seq": 3, "message": "m", "extra": true }),
            json!({ "error": "teapot", "message": "m" }),
            json!({ "seq": 3, "message": "m" }),
            json!(["gap"]),
        ] {
            assert!(Refusal::parse(&bad.to_string()).is_err(), "{bad}");
        }
    }
}
