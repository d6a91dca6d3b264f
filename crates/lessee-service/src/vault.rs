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
        let plaintext = lessee_crypto::Zeroizing::new(serde_json::to_vec(app).map_err(Error::internal)?);
        let ciphertext = key.encrypt(&plaintext, &field(&owner)).map_err(crypto)?;
        let sealed = SealedApplication { ciphertext, wrapped_key: wrapped.to_bytes() };
        Ok((sealed, self.indexes(app)))
    }

    /// Seals a resubmitted application under the account's existing data key (so its access
    /// events stay readable), and computes its indexes.
    pub fn reseal(&self, id: AccountId, wrapped: &[u8], app: &Application) -> Result<(Vec<u8>, Vec<BlindEntry>)> {
        let owner = id.to_string();
        let key = self.data_key(id, wrapped)?;
        let plaintext = lessee_crypto::Zeroizing::new(serde_json::to_vec(app).map_err(Error::internal)?);
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
        let owner = id.to_string();
        let wrapped = WrappedDataKey::from_bytes(&sealed.wrapped_key).map_err(crypto)?;
        let key = self.envelope.open_data_key(&owner, &wrapped).map_err(crypto)?;
        let plaintext = key.decrypt(&sealed.ciphertext, &field(&owner)).map_err(crypto)?;
        serde_json::from_slice(&plaintext).map_err(Error::internal)
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
