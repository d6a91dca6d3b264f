//! The vault: personal data sealed under per-customer data keys, blind indexes for lookups,
//! and the keyed hash of client IPs in audit records. Keys come from a [`Keyring`] outside the
//! database (a 0600 key file by default, or a PKCS#11 token).

use std::net::IpAddr;
use std::sync::Arc;

use lessee_audit::{AuditHashKey, KeyedHash};
use lessee_crypto::{BlindIndexer, DataKey, Envelope, FieldRef, IndexPurpose, Keyring, WrappedDataKey};
use lessee_domain::application::Customer;
use lessee_domain::{AccountId, Application};
use lessee_store::{BlindEntry, SCREENING_KEY_PURPOSE, SealedApplication};

use crate::error::{Error, Result};

/// Where the application of an account is sealed: the ciphertext is bound to this field.
fn field(id: &str) -> FieldRef<'_> {
    FieldRef::new("accounts", "sealed", id)
}

/// The mark that starts the plaintext of an application sealed by this version: whitespace,
/// which JSON ignores (every reader, older binaries included, parses the plaintext as before)
/// and which `serde_json` never writes (plaintexts sealed earlier start with `{`). A plaintext
/// with this mark is JSON that this version's `Application` serializer wrote, so a read that
/// answers with the application's JSON returns it as it is, without parsing it and writing it
/// again; any other plaintext is parsed and written again. Marks are `n` spaces and a newline
/// for version `n` (none is a prefix of another). **When the JSON of `Application` changes,
/// move to the next mark**: the test `sealed_json_mark_follows_the_application_schema` (in
/// `lessee-api`) pins the schema each mark stood for and fails until a new mark is added. It sees
/// the schema as the OpenAPI document describes it (fields, types, variants); a change only to
/// how a field is written (`skip_serializing_if`, a serialized default) it does not see: move
/// the mark for those by hand. And a read that must change what it returns (masking, say) must
/// do so in [`Vault::unseal_json`] too: marked plaintexts do not pass through `Application` there.
pub const SEALED_JSON_MARK: &[u8] = b" \n";

/// [`SEALED_JSON_MARK`] and the application's JSON.
fn marked_json(app: &Application) -> Result<lessee_crypto::Zeroizing<Vec<u8>>> {
    let mut out = lessee_crypto::Zeroizing::new(Vec::with_capacity(2048));
    out.extend_from_slice(SEALED_JSON_MARK);
    serde_json::to_writer(&mut *out, app).map_err(Error::internal)?;
    Ok(out)
}

pub struct Vault {
    envelope: Envelope,
    email: BlindIndexer,
    phone: BlindIndexer,
    national_id: BlindIndexer,
    ip: BlindIndexer,
    screening: BlindIndexer,
    audit_key: AuditHashKey,
    otp_key: lessee_notify::OtpKey,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

fn crypto(e: lessee_crypto::CryptoError) -> Error {
    Error::internal(format!("crypto: {e}"))
}

impl Vault {
    pub fn new(keyring: Arc<dyn Keyring>) -> Result<Self> {
        let envelope = Envelope::new(keyring.clone());
        let audit_bytes = keyring.derive_index_key(b"lessee/audit/keyed-hash/v1").map_err(crypto)?;
        let otp_bytes = keyring.derive_index_key(b"lessee/otp/v1").map_err(crypto)?;
        Ok(Vault {
            email: envelope.blind_indexer(IndexPurpose::Email).map_err(crypto)?,
            phone: envelope.blind_indexer(IndexPurpose::Phone).map_err(crypto)?,
            national_id: envelope.blind_indexer(IndexPurpose::NationalId).map_err(crypto)?,
            ip: envelope.blind_indexer(IndexPurpose::IpAddress).map_err(crypto)?,
            screening: envelope.blind_indexer(IndexPurpose::ScreeningKey).map_err(crypto)?,
            audit_key: AuditHashKey::from_bytes(*audit_bytes.expose()),
            otp_key: lessee_notify::OtpKey::from_bytes(*otp_bytes.expose()),
            envelope,
        })
    }

    /// The key one-time codes are hashed under (derived from the keyring; never stored).
    pub fn otp_key(&self) -> &lessee_notify::OtpKey {
        &self.otp_key
    }

    /// The keyed hash of a client IP for audit records (`None`: a local CLI caller).
    pub fn ip_hash(&self, ip: Option<IpAddr>) -> KeyedHash {
        match ip {
            Some(ip) => self.audit_key.hash_ip(ip),
            None => self.audit_key.hash("ip", b"local"),
        }
    }

    /// A keyed hash (hex) of screened customer data: a false positive is remembered against it
    /// without storing the data.
    pub fn screening_hash(&self, data: &[u8]) -> String {
        self.audit_key.hash("screening-subject", data).to_string()
    }

    /// Seals an application under a new data key for this account, and computes its indexes.
    pub fn seal(&self, id: AccountId, app: &Application) -> Result<(SealedApplication, Vec<BlindEntry>)> {
        let owner = id.to_string();
        let (key, wrapped) = self.envelope.create_data_key(&owner).map_err(crypto)?;
        let plaintext = marked_json(app)?;
        let ciphertext = key.encrypt(&plaintext, &field(&owner)).map_err(crypto)?;
        let sealed = SealedApplication { ciphertext, wrapped_key: wrapped.to_bytes() };
        Ok((sealed, self.indexes(app)))
    }

    /// Seals a resubmitted application under the account's existing data key (so its access
    /// events stay readable), and computes its indexes.
    pub fn reseal(&self, id: AccountId, wrapped: &[u8], app: &Application) -> Result<(Vec<u8>, Vec<BlindEntry>)> {
        let owner = id.to_string();
        let key = self.data_key(id, wrapped)?;
        let plaintext = marked_json(app)?;
        let ciphertext = key.encrypt(&plaintext, &field(&owner)).map_err(crypto)?;
        Ok((ciphertext, self.indexes(app)))
    }

    /// Unwraps an account's data key (for sealing or opening its access events).
    pub fn data_key(&self, id: AccountId, wrapped: &[u8]) -> Result<DataKey> {
        let w = WrappedDataKey::from_bytes(wrapped).map_err(crypto)?;
        self.envelope.open_data_key(&id.to_string(), &w).map_err(crypto)
    }

    /// Seals an access event's address and principal, bound to the event's identity.
    pub fn seal_event(&self, key: &DataKey, id: AccountId, event_id: i64, plaintext: &[u8]) -> Result<Vec<u8>> {
        let row = format!("{id}/{event_id}");
        key.encrypt(plaintext, &FieldRef::new("access_events", "sealed", &row)).map_err(crypto)
    }

    pub fn open_event(&self, key: &DataKey, id: AccountId, event_id: i64, sealed: &[u8]) -> Result<Vec<u8>> {
        let row = format!("{id}/{event_id}");
        key.decrypt(sealed, &FieldRef::new("access_events", "sealed", &row)).map(|z| z.to_vec()).map_err(crypto)
    }

    /// The 64-bit blind index of an address prefix (`level` 0 finest .. 3; see
    /// `lessee_domain::access`). Truncation can collide, so readers check candidates exactly.
    pub fn prefix_index(&self, level: usize, prefix: IpAddr, len: u8) -> i64 {
        let b = self.ip.index_normalized(format!("prefix/{level}/{prefix}/{len}").as_bytes());
        let mut eight = [0u8; 8];
        for (slot, v) in eight.iter_mut().zip(b.as_bytes().iter()) {
            *slot = *v;
        }
        i64::from_be_bytes(eight)
    }

    /// Adds a key-encryption key version; new data keys are wrapped under it.
    pub fn rotate(&self) -> Result<u32> {
        self.envelope.keyring().rotate().map(|v| v.get()).map_err(crypto)
    }

    /// Rewraps a data key under the newest KEK version if it is not already; `None` if current.
    pub fn rewrap(&self, id: AccountId, wrapped: &[u8]) -> Result<Option<Vec<u8>>> {
        let w = WrappedDataKey::from_bytes(wrapped).map_err(crypto)?;
        if !self.envelope.needs_rewrap(&w).map_err(crypto)? {
            return Ok(None);
        }
        self.envelope.rewrap(&id.to_string(), &w).map(|n| Some(n.to_bytes())).map_err(crypto)
    }

    /// Opens a sealed application.
    pub fn unseal(&self, id: AccountId, sealed: &SealedApplication) -> Result<Application> {
        let plaintext = self.open(id, sealed)?;
        serde_json::from_slice(&plaintext).map_err(Error::internal)
    }

    /// Opens a sealed application as the JSON of `Application`: the plaintext as it is when
    /// this version sealed it ([`SEALED_JSON_MARK`]), parsed and written again otherwise.
    pub fn unseal_json(&self, id: AccountId, sealed: &SealedApplication) -> Result<Vec<u8>> {
        let plaintext = self.open(id, sealed)?;
        match plaintext.strip_prefix(SEALED_JSON_MARK) {
            Some(json) => Ok(json.to_vec()),
            None => {
                let app: Application = serde_json::from_slice(&plaintext).map_err(Error::internal)?;
                serde_json::to_vec(&app).map_err(Error::internal)
            }
        }
    }

    fn open(&self, id: AccountId, sealed: &SealedApplication) -> Result<lessee_crypto::Zeroizing<Vec<u8>>> {
        let owner = id.to_string();
        let wrapped = WrappedDataKey::from_bytes(&sealed.wrapped_key).map_err(crypto)?;
        let key = self.envelope.open_data_key(&owner, &wrapped).map_err(crypto)?;
        key.decrypt(&sealed.ciphertext, &field(&owner)).map_err(crypto)
    }

    fn push(out: &mut Vec<BlindEntry>, indexer: &BlindIndexer, subject: &str, raw: Option<&str>) {
        // A value that does not normalize (e.g. an empty string) gets no index.
        if let Some(raw) = raw
            && let Ok(ix) = indexer.index(raw)
        {
            out.push(BlindEntry {
                purpose: indexer.purpose().name().to_owned(),
                value: ix.to_hex(),
                subject: subject.to_owned(),
            });
        }
    }

    fn customer_indexes(&self, out: &mut Vec<BlindEntry>, subject: &str, c: &Customer) {
        match c {
            Customer::Individual(i) => {
                Self::push(out, &self.email, subject, i.email.as_deref());
                Self::push(out, &self.phone, subject, i.phone.as_deref());
                Self::push(out, &self.national_id, subject, i.national_id.as_ref().map(|n| n.number.as_str()));
            }
            Customer::Entity(e) => {
                Self::push(out, &self.email, subject, e.email.as_deref());
                Self::push(out, &self.phone, subject, e.phone.as_deref());
                Self::push(out, &self.national_id, subject, e.registration.as_ref().map(|r| r.number.as_str()));
                for (n, bo) in e.beneficial_owners.iter().enumerate() {
                    self.customer_indexes(out, &format!("beneficial_owner:{n}"), &bo.person);
                }
            }
        }
    }

    /// Blind indexes of an application's emails, phones and national ids, and its sign-up IP.
    pub fn indexes(&self, app: &Application) -> Vec<BlindEntry> {
        let mut out = Vec::new();
        self.customer_indexes(&mut out, "customer", &app.customer);
        for s in &app.sub_lessees {
            self.customer_indexes(&mut out, &format!("sub_lessee:{}", s.external_id), &s.customer);
        }
        for (i, o) in app.on_behalf_of.iter().enumerate() {
            self.customer_indexes(&mut out, &format!("on_behalf_of:{i}"), &o.party);
        }
        if let Some(ip) = app.signup.as_ref().and_then(|s| s.ip.trim().parse::<IpAddr>().ok()) {
            Self::push(&mut out, &self.ip, "customer", Some(&ip.to_string()));
        }
        out.extend(self.screening_keys(app).into_iter().map(|(subject, k)| BlindEntry {
            purpose: SCREENING_KEY_PURPOSE.to_owned(),
            value: k.to_string(),
            subject: subject.to_string(),
        }));
        out
    }

    /// A retrieval key of a name ([`lessee_screening::keys`]) blinded for storage: the first 8
    /// bytes of its HMAC under the screening-key purpose. Collisions only add candidates.
    pub fn screening_key(&self, key: u64) -> i64 {
        let b = self.screening.index_normalized(format!("{key:016x}").as_bytes());
        let mut eight = [0u8; 8];
        for (slot, v) in eight.iter_mut().zip(b.as_bytes().iter()) {
            *slot = *v;
        }
        i64::from_be_bytes(eight)
    }

    /// The blinded screening keys of every subject of an application (customer, beneficial
    /// owners, sub-lessees, by their ordinal in [`crate::screening::subjects`]): their names'
    /// retrieval keys and identifier numbers, as (subject, key).
    pub fn screening_keys(&self, app: &Application) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        for (n, subject) in crate::screening::subjects(app).iter().enumerate() {
            let mut raw = Vec::new();
            lessee_screening::keys::stored_keys(&subject.query.name, &mut raw);
            raw.extend(
                subject.query.identifiers.iter().filter_map(|i| lessee_screening::keys::identifier_key(&i.number)),
            );
            lessee_screening::keys::finish(&mut raw);
            let n = i64::try_from(n).unwrap_or(i64::MAX);
            out.extend(raw.into_iter().map(|k| (n, self.screening_key(k))));
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The blind index of a value for a lookup, or `None` if the value cannot be indexed.
    pub fn lookup_index(&self, purpose: &str, raw: &str) -> Option<String> {
        let ix = match purpose {
            "email" => &self.email,
            "phone" => &self.phone,
            "national_id" => &self.national_id,
            "ip_address" => &self.ip,
            _ => return None,
        };
        ix.index(raw).ok().map(|b| b.to_hex())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests report by panicking
mod tests {
    use std::sync::Arc;

    use lessee_domain::{AccountId, Application};
    use lessee_store::SealedApplication;

    use super::{SEALED_JSON_MARK, Vault, field};

    fn vault(dir: &std::path::Path) -> Vault {
        Vault::new(Arc::new(lessee_crypto::LocalKeyring::open_or_create(dir).unwrap())).unwrap()
    }

    fn fixtures() -> Vec<(String, Application)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/applications");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(path).unwrap();
                let app = serde_json::from_str(&text).unwrap();
                out.push((text, app));
            }
        }
        assert!(out.len() >= 8);
        out
    }

    /// `plaintext` sealed under the account's data key as an earlier version would have.
    fn sealed_as(v: &Vault, id: AccountId, wrapped: &[u8], plaintext: &[u8]) -> SealedApplication {
        let key = v.data_key(id, wrapped).unwrap();
        let ciphertext = key.encrypt(plaintext, &field(&id.to_string())).unwrap();
        SealedApplication { ciphertext, wrapped_key: wrapped.to_vec() }
    }

    fn account(n: u8) -> AccountId {
        AccountId::new(chrono::Utc::now(), [n; 10])
    }

    fn value(json: &[u8]) -> serde_json::Value {
        serde_json::from_slice(json).unwrap()
    }

    #[test]
    fn applications_sealed_now_are_returned_as_written_and_older_ones_are_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault(dir.path());
        for (received, app) in fixtures() {
            let id = account(1);
            let (sealed, _) = v.seal(id, &app).unwrap();
            let written = serde_json::to_vec(&app).unwrap();
            // Sealed now: the mark, then exactly what the serializer writes.
            let key = v.data_key(id, &sealed.wrapped_key).unwrap();
            let plaintext = key.decrypt(&sealed.ciphertext, &field(&id.to_string())).unwrap();
            assert_eq!(plaintext.strip_prefix(SEALED_JSON_MARK), Some(&written[..]));
            assert_eq!(v.unseal_json(id, &sealed).unwrap(), written);
            // Readers that know nothing of the mark (older binaries) parse it as before.
            let older: Application = serde_json::from_slice(&plaintext).unwrap();
            assert_eq!(serde_json::to_vec(&older).unwrap(), written);
            assert_eq!(serde_json::to_vec(&v.unseal(id, &sealed).unwrap()).unwrap(), written);

            // Sealed by an earlier version (no mark; here even the text as received, with its
            // own key order and spacing), or under another mark: parsed and written again.
            for plaintext in [received.as_bytes().to_vec(), [b"  \n".as_slice(), &written].concat()] {
                let old = sealed_as(&v, id, &sealed.wrapped_key, &plaintext);
                let json = v.unseal_json(id, &old).unwrap();
                assert_eq!(json, written);
                assert_eq!(value(&json)["external_id"], value(received.as_bytes())["external_id"]);
            }

            // A resubmission is sealed with the mark too.
            let (resealed, _) = v.reseal(id, &sealed.wrapped_key, &app).unwrap();
            let again = SealedApplication { ciphertext: resealed, wrapped_key: sealed.wrapped_key.clone() };
            let plaintext = key.decrypt(&again.ciphertext, &field(&id.to_string())).unwrap();
            assert!(plaintext.starts_with(SEALED_JSON_MARK));
            assert_eq!(v.unseal_json(id, &again).unwrap(), written);
        }
    }

    #[test]
    fn a_sealed_application_opens_only_for_its_own_account() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault(dir.path());
        let (_, app) = fixtures().into_iter().next().unwrap();
        let id = account(1);
        let (sealed, _) = v.seal(id, &app).unwrap();
        assert!(v.unseal_json(account(2), &sealed).is_err());
        let mut tampered = sealed.clone();
        if let Some(b) = tampered.ciphertext.last_mut() {
            *b ^= 1;
        }
        assert!(v.unseal_json(id, &tampered).is_err());
        // A plaintext that is not an application (here: not JSON) is an error, not a reply.
        let junk = sealed_as(&v, id, &sealed.wrapped_key, b"{not json");
        assert!(v.unseal_json(id, &junk).is_err());
    }
}
