//! The account as lessee keeps it and shows it.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::application::{AccountType, CustomerKind, OpeningMethod};
use crate::classify::AccountClassification;
use crate::decision::Decision;

/// lessee's identifier of an account: a time-ordered UUID (v7).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, format = "uuid")]
pub struct AccountId(pub Uuid);

impl AccountId {
    /// A new identifier whose time part is `now`, with random bits from `random`.
    pub fn new(now: DateTime<Utc>, random: [u8; 10]) -> Self {
        let ms = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        Self(uuid::Builder::from_unix_timestamp_millis(ms, &random).into_uuid())
    }

    pub fn parse(s: &str) -> Option<Self> {
        Uuid::try_parse(s).ok().map(AccountId)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({})", self.0)
    }
}

/// An account as the API shows it. Personal data is not part of this view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Account {
    pub id: AccountId,
    pub external_id: String,
    pub account_type: AccountType,
    pub opening_method: OpeningMethod,
    pub customer_kind: CustomerKind,
    pub products: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_version: Option<String>,
    pub created_at: DateTime<Utc>,
    pub classification: AccountClassification,
    /// The latest decision; the history is at `/v1/accounts/{id}/decisions`.
    pub decision: Decision,
}
