//! Rough single-thread throughput of the crate's operations.
//!
//! `cargo run --release -p lessee-crypto --example throughput`
//! (with `eval "$(scripts/ensure-softhsm.sh)"` first, it also measures the PKCS#11 keyring).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lessee_crypto::{
    CryptoError, Envelope, FieldRef, IndexPurpose, Keyring, LocalKeyring, Pkcs11Config, Pkcs11Keyring, SecretString,
};

/// Runs `op` for about a second; returns operations per second.
fn rate(mut op: impl FnMut() -> Result<(), CryptoError>) -> Result<f64, CryptoError> {
    let budget = Duration::from_secs(1);
    let start = Instant::now();
    let mut count = 0u32;
    while start.elapsed() < budget {
        op()?;
        count = count.saturating_add(1);
    }
    Ok(f64::from(count) / start.elapsed().as_secs_f64())
}

fn measure(name: &str, keyring: Arc<dyn Keyring>) -> Result<(), CryptoError> {
    let envelope = Envelope::new(keyring);
    let (key, wrapped) = envelope.create_data_key("customer/1")?;
    let field = FieldRef::new("customers", "document", "0190-0000-0000");
    let value = vec![0x42u8; 1024];
    let seal_open = rate(|| {
        let ciphertext = key.encrypt(black_box(&value), &field)?;
        black_box(key.decrypt(&ciphertext, &field)?);
        Ok(())
    })?;
    let email = envelope.blind_indexer(IndexPurpose::Email)?;
    let index = rate(|| {
        black_box(email.index(black_box(" Ada.Lovelace@Example.com "))?);
        Ok(())
    })?;
    let unwrap = rate(|| {
        black_box(envelope.open_data_key("customer/1", &wrapped)?);
        Ok(())
    })?;
    let create = rate(|| {
        black_box(envelope.create_data_key("customer/2")?);
        Ok(())
    })?;
    println!("{name}:");
    println!("  encrypt+decrypt 1 KiB  {seal_open:>12.0} ops/s");
    println!("  blind index (email)    {index:>12.0} ops/s");
    println!("  unwrap data key        {unwrap:>12.0} ops/s");
    println!("  create+wrap data key   {create:>12.0} ops/s");
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("lessee-throughput-{}", std::process::id()));
    let local = Arc::new(LocalKeyring::open_or_create(&dir)?);
    let result = measure("local key file", local);
    std::fs::remove_dir_all(&dir)?;
    result?;

    let vars =
        ["LESSEE_PKCS11_MODULE", "LESSEE_PKCS11_TOKEN_LABEL", "LESSEE_PKCS11_PIN"].map(|name| std::env::var(name).ok());
    if let [Some(module), Some(token), Some(pin)] = vars {
        let mut config = Pkcs11Config::new(module, token, SecretString::from(pin));
        config.label_prefix = format!("throughput-{}", std::process::id());
        measure("PKCS#11 (SoftHSM2)", Arc::new(Pkcs11Keyring::open(&config)?))?;
    } else {
        println!("PKCS#11: skipped (LESSEE_PKCS11_* not set)");
    }
    Ok(())
}
