//! The verification policy in force (the written Customer Identification Program), versioned
//! in the database. The first start installs the shipped default as version 1; every change is
//! an audited administrative action and a new version; every decision records the policy id it
//! was made under; servers sharing a database pick up a change within seconds
//! ([`Service::refresh_policy`]). `export_cip` writes the policy and its history as a signed
//! bundle: the "copy of the CIP" Commerce may ask for.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lessee_domain::FieldError;
use lessee_policy::Policy;
use lessee_store::PolicyRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Service;
use crate::audit::RequestContext;
use crate::auth::{Permission, Principal, Purpose};
use crate::error::{Error, ErrorCode, Result};

/// The audit target of every policy change.
pub const POLICY_TARGET: &str = "policy";

/// A compiled policy and the version it was installed as.
#[derive(Debug)]
pub struct LoadedPolicy {
    pub version: i64,
    pub policy: Policy,
}

/// A policy version as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyView {
    pub version: i64,
    /// `name@version+sha256:…`, as decisions record it.
    pub policy_id: String,
    pub sha256: String,
    pub note: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// The policy file (TOML), when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl PolicyView {
    fn of(r: PolicyRecord, with_source: bool) -> Self {
        PolicyView {
            version: r.version,
            policy_id: r.policy_id,
            sha256: r.sha256,
            note: r.note,
            created_by: r.created_by,
            created_at: r.created_at,
            source: with_source.then_some(r.source),
        }
    }
}

/// A request to install a new policy version.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyChange {
    /// The policy file (TOML), as `lessee policy check` accepts it.
    pub source: String,
    /// Why it changes (kept in the history the certification report shows).
    pub note: String,
}

/// Compiles a policy file; each problem becomes a field error with its line and column.
pub fn compile(source: &str) -> Result<Policy> {
    lessee_policy::check(source).map_err(|errors| {
        let n = errors.len();
        Error {
            errors: errors
                .into_iter()
                .map(|e| FieldError {
                    pointer: "/source".into(),
                    code: "policy_invalid".into(),
                    message: e.to_string(),
                })
                .collect(),
            ..Error::new(ErrorCode::ValidationFailed, format!("the policy has {n} problem(s); nothing was installed"))
        }
    })
}

impl Service {
    /// The policy in force, loading it (and installing the shipped default into an empty
    /// database) on first use.
    pub(crate) async fn policy(&self) -> Result<Arc<LoadedPolicy>> {
        if let Some(p) = self.loaded_policy() {
            return Ok(p);
        }
        self.refresh_policy().await?;
        self.loaded_policy().ok_or_else(|| Error::internal("no policy after loading"))
    }

    fn loaded_policy(&self) -> Option<Arc<LoadedPolicy>> {
        self.policy.read().ok().and_then(|g| g.clone())
    }

    fn set_loaded(&self, p: Arc<LoadedPolicy>) {
        if let Ok(mut g) = self.policy.write() {
            *g = Some(p);
        }
    }

    /// Loads the latest version from the database when it differs from the one in memory
    /// (installing the shipped default when there is none). Returns whether it changed.
    pub async fn refresh_policy(&self) -> Result<bool> {
        let current = self.store.current_policy_version().await?;
        let loaded = self.loaded_policy().map(|p| p.version);
        if current.is_some() && current == loaded {
            return Ok(false);
        }
        let record = match self.store.current_policy().await? {
            Some(r) => r,
            None => {
                self.install(
                    &Principal::local_operator(),
                    &RequestContext::local(),
                    lessee_policy::DEFAULT_POLICY,
                    "the shipped default policy, installed at first start",
                    1,
                )
                .await?;
                self.store.current_policy().await?.ok_or_else(|| Error::internal("the policy was not installed"))?
            }
        };
        let policy = compile(&record.source).map_err(|e| {
            Error::internal(format!("stored policy version {} does not compile: {}", record.version, e.detail))
        })?;
        tracing::info!(version = record.version, policy_id = %record.policy_id, "Policy loaded.");
        self.set_loaded(Arc::new(LoadedPolicy { version: record.version, policy }));
        Ok(true)
    }

    /// Writes version `version`; false when another server took that number first.
    async fn install(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        source: &str,
        note: &str,
        version: i64,
    ) -> Result<Option<PolicyRecord>> {
        let policy = compile(source)?;
        let record = PolicyRecord {
            version,
            policy_id: policy.id().to_owned(),
            sha256: policy.sha256().to_owned(),
            source: source.to_owned(),
            note: note.to_owned(),
            created_by: by.token_id.clone(),
            created_at: self.now(),
        };
        let action = if version == 1 { "policy.install" } else { "policy.change" };
        let audit = self.audit_event(by, ctx, Purpose::Audit, action, "policy", POLICY_TARGET);
        if !self.store.add_policy(&record, &audit).await? {
            return Ok(None);
        }
        tracing::info!(version, policy_id = %record.policy_id, by = %by.token_id, "Policy version installed.");
        self.set_loaded(Arc::new(LoadedPolicy { version, policy }));
        Ok(Some(record))
    }

    /// Installs a new policy version (admin). The same policy as the one in force changes
    /// nothing and returns it.
    pub async fn set_policy(&self, by: &Principal, ctx: &RequestContext, change: PolicyChange) -> Result<PolicyView> {
        by.require(Permission::PolicyWrite)?;
        if change.note.trim().is_empty() || change.note.len() > 1000 || change.note.chars().any(char::is_control) {
            return Err(Error::new(ErrorCode::ValidationFailed, "`note` is 1 to 1000 printable characters"));
        }
        let compiled = compile(&change.source)?;
        self.policy().await?;
        let current = self.store.current_policy().await?.ok_or_else(|| Error::internal("no policy installed"))?;
        if current.sha256 == compiled.sha256() {
            return Ok(PolicyView::of(current, false));
        }
        match self.install(by, ctx, &change.source, change.note.trim(), current.version + 1).await? {
            Some(r) => Ok(PolicyView::of(r, false)),
            None => Err(Error::new(
                ErrorCode::Conflict,
                "another policy version was installed at the same time; read it and try again",
            )),
        }
    }

    /// The policy in force, with its file.
    pub async fn current_policy(&self, by: &Principal) -> Result<PolicyView> {
        by.require(Permission::AccountsRead)?;
        self.policy().await?;
        let r = self.store.current_policy().await?.ok_or_else(|| Error::not_found("policy"))?;
        Ok(PolicyView::of(r, true))
    }

    /// Every version, oldest first (files included when `with_source`).
    pub async fn policy_history(&self, by: &Principal, with_source: bool) -> Result<Vec<PolicyView>> {
        by.require(Permission::AccountsRead)?;
        self.policy().await?;
        Ok(self.store.policies().await?.into_iter().map(|r| PolicyView::of(r, with_source)).collect())
    }
}
