//! Records and keys shared by the tests.
#![allow(dead_code)] // each test binary uses part of it

use chrono::{DateTime, TimeZone, Utc};
use lessee_audit::{Actor, AuditEvent, AuditHashKey, MemoryAuditLog, Outcome, SigningKey, Target};

pub const ORIGIN: &str = "lessee.example/audit";

pub fn time(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_795_000_000 + seconds, 0).unwrap()
}

pub fn hash_key() -> AuditHashKey {
    AuditHashKey::from_bytes([7; 32])
}

pub fn signing_key() -> SigningKey {
    SigningKey::from_seed(ORIGIN, [42; 32]).unwrap()
}

/// The i-th event of the test logs: a reviewer reading accounts.
pub fn event(i: u64) -> AuditEvent {
    AuditEvent {
        actor: Actor { token_id: format!("tok_{:04}", i % 7), role: "reviewer".into() },
        purpose: "review".into(),
        action: "account.read".into(),
        target: Target { kind: "account".into(), id: format!("acct_{i:06}") },
        time: time(i as i64),
        client_ip: hash_key().hash_ip(format!("203.0.113.{}", i % 250).parse().unwrap()),
        request_id: format!("req-{i:08x}"),
        outcome: if i.is_multiple_of(11) { Outcome::Denied } else { Outcome::Allowed },
    }
}

/// A log of `n` events.
pub fn log_of(n: u64) -> MemoryAuditLog {
    let mut log = MemoryAuditLog::new();
    for i in 0..n {
        log.append(event(i)).unwrap();
    }
    log
}
