//! The TypeScript contract of the package, declared once. The answers it
//! declares are the serde types of [`crate::page`] (its answers);
//! `tests/js_contract.rs` serialises a sample of each and `tsc` checks every
//! sample against these declarations (`scripts/test-web.sh`), so the two
//! cannot drift apart.

use wasm_bindgen::prelude::*;

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
  /** Record ids the user declared a link to (relatives, neighbours, their own): accesses to them are flagged, never the link. */
  relatedRecords?: string[];
  /** Break-glass grants this user had before this page load (from the host's records): the policy's re-prompt window counts from them. */
  priorGrants?: { recordId: string; issuedAt: string }[];
  team?: string;
  /** One of the policy's `authStrengths` (`password`, `mfa`, ...). */
  authStrength: string;
  authTime: string;
  expiresAt: string;
  sessionId: string;
  client: string;
  ip?: string;
  /** Where the user works now, for the policy's conditions (`session.facility`, `session.unit`). */
  facility?: string;
  unit?: string;
  /** Where the request comes from (`session.network`). */
  network?: "onSite" | "vpn" | "remote";
  /** The device's posture (`session.device`). */
  device?: "managed" | "unmanaged";
  /** How the user signed in (`password`, `passkey`, `smartcard`, ...; `session.signInMethod`). */
  signInMethod?: string;
}

/** Every text of the break-glass dialog; `{record}`, `{role}`, `{count}`, `{min}`, `{max}` are filled in. */
export interface DialogStrings {
  title: string; intro: string; reasonCode: string; reasonCodeChoose: string; reasonCodeMissing: string;
  reasonText: string; reasonHint: string; count: string; context: string;
  contextHint: string; incidentRef: string; incidentHint: string; confirm: string;
  cancel: string; unauthorisedTitle: string; unauthorised: string; close: string;
  fixErrors: string;
}

/**
 * Options of `start`. A member of the wrong type or out of range (`NaN`, a
 * negative or fractional number, an empty `dbName`, a callback that is not a
 * function, an unknown member) rejects `start` with `code: "invalid-input"`
 * and `pointer` naming it (`/options/batchDelayMs`).
 */
export interface StartOptions {
  /** IndexedDB database name, not blank (default `sealtrail`). */
  dbName?: string;
  /** Most events per upload, a whole number from 1 to 10000 (default 500). */
  batchEvents?: number;
  /** Most bytes per upload body, 1024 to 67108864 (default 524288). */
  batchBytes?: number;
  /** How long a new event waits for company before upload, ms, 0 to 600000 (default 250). */
  batchDelayMs?: number;
  /** Upload request timeout, ms, 1 to 600000 (default 10000). */
  timeoutMs?: number;
  /** First retry delay, ms, 1 to 3600000, doubled per failure with jitter (default 500). */
  backoffMs?: number;
  /** Longest retry delay, ms, 1 to 86400000 and at least `backoffMs` (default 60000, or `backoffMs` if larger). */
  backoffMaxMs?: number;
  /** Dialog texts to override (localisation). */
  strings?: Partial<DialogStrings>;
  /**
   * The collector's transparency-log key, `<origin>+<hex id>+<base64>` as the
   * collector prints it at start. Given, acknowledged events are deleted only
   * once the acknowledgement's signed checkpoint, the event's inclusion and
   * the checkpoint's consistency with the last one kept hold; a failure is a
   * critical alert (`collector-log-signature`, `-log-inclusion`,
   * `-log-consistency`, `-log-malformed`, `-log-missing`) and deletes nothing.
   */
  collectorKey?: string;
  /** Witness cosignature keys (type 0x04); needs `collectorKey`. */
  witnessKeys?: string[];
  /** How many of `witnessKeys` must have cosigned (default: all of them). */
  witnessQuorum?: number;
  /**
   * A record pseudonym key, 64 hex digits (32 bytes). Given, every event
   * names its record by `rp-` and the first 16 bytes of
   * HMAC-SHA256(key, recordId) in hex, so the collector stores pseudonyms
   * only; whoever holds the key computes a record's pseudonym to ask for its
   * access report. Kept in memory for this session only, never stored.
   */
  recordPseudonymKey?: string;
  /**
   * Supplies the upload credential of a chain (docs/protocol.md,
   * "Credentials"): the host's backend, which authenticated the user, mints a
   * JWT for `chain` and this user, login session and role. Called for this
   * page's chain at start, again before the credential's `exp` and after the
   * collector refuses it; never for a chain of an earlier login, which
   * uploads with the credential stored beside it. The text stays opaque:
   * the module only reads its claims to check it names this chain and
   * session. Without it, or while it fails, events stay in this browser and
   * `status()` says why (`chains[].held`).
   */
  credential?: (chain: string) => Promise<string> | string;
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
export type Cause = "notPermitted" | "outOfScope" | "unknownNoteType" | "malformed" | "sessionExpired" | "unknownRole" | "tooLarge" | "condition";
export type Decision =
  | { type: "allow" }
  | { type: "seal"; breakGlass: boolean; cause: Cause }
  | { type: "deny"; cause: Cause }
  | { type: "stepUp"; authStrength: string; maxAgeMinutes: number };
/** An attribute a policy condition reads. */
export type Attribute =
  | "session.userId" | "session.role" | "session.team" | "session.facility" | "session.unit"
  | "session.network" | "session.device" | "session.signInMethod" | "session.authStrength"
  | "record.type" | "record.team" | "record.facility" | "record.unit" | "record.encounterStatus"
  | "record.treatingTeam" | "record.restricted" | "record.excludedStaff" | "record.consents"
  | "time.now" | "time.weekday" | "time.localTime" | "time.businessHours";
/** Why: the rule that allowed (its JSON Pointer in the policy), or the rule and the condition that refused, with the condition's label (show it: "sealed: patient restriction") and the attribute that was missing. */
export interface Explanation { rule?: string; condition?: string; label?: string; missing?: Attribute }
export interface FieldDecision { pointer: string; noteType: string; labels: string[]; decision: Decision; why?: Explanation }
export type Outcome = "success" | "denied" | "cancelled" | "error";

/** Where an event landed in the chain. */
export interface EventRef { chain: string; seq: number; hash: string; action: string; outcome: Outcome }

/** An appended event, as stored and uploaded (docs/protocol.md). */
export interface AuditEvent {
  v: number; chain: string; seq: number; ts: string; prev: string; hash: string;
  actor: { id: string; role: string; name?: string; authStrength?: string; team?: string };
  action: string; outcome: Outcome;
  subject?: { recordId: string; type?: string; relation?: "caseload" | "team" | "unassigned"; demographics?: { [key: string]: string }; related?: boolean };
  fields?: string[]; noteTypes?: string[]; labels?: string[];
  session?: { id: string; ip?: string; client?: string };
  purposeOfUse?: string;
  reason?: { code: string; text: string; context?: string; incidentRef?: string };
  policy?: string;
  detail?: JsonObject;
}

/** A record as the session may see it: sealed values are `{"$sealed": {...}}` placeholders. */
/** A list an event could not carry whole: its length and `sha256:` digest (of its RFC 8785 form). */
export interface ListDigest { count: number; digest: string }
/** A text or value an event could not carry whole: its length in bytes and `sha256:` digest. */
export interface TextDigest { bytes: number; digest: string }
/** What was shortened to keep an event under the policy's `limits.eventMaxBytes` (also in its `detail.bounded`). */
export interface Bounded {
  sealed?: ListDigest; fields?: ListDigest; query?: TextDigest; filters?: ListDigest;
  detail?: { [member: string]: TextDigest };
}

export interface SealedRecord { recordId: string; view: JsonObject; decisions: FieldDecision[]; event: EventRef; bounded?: Bounded }

/** With `reasonCode` and `reasonText` empty, a record the policy exempts from the prompt is granted without a reason (see `exemption` in the result). */
export interface BreakGlassRequest { recordId: string; reasonCode: string; reasonText: string; context?: string; incidentRef?: string }
export interface BreakGlassGrant {
  id: string; userId: string; role: string; recordId: string; reasonCode: string;
  issuedAt: string; expiresAt: string; policy: string;
}
export type RefusalType =
  | "sessionExpired" | "roleNotAuthorised" | "unknownReasonCode" | "reasonBlank" | "reasonRepeated"
  | "reasonTooShort" | "reasonTooLong" | "contextTooLong" | "incidentRefMissing" | "incidentRefMalformed"
  | "noEntropy";
/** One reason a break-glass request was refused; `pointer` names the request field ("" for the request as a whole). */
export interface Refusal { type: RefusalType; pointer: string; message: string }
/** Why a grant came without the justification prompt (policy `breakGlass.exemptions`). */
export type Exemption = { type: "treatingTeam" } | { type: "recentGrant"; grantedAt: string };
export type BreakGlassResult =
  | { outcome: "granted"; grant: BreakGlassGrant; event: EventRef; exemption?: Exemption }
  | { outcome: "denied"; refusals: Refusal[]; event: EventRef }
  | { outcome: "cancelled"; event: EventRef };

/** A revealed value with what it takes to check it against its placeholder's commitment. */
export interface Opening { pointer: string; value: JsonValue; salt: string; commitment: string; event: EventRef }

export type HostAction =
  | { type: "search"; query: string; filters?: JsonObject }
  | { type: "export"; format?: string }
  | { type: "print" }
  /** `fields`: JSON Pointers of what changed; `effectiveAt`: the date the user gave the entry (same form as event times), reviewed for back-dating. */
  | { type: "edit"; fields?: string[]; effectiveAt?: string }
  /** `fields`: what is deleted (`/notes/3`); none: the whole record. The event counts the notes removed. */
  | { type: "delete"; fields?: string[] }
  | { type: "roleChange"; targetUser: string; from?: string; to: string };
/** `decision.type === "stepUp"` means: authenticate again (`authStrength`) and retry. */
export interface HostResult { decision: Decision; why: Explanation; event: EventRef; bounded?: Bounded }

/** `held`: why the chain's events stay in this browser for now (no usable upload credential). */
export interface ChainProgress { chain: string; ackedSeq: number | null; anchoredSeq: number | null; stopped: string | null; held: string | null; current: boolean }
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
  /** What this browser promises about keeping stored events until upload. */
  guarantees: SealtrailGuarantees;
}

/**
 * `durability`: `"strict"` when IndexedDB's `complete` waits for the disk,
 * `"bestEffort"` when the engine ignores the hint (a crash can lose the last
 * events). `storage`: `"persistent"` when `navigator.storage.persisted()`,
 * `"evictable"` when the browser may delete the data on its own.
 */
export interface SealtrailGuarantees {
  durability: "strict" | "bestEffort";
  storage: "persistent" | "evictable";
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
  /** Set (true) on findings that need a safeguarding review (`demographic-targeting`). */
  safeguardingReview?: boolean;
  chain?: string;
  seq?: number | null;
}

/** `code` of every error the package throws (its `name` is `SealtrailError`). */
export type SealtrailErrorCode =
  | "storage-missing" | "storage-blocked" | "storage-full" | "storage-closed" | "storage-failed"
  | "invalid-input" | "refused" | "no-entropy" | "not-started" | "no-window" | "grant";

/**
 * What every rejected promise and thrown exception of the package is: a JS
 * `Error` named `SealtrailError` with a stable `code`, and the JSON Pointer
 * of the offending argument member (`/options/batchDelayMs`, `/record/id`),
 * or `null` when no argument is to blame (storage, the platform).
 */
export interface SealtrailError extends Error {
  name: "SealtrailError";
  code: SealtrailErrorCode;
  pointer: string | null;
}
"#;
