//! Productions for legal process (EO 13984 § 1(a)(ii)–(iii); the proposed rule's records
//! provisions): everything held about an account, or about every account seen from an address
//! or range, for a period, as one tar bundle whose manifest lists every file's SHA-256 and is
//! signed with the audit log's key. The bundle carries the audit records about each account
//! with RFC 9162 inclusion proofs against a signed checkpoint, so a recipient checks it with
//! [`verify_bundle`] (`lessee export verify`), without the server.
//!
//! Layout:
//!
//! ```text
//! README.txt                         how to verify, for the recipient
//! manifest.json                      scope, period, reference, checkpoint, files and hashes
//! manifest.sig                       signed note: "lessee/legal-export\nsha256:<manifest>\n"
//! checkpoint.txt                     the signed audit checkpoint the proofs lead to
//! public-key.txt                     the signing key (pin the provider's published key)
//! access_events.ndjson               (address scope) the events seen from the range
//! accounts/<id>/account.json         the account, its classification and decision
//! accounts/<id>/application.json     the identifying information (absent once destroyed)
//! accounts/<id>/decisions.json       every decision, oldest first
//! accounts/<id>/access_events.ndjson the account's events in the period
//! accounts/<id>/legal_holds.json     holds on the account
//! accounts/<id>/audit_records.ndjson audit records about the account, each with its proof
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use chrono::{DateTime, Utc};
use lessee_audit::{AuditRecord, Hash, NodeMap, SignedNote, VerifyingKey};
use lessee_domain::AccountId;
use lessee_domain::access::{Cidr, plan};
use lessee_store::EventQuery;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::Service;
use crate::audit::{Allowed, RequestContext};
use crate::auth::{Principal, Purpose};
use crate::error::{Error, ErrorCode, Result};
use crate::events::{EventView, time_range};

/// The bundle format this code writes and reads.
pub const FORMAT: &str = "lessee-export/1";
/// The first line of the manifest signature's note.
pub const NOTE_ORIGIN: &str = "lessee/legal-export";
/// Most accounts in one address-scope production; narrow the range or the period beyond it.
pub const MAX_ACCOUNTS: usize = 1_000;
/// Most events in one production.
pub const MAX_EVENTS: usize = 2_000_000;
/// Largest bundle `verify_bundle` reads.
pub const MAX_BUNDLE_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// What to produce: exactly one of `account_id` or `ip`, a period, and the legal process.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// The account (lessee id).
    pub account_id: Option<String>,
    /// An address or CIDR range: every account seen from it in the period.
    pub ip: Option<String>,
    /// Start of the period (RFC 3339; default 30 days before `to`).
    pub from: Option<String>,
    /// End of the period, exclusive (RFC 3339; default now).
    pub to: Option<String>,
    /// The legal process (docket, subpoena or warrant number).
    pub reference: String,
}

/// The scope of a production.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Scope {
    Account(String),
    Ip(String),
    /// The Customer Identification Program: the policy in force and every earlier version.
    Cip,
}

/// One file of the bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

/// One account in the bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountEntry {
    pub id: String,
    /// Its personal data was destroyed at the end of retention; only references remain.
    pub destroyed: bool,
    pub access_events: u64,
    pub audit_records: u64,
}

/// The tree head every audit record's proof leads to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointRef {
    pub tree_size: u64,
    pub root: String,
}

/// The bundle's table of contents; its hash is signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub scope: Scope,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub reference: String,
    pub produced_at: DateTime<Utc>,
    /// The token that asked for it.
    pub produced_by: String,
    pub request_id: String,
    pub audit_checkpoint: CheckpointRef,
    pub accounts: Vec<AccountEntry>,
    pub files: Vec<FileEntry>,
}

/// One line of `audit_records.ndjson`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvenRecord {
    record: AuditRecord,
    leaf_hash: Hash,
    /// Audit path to the checkpoint's root (RFC 9162 § 2.1.3).
    proof: Vec<Hash>,
}

/// What every account of one production shares.
struct Production {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    tree_size: u64,
    root: Hash,
    holds: Vec<lessee_store::LegalHold>,
}

/// What a production wrote.
#[derive(Debug)]
pub struct Produced {
    pub bundle: Vec<u8>,
    pub manifest: Manifest,
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn json<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>> {
    let mut b = serde_json::to_vec_pretty(v).map_err(Error::internal)?;
    b.push(b'\n');
    Ok(b)
}

fn ndjson<T: Serialize>(items: &[T]) -> Result<Vec<u8>> {
    let mut b = Vec::new();
    for i in items {
        serde_json::to_writer(&mut b, i).map_err(Error::internal)?;
        b.push(b'\n');
    }
    Ok(b)
}

fn signed_text(manifest: &[u8]) -> String {
    format!("{NOTE_ORIGIN}\nsha256:{}\n", sha256_hex(manifest))
}

const README: &str = "\
This is a production of records by lessee (format lessee-export/1).

manifest.json lists every other file with its SHA-256; manifest.sig is a signed note (C2SP
signed-note format, Ed25519) over the manifest's SHA-256, made with the provider's audit-log
key. checkpoint.txt is a signed tree head of the provider's audit log; each line of
accounts/*/audit_records.ndjson carries an audit record and its RFC 9162 inclusion proof
against that tree head, showing the record is in the provider's append-only log.

To check it without the provider's server:

    lessee export verify BUNDLE.tar --public-key \"<the provider's published key>\"

Without --public-key the bundle is checked against public-key.txt, which shows integrity only
to someone who already trusts that key.
";

impl Service {
    /// Produces the bundle for legal process. The caller's role must hold `legal_process`; the
    /// production is audited (on each account it covers) before anything is read.
    /// `purpose` is the one the caller stated: a production is made only for `legal_process`.
    pub async fn legal_export(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        purpose: Purpose,
        req: ExportRequest,
    ) -> Result<Produced> {
        if purpose != Purpose::LegalProcess {
            return Err(Error::new(
                ErrorCode::InvalidPurpose,
                "a production for legal process is made only with the purpose `legal_process`",
            ));
        }
        if req.reference.trim().is_empty() || req.reference.len() > 200 || req.reference.chars().any(char::is_control) {
            return Err(Error::new(ErrorCode::ValidationFailed, "`reference` is 1 to 200 printable characters"));
        }
        let (from, to) = time_range(req.from.as_deref(), req.to.as_deref(), self.now())?;
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let (scope, ids) = match (req.account_id.as_deref(), req.ip.as_deref()) {
            (Some(id), None) => {
                let id = crate::accounts::parse_account_id(id)?;
                self.authorize_read(by, ctx, purpose, "export.account", "account", &id.to_string()).await?;
                if self.store.account(id).await?.is_none() {
                    return Err(Error::not_found("account"));
                }
                (Scope::Account(id.to_string()), vec![id])
            }
            (None, Some(ip)) => {
                let query = Cidr::parse(ip)
                    .ok_or_else(|| Error::new(ErrorCode::InvalidQuery, "`ip` must be an address or a CIDR range"))?;
                let plan = plan(query).ok_or_else(|| {
                    Error::new(
                        ErrorCode::InvalidQuery,
                        "the range is too wide to search; narrow it (IPv6: /16 or longer)",
                    )
                })?;
                let target = format!("{}", self.vault.prefix_index(plan.level, query.network, query.len));
                self.authorize_read(by, ctx, purpose, "export.ip", "ip_prefix", &target).await?;
                let values: Vec<i64> =
                    plan.prefixes.iter().map(|p| self.vault.prefix_index(plan.level, *p, plan.prefix_len)).collect();
                let q = EventQuery::IpPrefixes { level: plan.level, values };
                let events = self.all_events(&q, from, to, |a| query.contains(a)).await?;
                let ids: BTreeSet<String> = events.iter().map(|e| e.account_id.clone()).collect();
                if ids.len() > MAX_ACCOUNTS {
                    return Err(Error::new(
                        ErrorCode::InvalidQuery,
                        format!(
                            "more than {MAX_ACCOUNTS} accounts were seen from the range; narrow the range or the period"
                        ),
                    ));
                }
                files.push(("access_events.ndjson".to_owned(), ndjson(&events)?));
                let ids = ids.iter().map(|s| crate::accounts::parse_account_id(s)).collect::<Result<Vec<_>>>()?;
                // Each account's own trail shows that it was produced.
                for id in &ids {
                    self.audit(by, ctx, purpose, "export.account", "account", &id.to_string(), Allowed).await?;
                }
                (Scope::Ip(format!("{}/{}", query.network, query.len)), ids)
            }
            _ => {
                return Err(Error::new(ErrorCode::ValidationFailed, "give exactly one of `account_id` or `ip`"));
            }
        };
        // The checkpoint comes after the production's own audit records, so they are in it.
        let cp = self.checkpoint().await?;
        let root = Hash::from_hex(&cp.root).map_err(Error::internal)?;
        // Read once for the whole production, not once per account.
        let holds = self.store.holds(true).await?;
        let shared = Production { from, to, tree_size: cp.tree_size, root, holds };
        let mut accounts = Vec::new();
        for id in ids {
            accounts.push(self.account_files(id, &shared, &mut files).await?);
        }
        files.push(("checkpoint.txt".to_owned(), cp.note.clone().into_bytes()));
        files.push(("public-key.txt".to_owned(), format!("{}\n", cp.public_key).into_bytes()));
        files.push(("README.txt".to_owned(), README.as_bytes().to_vec()));
        let manifest = Manifest {
            format: FORMAT.to_owned(),
            scope,
            from,
            to,
            reference: req.reference,
            produced_at: self.now(),
            produced_by: by.token_id.clone(),
            request_id: ctx.request_id.clone(),
            audit_checkpoint: CheckpointRef { tree_size: cp.tree_size, root: cp.root.clone() },
            accounts,
            files: files
                .iter()
                .map(|(p, b)| FileEntry { path: p.clone(), sha256: sha256_hex(b), bytes: b.len() as u64 })
                .collect(),
        };
        let bundle = self.seal_bundle(&manifest, &files)?;
        tracing::info!(
            request_id = %ctx.request_id,
            accounts = manifest.accounts.len(),
            bytes = bundle.len(),
            "Legal-process production written."
        );
        Ok(Produced { bundle, manifest })
    }

    /// Signs the manifest and writes the tar: manifest, signature, then the files.
    fn seal_bundle(&self, manifest: &Manifest, files: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
        let manifest_bytes = json(manifest)?;
        let sig = self.audit_keys.sign_note(&signed_text(&manifest_bytes))?;
        let mut tar = tar::Builder::new(Vec::new());
        let mtime = u64::try_from(manifest.produced_at.timestamp()).unwrap_or(0);
        let mut add = |path: &str, data: &[u8]| -> Result<()> {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o600);
            h.set_mtime(mtime);
            h.set_entry_type(tar::EntryType::Regular);
            tar.append_data(&mut h, path, data).map_err(Error::internal)
        };
        add("manifest.json", &manifest_bytes)?;
        add("manifest.sig", sig.as_bytes())?;
        for (p, b) in files {
            add(p, b)?;
        }
        tar.into_inner().map_err(Error::internal)
    }

    /// The audit records about `target` below `tree_size`, each with its inclusion proof
    /// (checked here against `root` before it is written).
    async fn proven_records(&self, target: &str, tree_size: u64, root: &Hash) -> Result<Vec<ProvenRecord>> {
        let mut proven = Vec::new();
        let mut next = 0;
        loop {
            let batch = self.store.audit_entries_for_target(target, next, tree_size, 10_000).await?;
            let Some(last) = batch.last() else { break };
            next = last.record.seq + 1;
            for e in batch {
                let seq = e.record.seq;
                let ids = lessee_audit::nodes_for_inclusion_proof(seq, tree_size).map_err(Error::internal)?;
                let map = NodeMap::new(tree_size, self.store.audit_nodes(&ids).await?);
                let proof = lessee_audit::prove_inclusion(&map, seq, tree_size).map_err(Error::internal)?;
                // Check our own work before a court sees it.
                proof.verify(&e.leaf_hash, root).map_err(Error::internal)?;
                proven.push(ProvenRecord { record: e.record, leaf_hash: e.leaf_hash, proof: proof.hashes });
            }
        }
        Ok(proven)
    }

    /// The copy of the CIP (EO 13984 § 1(a)(i); the proposed rule lets Commerce ask for it):
    /// the policy in force, every earlier version with who installed it, when and why, and the
    /// audit records of those changes with their proofs, as a signed bundle `export verify`
    /// checks. Auditor or admin.
    pub async fn export_cip(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        reference: Option<String>,
    ) -> Result<Produced> {
        by.require(crate::Permission::AuditRead)?;
        self.policy().await?;
        self.audit(by, ctx, Purpose::Audit, "export.cip", "policy", crate::policy::POLICY_TARGET, Allowed).await?;
        let versions = self.store.policies().await?;
        let current = versions.last().ok_or_else(|| Error::internal("no policy installed"))?;
        let cp = self.checkpoint().await?;
        let root = Hash::from_hex(&cp.root).map_err(Error::internal)?;
        let mut files: Vec<(String, Vec<u8>)> = vec![("policy.toml".to_owned(), current.source.clone().into_bytes())];
        let history: Vec<serde_json::Value> = versions
            .iter()
            .map(|v| {
                serde_json::json!({
                    "version": v.version, "policy_id": v.policy_id, "sha256": v.sha256, "note": v.note,
                    "created_by": v.created_by, "created_at": v.created_at,
                    "file": format!("history/v{}.toml", v.version),
                })
            })
            .collect();
        files.push(("history.json".to_owned(), json(&history)?));
        for v in &versions {
            files.push((format!("history/v{}.toml", v.version), v.source.clone().into_bytes()));
        }
        let proven = self.proven_records(crate::policy::POLICY_TARGET, cp.tree_size, &root).await?;
        files.push(("policy/audit_records.ndjson".to_owned(), ndjson(&proven)?));
        files.extend(self.cip_registry_files().await?);
        files.push(("checkpoint.txt".to_owned(), cp.note.clone().into_bytes()));
        files.push(("public-key.txt".to_owned(), format!("{}\n", cp.public_key).into_bytes()));
        files.push(("README.txt".to_owned(), README.as_bytes().to_vec()));
        let first = versions.first().map_or(current.created_at, |v| v.created_at);
        let manifest = Manifest {
            format: FORMAT.to_owned(),
            scope: Scope::Cip,
            from: first,
            to: self.now(),
            reference: reference.unwrap_or_else(|| format!("CIP copy: {}", current.policy_id)),
            produced_at: self.now(),
            produced_by: by.token_id.clone(),
            request_id: ctx.request_id.clone(),
            audit_checkpoint: CheckpointRef { tree_size: cp.tree_size, root: cp.root.clone() },
            accounts: Vec::new(),
            files: files
                .iter()
                .map(|(p, b)| FileEntry { path: p.clone(), sha256: sha256_hex(b), bytes: b.len() as u64 })
                .collect(),
        };
        let bundle = self.seal_bundle(&manifest, &files)?;
        Ok(Produced { bundle, manifest })
    }

    /// Every event matching `q` in the period (all pages), opened and filtered.
    async fn all_events(
        &self,
        q: &EventQuery,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        keep: impl Fn(std::net::IpAddr) -> bool + Copy,
    ) -> Result<Vec<EventView>> {
        let mut out = Vec::new();
        let mut after = None;
        let mut seen = 0usize;
        loop {
            let rows = self.store.events(q, from, to, after, 5000).await?;
            let Some(last) = rows.last() else { break };
            after = Some((last.at.timestamp_millis(), last.seq));
            seen += rows.len();
            let full = rows.len() == 5000;
            out.extend(self.open_events(rows, keep).await?);
            if seen > MAX_EVENTS {
                return Err(Error::new(
                    ErrorCode::InvalidQuery,
                    format!("more than {MAX_EVENTS} events in the period; produce it in shorter periods"),
                ));
            }
            if !full {
                break;
            }
        }
        Ok(out)
    }

    /// The files of one account, appended to `files`.
    async fn account_files(
        &self,
        id: AccountId,
        p: &Production,
        files: &mut Vec<(String, Vec<u8>)>,
    ) -> Result<AccountEntry> {
        let (from, to, tree_size, root, all_holds) = (p.from, p.to, p.tree_size, &p.root, &p.holds);
        let dir = format!("accounts/{id}");
        let account = self.store.account(id).await?.ok_or_else(|| Error::not_found("account"))?;
        files.push((format!("{dir}/account.json"), json(&account)?));
        let destroyed = match self.store.sealed_application(id).await? {
            Some(sealed) => {
                files.push((format!("{dir}/application.json"), json(&self.vault.unseal(id, &sealed)?)?));
                false
            }
            None => true,
        };
        files.push((format!("{dir}/decisions.json"), json(&self.store.decisions(id).await?)?));
        let events = self.all_events(&EventQuery::Account(id), from, to, |_| true).await?;
        files.push((format!("{dir}/access_events.ndjson"), ndjson(&events)?));
        let holds: Vec<crate::retention::HoldView> =
            all_holds.iter().filter(|h| h.account_id == Some(id)).cloned().map(Into::into).collect();
        files.push((format!("{dir}/legal_holds.json"), json(&holds)?));
        let target = id.to_string();
        let proven = self.proven_records(&target, tree_size, root).await?;
        files.push((format!("{dir}/audit_records.ndjson"), ndjson(&proven)?));
        Ok(AccountEntry {
            id: target,
            destroyed,
            access_events: events.len() as u64,
            audit_records: proven.len() as u64,
        })
    }
}

/// What [`verify_bundle`] found.
#[derive(Debug, Serialize)]
pub struct BundleReport {
    pub ok: bool,
    /// The signature was checked against a key the caller supplied (not the bundle's own).
    pub key_pinned: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Manifest>,
    pub files: usize,
    pub audit_records: usize,
    pub problems: Vec<String>,
}

/// Checks a bundle without any server: the manifest's signature, every file's hash (and no
/// file beyond the manifest), the checkpoint's signature, and every audit record's inclusion
/// proof. `Err` only when the input is not a readable tar at all.
pub fn verify_bundle(
    input: &mut dyn Read,
    trusted: Option<&VerifyingKey>,
) -> std::result::Result<BundleReport, String> {
    let mut entries: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut archive = tar::Archive::new(input.take(MAX_BUNDLE_BYTES));
    for entry in archive.entries().map_err(|e| format!("not a tar archive: {e}"))? {
        let mut entry = entry.map_err(|e| format!("not a tar archive: {e}"))?;
        let path = entry.path().map_err(|e| format!("bad path in archive: {e}"))?.to_string_lossy().into_owned();
        if !entry.header().entry_type().is_file() {
            problems.push(format!("{path}: not a regular file"));
            continue;
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(|e| format!("{path}: {e}"))?;
        if entries.insert(path.clone(), data).is_some() {
            problems.push(format!("{path}: appears twice"));
        }
    }
    let mut report =
        BundleReport { ok: false, key_pinned: trusted.is_some(), manifest: None, files: 0, audit_records: 0, problems };
    let Some(manifest_bytes) = entries.remove("manifest.json") else {
        report.problems.push("manifest.json is missing".to_owned());
        return Ok(report);
    };
    let manifest: Manifest = match serde_json::from_slice(&manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            report.problems.push(format!("manifest.json does not parse: {e}"));
            return Ok(report);
        }
    };
    if manifest.format != FORMAT {
        report.problems.push(format!("format `{}` is not {FORMAT}", manifest.format));
    }
    let bundled_key = entries
        .get("public-key.txt")
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|t| VerifyingKey::from_note_string(t.trim()).ok());
    let key = match (trusted, bundled_key.as_ref()) {
        (Some(k), _) => k.clone(),
        (None, Some(k)) => k.clone(),
        (None, None) => {
            report
                .problems
                .push("no public key: pass --public-key, or the bundle's public-key.txt is unreadable".into());
            report.manifest = Some(manifest);
            return Ok(report);
        }
    };
    match entries.remove("manifest.sig").map(String::from_utf8) {
        None => report.problems.push("manifest.sig is missing".to_owned()),
        Some(Err(_)) => report.problems.push("manifest.sig is not text".to_owned()),
        Some(Ok(sig)) => match SignedNote::parse(&sig) {
            Err(e) => report.problems.push(format!("manifest.sig: {e}")),
            Ok(note) => {
                if let Err(e) = note.verify(&key) {
                    report.problems.push(format!("manifest.sig: {e}"));
                }
                if note.text != signed_text(&manifest_bytes) {
                    report.problems.push("manifest.sig signs a different manifest".to_owned());
                }
            }
        },
    }
    let mut listed = BTreeSet::new();
    for f in &manifest.files {
        listed.insert(f.path.clone());
        match entries.get(&f.path) {
            None => report.problems.push(format!("{}: listed but missing", f.path)),
            Some(b) if sha256_hex(b) != f.sha256 || b.len() as u64 != f.bytes => {
                report.problems.push(format!("{}: does not match its hash in the manifest", f.path));
            }
            Some(_) => report.files += 1,
        }
    }
    for extra in entries.keys().filter(|p| !listed.contains(*p)) {
        report.problems.push(format!("{extra}: not in the manifest"));
    }
    // The audit records: each in the signed tree.
    let root = match entries.get("checkpoint.txt").map(|b| String::from_utf8_lossy(b).into_owned()) {
        None => None,
        Some(note) => match key.verify_checkpoint(&note) {
            Ok(cp) => {
                if cp.tree_size != manifest.audit_checkpoint.tree_size
                    || cp.root.to_hex() != manifest.audit_checkpoint.root
                {
                    report.problems.push("checkpoint.txt is not the checkpoint the manifest names".to_owned());
                }
                Some((cp.tree_size, cp.root))
            }
            Err(e) => {
                report.problems.push(format!("checkpoint.txt: {e}"));
                None
            }
        },
    };
    for (path, data) in entries.iter().filter(|(p, _)| p.ends_with("/audit_records.ndjson")) {
        let Some((size, root)) = root.as_ref() else {
            report.problems.push(format!("{path}: no verified checkpoint to check against"));
            continue;
        };
        // `accounts/<id>/…` holds records about account <id>; `policy/…` about the policy.
        let account = path.trim_start_matches("accounts/").trim_end_matches("/audit_records.ndjson");
        for (n, line) in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()).enumerate() {
            let at = format!("{path}:{}", n + 1);
            let p: ProvenRecord = match serde_json::from_slice(line) {
                Ok(p) => p,
                Err(e) => {
                    report.problems.push(format!("{at}: {e}"));
                    continue;
                }
            };
            match p.record.leaf_hash() {
                Ok(h) if h == p.leaf_hash => {}
                _ => report.problems.push(format!("{at}: the record does not hash to its leaf")),
            }
            if p.record.event.target.id != account {
                report.problems.push(format!("{at}: the record is about another target"));
            }
            if lessee_audit::verify_inclusion(&p.leaf_hash, p.record.seq, *size, &p.proof, root).is_err() {
                report.problems.push(format!("{at}: record {} is not in the signed log", p.record.seq));
            }
            report.audit_records += 1;
        }
    }
    report.ok = report.problems.is_empty();
    report.manifest = Some(manifest);
    Ok(report)
}
