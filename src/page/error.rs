//! What a page session refuses, and the stable codes a host branches on.

use serde::Serialize;

use crate::bounded::BoundError;
use crate::decision::{HostActionError, RecordError};
use crate::policy::AlertConfigError;
use crate::policy::PolicyError;
use crate::seal::{SealError, UnsealError};
use crate::session::SessionError;

/// The `code` of every error the browser package throws: stable names a
/// host can branch on (the `SealtrailErrorCode` type of the `.d.ts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// No IndexedDB in this context.
    StorageMissing,
    /// Another tab holds an older version of the database open.
    StorageBlocked,
    /// The browser refused to store more data.
    StorageFull,
    /// The database connection was closed under us.
    StorageClosed,
    /// Any other storage failure.
    StorageFailed,
    /// An argument is not what the API takes (see `pointer`).
    InvalidInput,
    /// The core refused for a reason no input change fixes.
    Refused,
    /// No secure random source.
    NoEntropy,
    /// Called before `start` finished or after `close`.
    NotStarted,
    /// No browser window with a document.
    NoWindow,
    /// A reveal without a matching, current grant.
    Grant,
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: [ErrorCode; 11] = [
        Self::StorageMissing,
        Self::StorageBlocked,
        Self::StorageFull,
        Self::StorageClosed,
        Self::StorageFailed,
        Self::InvalidInput,
        Self::Refused,
        Self::NoEntropy,
        Self::NotStarted,
        Self::NoWindow,
        Self::Grant,
    ];

    /// The wire name (`storage-missing`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StorageMissing => "storage-missing",
            Self::StorageBlocked => "storage-blocked",
            Self::StorageFull => "storage-full",
            Self::StorageClosed => "storage-closed",
            Self::StorageFailed => "storage-failed",
            Self::InvalidInput => "invalid-input",
            Self::Refused => "refused",
            Self::NoEntropy => "no-entropy",
            Self::NotStarted => "not-started",
            Self::NoWindow => "no-window",
            Self::Grant => "grant",
        }
    }
}

/// An error as JavaScript receives it (`SealtrailError` in the `.d.ts`):
/// the web layer sets these members on a JS `Error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorReport {
    /// Always `SealtrailError`.
    pub name: &'static str,
    /// What to do, in words.
    pub message: String,
    /// The stable code.
    pub code: ErrorCode,
    /// The argument member to blame, or `None` (`null`) when none is.
    pub pointer: Option<String>,
}

impl ErrorReport {
    /// The `name` of every error the package throws.
    pub const NAME: &'static str = "SealtrailError";

    /// A report of `message` with `code`, blaming `pointer`.
    pub fn new(code: ErrorCode, pointer: Option<String>, message: String) -> Self {
        Self {
            name: Self::NAME,
            message,
            code,
            pointer,
        }
    }
}

impl From<&StartError> for ErrorReport {
    fn from(e: &StartError) -> Self {
        Self::new(e.code(), Some(e.pointer()), e.to_string())
    }
}

impl From<&PageError> for ErrorReport {
    fn from(e: &PageError) -> Self {
        Self::new(e.code(), e.pointer(), e.to_string())
    }
}

/// Why `start`'s configuration was refused. Every variant names the JSON
/// Pointer of the offending value inside the configuration.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum StartError {
    /// The configuration's own shape (a member missing, unknown or of the wrong type).
    #[error("invalid value at `{pointer}`: {message}")]
    Shape {
        /// Where.
        pointer: String,
        /// What is wrong.
        message: String,
    },
    /// The policy was refused.
    #[error("invalid value at `/policy{at}`: {0}", at = .0.pointer())]
    Policy(PolicyError),
    /// The policy's alert settings were refused.
    #[error("invalid value at `/policy/alerts`: {0}")]
    Alerts(AlertConfigError),
    /// The session was refused.
    #[error("invalid value at `/session{at}`: {0}", at = .0.pointer())]
    Session(SessionError),
}

impl StartError {
    /// The JSON Pointer of the offending value inside the configuration.
    pub fn pointer(&self) -> String {
        match self {
            Self::Shape { pointer, .. } => pointer.clone(),
            Self::Policy(e) => format!("/policy{}", e.pointer()),
            Self::Alerts(_) => "/policy/alerts".to_owned(),
            Self::Session(e) => format!("/session{}", e.pointer()),
        }
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidInput
    }

    pub(crate) fn shape(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Shape {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

/// Why a page session refused a call.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PageError {
    /// An argument is not what the call takes.
    #[error("invalid value at `{pointer}`: {message}")]
    Input {
        /// JSON Pointer of the offending value inside the call's arguments.
        pointer: String,
        /// What is wrong.
        message: String,
    },
    /// The session was refused (`setSession`).
    #[error("invalid value at `/session{at}`: {0}", at = .0.pointer())]
    Session(SessionError),
    /// A record could not be sealed (`at` names it among the arguments).
    #[error("invalid value at `{at}{inner}`: {source}", inner = .source.pointer())]
    Seal {
        /// The record's pointer among the arguments (`/record`, `/records/3`).
        at: String,
        /// Why.
        source: SealError,
    },
    /// A host action's record lacks what the policy needs.
    #[error("invalid value at `/record{at}`: {0}", at = .0.pointer())]
    Record(RecordError),
    /// A host action cannot be logged as given.
    #[error("invalid value at `/action{at}`: {0}", at = .0.pointer())]
    HostAction(HostActionError),
    /// A break-glass or reveal names a record this session has not sealed.
    #[error("invalid value at `/recordId`: record `{0}` has not been sealed in this page; call `seal` first")]
    NotSealed(String),
    /// A reveal shows a grant this session did not issue (or an altered copy).
    #[error("grant `{0}` was not issued by this page; ask for break-glass access first")]
    UnknownGrant(String),
    /// A reveal was refused; its `unseal` event (outcome `denied`) is logged.
    #[error("{0}")]
    Unseal(UnsealError),
    /// An event would stay larger than the policy's cap: nothing is logged or answered.
    #[error("{0}")]
    Bound(BoundError),
    /// The events shown as stored are not the ones drafted: nothing is answered.
    #[error("the events stored are not the ones drafted, so nothing is revealed")]
    NotLogged,
}

impl From<HostActionError> for PageError {
    /// A record the policy cannot read is the record's fault (`/record...`);
    /// anything else is the action's (`/action...`).
    fn from(e: HostActionError) -> Self {
        match e {
            HostActionError::Record(r) => Self::Record(r),
            other => Self::HostAction(other),
        }
    }
}

impl PageError {
    /// The JSON Pointer of the offending argument, when one is to blame.
    pub fn pointer(&self) -> Option<String> {
        match self {
            Self::Input { pointer, .. } => Some(pointer.clone()),
            Self::Session(e) => Some(format!("/session{}", e.pointer())),
            Self::Seal { at, source } => match source {
                SealError::Entropy(_) => None,
                _ => Some(format!("{at}{}", source.pointer())),
            },
            Self::Record(e) => Some(format!("/record{}", e.pointer())),
            Self::HostAction(e) => Some(format!("/action{}", e.pointer())),
            Self::NotSealed(_) => Some("/recordId".to_owned()),
            Self::UnknownGrant(_) => Some("/grant".to_owned()),
            Self::Unseal(UnsealError::NotSealed(_)) => Some("/pointer".to_owned()),
            Self::Unseal(_) | Self::NotLogged | Self::Bound(_) => None,
        }
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Input { .. }
            | Self::Session(_)
            | Self::Record(_)
            | Self::HostAction(_)
            | Self::NotSealed(_)
            | Self::Bound(_) => ErrorCode::InvalidInput,
            Self::Seal { source, .. } => match source {
                SealError::Entropy(_) => ErrorCode::NoEntropy,
                _ => ErrorCode::InvalidInput,
            },
            Self::UnknownGrant(_) | Self::Unseal(_) => ErrorCode::Grant,
            Self::NotLogged => ErrorCode::StorageFailed,
        }
    }

    pub(crate) fn input(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Input {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}
