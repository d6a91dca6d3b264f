//! API tokens, roles and what each role may do.
//!
//! A token is `lessee_<id>_<secret>`: `id` (16 hex digits) finds the stored record, `secret`
//! (32 random bytes, base64url) is checked against its SHA-256, stored hex, with a
//! constant-time comparison. A token is high-entropy, so a fast hash is enough; the plaintext
//! is shown once, at creation, and never stored or logged.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use lessee_store::TokenRecord;

use crate::error::{Error, Result};

const PREFIX: &str = "lessee_";

/// Who a caller is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Operators: everything, including tokens.
    Admin,
    /// The provider's sign-up, billing and event systems: open and read accounts.
    ControlPlane,
    /// Compliance analysts and reviewers: read accounts.
    Analyst,
    /// Internal or external auditors: read accounts and audit records.
    Auditor,
    /// A reseller: only its own sub-lessees (see the resellers issue); nothing else.
    Reseller,
    /// The legal / law-enforcement liaison: reads for legal process.
    Legal,
    /// An identity-verification vendor, authenticated by its webhook signature; no token
    /// can have this role (it is not in `Role::ALL`) and it may do nothing else.
    Vendor,
}

impl Role {
    pub const ALL: [Role; 6] =
        [Role::Admin, Role::ControlPlane, Role::Analyst, Role::Auditor, Role::Reseller, Role::Legal];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::ControlPlane => "control_plane",
            Role::Analyst => "analyst",
            Role::Auditor => "auditor",
            Role::Reseller => "reseller",
            Role::Vendor => "vendor",
            Role::Legal => "legal",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The table of what each role may do.
    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::ControlPlane => matches!(p, AccountsCreate | AccountsRead | EventsWrite),
            Role::Analyst => matches!(p, AccountsRead | Review | Screen | MeasuresRead),
            Role::Legal => matches!(p, AccountsRead | LegalHolds | MeasuresRead),
            Role::Auditor => matches!(p, AccountsRead | AuditRead | MeasuresRead),
            Role::Reseller => matches!(p, SubLessees),
            Role::Vendor => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a caller reads personal data. A request that reads personal data names its purpose
/// (HTTP header `Lessee-Purpose`); the role must hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Verifying the customer's identity under the CIP.
    Verification,
    /// Reviewing a case (manual review, alerts).
    Review,
    /// Answering legal process.
    LegalProcess,
    /// Auditing lessee and its records.
    Audit,
    /// Helping the customer.
    CustomerSupport,
}

impl Purpose {
    pub const ALL: [Purpose; 5] =
        [Purpose::Verification, Purpose::Review, Purpose::LegalProcess, Purpose::Audit, Purpose::CustomerSupport];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Verification => "verification",
            Purpose::Review => "review",
            Purpose::LegalProcess => "legal_process",
            Purpose::Audit => "audit",
            Purpose::CustomerSupport => "customer_support",
        }
    }

    pub fn parse(s: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl Role {
    /// The table of the purposes for which each role may read personal data.
    pub fn holds(self, purpose: Purpose) -> bool {
        use Purpose::*;
        match self {
            Role::Admin => true,
            Role::ControlPlane => matches!(purpose, Verification | CustomerSupport),
            Role::Analyst => matches!(purpose, Verification | Review),
            Role::Auditor => matches!(purpose, Audit),
            Role::Legal => matches!(purpose, LegalProcess),
            Role::Reseller | Role::Vendor => false,
        }
    }
}

/// Operations that need a permission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    AccountsCreate,
    AccountsRead,
    TokensManage,
    /// Read the audit log, its proofs and checkpoints.
    AuditRead,
    /// Send access and administrative events.
    EventsWrite,
    /// Place and release legal holds.
    LegalHolds,
    /// Install a new verification policy version.
    PolicyWrite,
    /// Work the review queue.
    Review,
    /// Screen names against the lists and disposition screening alerts.
    Screen,
    /// Import and update screening lists.
    ListsWrite,
    /// Add, extend and revoke special measures and exemptions; record the ADP description;
    /// keep the reseller register (admin only: there is no compliance role yet).
    MeasuresWrite,
    /// Read measures, exemptions, their impact reports and the reseller register.
    MeasuresRead,
    /// A reseller token: register, update and list its own reseller account's sub-lessees.
    SubLessees,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::AccountsCreate => "accounts:create",
            Permission::AccountsRead => "accounts:read",
            Permission::TokensManage => "tokens:manage",
            Permission::AuditRead => "audit:read",
            Permission::EventsWrite => "events:write",
            Permission::LegalHolds => "legal_holds:manage",
            Permission::PolicyWrite => "policy:write",
            Permission::Review => "reviews:decide",
            Permission::Screen => "screening:screen",
            Permission::ListsWrite => "lists:write",
            Permission::MeasuresWrite => "measures:write",
            Permission::MeasuresRead => "measures:read",
            Permission::SubLessees => "sub_lessees:manage",
        }
    }
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub token_id: String,
    pub name: String,
    pub role: Role,
}

impl Principal {
    /// The operator at the local CLI, who holds the data directory and so every key.
    pub fn local_operator() -> Self {
        Principal { token_id: "local-cli".into(), name: "local operator".into(), role: Role::Admin }
    }

    pub fn require(&self, p: Permission) -> Result<()> {
        if self.role.allows(p) {
            Ok(())
        } else {
            Err(Error::forbidden(format!("role `{}` may not {}", self.role, p.as_str())))
        }
    }
}

/// A token as listed: never the secret.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<TokenRecord> for TokenInfo {
    fn from(t: TokenRecord) -> Self {
        TokenInfo { id: t.id, name: t.name, role: t.role, created_at: t.created_at, revoked_at: t.revoked_at }
    }
}

/// The plaintext of a new token, shown once. `Debug` does not print it.
pub struct NewToken {
    pub id: String,
    pub token: String,
}

impl fmt::Debug for NewToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NewToken {{ id: {}, token: <redacted> }}", self.id)
    }
}

pub(crate) fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Makes a new token and the record to store for it.
pub(crate) fn generate(name: &str, role: Role, now: DateTime<Utc>) -> (NewToken, TokenRecord) {
    let mut rng = rand::rng();
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut secret);
    let id = hex::encode(id);
    let secret = URL_SAFE_NO_PAD.encode(secret);
    let record = TokenRecord {
        id: id.clone(),
        name: name.to_owned(),
        role: role.as_str().to_owned(),
        secret_hash: hash_secret(&secret),
        created_at: now,
        revoked_at: None,
    };
    (NewToken { token: format!("{PREFIX}{id}_{secret}"), id }, record)
}

/// Splits a presented token into id and secret, without judging it.
pub(crate) fn split(token: &str) -> Result<(&str, &str)> {
    let rest = token.strip_prefix(PREFIX).ok_or_else(|| Error::unauthenticated("malformed token"))?;
    let (id, secret) = rest.split_once('_').ok_or_else(|| Error::unauthenticated("malformed token"))?;
    if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) || secret.is_empty() || secret.len() > 100 {
        return Err(Error::unauthenticated("malformed token"));
    }
    Ok((id, secret))
}

/// Checks a presented secret against a stored record, in constant time over the hash.
pub(crate) fn check(record: Option<&TokenRecord>, secret: &str) -> Result<Principal> {
    let presented = hash_secret(secret);
    // Compare against a dummy when the id is unknown so both paths do the same work.
    let stored = record
        .map(|r| r.secret_hash.as_str())
        .unwrap_or("0000000000000000000000000000000000000000000000000000000000000000");
    let same: bool = presented.as_bytes().ct_eq(stored.as_bytes()).into();
    match record {
        Some(r) if same && r.revoked_at.is_none() => {
            let role =
                Role::parse(&r.role).ok_or_else(|| Error::internal(format!("token {} has unknown role", r.id)))?;
            Ok(Principal { token_id: r.id.clone(), name: r.name.clone(), role })
        }
        Some(r) if same => Err(Error::unauthenticated(format!("token {} is revoked", r.id))),
        _ => Err(Error::unauthenticated("invalid token")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_verify_and_others_do_not() {
        let (t, rec) = generate("ci", Role::Analyst, Utc::now());
        let (id, secret) = split(&t.token).unwrap_or(("", ""));
        assert_eq!(id, rec.id);
        assert_eq!(check(Some(&rec), secret).map(|p| p.role).ok(), Some(Role::Analyst));
        assert!(check(Some(&rec), "wrong").is_err());
        assert!(check(None, secret).is_err());
        let mut revoked = rec.clone();
        revoked.revoked_at = Some(Utc::now());
        assert!(check(Some(&revoked), secret).is_err());
        assert!(!format!("{t:?}").contains(secret), "Debug must not print the secret");
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in
            ["", "lessee_", "lessee_abc_def", "Bearer x", "lessee_zzzzzzzzzzzzzzzz_x", "lessee_0123456789abcdef_"]
        {
            assert!(split(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn purpose_table() {
        let cases = [
            (Role::ControlPlane, Purpose::Verification, true),
            (Role::ControlPlane, Purpose::LegalProcess, false),
            (Role::Analyst, Purpose::Review, true),
            (Role::Analyst, Purpose::CustomerSupport, false),
            (Role::Auditor, Purpose::Audit, true),
            (Role::Auditor, Purpose::Review, false),
            (Role::Legal, Purpose::LegalProcess, true),
            (Role::Reseller, Purpose::Verification, false),
            (Role::Admin, Purpose::LegalProcess, true),
        ];
        for (role, purpose, want) in cases {
            assert_eq!(role.holds(purpose), want, "{role} {purpose:?}");
        }
    }

    #[test]
    fn role_table() {
        let cases = [
            (Role::Admin, Permission::TokensManage, true),
            (Role::ControlPlane, Permission::AccountsCreate, true),
            (Role::ControlPlane, Permission::TokensManage, false),
            (Role::Analyst, Permission::AccountsRead, true),
            (Role::Analyst, Permission::AccountsCreate, false),
            (Role::Auditor, Permission::AccountsCreate, false),
            (Role::Reseller, Permission::AccountsRead, false),
            (Role::Auditor, Permission::AuditRead, true),
            (Role::Analyst, Permission::AuditRead, false),
            (Role::Legal, Permission::AccountsRead, true),
        ];
        for (role, perm, want) in cases {
            assert_eq!(role.allows(perm), want, "{role} {perm:?}");
        }
    }
}
