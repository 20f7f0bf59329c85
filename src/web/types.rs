//! The TypeScript contract of the package, declared once, and the JSON
//! bridge between JS values and the core's serde types.
//!
//! Values cross the boundary as JSON (`JSON.stringify` in, `JSON.parse`
//! out): the core already carries serde_json, so this costs no extra code in
//! the `.wasm`, and parse errors come back with the JSON Pointer of the
//! offending member (via `serde_path_to_error`).

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::error::WebError;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object (a record, a policy, a sealed view). */
export type JsonObject = { [key: string]: JsonValue };

/** The host's login session, as the policy judges it. Times are RFC 3339 UTC. */
export interface Session {
  userId: string;
  name: string;
  /** Role id as the policy names it. */
  role: string;
  /** Record ids assigned to this user. */
  caseload?: string[];
  team?: string;
  /** One of the policy's `authStrengths` (`password`, `mfa`, ...). */
  authStrength: string;
  authTime: string;
  expiresAt: string;
  sessionId: string;
  client: string;
  ip?: string;
}

/** Every text of the break-glass dialog; `{record}`, `{role}`, `{count}`, `{min}`, `{max}` are filled in. */
export interface DialogStrings {
  title: string; intro: string; reasonCode: string; reasonCodeChoose: string; reasonCodeMissing: string;
  reasonText: string; reasonHint: string; count: string; context: string;
  contextHint: string; incidentRef: string; incidentHint: string; confirm: string;
  cancel: string; unauthorisedTitle: string; unauthorised: string; close: string;
  fixErrors: string;
}

export interface StartOptions {
  /** IndexedDB database name (default `sealtrail`). */
  dbName?: string;
  /** Most events per upload (default 500). */
  batchEvents?: number;
  /** Most bytes per upload body (default 524288). */
  batchBytes?: number;
  /** How long a new event waits for company before upload, ms (default 250). */
  batchDelayMs?: number;
  /** Upload request timeout, ms (default 10000). */
  timeoutMs?: number;
  /** First retry delay, ms, doubled per failure with jitter (default 500). */
  backoffMs?: number;
  /** Longest retry delay, ms (default 60000). */
  backoffMaxMs?: number;
  /** Dialog texts to override (localisation). */
  strings?: Partial<DialogStrings>;
  /** Called when a local alert rule fires or the collector reports a fork or tamper. */
  onAlert?: (alert: SealtrailAlert) => void;
  /** Called with each event once it is durable in IndexedDB. */
  onEvent?: (event: AuditEvent) => void;
  /** Called when upload progress changes. */
  onStatus?: () => void;
}

export interface StartConfig {
  /** The policy document (see policy.schema.json), as an object or JSON text. */
  policy: JsonObject | string;
  session: Session;
  /** Collector base URL: uploads go to `{endpoint}/chains/{chain}/events`. */
  endpoint: string;
  options?: StartOptions;
}

export type FieldAction = "view" | "edit" | "export" | "print" | "delete";
export type Cause = "notPermitted" | "outOfScope" | "unknownNoteType" | "malformed" | "sessionExpired" | "unknownRole";
export type Decision =
  | { type: "allow" }
  | { type: "seal"; breakGlass: boolean; cause: Cause }
  | { type: "deny"; cause: Cause }
  | { type: "stepUp"; authStrength: string; maxAgeMinutes: number };
export interface FieldDecision { pointer: string; noteType: string; labels: string[]; decision: Decision }
export type Outcome = "success" | "denied" | "cancelled" | "error";

/** Where an event landed in the chain. */
export interface EventRef { chain: string; seq: number; hash: string; action: string; outcome: Outcome }

/** An appended event, as stored and uploaded (shared/spec/audit-chain.md). */
export interface AuditEvent {
  v: number; chain: string; seq: number; ts: string; prev: string; hash: string;
  actor: { id: string; role: string; name?: string; authStrength?: string };
  action: string; outcome: Outcome;
  subject?: { recordId: string; type?: string; relation?: "caseload" | "team" | "unassigned"; demographics?: { [key: string]: string } };
  fields?: string[]; noteTypes?: string[]; labels?: string[];
  session?: { id: string; ip?: string; client?: string };
  purposeOfUse?: string;
  reason?: { code: string; text: string; context?: string; incidentRef?: string };
  policy?: string;
  detail?: JsonObject;
}

/** A record as the session may see it: sealed values are `{"$sealed": {...}}` placeholders. */
export interface SealedRecord { recordId: string; view: JsonObject; decisions: FieldDecision[]; event: EventRef }

export interface BreakGlassRequest { recordId: string; reasonCode: string; reasonText: string; context?: string; incidentRef?: string }
export interface BreakGlassGrant {
  id: string; userId: string; role: string; recordId: string; reasonCode: string;
  issuedAt: string; expiresAt: string; policy: string;
}
export interface Refusal { type: string; pointer: string; message: string }
export type BreakGlassResult =
  | { outcome: "granted"; grant: BreakGlassGrant; event: EventRef }
  | { outcome: "denied"; refusals: Refusal[]; event: EventRef }
  | { outcome: "cancelled"; event: EventRef };

/** A revealed value with what it takes to check it against its placeholder's commitment. */
export interface Opening { pointer: string; value: JsonValue; salt: string; commitment: string; event: EventRef }

export type HostAction =
  | { type: "search"; query: string; filters?: JsonObject }
  | { type: "export"; format?: string }
  | { type: "print" }
  | { type: "edit" }
  | { type: "delete" }
  | { type: "roleChange"; targetUser: string; from?: string; to: string };
/** `decision.type === "stepUp"` means: authenticate again (`authStrength`) and retry. */
export interface HostResult { decision: Decision; event: EventRef }

export interface ChainProgress { chain: string; ackedSeq: number | null; anchoredSeq: number | null; stopped: string | null; current: boolean }
export interface SealtrailStatus {
  /** This page load's chain. */
  chain: string;
  /** Last durable event of this chain. */
  head: { seq: number; hash: string } | null;
  /** Events in IndexedDB not yet acknowledged, all chains. */
  pending: number;
  chains: ChainProgress[];
  lastError: string | null;
  online: boolean;
}

/** A local alert-rule finding (`source: "local"`) or a collector refusal (`source: "collector"`). */
export interface SealtrailAlert {
  source: "local" | "collector";
  rule: string;
  severity: "medium" | "high" | "critical";
  summary: string;
  actors?: { id: string; role: string }[];
  records?: string[];
  events?: { chain: string; seq: number }[];
  at?: string;
  chain?: string;
  seq?: number | null;
}

/** `code` of every error the package throws (its `name` is `SealtrailError`). */
export type SealtrailErrorCode =
  | "storage-missing" | "storage-blocked" | "storage-full" | "storage-closed" | "storage-failed"
  | "invalid-input" | "refused" | "no-entropy" | "not-started" | "no-window" | "grant";
"#;

/// A JS value as `T`, naming the offending member as a JSON Pointer under `at`.
pub fn from_js<T: DeserializeOwned>(value: &JsValue, at: &str) -> Result<T, WebError> {
    let text = to_json_text(value, at)?;
    from_text(&text, at)
}

/// JSON text as `T`, naming the offending member as a JSON Pointer under `at`.
pub fn from_text<T: DeserializeOwned>(text: &str, at: &str) -> Result<T, WebError> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let pointer = format!("{at}{}", path_pointer(e.path()));
        WebError::input(pointer, e.into_inner().to_string())
    })
}

/// `JSON.stringify(value)`.
pub fn to_json_text(value: &JsValue, at: &str) -> Result<String, WebError> {
    if value.is_undefined() {
        return Err(WebError::input(at, "a value is required"));
    }
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| WebError::input(at, "not representable as JSON"))
}

/// `value` as a JS value (via `JSON.parse`).
pub fn to_js<T: Serialize>(value: &T) -> Result<JsValue, WebError> {
    let text = serde_json::to_string(value).map_err(|e| WebError::Core(e.to_string()))?;
    js_sys::JSON::parse(&text).map_err(|e| WebError::Core(super::error::describe(&e)))
}

/// A serde path (`a.b[0]`) as a JSON Pointer (`/a/b/0`).
fn path_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out = crate::pointer::push(&out, key);
            }
            Segment::Unknown => out.push_str("/?"),
        }
    }
    out
}
