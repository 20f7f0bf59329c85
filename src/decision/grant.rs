//! The emergency grant: what break-glass issues ([`crate::breakglass`]) and
//! the vault honours ([`crate::seal::Vault::prepare_unseal`]). It lives
//! below both, with the other decisions about access, so neither imports
//! the other.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// Emergency access to the sealed content of one record, for one user, until `expiresAt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BreakGlassGrant {
    /// Random id (32 lowercase hex characters), cited by unseal events.
    pub id: String,
    /// The user it was issued to.
    pub user_id: String,
    /// The user's role then.
    pub role: String,
    /// The one record it opens.
    pub record_id: String,
    /// The reason code given, or for a grant issued without the prompt the
    /// exemption (`treatingTeam`, `recentGrant`).
    pub reason_code: String,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it stops opening anything.
    pub expires_at: Timestamp,
    /// Hash of the policy it was issued under.
    pub policy: String,
}

impl BreakGlassGrant {
    /// Whether it is in force at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.issued_at <= now && now < self.expires_at
    }
}
