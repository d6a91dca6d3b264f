//! Audit records for every read of personal data, every change and every administrative
//! action, written **before** the data is returned (no audit, no data); signed checkpoints;
//! the export a recipient verifies without the server.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use lessee_audit::{
    Actor, AuditEvent, Checkpoint, Frontier, LogEntry, NodeMap, Outcome, Report, SigningKey, Target, VerifyingKey,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::Service;
use crate::auth::{Principal, Purpose};
use crate::error::{Error, ErrorCode, Result};

pub(crate) use lessee_audit::Outcome::{Allowed, Denied};

/// Who is asking, from where: what an audit record needs beyond the principal.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub request_id: String,
    pub client_ip: Option<IpAddr>,
}

impl RequestContext {
    /// The local operator at the CLI.
    pub fn local() -> Self {
        RequestContext { request_id: format!("cli-{}", uuid_like()), client_ip: None }
    }
}

fn uuid_like() -> String {
    let mut b = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
    hex::encode(b)
}

/// The checkpoint signing key, kept in a 0600 file beside the key file.
pub struct AuditKeys {
    signing: SigningKey,
}

impl std::fmt::Debug for AuditKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKeys(..)")
    }
}

/// The origin line of lessee's checkpoints.
pub const ORIGIN: &str = "lessee/audit";
pub const SIGNING_KEY_FILE: &str = "audit-signing.key";

impl AuditKeys {
    pub fn new(signing: SigningKey) -> Self {
        AuditKeys { signing }
    }

    /// Opens `<dir>/audit-signing.key`, creating it (mode 0600) on first use. Returns the keys,
    /// the path, and whether it was created.
    pub fn open_or_create(dir: &Path) -> Result<(Self, PathBuf, bool)> {
        let path = dir.join(SIGNING_KEY_FILE);
        if path.exists() {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&path).map_err(Error::internal)?.permissions().mode();
                if mode & 0o077 != 0 {
                    return Err(Error::internal(format!(
                        "{} is readable by others (mode {:o}); chmod 600 it",
                        path.display(),
                        mode & 0o777
                    )));
                }
            }
            let text = std::fs::read_to_string(&path).map_err(Error::internal)?;
            let key = SigningKey::from_secret_string(text.trim()).map_err(Error::internal)?;
            return Ok((AuditKeys::new(key), path, false));
        }
        let key = SigningKey::generate(ORIGIN).map_err(Error::internal)?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&path).map_err(Error::internal)?;
        std::io::Write::write_all(&mut f, format!("{}\n", key.to_secret_string()).as_bytes())
            .map_err(Error::internal)?;
        f.sync_all().map_err(Error::internal)?;
        Ok((AuditKeys::new(key), path, true))
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// Signs a note (C2SP signed-note format) with the log's key.
    pub(crate) fn sign_note(&self, text: &str) -> Result<String> {
        self.signing.sign_note(text).map_err(Error::internal)
    }
}

/// An inclusion proof (RFC 9162 §2.1.3) of one record in the tree of `tree_size` records.
#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionProofView {
    pub seq: u64,
    pub tree_size: u64,
    /// Hex of the record's leaf hash.
    pub leaf_hash: String,
    /// Hex of the tree head at `tree_size` (compare with a signed checkpoint of that size).
    pub root: String,
    /// Hex hashes of the audit path, leaf to root.
    pub hashes: Vec<String>,
}

/// A consistency proof (RFC 9162 §2.1.4) that the tree of `to` records extends the tree of `from`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyProofView {
    pub from: u64,
    pub to: u64,
    pub from_root: String,
    pub to_root: String,
    pub hashes: Vec<String>,
}

/// A signed tree head as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignedCheckpoint {
    pub tree_size: u64,
    /// Hex of the RFC 6962 tree head.
    pub root: String,
    /// The C2SP signed note.
    pub note: String,
    /// The verifying key in note format (`name+id+key`).
    pub public_key: String,
}

impl Service {
    /// Writes one audit record; an error here fails the request (no audit, no data).
    #[allow(clippy::too_many_arguments)] // every argument is a field of the record
    pub(crate) async fn audit(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        purpose: Purpose,
        action: &str,
        target_kind: &str,
        target_id: &str,
        outcome: Outcome,
    ) -> Result<()> {
        let mut event = self.audit_event(by, ctx, purpose, action, target_kind, target_id);
        event.outcome = outcome;
        self.store.append_audit(&event).await.map_err(|e| {
            tracing::error!(error = %e, request_id = %ctx.request_id, "Audit write failed; the request is refused.");
            Error {
                internal: Some(e.to_string()),
                ..Error::new(ErrorCode::Unavailable, "the audit log could not be written; nothing was returned")
            }
        })?;
        Ok(())
    }

    /// The gate of every read of personal data: the role must hold the purpose. Either way the
    /// attempt is audited first; a refusal is audited as denied and returned as `forbidden`.
    pub(crate) async fn authorize_read(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        purpose: Purpose,
        action: &str,
        target_kind: &str,
        target_id: &str,
    ) -> Result<()> {
        by.require(crate::Permission::AccountsRead)?;
        if !by.role.holds(purpose) {
            self.audit(by, ctx, purpose, action, target_kind, target_id, Denied).await?;
            return Err(Error::forbidden(format!(
                "role `{}` may not read personal data for the purpose `{}`",
                by.role,
                purpose.as_str()
            )));
        }
        self.audit(by, ctx, purpose, action, target_kind, target_id, Allowed).await
    }

    /// [`authorize_read`](Self::authorize_read) with the read itself (`read`) running while
    /// the audit record commits: its result is returned only once the record is durable, and
    /// not at all if the record could not be written (no audit, no data). A caller without the
    /// purpose is refused before anything is read.
    pub(crate) async fn authorized_read<T>(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        purpose: Purpose,
        (action, target_kind, target_id): (&str, &str, &str),
        read: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        by.require(crate::Permission::AccountsRead)?;
        if !by.role.holds(purpose) {
            // Audits the refusal and answers 403; nothing is read.
            self.authorize_read(by, ctx, purpose, action, target_kind, target_id).await?;
        }
        let (audited, data) = tokio::join!(self.audit(by, ctx, purpose, action, target_kind, target_id, Allowed), read);
        audited?;
        data
    }

    pub(crate) fn audit_event(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        purpose: Purpose,
        action: &str,
        target_kind: &str,
        target_id: &str,
    ) -> AuditEvent {
        AuditEvent {
            actor: Actor { token_id: by.token_id.clone(), role: by.role.as_str().to_owned() },
            purpose: purpose.as_str().to_owned(),
            action: action.to_owned(),
            target: Target { kind: target_kind.to_owned(), id: target_id.to_owned() },
            time: self.now(),
            client_ip: self.vault.ip_hash(ctx.client_ip),
            request_id: sanitize_request_id(&ctx.request_id),
            outcome: Allowed,
        }
    }

    /// Sequences every pending audit record into the tree; returns how many.
    pub async fn sequence_audit(&self) -> Result<u64> {
        let mut total = 0;
        loop {
            let n = self.store.sequence_audit(5000).await?;
            if n == 0 {
                return Ok(total);
            }
            total += n;
        }
    }

    /// Signs a checkpoint of the whole log as it is now (after sequencing what is pending) and
    /// stores it.
    pub async fn checkpoint(&self) -> Result<SignedCheckpoint> {
        self.sequence_audit().await?;
        let size = self.store.audit_size().await?;
        let ids = Frontier::node_ids(size);
        let nodes = self.store.audit_nodes(&ids).await?;
        let root = lessee_audit::root_at(&NodeMap::new(size, nodes), size).map_err(Error::internal)?;
        let cp = Checkpoint { origin: ORIGIN.to_owned(), tree_size: size, root, time: self.now() };
        let note = self.audit_keys.signing.sign_checkpoint(&cp).map_err(Error::internal)?;
        self.store.save_checkpoint(size, &note, self.now()).await?;
        Ok(SignedCheckpoint {
            tree_size: size,
            root: root.to_hex(),
            note,
            public_key: self.audit_keys.verifying_key().to_note_string(),
        })
    }

    /// Every record, in order.
    async fn all_entries(&self) -> Result<Vec<LogEntry>> {
        let mut out = Vec::new();
        loop {
            let batch = self.store.audit_entries(out.len() as u64, 10_000).await?;
            if batch.is_empty() {
                return Ok(out);
            }
            out.extend(batch);
        }
    }

    /// Writes the export (header with key and a fresh signed checkpoint, then every record).
    pub async fn export_audit(
        &self,
        by: &Principal,
        ctx: &RequestContext,
        out: &mut (dyn std::io::Write + Send),
    ) -> Result<u64> {
        by.require(crate::Permission::AuditRead)?;
        self.audit(by, ctx, Purpose::Audit, "audit.export", "audit_log", ORIGIN, Allowed).await?;
        let cp = self.checkpoint().await?;
        let entries = self.all_entries().await?;
        let covered: Vec<LogEntry> =
            entries.into_iter().take(usize::try_from(cp.tree_size).unwrap_or(usize::MAX)).collect();
        lessee_audit::write_export(out, &covered, &cp.note, &self.audit_keys.verifying_key())
            .map_err(Error::internal)?;
        Ok(covered.len() as u64)
    }

    /// Verifies the stored log against a fresh checkpoint signed with this server's key.
    pub async fn verify_audit(&self) -> Result<Report> {
        self.sequence_audit().await?;
        let entries = self.all_entries().await?;
        let cp = self.latest_or_new_checkpoint(entries.len() as u64).await?;
        Ok(lessee_audit::verify_log(&entries, &cp, &self.audit_keys.verifying_key()))
    }

    async fn latest_or_new_checkpoint(&self, size: u64) -> Result<String> {
        match self.store.latest_checkpoint().await? {
            Some((s, note)) if s == size => Ok(note),
            // Checking a newer checkpoint against the stored tree would only re-sign what is
            // there: verify against the last signed one, and the tail is reported unanchored.
            Some((_, note)) => Ok(note),
            None => Ok(self.checkpoint().await?.note),
        }
    }

    async fn node_map(&self, size: u64, ids: Vec<lessee_audit::NodeId>) -> Result<NodeMap> {
        Ok(NodeMap::new(size, self.store.audit_nodes(&ids).await?))
    }

    async fn root_hex(&self, size: u64) -> Result<String> {
        let map = self.node_map(size, lessee_audit::nodes_for_root(size)).await?;
        Ok(lessee_audit::root_at(&map, size).map_err(Error::internal)?.to_hex())
    }

    /// The size to prove against: the given one, which must exist, or the current size.
    async fn proof_size(&self, requested: Option<u64>) -> Result<u64> {
        self.sequence_audit().await?;
        let size = self.store.audit_size().await?;
        match requested {
            Some(s) if s > size || s == 0 => {
                Err(Error::new(ErrorCode::InvalidQuery, format!("`tree_size` must be between 1 and {size}")))
            }
            Some(s) => Ok(s),
            None => Ok(size),
        }
    }

    /// Proves that record `seq` is in the tree of `tree_size` records (default: all).
    pub async fn inclusion_proof(
        &self,
        by: &Principal,
        seq: u64,
        tree_size: Option<u64>,
    ) -> Result<InclusionProofView> {
        by.require(crate::Permission::AuditRead)?;
        let size = self.proof_size(tree_size).await?;
        if seq >= size {
            return Err(Error::new(ErrorCode::InvalidQuery, format!("`seq` must be below the tree size {size}")));
        }
        let ids = lessee_audit::nodes_for_inclusion_proof(seq, size).map_err(Error::internal)?;
        let mut all = ids.clone();
        all.push(lessee_audit::NodeId::leaf(seq));
        let map = self.node_map(size, all).await?;
        let proof = lessee_audit::prove_inclusion(&map, seq, size).map_err(Error::internal)?;
        let leaf = self
            .store
            .audit_nodes(&[lessee_audit::NodeId::leaf(seq)])
            .await?
            .into_iter()
            .next()
            .map(|(_, h)| h.to_hex())
            .ok_or_else(|| Error::internal(format!("audit leaf {seq} missing")))?;
        Ok(InclusionProofView {
            seq,
            tree_size: size,
            leaf_hash: leaf,
            root: self.root_hex(size).await?,
            hashes: proof.hashes.iter().map(|h| h.to_hex()).collect(),
        })
    }

    /// Proves that the tree of `to` records (default: all) extends the tree of `from` records.
    pub async fn consistency_proof(&self, by: &Principal, from: u64, to: Option<u64>) -> Result<ConsistencyProofView> {
        by.require(crate::Permission::AuditRead)?;
        let to = self.proof_size(to).await?;
        if from == 0 || from > to {
            return Err(Error::new(ErrorCode::InvalidQuery, format!("`from` must be between 1 and {to}")));
        }
        let ids = lessee_audit::nodes_for_consistency_proof(from, to).map_err(Error::internal)?;
        let map = self.node_map(to, ids).await?;
        let proof = lessee_audit::prove_consistency(&map, from, to).map_err(Error::internal)?;
        Ok(ConsistencyProofView {
            from,
            to,
            from_root: self.root_hex(from).await?,
            to_root: self.root_hex(to).await?,
            hashes: proof.hashes.iter().map(|h| h.to_hex()).collect(),
        })
    }

    pub fn audit_public_key(&self) -> VerifyingKey {
        self.audit_keys.verifying_key()
    }
}

/// Audit records accept request ids of printable ASCII without spaces or `@`.
fn sanitize_request_id(id: &str) -> String {
    let s: String = id.chars().filter(|c| c.is_ascii_graphic() && *c != '@').take(128).collect();
    if s.is_empty() { "none".to_owned() } else { s }
}

/// Verifies an exported log against a trusted public key, without any server.
pub fn verify_export(
    text: &mut dyn std::io::BufRead,
    trusted: Option<&VerifyingKey>,
) -> std::result::Result<Report, String> {
    let export = lessee_audit::read_export(text).map_err(|e| e.to_string())?;
    let key = trusted.unwrap_or(&export.public_key);
    Ok(lessee_audit::verify_log(&export.entries, &export.checkpoint, key))
}
