//! Signed webhooks: delivery to a local receiver, classification, signature checks, and the
//! phone code sender.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use lessee_notify::otp::OneTimeCode;
use lessee_notify::webhook::{
    DEFAULT_TOLERANCE_SECS, EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, WebhookError, classify_status, sign,
    signature_header,
};
use lessee_notify::{
    CodeSender, DeliveryResult, RetryCause, SendError, SignatureError, WebhookCodeSender, WebhookConfig, WebhookSecret,
    WebhookSender, reject_replay, verify_signature,
};
use sha2::Sha256;

const OLD: &[u8] = b"whsec-old-0123456789abcdef";
const NEW: &[u8] = b"whsec-new-0123456789abcdef";
const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn secret(bytes: &[u8]) -> WebhookSecret {
    WebhookSecret::new(bytes.to_vec()).unwrap()
}

#[derive(Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

/// A local receiver that records every request and answers with a settable status.
struct Receiver {
    url: String,
    status: Arc<AtomicU16>,
    received: Arc<Mutex<Vec<Received>>>,
}

#[derive(Clone)]
struct ReceiverState {
    status: Arc<AtomicU16>,
    received: Arc<Mutex<Vec<Received>>>,
}

async fn record(State(state): State<ReceiverState>, headers: HeaderMap, body: Bytes) -> (StatusCode, HeaderMap) {
    state.received.lock().unwrap().push(Received { headers, body });
    let status = StatusCode::from_u16(state.status.load(Ordering::SeqCst)).unwrap();
    let mut reply = HeaderMap::new();
    if status == StatusCode::TOO_MANY_REQUESTS {
        reply.insert("retry-after", "120".parse().unwrap());
    }
    (status, reply)
}

impl Receiver {
    async fn start() -> Self {
        let status = Arc::new(AtomicU16::new(200));
        let received = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route("/hooks", post(record))
            .with_state(ReceiverState { status: Arc::clone(&status), received: Arc::clone(&received) });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, status, received }
    }

    fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    fn take(&self) -> Vec<Received> {
        std::mem::take(&mut *self.received.lock().unwrap())
    }
}

fn sender(url: &str, secrets: &[&[u8]]) -> WebhookSender {
    let mut config = WebhookConfig::new(url, secret(secrets[0]));
    config.secrets = secrets.iter().map(|s| secret(s)).collect();
    config.timeout = Duration::from_secs(5);
    WebhookSender::new(config).unwrap()
}

const EVENT: &[u8] = br#"{"id":"evt_0192","type":"account.decision","data":{"outcome":"approve"}}"#;

#[tokio::test]
async fn a_delivery_is_signed_and_the_receiver_can_verify_it() {
    let receiver = Receiver::start().await;
    let sender = sender(&receiver.url, &[NEW]);
    let result = sender.deliver("evt_0192", "account.decision", EVENT).await.unwrap();
    assert_eq!(result, DeliveryResult::Delivered { status: 200 });

    let received = receiver.take();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.body.as_ref(), EVENT, "the body is sent byte for byte");
    assert_eq!(request.headers[EVENT_ID_HEADER], "evt_0192");
    assert_eq!(request.headers[EVENT_TYPE_HEADER], "account.decision");
    assert_eq!(request.headers["content-type"], "application/json");
    let header = request.headers[SIGNATURE_HEADER].to_str().unwrap();
    let now = chrono::Utc::now().timestamp();
    let signed = verify_signature(header, &request.body, &[NEW], now, DEFAULT_TOLERANCE_SECS).unwrap();
    assert_eq!(signed.secret_index, 0);
    assert!((now - signed.timestamp).abs() <= 5);
    // A receiver without the secret cannot.
    assert_eq!(
        verify_signature(header, &request.body, &[OLD], now, DEFAULT_TOLERANCE_SECS),
        Err(SignatureError::Mismatch)
    );
}

#[tokio::test]
async fn statuses_are_classified_for_the_outbox() {
    let receiver = Receiver::start().await;
    let sender = sender(&receiver.url, &[NEW]);
    let deliver = || sender.deliver("evt_0192", "account.decision", EVENT);

    receiver.answer(204);
    assert_eq!(deliver().await.unwrap(), DeliveryResult::Delivered { status: 204 });
    receiver.answer(500);
    assert_eq!(deliver().await.unwrap(), DeliveryResult::Retry { cause: RetryCause::Status(500), retry_after: None });
    receiver.answer(429);
    assert_eq!(
        deliver().await.unwrap(),
        DeliveryResult::Retry { cause: RetryCause::Status(429), retry_after: Some(Duration::from_secs(120)) }
    );
    receiver.answer(400);
    assert_eq!(deliver().await.unwrap(), DeliveryResult::Permanent { status: 400 });
    receiver.answer(410);
    assert_eq!(deliver().await.unwrap(), DeliveryResult::Permanent { status: 410 });
    receiver.answer(302);
    assert_eq!(deliver().await.unwrap(), DeliveryResult::Permanent { status: 302 }, "redirects are not followed");
    assert_eq!(receiver.take().len(), 6);
}

#[test]
fn the_status_table() {
    for (status, expected) in [
        (200, "delivered"),
        (202, "delivered"),
        (299, "delivered"),
        (301, "permanent"),
        (400, "permanent"),
        (401, "permanent"),
        (404, "permanent"),
        (408, "retry"),
        (409, "permanent"),
        (422, "permanent"),
        (429, "retry"),
        (500, "retry"),
        (502, "retry"),
        (503, "retry"),
        (599, "retry"),
    ] {
        let got = match classify_status(status) {
            DeliveryResult::Delivered { .. } => "delivered",
            DeliveryResult::Retry { .. } => "retry",
            DeliveryResult::Permanent { .. } => "permanent",
        };
        assert_eq!(got, expected, "{status}");
    }
}

#[tokio::test]
async fn a_refused_connection_is_retried() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/hooks?token=s3cr3t");
    let result = sender(&url, &[NEW]).deliver("evt_0192", "account.decision", EVENT).await.unwrap();
    match result {
        DeliveryResult::Retry { cause: RetryCause::Connect(detail), retry_after: None } => {
            assert!(!detail.contains("s3cr3t"), "the URL is not in the error: {detail}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_slow_receiver_times_out_and_is_retried() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let app = Router::new().route(
        "/hooks",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            StatusCode::OK
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut config = WebhookConfig::new(&url, secret(NEW));
    config.timeout = Duration::from_millis(300);
    let result = WebhookSender::new(config).unwrap().deliver("evt_0192", "account.decision", EVENT).await.unwrap();
    assert_eq!(result, DeliveryResult::Retry { cause: RetryCause::Timeout, retry_after: None });
}

#[tokio::test]
async fn during_rotation_both_secrets_sign_and_either_receiver_verifies() {
    let receiver = Receiver::start().await;
    sender(&receiver.url, &[NEW, OLD]).deliver("evt_0192", "account.decision", EVENT).await.unwrap();
    let request = receiver.take().pop().unwrap();
    let header = request.headers[SIGNATURE_HEADER].to_str().unwrap();
    assert_eq!(header.matches("v1=").count(), 2);
    let now = chrono::Utc::now().timestamp();
    for secrets in [&[NEW][..], &[OLD], &[NEW, OLD], &[OLD, NEW]] {
        verify_signature(header, EVENT, secrets, now, DEFAULT_TOLERANCE_SECS).unwrap();
    }
}

#[tokio::test]
async fn invalid_events_and_configurations_are_refused() {
    let receiver = Receiver::start().await;
    let sender = sender(&receiver.url, &[NEW]);
    for (id, kind, body, expected) in [
        ("", "t", EVENT, WebhookError::InvalidEventField("id")),
        ("evt\r\nX-Injected: 1", "t", EVENT, WebhookError::InvalidEventField("id")),
        ("evt 1", "t", EVENT, WebhookError::InvalidEventField("id")),
        ("evt", "", EVENT, WebhookError::InvalidEventField("type")),
        ("evt", "t", &b"{not json"[..], WebhookError::InvalidBody),
    ] {
        assert_eq!(sender.deliver(id, kind, body).await.unwrap_err(), expected);
    }
    assert!(receiver.take().is_empty());

    let new = |url: &str, secrets: Vec<WebhookSecret>| {
        let mut config = WebhookConfig::new(url, secret(NEW));
        config.secrets = secrets;
        WebhookSender::new(config).map(|_| ())
    };
    assert_eq!(new("http://gateway.example.com/sms", vec![secret(NEW)]), Err(WebhookError::InsecureUrl));
    assert_eq!(new("ftp://127.0.0.1/x", vec![secret(NEW)]), Err(WebhookError::InsecureUrl));
    assert_eq!(new("not a url", vec![secret(NEW)]), Err(WebhookError::InvalidUrl));
    assert_eq!(new("https://gateway.example.com/sms", vec![]), Err(WebhookError::SecretCount));
    assert_eq!(
        new("https://gateway.example.com/sms", vec![secret(NEW), secret(OLD), secret(NEW)]),
        Err(WebhookError::SecretCount)
    );
    assert_eq!(new("https://gateway.example.com/sms", vec![secret(NEW)]), Ok(()));
    assert_eq!(new("http://[::1]:8080/sms", vec![secret(NEW)]), Ok(()));
    assert_eq!(new("http://localhost:8080/sms", vec![secret(NEW)]), Ok(()));
    assert_eq!(WebhookSecret::new(b"short".to_vec()).unwrap_err(), WebhookError::SecretTooShort);
    assert!(!format!("{:?}", secret(NEW)).contains("whsec"));
}

// ---- inbound: verify_signature -------------------------------------------------------

fn header_at(t: i64, body: &[u8], secret: &[u8]) -> String {
    format!("t={t},v1={}", hex::encode(sign(secret, t, body)))
}

#[test]
fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(NEW).unwrap();
    mac.update(format!("{NOW}.").as_bytes());
    mac.update(EVENT);
    assert_eq!(sign(NEW, NOW, EVENT), <[u8; 32]>::from(mac.finalize().into_bytes()));
    // Secrets longer than SHA-256's block are hashed first, as RFC 2104 says.
    let long = [7u8; 100];
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&long).unwrap();
    mac.update(b"1.{}");
    assert_eq!(sign(&long, 1, b"{}"), <[u8; 32]>::from(mac.finalize().into_bytes()));
    assert_eq!(signature_header(&[secret(NEW)], NOW, EVENT), header_at(NOW, EVENT, NEW));
}

#[test]
fn a_fresh_signature_from_a_known_secret_is_accepted() {
    let header = header_at(NOW, EVENT, NEW);
    let signed = verify_signature(&header, EVENT, &[NEW], NOW + 10, 300).unwrap();
    assert_eq!(signed.timestamp, NOW);
    assert_eq!(signed.secret_index, 0);
    assert_eq!(signed.remember_until(300), NOW + 300);
    // Exactly at the tolerance, both ways.
    verify_signature(&header, EVENT, &[NEW], NOW + 300, 300).unwrap();
    verify_signature(&header, EVENT, &[NEW], NOW - 300, 300).unwrap();
}

#[test]
fn stale_and_future_signatures_are_rejected() {
    let header = header_at(NOW, EVENT, NEW);
    assert_eq!(verify_signature(&header, EVENT, &[NEW], NOW + 301, 300), Err(SignatureError::Stale));
    assert_eq!(verify_signature(&header, EVENT, &[NEW], NOW - 301, 300), Err(SignatureError::FromFuture));
    assert_eq!(
        verify_signature(&header, EVENT, &[NEW], i64::MAX, u64::MAX),
        Ok(verify_signature(&header, EVENT, &[NEW], NOW, 300).unwrap())
    );
}

#[test]
fn a_tampered_body_or_timestamp_is_rejected() {
    let header = header_at(NOW, EVENT, NEW);
    let tampered = br#"{"id":"evt_0192","type":"account.decision","data":{"outcome":"deny"}}"#;
    assert_eq!(verify_signature(&header, tampered, &[NEW], NOW, 300), Err(SignatureError::Mismatch));
    // Moving t forward to dodge the tolerance breaks the MAC.
    let moved = header.replacen(&format!("t={NOW}"), &format!("t={}", NOW + 1000), 1);
    assert_eq!(verify_signature(&moved, EVENT, &[NEW], NOW + 1000, 300), Err(SignatureError::Mismatch));
}

#[test]
fn a_wrong_secret_is_rejected_and_the_old_one_accepted_during_rotation() {
    let by_old = header_at(NOW, EVENT, OLD);
    assert_eq!(verify_signature(&by_old, EVENT, &[NEW], NOW, 300), Err(SignatureError::Mismatch));
    let signed = verify_signature(&by_old, EVENT, &[NEW, OLD], NOW, 300).unwrap();
    assert_eq!(signed.secret_index, 1, "tells the operator the sender still uses the old one");
    assert_eq!(
        verify_signature(&by_old, EVENT, &[b"another-secret-entirely"], NOW, 300),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(verify_signature(&by_old, EVENT, &[], NOW, 300), Err(SignatureError::SecretCount));
    assert_eq!(verify_signature(&by_old, EVENT, &[NEW, OLD, OLD], NOW, 300), Err(SignatureError::SecretCount));
}

#[test]
fn malformed_headers_are_rejected() {
    let good = hex::encode(sign(NEW, NOW, EVENT));
    let cases = [
        String::new(),
        format!("v1={good}"),
        format!("t={NOW}"),
        format!("t={NOW},t={NOW},v1={good}"),
        format!("t=-{NOW},v1={good}"),
        format!("t=+{NOW},v1={good}"),
        format!("t=,v1={good}"),
        format!("t=99999999999999999999,v1={good}"),
        format!("t={NOW},v1={}", &good[..62]),
        format!("t={NOW},v1={good}00"),
        format!("t={NOW},v1=zz{}", &good[2..]),
        format!("t={NOW};v1={good}"),
        format!("t={NOW},v1={good},garbage"),
        format!("t={NOW},{}", vec![format!("v1={good}"); 9].join(",")),
        format!("t={NOW},v1={good},{}", "x".repeat(1100)),
    ];
    for header in cases {
        assert_eq!(verify_signature(&header, EVENT, &[NEW], NOW, 300), Err(SignatureError::Malformed), "{header}");
    }
    // Unknown schemes and spaces after commas are tolerated.
    let header = format!("t={NOW}, v0=abc, v1={good}");
    verify_signature(&header, EVENT, &[NEW], NOW, 300).unwrap();
}

#[test]
fn replays_are_recognised_by_the_signed_key() {
    let header = header_at(NOW, EVENT, NEW);
    let first = verify_signature(&header, EVENT, &[NEW], NOW, 300).unwrap();
    let mut seen = std::collections::HashSet::new();
    assert_eq!(reject_replay(seen.contains(&first.replay_key())), Ok(()));
    seen.insert(first.replay_key());
    // The same delivery again (even with a different, unsigned, event id header).
    let again = verify_signature(&header, EVENT, &[NEW], NOW + 5, 300).unwrap();
    assert_eq!(reject_replay(seen.contains(&again.replay_key())), Err(SignatureError::Replayed));
    // An honest retry is signed anew: not a replay (dedupe it by event id).
    let retry = verify_signature(&header_at(NOW + 60, EVENT, NEW), EVENT, &[NEW], NOW + 60, 300).unwrap();
    assert_eq!(reject_replay(seen.contains(&retry.replay_key())), Ok(()));
}

// ---- phone codes through the SMS gateway webhook -------------------------------------

#[tokio::test]
async fn phone_codes_go_to_the_gateway_signed() {
    let receiver = Receiver::start().await;
    let sender: Box<dyn CodeSender> =
        Box::new(WebhookCodeSender::new(WebhookConfig::new(&receiver.url, secret(NEW))).unwrap());
    let code = OneTimeCode::from_digits("031337").unwrap();
    sender.send_code("+15551234567", &code, 10).await.unwrap();

    let request = receiver.take().pop().unwrap();
    let header = request.headers[SIGNATURE_HEADER].to_str().unwrap();
    let now = chrono::Utc::now().timestamp();
    verify_signature(header, &request.body, &[NEW], now, DEFAULT_TOLERANCE_SECS).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["to"], "+15551234567");
    assert_eq!(body["code"], "031337");
    assert_eq!(body["purpose"], "phone_verification");
    assert_eq!(body["expires_in_minutes"], 10);
    assert_eq!(request.headers[EVENT_ID_HEADER], body["id"].as_str().unwrap());
    assert_eq!(request.headers[EVENT_TYPE_HEADER], "phone_verification.code");

    receiver.answer(503);
    let error = sender.send_code("+15551234567", &code, 10).await.unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
    assert!(!error.to_string().contains("031337"));
    receiver.answer(422);
    assert_eq!(sender.send_code("+15551234567", &code, 10).await.unwrap_err(), SendError::Rejected { code: Some(422) });
    assert_eq!(receiver.take().len(), 2);

    for bad in ["15551234567", "+0555123456", "+1555", "+1555123456789012", "+1 555 123 4567", ""] {
        assert!(matches!(sender.send_code(bad, &code, 10).await, Err(SendError::InvalidRecipient { .. })), "{bad:?}");
    }
    assert!(receiver.take().is_empty());
}
