//! Screening against government lists (R3, issue 6): list versions imported into the store, a
//! [`Screener`] built from the current versions and kept in memory (rebuilt when another
//! version becomes current, [`Service::refresh_screener`]), ad-hoc screening, screening of the
//! customer, beneficial owners and sub-lessees at opening, and alerts with their dispositions.
//!
//! Invariants: list entries are public data and stored in clear; nothing personal is written
//! with an alert (only the list side of the match, the score, and a keyed hash of the screened
//! data); every import, screening query and disposition is audited.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use lessee_domain::application::Customer as AppCustomer;
use lessee_domain::{Account, AccountId, Application, Country, FieldError};
use lessee_lists::{Entry, ListError, ListFile, PartialDate};
use lessee_policy::{HitStatus, Screening, ScreeningHit};
use lessee_screening::{Config, FeatureKind, ListSource, Match, PartyKind, Query, Screener};
use lessee_store::{AlertRecord, Disposition, ListVersion, NewListVersion, StoredEntry};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::Service;
use crate::audit::{Allowed, RequestContext};
use crate::auth::{Permission, Principal, Purpose};
use crate::error::{Error, ErrorCode, Result};

/// The job that re-screens every account against what one list import changed.
pub const RESCREEN_LIST_JOB: &str = "rescreen.list";

/// Most items in one screening request.
pub const MAX_SCREEN_ITEMS: usize = 1000;
/// Longest name screened.
const MAX_NAME_CHARS: usize = 300;

/// The screener over the current list versions.
pub struct Loaded {
    pub versions: Vec<ListVersion>,
    pub screener: Arc<Screener>,
}

impl Loaded {
    /// `ofac_sdn v3, un v1`: the versions a result was scored against.
    pub fn labels(&self) -> Vec<String> {
        self.versions.iter().map(|v| format!("{} v{}", v.list, v.version)).collect()
    }

    fn version_of(&self, list: &str) -> Option<&ListVersion> {
        self.versions.iter().find(|v| v.list == list)
    }
}

/// How a list version is named in matches: `v3` (the number is per list).
fn version_label(v: &ListVersion) -> String {
    format!("v{}", v.version)
}

/// A list version as the API shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ListVersionView {
    pub id: i64,
    /// `ofac_sdn`, `un`, `bis_dpl`, `csl`, or a custom list's name.
    pub list: String,
    pub version: i64,
    pub format: String,
    pub imported_at: DateTime<Utc>,
    pub imported_by: String,
    /// Where it came from: the URL it was downloaded from, or `file:NAME`.
    pub source: String,
    pub sha256: String,
    pub entry_count: i64,
}

impl From<&ListVersion> for ListVersionView {
    fn from(v: &ListVersion) -> Self {
        ListVersionView {
            id: v.id,
            list: v.list.clone(),
            version: v.version,
            format: v.format.clone(),
            imported_at: v.imported_at,
            imported_by: v.imported_by.clone(),
            source: v.source.clone(),
            sha256: v.sha256.clone(),
            entry_count: v.entry_count,
        }
    }
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    pub version: ListVersionView,
    /// The version it replaces as current, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<i64>,
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    /// Parser warnings (lines skipped or read loosely).
    pub warnings: usize,
}

/// One entry in a diff.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiffEntry {
    pub entity_id: String,
    pub name: String,
    /// For a changed entry: the fields that changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// Entries added, removed and changed between two versions of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListDiff {
    pub list: String,
    pub from: i64,
    pub to: i64,
    pub added: Vec<DiffEntry>,
    pub removed: Vec<DiffEntry>,
    pub changed: Vec<DiffEntry>,
}

/// A batch of names or persons to screen (`POST /v1/screen`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenRequest {
    pub items: Vec<ScreenItem>,
    /// Screen against this list only (`ofac_sdn`, `un`, `bis_dpl`, `csl`, or a custom list).
    #[serde(default)]
    pub list: Option<String>,
}

/// One name or person to screen.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenItem {
    /// The caller's id of the row, echoed back.
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    /// `individual` or `entity`.
    #[serde(default, rename = "type")]
    pub party: Option<String>,
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    #[serde(default)]
    pub date_of_birth: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    pub country: Option<String>,
}

/// A match as the API and the CLI show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchView {
    /// The list's own id (e.g. the OFAC ent_num).
    pub entity_id: String,
    pub list: String,
    pub list_version: String,
    /// 0..1.
    pub score: f64,
    /// The entry's primary name.
    pub name: String,
    /// One line: the listed name matched, and each feature with its contribution.
    pub explanation: String,
    /// Token alignment and features, in full.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl From<&Match> for MatchView {
    fn from(m: &Match) -> Self {
        MatchView {
            entity_id: m.entity_id.clone(),
            list: m.list.clone(),
            list_version: m.list_version.clone(),
            score: (m.score * 1000.0).round() / 1000.0,
            name: m.name.clone(),
            explanation: m.explanation.to_string(),
            details: serde_json::to_value(&m.explanation).unwrap_or_default(),
        }
    }
}

/// The matches of one item, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScreenResult {
    pub id: Option<String>,
    pub matches: Vec<MatchView>,
}

/// The answer to a screening request: the list versions scored against, and one result per item.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScreenResponse {
    pub lists: Vec<ListVersionView>,
    pub results: Vec<ScreenResult>,
}

/// An alert as the API shows it: list-side data only.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertView {
    pub id: String,
    pub account_id: String,
    /// `customer`, `beneficial_owner:N`, `sub_lessee:ID` or `on_behalf_of:N`.
    pub subject: String,
    pub list: String,
    pub entity_id: String,
    pub list_version: String,
    pub list_version_id: i64,
    pub score: f64,
    /// The date of birth or an identifier matched too.
    pub strong: bool,
    /// The listed name matched and the features that moved the score (never the customer's data).
    #[schema(value_type = Object)]
    pub explanation: serde_json::Value,
    /// `open`, `escalated`, `true_match` or `false_positive`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disposed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disposition_reason: Option<String>,
}

impl From<AlertRecord> for AlertView {
    fn from(a: AlertRecord) -> Self {
        AlertView {
            id: a.id,
            account_id: a.account_id.to_string(),
            subject: a.subject,
            list: a.list,
            entity_id: a.entity_id,
            list_version: a.list_version,
            list_version_id: a.list_version_id,
            score: a.score,
            strong: a.strong,
            explanation: serde_json::from_str(&a.explanation).unwrap_or_default(),
            status: a.status,
            created_at: a.created_at,
            updated_at: a.updated_at,
            disposed_by: a.disposed_by,
            disposition_reason: a.disposition_reason,
        }
    }
}

/// An analyst's disposition of an alert (`POST /v1/alerts/{id}/disposition`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispositionRequest {
    /// `true_match`, `false_positive` or `escalate`.
    pub disposition: String,
    /// Required for `false_positive`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Reads a list file: the format named (`ofac_sdn`, `un`, `bis_dpl`, `csl`, `custom`) or, with
/// none, detected by content. A refusal is `validation_failed` with the parser's code.
pub fn parse_list(format: Option<&str>, bytes: &[u8]) -> Result<ListFile> {
    let parser = lessee_lists::Parser::default();
    let parsed = match format {
        None => parser.parse(bytes),
        Some("ofac_sdn") => parser.ofac(bytes, None, None),
        Some("un") => parser.un(bytes),
        Some("bis_dpl") => parser.bis_dpl(bytes),
        Some("csl") => parser.csl(bytes),
        Some("custom") => parser.custom(bytes),
        Some(other) => {
            return Err(Error::new(
                ErrorCode::InvalidQuery,
                format!("unknown list format `{other}` (ofac_sdn, un, bis_dpl, csl, custom)"),
            ));
        }
    };
    parsed.map_err(refused)
}

/// Parsed lists with their provenance (`file:NAME`), and the names of files not recognised.
pub type ParsedFiles = (Vec<(ListFile, String)>, Vec<String>);

/// The files of a directory, recognised by content: OFAC's SDN with its ALT and ADD files as
/// one list, every other recognised file as its own. Unrecognised files are returned by name.
pub fn parse_list_files(files: &[(String, Vec<u8>)]) -> Result<ParsedFiles> {
    use lessee_lists::Format;
    let mut ofac: [Option<&(String, Vec<u8>)>; 3] = [None, None, None];
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for f in files {
        match lessee_lists::detect(&f.1) {
            Some(Format::OfacSdn) => ofac[0] = Some(f),
            Some(Format::OfacAlt) => ofac[1] = Some(f),
            Some(Format::OfacAdd) => ofac[2] = Some(f),
            Some(_) => {
                let file = lessee_lists::parse(&f.1).map_err(|e| named(refused(e), &f.0))?;
                out.push((file, format!("file:{}", f.0)));
            }
            None => skipped.push(f.0.clone()),
        }
    }
    match ofac {
        [Some(sdn), alt, add] => {
            let file = lessee_lists::parse_ofac(&sdn.1, alt.map(|a| a.1.as_slice()), add.map(|a| a.1.as_slice()))
                .map_err(|e| named(refused(e), &sdn.0))?;
            let names: Vec<&str> = [Some(sdn), alt, add].iter().flatten().map(|f| f.0.as_str()).collect();
            out.insert(0, (file, format!("file:{}", names.join("+"))));
        }
        [None, alt, add] => skipped.extend([alt, add].iter().flatten().map(|f| format!("{} (no OFAC SDN file)", f.0))),
    }
    Ok((out, skipped))
}

fn named(mut e: Error, file: &str) -> Error {
    e.detail = format!("{file}: {}", e.detail);
    e
}

fn refused(e: ListError) -> Error {
    Error {
        errors: vec![FieldError { pointer: String::new(), code: e.code().to_owned(), message: e.to_string() }],
        ..Error::new(ErrorCode::ValidationFailed, format!("the list was refused, nothing was imported: {e}"))
    }
}

fn is_list_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<PartialDate> {
    let mut parts = s.trim().split('-');
    let year = parts.next()?.parse().ok()?;
    let month = parts.next().map(str::parse).transpose().ok()?;
    let day = parts.next().map(str::parse).transpose().ok()?;
    if parts.next().is_some() {
        return None;
    }
    PartialDate::new(year, month, day)
}

fn bad_item(i: usize, field: &str, message: &str) -> Error {
    Error::validation(vec![FieldError {
        pointer: format!("/items/{i}/{field}"),
        code: "invalid".into(),
        message: message.into(),
    }])
}

fn query_of(i: usize, item: &ScreenItem, list: Option<&str>) -> Result<Query> {
    let name = item.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(bad_item(i, "name", "a name is 1 to 300 characters"));
    }
    let mut q = Query::name(name);
    match item.party.as_deref().map(str::trim) {
        None | Some("") => {}
        Some("individual") => q = q.party(PartyKind::Individual),
        Some("entity") => q = q.party(PartyKind::Entity),
        Some(_) => return Err(bad_item(i, "type", "`type` is individual or entity")),
    }
    if let Some(d) = item.date_of_birth.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        q = q.date_of_birth(parse_date(d).ok_or_else(|| bad_item(i, "date_of_birth", "YYYY, YYYY-MM or YYYY-MM-DD"))?);
    }
    if let Some(c) = item.country.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        q = q.country(Country::parse(c).map_err(|_| bad_item(i, "country", "an ISO 3166-1 alpha-2 code"))?);
    }
    if let Some(l) = list {
        q = q.list(l);
    }
    Ok(q)
}

/// Company-form words kept apart when a name's words are joined (see [`screen_expanded`]).
const FORM_WORDS: &[&str] = &[
    "llc",
    "ltd",
    "inc",
    "co",
    "jsc",
    "gmbh",
    "pte",
    "sa",
    "ag",
    "ooo",
    "ao",
    "pao",
    "plc",
    "corp",
    "limited",
    "company",
    "corporation",
    "fze",
    "fzco",
    "bv",
    "nv",
    "srl",
    "spa",
];

/// Screens a query, and for a name of two to four words (forms aside) also those words written
/// as one (`Zor Security LLC` as `ZorSecurity LLC`): the matcher's candidate retrieval looks
/// listed tokens up by the query's tokens, so a listed name written as one word
/// (`ZORSECURITY`) is not found from its parts. Results are merged by entry, best score kept.
pub fn screen_expanded(screener: &Screener, q: &Query) -> Vec<Match> {
    let mut out = screener.screen(q);
    let words: Vec<&str> = q.name.split_whitespace().collect();
    let clean = |w: &str| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
    let (forms, parts): (Vec<&str>, Vec<&str>) = words.iter().partition(|w| FORM_WORDS.contains(&clean(w).as_str()));
    if (2..=4).contains(&parts.len()) {
        let mut joined = parts.concat();
        for f in forms {
            joined.push(' ');
            joined.push_str(f);
        }
        let variant = Query { name: joined, ..q.clone() };
        for m in screener.screen(&variant) {
            match out.iter_mut().find(|x| x.list == m.list && x.entity_id == m.entity_id) {
                Some(x) if x.score >= m.score => {}
                Some(x) => *x = m,
                None => out.push(m),
            }
        }
        out.sort_by(|a, b| b.score.total_cmp(&a.score));
        out.truncate(screener.config().max_results.max(1));
    }
    out
}

/// One screened subject of an application: who it is (`customer`, `beneficial_owner:N`,
/// `sub_lessee:ID`, `on_behalf_of:N`) and the query built from its data.
pub(crate) struct Subject {
    pub label: String,
    pub query: Query,
}

fn person_query(c: &AppCustomer) -> Query {
    let mut q = match c {
        AppCustomer::Individual(p) => {
            let mut q = Query::name(p.name.full()).party(PartyKind::Individual);
            if let Some(d) = p.date_of_birth.as_deref().and_then(parse_date) {
                q = q.date_of_birth(d);
            }
            if let Some(c) = p.citizenships.iter().find_map(|c| Country::parse(c).ok()) {
                q = q.country(c);
            }
            if let Some(id) = &p.national_id {
                let category = if id.id_type.eq_ignore_ascii_case("passport") {
                    lessee_lists::IdCategory::Passport
                } else {
                    lessee_lists::IdCategory::NationalId
                };
                q = q.identifier(category, id.number.clone());
            }
            q
        }
        AppCustomer::Entity(e) => {
            let mut q = Query::name(e.legal_name.clone()).party(PartyKind::Entity);
            if let Ok(c) = Country::parse(&e.organized_in) {
                q = q.country(c);
            }
            if let Some(r) = &e.registration {
                q = q.identifier(lessee_lists::IdCategory::Registration, r.number.clone());
            }
            q
        }
    };
    if q.country.is_none()
        && let Some(c) = c.address().and_then(|a| Country::parse(&a.country).ok())
    {
        q = q.country(c);
    }
    q
}

/// Every subject screening covers: the customer, each beneficial owner, each sub-lessee.
pub(crate) fn subjects(app: &Application) -> Vec<Subject> {
    let mut out = vec![Subject { label: "customer".into(), query: person_query(&app.customer) }];
    if let AppCustomer::Entity(e) = &app.customer {
        for (i, bo) in e.beneficial_owners.iter().enumerate() {
            out.push(Subject { label: format!("beneficial_owner:{i}"), query: person_query(&bo.person) });
        }
    }
    for s in &app.sub_lessees {
        out.push(Subject { label: format!("sub_lessee:{}", s.external_id), query: person_query(&s.customer) });
    }
    // Last, so that the ordinals of the subjects above (screening keys) do not move.
    for (i, o) in app.on_behalf_of.iter().enumerate() {
        out.push(Subject { label: format!("on_behalf_of:{i}"), query: person_query(&o.party) });
    }
    out
}

/// The screened data of a subject, for the keyed hash that remembers a false positive.
pub(crate) fn subject_material(q: &Query) -> Vec<u8> {
    let ids: Vec<(String, String)> =
        q.identifiers.iter().map(|i| (i.category.as_str().to_owned(), i.number.clone())).collect();
    serde_json::to_vec(&(
        lessee_screening::normalize(&q.name),
        q.party,
        q.date_of_birth.map(|d| (d.year, d.month, d.day)),
        q.country.map(|c| c.to_string()),
        ids,
    ))
    .unwrap_or_default()
}

/// SHA-256 of what matching reads of an entry: when it changes, a false positive alerts again.
pub(crate) fn entry_hash(e: &Entry) -> String {
    let material = serde_json::to_vec(&(
        &e.name,
        &e.entity_type,
        &e.aliases,
        &e.dates_of_birth,
        &e.nationalities,
        &e.citizenships,
        &e.countries,
        &e.identifiers,
        &e.places_of_birth,
    ))
    .unwrap_or_default();
    hex::encode(Sha256::digest(material))
}

/// A match is strong when the full date of birth or an identifier matched as well as the name.
fn is_strong(m: &Match, config: &Config) -> bool {
    m.explanation.features.iter().any(|f| match f.kind {
        FeatureKind::DateOfBirth => f.contribution >= config.dob_exact_bonus - 1e-9,
        FeatureKind::Identifier => f.contribution >= 0.0,
        _ => false,
    })
}

/// The list side of an explanation: what an alert keeps (the query's tokens are the customer's
/// name, so they are left out, and so are the features' details).
fn list_side(m: &Match) -> String {
    let features: Vec<serde_json::Value> = m
        .explanation
        .features
        .iter()
        .map(|f| serde_json::json!({"kind": f.kind, "contribution": f.contribution}))
        .collect();
    serde_json::json!({
        "matched_name": m.explanation.matched_name,
        "matched_name_kind": m.explanation.matched_name_kind,
        "entry_name": m.name,
        "entity_type": m.entity_type,
        "features": features,
    })
    .to_string()
}

fn new_alert_id() -> String {
    let mut b = [0u8; 12];
    rand::rng().fill_bytes(&mut b);
    format!("al_{}", hex::encode(b))
}

fn status_of(s: &str) -> HitStatus {
    match s {
        "true_match" => HitStatus::TrueMatch,
        "false_positive" => HitStatus::FalsePositive,
        "escalated" => HitStatus::Escalated,
        _ => HitStatus::Open,
    }
}

pub(crate) fn hit_of(a: &AlertRecord) -> ScreeningHit {
    ScreeningHit {
        subject: a.subject.clone(),
        alert_id: a.id.clone(),
        list: a.list.clone(),
        entity_id: a.entity_id.clone(),
        list_version: a.list_version.clone(),
        score: a.score,
        strong: a.strong,
        status: status_of(&a.status),
    }
}

impl Service {
    fn loaded_screener(&self) -> Option<Arc<Loaded>> {
        self.screening.read().ok().and_then(|g| g.clone())
    }

    /// The screener over the current list versions (built on first use); `None` when no list
    /// is imported.
    pub async fn screener(&self) -> Result<Option<Arc<Loaded>>> {
        if let Some(l) = self.loaded_screener() {
            return Ok(Some(l));
        }
        self.refresh_screener().await?;
        Ok(self.loaded_screener())
    }

    /// Rebuilds the screener when the current list versions differ from the ones it was built
    /// from (another server imported a list). Returns whether it changed. `serve` calls this
    /// every few seconds.
    pub async fn refresh_screener(&self) -> Result<bool> {
        let current = self.store.current_list_versions().await?;
        let ids: Vec<i64> = current.iter().map(|v| v.id).collect();
        let loaded = self.loaded_screener();
        if loaded.as_ref().map(|l| l.versions.iter().map(|v| v.id).collect::<Vec<_>>()) == Some(ids.clone())
            || (loaded.is_none() && ids.is_empty())
        {
            return Ok(false);
        }
        let mut sources = Vec::with_capacity(current.len());
        for v in &current {
            let entries = self.list_entries_of(v.id).await?;
            sources.push(ListSource::new(v.list.clone(), version_label(v), entries));
        }
        let screener = tokio::task::spawn_blocking(move || Screener::new(sources, Config::default()))
            .await
            .map_err(Error::internal)?;
        let n = screener.entry_count();
        let next = (!current.is_empty()).then(|| Arc::new(Loaded { versions: current, screener: Arc::new(screener) }));
        if let Ok(mut g) = self.screening.write() {
            *g = next;
        }
        tracing::info!(lists = ids.len(), entries = n, "Screener rebuilt from the current list versions.");
        Ok(true)
    }

    /// The parsed entries of a stored list version.
    pub(crate) async fn list_entries_of(&self, version_id: i64) -> Result<Vec<Entry>> {
        self.store
            .list_entries(version_id)
            .await?
            .iter()
            .map(|e| serde_json::from_str(&e.body).map_err(|err| Error::internal(format!("list entry: {err}"))))
            .collect()
    }

    /// Imports a parsed list as a new version of `name` (default: the list's kind), records its
    /// provenance, rebuilds the screener and schedules the re-screening of every account
    /// against what changed. Admin only; audited.
    pub async fn import_list(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        file: ListFile,
        name: Option<&str>,
        source: &str,
    ) -> Result<ImportReport> {
        by.require(Permission::ListsWrite)?;
        let list = name.unwrap_or(file.kind.as_str()).to_owned();
        if !is_list_name(&list) {
            return Err(Error::new(ErrorCode::InvalidQuery, "a list name is 1 to 64 of a-z, 0-9, `_` and `-`"));
        }
        if file.entries.is_empty() {
            return Err(Error::new(ErrorCode::ValidationFailed, "the list has no entries; nothing was imported"));
        }
        let previous = self.store.list_versions(Some(&list)).await?.pop();
        let old = match &previous {
            Some(p) => self.list_entries_of(p.id).await?,
            None => Vec::new(),
        };
        let diff = lessee_lists::diff(&old, &file.entries);
        let entries = file
            .entries
            .iter()
            .map(|e| {
                Ok(StoredEntry {
                    entity_id: e.entity_id.clone(),
                    body: serde_json::to_string(e).map_err(Error::internal)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let format = file.inputs.first().map_or(file.kind.as_str().to_owned(), |i| {
            serde_json::to_value(i.format).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
        });
        let new = NewListVersion {
            list: list.clone(),
            format,
            imported_at: self.now(),
            imported_by: by.token_id.clone(),
            source: source.to_owned(),
            sha256: file.source_sha256.clone(),
        };
        let audit = self.audit_event(by, ctx, Purpose::Audit, "lists.import", "list", &list);
        let version = self.store.add_list_version(&new, &entries, &audit).await?;
        tracing::info!(
            list = %list, version = version.version, entries = version.entry_count,
            added = diff.added.len(), removed = diff.removed.len(), changed = diff.changed.len(),
            "List version imported."
        );
        self.refresh_screener().await?;
        // Re-screening runs from the job queue (any worker; `serve` runs one). Enqueued after
        // the version's transaction: a crash in between leaves the version imported and not
        // yet re-screened, which the next import of that list (whose diff is taken against
        // the version before it) does not repair; see the report.
        let payload = serde_json::json!({"list": list, "old": previous.as_ref().map(|p| p.id), "new": version.id});
        self.enqueue_jobs(&[self.job(RESCREEN_LIST_JOB, Some(format!("{list}:{}", version.id)), payload)]).await?;
        Ok(ImportReport {
            version: ListVersionView::from(&version),
            previous: previous.map(|p| p.id),
            added: diff.added.len(),
            removed: diff.removed.len(),
            changed: diff.changed.len(),
            warnings: file.warnings.len(),
        })
    }

    /// Every list version, oldest first (of one list).
    pub async fn list_versions(&self, by: &Principal, list: Option<&str>) -> Result<Vec<ListVersionView>> {
        by.require(Permission::Screen)?;
        Ok(self.store.list_versions(list).await?.iter().map(ListVersionView::from).collect())
    }

    /// What changed between two versions of a list (by version number; default: the two
    /// latest).
    pub async fn list_diff(&self, by: &Principal, list: &str, from: Option<i64>, to: Option<i64>) -> Result<ListDiff> {
        by.require(Permission::Screen)?;
        let versions = self.store.list_versions(Some(list)).await?;
        let find = |n: i64| versions.iter().find(|v| v.version == n).ok_or_else(|| Error::not_found("list version"));
        let (from, to) = match (from, to) {
            (Some(f), Some(t)) => (find(f)?, find(t)?),
            _ => match versions.as_slice() {
                [.., a, b] => (a, b),
                _ => return Err(Error::not_found("pair of versions of this list (import it twice)")),
            },
        };
        let old = self.list_entries_of(from.id).await?;
        let new = self.list_entries_of(to.id).await?;
        let d = lessee_lists::diff(&old, &new);
        let entry = |e: &Entry| DiffEntry { entity_id: e.entity_id.clone(), name: e.name.clone(), fields: Vec::new() };
        Ok(ListDiff {
            list: list.to_owned(),
            from: from.version,
            to: to.version,
            added: d.added.iter().map(entry).collect(),
            removed: d.removed.iter().map(entry).collect(),
            changed: d.changed.iter().map(|c| DiffEntry { fields: c.fields.clone(), ..entry(&c.new) }).collect(),
        })
    }

    /// Screens a batch of names or persons against the current lists. The query holds
    /// personal data: audited before the answer.
    pub async fn screen_query(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        req: ScreenRequest,
    ) -> Result<ScreenResponse> {
        by.require(Permission::Screen)?;
        if req.items.is_empty() || req.items.len() > MAX_SCREEN_ITEMS {
            return Err(Error::new(ErrorCode::InvalidBody, format!("`items` holds 1 to {MAX_SCREEN_ITEMS} names")));
        }
        let queries = req
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| query_of(i, item, req.list.as_deref()))
            .collect::<Result<Vec<_>>>()?;
        let loaded = self.screener().await?.ok_or_else(|| {
            Error::new(
                ErrorCode::NoLists,
                "no screening list is imported (`lessee lists import` or `lessee lists update`)",
            )
        })?;
        if let Some(l) = &req.list
            && loaded.version_of(l).is_none()
        {
            return Err(Error::not_found("list"));
        }
        self.audit(
            by,
            ctx,
            Purpose::Verification,
            "screen.query",
            "screening",
            &format!("{} item(s)", queries.len()),
            Allowed,
        )
        .await?;
        let screener = loaded.screener.clone();
        let matches = tokio::task::spawn_blocking(move || {
            queries.iter().map(|q| screen_expanded(&screener, q)).collect::<Vec<_>>()
        })
        .await
        .map_err(Error::internal)?;
        let results = req
            .items
            .into_iter()
            .zip(matches)
            .map(|(item, ms)| ScreenResult { id: item.id, matches: ms.iter().map(MatchView::from).collect() })
            .collect();
        Ok(ScreenResponse { lists: loaded.versions.iter().map(ListVersionView::from).collect(), results })
    }

    /// Screens every subject of an application; the alerts to raise (not yet stored) and the
    /// list versions scored against. `None` when no list is imported.
    pub(crate) async fn screen_application(
        &self,
        account: AccountId,
        app: &Application,
    ) -> Result<Option<(Arc<Loaded>, Vec<AlertRecord>)>> {
        let Some(loaded) = self.screener().await? else { return Ok(None) };
        let subjects = subjects(app);
        let screener = loaded.screener.clone();
        let queries: Vec<Query> = subjects.iter().map(|s| s.query.clone()).collect();
        let found = tokio::task::spawn_blocking(move || {
            queries.iter().map(|q| screen_expanded(&screener, q)).collect::<Vec<_>>()
        })
        .await
        .map_err(Error::internal)?;
        let now = self.now();
        let mut alerts = Vec::new();
        for (subject, matches) in subjects.iter().zip(found) {
            let subject_hash = self.vault.screening_hash(&subject_material(&subject.query));
            for m in &matches {
                alerts.push(self.alert_of(&loaded, account, &subject.label, &subject_hash, m, now));
            }
        }
        Ok(Some((loaded, alerts)))
    }

    pub(crate) fn alert_of(
        &self,
        loaded: &Loaded,
        account: AccountId,
        subject: &str,
        subject_hash: &str,
        m: &Match,
        now: DateTime<Utc>,
    ) -> AlertRecord {
        let entry_hash = loaded.screener.entry(&m.list, &m.entity_id).map(entry_hash).unwrap_or_default();
        AlertRecord {
            id: new_alert_id(),
            account_id: account,
            subject: subject.to_owned(),
            list: m.list.clone(),
            entity_id: m.entity_id.clone(),
            list_version_id: loaded.version_of(&m.list).map_or(0, |v| v.id),
            list_version: m.list_version.clone(),
            score: (m.score * 1000.0).round() / 1000.0,
            strong: is_strong(m, loaded.screener.config()),
            explanation: list_side(m),
            entry_hash,
            subject_hash: subject_hash.to_owned(),
            status: "open".into(),
            created_at: now,
            updated_at: now,
            disposed_by: None,
            disposition_reason: None,
        }
    }

    /// What the policy weighs for an account's screening: its stored alerts (with `change`
    /// applied: an alert id and its new status), against the current lists.
    pub(crate) async fn screening_evidence(&self, id: AccountId, change: Option<(&str, &str)>) -> Result<Screening> {
        let loaded = self.screener().await?;
        let mut alerts = self.store.alerts(Some(id), None, 10_000).await?;
        if let Some((alert, status)) = change {
            for a in alerts.iter_mut().filter(|a| a.id == alert) {
                a.status = status.to_owned();
            }
        }
        Ok(match loaded {
            None if alerts.is_empty() => Screening::NotPossible,
            loaded => Screening::Screened {
                lists: loaded.map(|l| l.labels()).unwrap_or_default(),
                hits: alerts.iter().map(hit_of).collect(),
            },
        })
    }

    /// The alerts of an account, newest first.
    pub async fn account_alerts(&self, by: &Principal, id: &str) -> Result<Vec<AlertView>> {
        by.require(Permission::Screen)?;
        let id = crate::accounts::parse_account_id(id)?;
        if self.store.account(id).await?.is_none() {
            return Err(Error::not_found("account"));
        }
        Ok(self.store.alerts(Some(id), None, 10_000).await?.into_iter().map(AlertView::from).collect())
    }

    /// Alerts by status (`open`, `escalated`, `true_match`, `false_positive`), newest first.
    pub async fn list_alerts(
        &self,
        by: &Principal,
        status: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<AlertView>> {
        by.require(Permission::Screen)?;
        if let Some(s) = status
            && !["open", "escalated", "true_match", "false_positive"].contains(&s)
        {
            return Err(Error::new(
                ErrorCode::InvalidQuery,
                "`status` is one of open, escalated, true_match, false_positive",
            ));
        }
        let limit = limit.unwrap_or(100);
        if limit == 0 || limit > 1000 {
            return Err(Error::new(ErrorCode::InvalidQuery, "`limit` must be between 1 and 1000"));
        }
        Ok(self.store.alerts(None, status, limit).await?.into_iter().map(AlertView::from).collect())
    }

    /// An analyst's disposition: `true_match` (the account is decided again: denied),
    /// `false_positive` with a reason (decided again without it; the same entry and customer
    /// data do not alert again), `escalate` (stays live). Audited; compare-and-set.
    pub async fn dispose_alert(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        id: &str,
        req: DispositionRequest,
    ) -> Result<AlertView> {
        by.require(Permission::Screen)?;
        let to = match req.disposition.as_str() {
            "true_match" => "true_match",
            "false_positive" => "false_positive",
            "escalate" => "escalated",
            _ => {
                return Err(Error::new(
                    ErrorCode::ValidationFailed,
                    "`disposition` is true_match, false_positive or escalate",
                ));
            }
        };
        let reason = req.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
        if reason.is_some_and(|r| r.len() > 2000 || r.chars().any(|c| c.is_control() && c != '\n')) {
            return Err(Error::new(ErrorCode::ValidationFailed, "`reason` is at most 2000 printable characters"));
        }
        if to == "false_positive" && reason.is_none() {
            return Err(Error::new(ErrorCode::ValidationFailed, "a false positive needs a `reason`"));
        }
        let alert = self.store.alert(id).await?.ok_or_else(|| Error::not_found("alert"))?;
        let allowed_from: &[&str] = if to == "escalated" { &["open"] } else { &["open", "escalated"] };
        if !allowed_from.contains(&alert.status.as_str()) {
            return Err(Error::new(
                ErrorCode::Conflict,
                format!("the alert is already `{}`; it cannot become `{to}`", alert.status),
            ));
        }
        // Escalation changes nothing the policy weighs; the other two decide the account again.
        let decision = if to == "escalated" {
            None
        } else {
            self.redecide_screened(alert.account_id, Some((&alert.id, to)), &format!("alert_{to}")).await?
        };
        let d = Disposition { id, from: &alert.status, to, by: &by.token_id, reason, at: self.now() };
        let audit = self.audit_event(by, ctx, Purpose::Review, &format!("alert.{}", req.disposition), "alert", id);
        if !self.store.dispose_alert(&d, decision.as_ref(), &audit).await? {
            return Err(Error::new(ErrorCode::Conflict, "the alert changed meanwhile; read it and try again"));
        }
        tracing::info!(alert_id = %id, disposition = to, by = %by.token_id, "Screening alert dispositioned.");
        let after = self.store.alert(id).await?.ok_or_else(|| Error::not_found("alert"))?;
        Ok(AlertView::from(after))
    }

    /// The account decided again with its screening alerts (one of them changed), not stored.
    pub(crate) async fn redecide_screened(
        &self,
        id: AccountId,
        change: Option<(&str, &str)>,
        trigger: &str,
    ) -> Result<Option<Account>> {
        let Some(current) = self.store.account(id).await? else { return Ok(None) };
        let Some(sealed) = self.store.sealed_application(id).await? else { return Ok(None) };
        let app = self.vault.unseal(id, &sealed)?;
        let states = self.store.evidence_states(id).await?;
        let screening = self.screening_evidence(id, change).await?;
        let (classification, mut decision) = self.decide_with(Some(id), &app, &states, screening, self.now()).await?;
        decision.trigger = Some(trigger.to_owned());
        Ok(Some(Account { classification, decision, ..current }))
    }

    /// The `rescreen.list` job: payload `{"list", "old": version id or null, "new": version id}`.
    /// Idempotent: alerts are deduplicated, so a second run raises nothing new.
    pub(crate) async fn job_rescreen_list(&self, payload: &serde_json::Value) -> Result<()> {
        let bad = || Error::new(ErrorCode::InvalidBody, "a rescreen.list job needs `new` (and `old`) version ids");
        let new_id = payload.get("new").and_then(serde_json::Value::as_i64).ok_or_else(bad)?;
        let version = self.store.list_version(new_id).await?.ok_or_else(bad)?;
        let previous = match payload.get("old").and_then(serde_json::Value::as_i64) {
            Some(id) => Some(self.store.list_version(id).await?.ok_or_else(bad)?),
            None => None,
        };
        self.rescreen_list(previous.as_ref(), &version).await.map(|_| ())
    }

    /// Re-screens the stored accounts against what changed between two versions of a list:
    /// new and changed entries are looked up in an index over the customers' names
    /// ([`lessee_screening::CustomerIndex`]), so only the customers they come close to are
    /// scored. New hits become alerts (deduplicated against live alerts and decided false
    /// positives) and the accounts concerned are decided again. Returns the alerts raised.
    ///
    /// The customers' names are sealed, so the index is built from the accounts that share a
    /// screening key ([`lessee_screening::keys`], blinded and stored at opening) with the
    /// changed entries: only those are decrypted. Until every stored account is known to have
    /// keys of the running scheme (a database from before them, or a new scheme), every account
    /// is decrypted once instead, and the missing keys are written on the way.
    pub async fn rescreen_list(&self, previous: Option<&ListVersion>, version: &ListVersion) -> Result<usize> {
        let Some(loaded) = self.screener().await? else { return Ok(0) };
        let started = std::time::Instant::now();
        let mut phases: Vec<(&str, u128)> = Vec::new();
        let mut lap = {
            let mut last = std::time::Instant::now();
            move |phases: &mut Vec<(&'static str, u128)>, name: &'static str| {
                phases.push((name, last.elapsed().as_millis()));
                last = std::time::Instant::now();
            }
        };
        let old = match previous {
            Some(p) => self.list_entries_of(p.id).await?,
            None => Vec::new(),
        };
        let new = self.list_entries_of(version.id).await?;
        let diff = lessee_lists::diff(&old, &new);
        if diff.added.is_empty() && diff.changed.is_empty() {
            return Ok(0);
        }
        lap(&mut phases, "diff");
        let mut customers = Vec::new();
        let mut hashes: HashMap<String, String> = HashMap::new();
        let scheme = i64::from(lessee_screening::keys::SCHEME);
        let has_keys = self.store.screening_key_scheme().await? == Some(scheme);
        // A diff of thousands of entries (a list's first version) would probe millions of keys
        // and select a large share of the customers: one pass over every account is cheaper.
        let keyed = has_keys && diff.added.len() + diff.changed.len() <= KEYED_DIFF_MAX;
        let mut collect = |id: AccountId, app: &Application| {
            for subject in subjects(app) {
                let key = format!("{id}|{}", subject.label);
                hashes.insert(key.clone(), self.vault.screening_hash(&subject_material(&subject.query)));
                let q = subject.query;
                customers.push(lessee_screening::Customer {
                    id: key,
                    name: q.name,
                    party: q.party,
                    date_of_birth: q.date_of_birth,
                    country: q.country,
                    identifiers: q.identifiers,
                });
            }
        };
        let (decrypted, candidates) = if keyed {
            let entries: Vec<Entry> =
                diff.added.iter().cloned().chain(diff.changed.iter().map(|c| c.new.clone())).collect();
            let (vault, screener) = (self.vault.clone(), loaded.screener.clone());
            let (probe, blinded) = tokio::task::spawn_blocking(move || {
                let refs: Vec<&Entry> = entries.iter().collect();
                let probe = lessee_screening::keys::Probe::new(&screener, &refs);
                let blinded = blind_keys(&vault, &probe.keys())?;
                Ok::<_, Error>((probe, blinded))
            })
            .await
            .map_err(Error::internal)??;
            lap(&mut phases, "probe_keys");
            let probes: Vec<i64> = blinded.keys().copied().collect();
            let hits = self.store.screening_key_hits(&probes).await?;
            lap(&mut phases, "lookup");
            // Per subject: an account is selected when one of its people comes near an entry.
            let mut held: HashMap<(AccountId, i64), Vec<u64>> = HashMap::new();
            for (id, subject, key) in hits {
                if let Some(raw) = blinded.get(&key) {
                    held.entry((id, subject)).or_default().push(*raw);
                }
            }
            let matched = held.len();
            let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
            let mut ids: Vec<AccountId> = held
                .into_iter()
                .filter_map(|((id, _), raw)| {
                    let why = probe.reason(&raw)?;
                    *reasons.entry(why).or_default() += 1;
                    Some(id)
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
            tracing::debug!(
                names = probe.names(), keys = probes.len(), matched, selected = ids.len(), reasons = ?reasons,
                "Screening keys probed."
            );
            let candidates = ids.len();
            let mut decrypted = 0;
            for page in ids.chunks(2000) {
                for (id, app) in self.unsealed_page(page.to_vec()).await? {
                    decrypted += 1;
                    collect(id, &app);
                }
            }
            (decrypted, candidates)
        } else {
            let mut decrypted = 0;
            let mut after = None;
            loop {
                let page = self.store.customer_keys(after, 2000).await?;
                let Some((last, _)) = page.last() else { break };
                after = Some(*last);
                let mut backfill = Vec::new();
                for (id, app) in self.unsealed_page(page.into_iter().map(|(id, _)| id).collect()).await? {
                    decrypted += 1;
                    if !has_keys {
                        backfill.push((id, self.vault.screening_keys(&app)));
                    }
                    collect(id, &app);
                }
                if !backfill.is_empty() {
                    self.store.add_screening_keys(&backfill).await?;
                }
            }
            if !has_keys {
                // Accounts opened meanwhile were keyed at opening: every account has keys now.
                self.store.set_screening_key_scheme(scheme).await?;
            }
            (decrypted, decrypted)
        };
        lap(&mut phases, "decrypt");
        let screener = loaded.screener.clone();
        let list = version.list.clone();
        let affected = tokio::task::spawn_blocking(move || {
            let index = lessee_screening::CustomerIndex::build(customers, &screener);
            screener.rescreen_diff(&index, &list, &diff)
        })
        .await
        .map_err(Error::internal)?;
        lap(&mut phases, "match");
        let now = self.now();
        let mut alerts = Vec::new();
        for a in &affected {
            let Some((account, subject)) = a.customer_id.split_once('|') else { continue };
            let Some(account) = AccountId::parse(account) else { continue };
            let hash = hashes.get(&a.customer_id).cloned().unwrap_or_default();
            for m in &a.matches {
                alerts.push(self.alert_of(&loaded, account, subject, &hash, m, now));
            }
        }
        let added: BTreeSet<String> = self.store.add_alerts(&alerts).await?.into_iter().collect();
        let accounts: BTreeSet<AccountId> =
            alerts.iter().filter(|a| added.contains(&a.id)).map(|a| a.account_id).collect();
        let (op, ctx) = (Principal::local_operator(), RequestContext::local());
        for id in &accounts {
            if let Some(account) = self.redecide_screened(*id, None, "rescreen").await? {
                let audit =
                    self.audit_event(&op, &ctx, Purpose::Verification, "account.rescreen", "account", &id.to_string());
                self.store.record_decision(&account, &audit).await?;
            }
        }
        lap(&mut phases, "record");
        let phases: Vec<String> = phases.iter().map(|(n, ms)| format!("{n}={ms}")).collect();
        tracing::info!(
            list = %version.list, version = version.version, keyed, candidates, decrypted,
            affected = affected.len(), alerts = added.len(), accounts = accounts.len(),
            ms = started.elapsed().as_millis(), phases = %phases.join(","),
            "Accounts re-screened after a list import."
        );
        Ok(added.len())
    }
}

/// Above this many added and changed entries a list diff is re-screened by one pass over every
/// account rather than through the screening keys.
const KEYED_DIFF_MAX: usize = 2000;

/// `keys` blinded (as stored), on every core: blinded value -> raw key. A thread that panicked
/// fails the whole computation: a lost part would silently skip customers.
fn blind_keys(vault: &crate::vault::Vault, keys: &[u64]) -> Result<HashMap<i64, u64>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = keys.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = keys
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(|k| (vault.screening_key(*k), *k)).collect::<Vec<_>>()))
            .collect();
        let mut all = HashMap::with_capacity(keys.len());
        for h in handles {
            all.extend(h.join().map_err(|_| Error::internal("a screening-key thread panicked"))?);
        }
        Ok(all)
    })
}
