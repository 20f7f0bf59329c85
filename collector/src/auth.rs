//! Bearer tokens for the read APIs, each mapped to a role and a person, and
//! the roles each API admits.

use std::collections::HashMap;

use axum::http::{header, HeaderMap};

use sealtrail::Digest;

use crate::error::ApiError;

/// The safeguarding lead role of seed 003 ("Who can view: Safeguarding staff only").
pub const SAFEGUARDING_LEAD: &str = "safeguardingLead";
/// The admin role.
pub const ADMIN: &str = "admin";
/// A compliance reviewer (quarterly review, FHIR and evidence export).
pub const COMPLIANCE: &str = "compliance";
/// A supervisor (receives alerts, seed 003's recommended recipients).
pub const SUPERVISOR: &str = "supervisor";

/// Roles that may read the break-glass audit log: safeguarding staff only.
pub const BREAK_GLASS_LOG: &[&str] = &[SAFEGUARDING_LEAD];
/// Roles that may read alert findings.
pub const ALERTS: &[&str] = &[SAFEGUARDING_LEAD, ADMIN, COMPLIANCE, SUPERVISOR];
/// Roles that may read access histories, chain status, statistics, FHIR and evidence.
pub const REVIEW: &[&str] = &[SAFEGUARDING_LEAD, ADMIN, COMPLIANCE];
/// Roles that may assign, acknowledge and investigate a case (break-glass
/// reviews: [`BREAK_GLASS_LOG`] only, whatever the operation).
pub const TRIAGE: &[&str] = &[SAFEGUARDING_LEAD, SUPERVISOR];
/// Roles that may add a note to a case.
pub const COMMENT: &[&str] = &[SAFEGUARDING_LEAD, SUPERVISOR, COMPLIANCE];
/// Roles that may resolve a case with an outcome.
pub const RESOLVE: &[&str] = &[SAFEGUARDING_LEAD];

/// The shortest review token the collector starts with: guessing one must
/// be hopeless (failed attempts are also rate-limited and logged).
pub const MIN_TOKEN_CHARS: usize = 32;

/// `TOKEN=ROLE:USERID[:NAME]` from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// The secret.
    pub token: String,
    /// Who holds it.
    pub reviewer: Reviewer,
}

impl TokenGrant {
    /// Parses `TOKEN=ROLE:USERID[:NAME]`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (token, rest) = s
            .split_once('=')
            .ok_or_else(|| format!("expected `TOKEN=ROLE:USERID[:NAME]`, found `{s}`"))?;
        let mut parts = rest.splitn(3, ':');
        let role = parts.next().unwrap_or_default();
        let user_id = parts.next().unwrap_or_default();
        let name = parts.next().map(str::to_owned).filter(|n| !n.is_empty());
        if token.chars().count() < MIN_TOKEN_CHARS {
            return Err(format!(
                "a review token must be at least {MIN_TOKEN_CHARS} characters (e.g. `openssl rand -hex 24`), found {}",
                token.chars().count()
            ));
        }
        if role.is_empty() || user_id.is_empty() {
            return Err(format!("expected `TOKEN=ROLE:USERID[:NAME]`, found `{s}`"));
        }
        Ok(Self {
            token: token.to_owned(),
            reviewer: Reviewer {
                role: role.to_owned(),
                user_id: user_id.to_owned(),
                name,
            },
        })
    }
}

/// The person behind a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewer {
    /// Their role.
    pub role: String,
    /// Their staff id.
    pub user_id: String,
    /// Their display name.
    pub name: Option<String>,
}

impl Reviewer {
    /// `403` unless the reviewer's role is one of `roles`.
    pub fn require(&self, roles: &[&str]) -> Result<(), ApiError> {
        if roles.contains(&self.role.as_str()) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "role `{}` may not read this; allowed: {}",
                self.role,
                roles.join(", ")
            )))
        }
    }
}

/// Tokens by the SHA-256 of their text, so lookups do not compare secrets byte by byte.
#[derive(Debug, Default, Clone)]
pub struct Tokens(HashMap<Digest, Reviewer>);

impl Tokens {
    /// From the configured grants.
    pub fn new(grants: &[TokenGrant]) -> Self {
        Self(
            grants
                .iter()
                .map(|g| (Digest::of(g.token.as_bytes()), g.reviewer.clone()))
                .collect(),
        )
    }

    /// The holder of `token`, if it is one of these.
    pub fn find(&self, token: &str) -> Option<&Reviewer> {
        self.0.get(&Digest::of(token.as_bytes()))
    }
}

/// The token of an `Authorization: Bearer` header (the scheme is
/// case-insensitive, RFC 9110 section 11.1): a review token, or an upload
/// credential.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_grants() {
        let g =
            TokenGrant::parse("secret-token-0123456789abcdef0123=safeguardingLead:u7:Dana Reyes")
                .unwrap();
        assert_eq!(g.reviewer.role, "safeguardingLead");
        assert_eq!(g.reviewer.user_id, "u7");
        assert_eq!(g.reviewer.name.as_deref(), Some("Dana Reyes"));
        assert!(TokenGrant::parse("short=admin:u1").is_err());
        assert!(TokenGrant::parse("long-enough-token-0123456789abcdef=admin").is_err());
    }
}
