//! The one error type of the web layer, and how it reaches JavaScript.
//!
//! Every rejected promise and thrown exception of the package is a JS `Error`
//! whose `name` is `SealtrailError`, whose `message` says what to do, whose
//! `code` is a stable kebab-case string a host can branch on, and whose
//! `pointer` names the offending argument member as a JSON Pointer (`null`
//! when no argument is to blame): the `SealtrailError` interface of the
//! generated `.d.ts`. The core's own errors ([`StartError`], [`PageError`])
//! cross typed and give their code and pointer themselves.

use wasm_bindgen::{JsCast, JsValue};

use crate::page::{ErrorCode, ErrorReport, PageError, StartError};

/// What went wrong in the browser layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebError {
    /// No IndexedDB in this context (private mode in some browsers, a sandboxed frame).
    #[error("indexedDB is not available here, so audit events cannot be stored and nothing is revealed: {0}")]
    StorageMissing(String),
    /// Another tab holds an older version of the database open.
    #[error("the audit database `{0}` is blocked by another tab of this site; close the other tabs and reload")]
    StorageBlocked(String),
    /// The browser refused to store more data.
    #[error("browser storage is full, so audit events cannot be stored and nothing is revealed; free some space for this site")]
    StorageFull,
    /// The connection was closed under us (another tab upgraded or deleted the database).
    #[error("the audit database was closed by another tab or by the browser; reload the page")]
    StorageClosed,
    /// The database is at a later version than this package writes: a
    /// newer package stored rows this one may misread.
    #[error("the audit database `{0}` was written by a newer version of sealtrail than this page loads; its events are kept for it, and nothing is revealed here: load the newer package")]
    StorageNewer(String),
    /// Any other IndexedDB failure.
    #[error("the audit database failed: {0}")]
    Storage(String),
    /// A caller's value is not what the API takes.
    #[error("invalid value at `{pointer}`: {message}")]
    Input {
        /// JSON Pointer of the offending value inside the argument.
        pointer: String,
        /// What was expected.
        message: String,
    },
    /// `start`'s configuration was refused.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The page session refused a call.
    #[error(transparent)]
    Page(#[from] PageError),
    /// The core refused for a reason no input change fixes.
    #[error("{0}")]
    Core(String),
    /// No secure random source.
    #[error("the browser's secure random source is unavailable: {0}")]
    Entropy(String),
    /// A method was called before `start` finished or after `close`.
    #[error("sealtrail is not running: await `start` first")]
    NotStarted,
    /// The page has no `window` or `document` (a worker, or server-side rendering).
    #[error("this needs a browser window with a document")]
    NoWindow,
}

impl WebError {
    /// The stable code hosts branch on.
    pub fn code(&self) -> ErrorCode {
        match self {
            WebError::StorageMissing(_) => ErrorCode::StorageMissing,
            WebError::StorageBlocked(_) => ErrorCode::StorageBlocked,
            WebError::StorageFull => ErrorCode::StorageFull,
            WebError::StorageClosed => ErrorCode::StorageClosed,
            WebError::Storage(_) | WebError::StorageNewer(_) => ErrorCode::StorageFailed,
            WebError::Input { .. } => ErrorCode::InvalidInput,
            WebError::Start(e) => e.code(),
            WebError::Page(e) => e.code(),
            WebError::Core(_) => ErrorCode::Refused,
            WebError::Entropy(_) => ErrorCode::NoEntropy,
            WebError::NotStarted => ErrorCode::NotStarted,
            WebError::NoWindow => ErrorCode::NoWindow,
        }
    }

    /// The JSON Pointer of the argument member to blame, if one is.
    pub fn pointer(&self) -> Option<String> {
        match self {
            WebError::Input { pointer, .. } => Some(pointer.clone()),
            WebError::Start(e) => Some(e.pointer()),
            WebError::Page(e) => e.pointer(),
            _ => None,
        }
    }

    /// The error as JavaScript receives it.
    pub fn report(&self) -> ErrorReport {
        ErrorReport::new(self.code(), self.pointer(), self.to_string())
    }

    /// An input error at `pointer`.
    pub fn input(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        WebError::Input {
            pointer: pointer.into(),
            message: message.into(),
        }
    }

    /// Classifies a JS exception thrown by IndexedDB.
    pub fn from_storage(e: &JsValue) -> Self {
        match e.dyn_ref::<web_sys::DomException>() {
            Some(d) if d.name() == "QuotaExceededError" => WebError::StorageFull,
            Some(d) if d.name() == "InvalidStateError" => WebError::StorageClosed,
            Some(d) => WebError::Storage(format!("{}: {}", d.name(), d.message())),
            None => WebError::Storage(describe(e)),
        }
    }
}

/// A short text for any thrown JS value.
pub fn describe(e: &JsValue) -> String {
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    e.as_string().unwrap_or_else(|| "unknown error".to_owned())
}

impl From<WebError> for JsValue {
    fn from(e: WebError) -> Self {
        let report = e.report();
        let err = js_sys::Error::new(&report.message);
        err.set_name(report.name);
        let pointer = report.pointer.map_or(JsValue::NULL, JsValue::from);
        let _ = js_sys::Reflect::set(&err, &"code".into(), &report.code.as_str().into());
        let _ = js_sys::Reflect::set(&err, &"pointer".into(), &pointer);
        err.into()
    }
}
