//! The sealed values of one record, kept apart from its view, and the only
//! way to get one back out: a break-glass grant, an event logged first.
//!
//! [`Vault::prepare_unseal`] checks the grant and returns a
//! [`PendingUnseal`] holding the `unseal` event; [`PendingUnseal::reveal`]
//! gives the value only once the caller shows that very event appended to a
//! chain, so a caller that stores events durably (the browser's IndexedDB)
//! before appending cannot reveal first and log later.

use serde::Serialize;
use serde_json::Value;

use super::commitment::{verify_opening, Salt};
use crate::decision::{Access, BreakGlassGrant, Refused};
use crate::event::{Action, Event, EventDraft, Outcome, Subject, PURPOSE_BTG};
use crate::Timestamp;

/// One sealed value with what it takes to open it. Its `Debug` form leaves
/// the value out, so logging a vault never leaks what it protects.
#[derive(Clone, PartialEq)]
pub struct VaultEntry {
    /// Where it was in the record.
    pub pointer: String,
    /// Its note type.
    pub note_type: String,
    /// Its labels.
    pub labels: Vec<String>,
    /// The value itself (kept private: only an unseal returns it).
    pub(crate) value: Value,
    /// The salt of its commitment (private for the same reason).
    pub(crate) salt: Salt,
    /// The commitment shown in its placeholder.
    pub commitment: String,
}

impl std::fmt::Debug for VaultEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultEntry")
            .field("pointer", &self.pointer)
            .field("note_type", &self.note_type)
            .field("labels", &self.labels)
            .field("value", &"..")
            .field("commitment", &self.commitment)
            .finish()
    }
}

/// The sealed values of one record.
#[derive(Debug, Clone)]
pub struct Vault {
    subject: Subject,
    entries: Vec<VaultEntry>,
}

/// A sealed value, its salt and commitment: anyone can check it with
/// [`verify_opening`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Opening {
    /// Where it was in the record.
    pub pointer: String,
    /// The value.
    pub value: Value,
    /// The salt, 64 lowercase hex characters.
    pub salt: Salt,
    /// The commitment from the placeholder.
    pub commitment: String,
}

impl Opening {
    /// Whether value and salt open the commitment.
    pub fn verify(&self) -> bool {
        verify_opening(&self.commitment, &self.salt, &self.value)
    }
}

/// Why an unseal was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum UnsealError {
    /// The session is past its lifetime.
    #[error("the session has expired; sign in again")]
    SessionExpired,
    /// The grant was issued to someone else.
    #[error("the grant was issued to `{grant_user}`, not to `{user}`")]
    OtherUser {
        /// The grant's user.
        grant_user: String,
        /// The session's user.
        user: String,
    },
    /// The grant opens another record.
    #[error("the grant opens record `{grant_record}`, not `{record}`")]
    OtherRecord {
        /// The grant's record.
        grant_record: String,
        /// This vault's record.
        record: String,
    },
    /// The grant is not in force (expired, or issued in the future).
    #[error("the grant is valid from {issued_at} until {expires_at}; it is {now}")]
    NotInForce {
        /// Start.
        issued_at: Timestamp,
        /// End.
        expires_at: Timestamp,
        /// The time of the request.
        now: Timestamp,
    },
    /// The role may no longer break the glass.
    #[error("the role `{0}` may not use break-glass access")]
    RoleNotAuthorised(String),
    /// Nothing is sealed at that pointer.
    #[error("nothing is sealed at `{0}`")]
    NotSealed(String),
    /// The event shown to [`PendingUnseal::reveal`] is not this unseal's event.
    #[error("the unseal event must be appended to the audit chain before the value is revealed")]
    NotLogged,
}

/// A checked unseal waiting for its event to be logged (its `Debug` form
/// shows the event, not the value).
pub struct PendingUnseal {
    draft: EventDraft,
    opening: Opening,
}

impl std::fmt::Debug for PendingUnseal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingUnseal")
            .field("draft", &self.draft)
            .finish_non_exhaustive()
    }
}

impl PendingUnseal {
    /// The `unseal` event to append (and store durably) first.
    pub fn draft(&self) -> &EventDraft {
        &self.draft
    }

    /// This unseal with its event's draft changed by `name` (a session
    /// naming records by pseudonym): the event to log is that draft.
    pub fn renamed(mut self, name: impl FnOnce(&mut EventDraft)) -> Self {
        name(&mut self.draft);
        self
    }

    /// The value, once `logged` (the appended event) shows the draft is in the chain.
    pub fn reveal(self, logged: &Event) -> Result<Opening, UnsealError> {
        if logged.body == self.draft {
            Ok(self.opening)
        } else {
            Err(UnsealError::NotLogged)
        }
    }
}

impl Vault {
    pub(crate) fn new(subject: Subject, entries: Vec<VaultEntry>) -> Self {
        Self { subject, entries }
    }

    /// The record's id.
    pub fn record_id(&self) -> &str {
        &self.subject.record_id
    }

    /// The record as events name it (for break-glass requests on it).
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The sealed values, without their plaintext.
    pub fn entries(&self) -> impl Iterator<Item = &VaultEntry> {
        self.entries.iter()
    }

    /// How many values are sealed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is sealed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Checks that `grant` lets this session open the value at `pointer` now,
    /// and returns the `unseal` event to log before [`PendingUnseal::reveal`].
    /// A refusal comes with its own `unseal` event (outcome `denied`).
    pub fn prepare_unseal(
        &self,
        access: &Access<'_>,
        grant: &BreakGlassGrant,
        pointer: &str,
    ) -> Result<PendingUnseal, Refused<UnsealError>> {
        let entry = self.entries.iter().find(|e| e.pointer == pointer);
        let mut draft = access.draft(Action::Unseal, Outcome::Success);
        draft.subject = Some(self.subject.clone());
        draft.fields = vec![pointer.to_owned()];
        if let Some(e) = entry {
            draft.note_types = vec![e.note_type.clone()];
            draft.labels = e.labels.clone();
        }
        draft.purpose_of_use = Some(PURPOSE_BTG.to_owned());
        draft
            .detail
            .insert("grantId".to_owned(), Value::from(grant.id.as_str()));
        match self.check(access, grant, pointer, entry) {
            Ok(e) => Ok(PendingUnseal {
                draft,
                opening: Opening {
                    pointer: e.pointer.clone(),
                    value: e.value.clone(),
                    salt: e.salt.clone(),
                    commitment: e.commitment.clone(),
                },
            }),
            Err(error) => {
                draft.outcome = Outcome::Denied;
                draft
                    .detail
                    .insert("refusal".to_owned(), Value::from(error.to_string()));
                Err(Refused {
                    error,
                    draft: Box::new(draft),
                })
            }
        }
    }

    fn check<'v>(
        &self,
        access: &Access<'_>,
        grant: &BreakGlassGrant,
        pointer: &str,
        entry: Option<&'v VaultEntry>,
    ) -> Result<&'v VaultEntry, UnsealError> {
        let session = access.session();
        if !access.is_live() {
            return Err(UnsealError::SessionExpired);
        }
        if grant.user_id != session.user_id {
            return Err(UnsealError::OtherUser {
                grant_user: grant.user_id.clone(),
                user: session.user_id.clone(),
            });
        }
        if grant.record_id != self.subject.record_id {
            return Err(UnsealError::OtherRecord {
                grant_record: grant.record_id.clone(),
                record: self.subject.record_id.clone(),
            });
        }
        if !grant.is_live(access.now()) {
            return Err(UnsealError::NotInForce {
                issued_at: grant.issued_at,
                expires_at: grant.expires_at,
                now: access.now(),
            });
        }
        if !access.may_break_glass() {
            return Err(UnsealError::RoleNotAuthorised(session.role.clone()));
        }
        entry.ok_or_else(|| UnsealError::NotSealed(pointer.to_owned()))
    }
}
