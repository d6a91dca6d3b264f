//! The OpenAPI document is generated from the code; this snapshot makes every change to the
//! public contract visible in review.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking

use lessee_api::openapi::ApiDoc;
use utoipa::OpenApi;

#[test]
fn openapi_document_snapshot() {
    let doc = serde_json::to_value(ApiDoc::openapi()).expect("serializes");
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/v1/accounts",
        "/v1/accounts/{id}",
        "/v1/accounts/{id}/decisions",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(doc["paths"][path].is_object(), "missing {path}");
    }
    for schema in ["Application", "Account", "Problem", "Decision", "AccountClassification"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "missing schema {schema}");
    }
    insta::assert_json_snapshot!("openapi", doc);
}

/// Descriptions and examples removed (prose does not change the JSON), except where they are
/// the names of properties.
fn strip_prose(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            for key in ["description", "example", "examples"] {
                m.remove(key);
            }
            for (key, value) in m.iter_mut() {
                match (key.as_str(), value) {
                    ("properties", serde_json::Value::Object(props)) => props.values_mut().for_each(strip_prose),
                    (_, value) => strip_prose(value),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_prose),
        _ => {}
    }
}

/// The schemas `Application` is made of (itself and every schema it refers to, transitively).
fn application_schemas(doc: &serde_json::Value) -> std::collections::BTreeMap<String, serde_json::Value> {
    fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                    out.push(r.trim_start_matches("#/components/schemas/").to_owned());
                }
                m.values().for_each(|v| refs(v, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut found = std::collections::BTreeMap::new();
    let mut todo = vec!["Application".to_owned()];
    while let Some(name) = todo.pop() {
        if found.contains_key(&name) {
            continue;
        }
        let mut schema = doc["components"]["schemas"][&name].clone();
        assert!(schema.is_object(), "schema {name} is missing");
        refs(&schema, &mut todo);
        strip_prose(&mut schema);
        found.insert(name, schema);
    }
    found
}

/// Every `SEALED_JSON_MARK` used so far, oldest first, with the digest of the `Application`
/// schema it stands for. **Append, never edit**: when the schema changes, add the next mark (one
/// more space) with the new digest, and set `SEALED_JSON_MARK` to it.
const MARKS: &[(&[u8], &str)] = &[(b" \n", "3a4f458d3f7d76e87c0e6cfa3b9ce7dee7dee8370602e2596f1f79cb9b9e67c8")];

/// A sealed application marked with `SEALED_JSON_MARK` is returned by reads exactly as it was
/// written; that is right only while `Application`'s JSON is what it was when it was sealed.
/// This fails when the schema no longer has the digest the current mark stands for, and when a
/// mark is reused: the way to green is a new mark, so applications sealed before are parsed and
/// written again on read.
#[test]
fn sealed_json_mark_follows_the_application_schema() {
    use sha2::{Digest, Sha256};
    let doc = serde_json::to_value(ApiDoc::openapi()).expect("serializes");
    let schemas = application_schemas(&doc);
    assert!(schemas.len() > 10 && schemas.contains_key("Individual") && schemas.contains_key("Payment"));
    let digest = Sha256::digest(serde_json::to_vec(&schemas).unwrap());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let (mark, pinned) = MARKS.last().unwrap();
    assert_eq!(
        hex, *pinned,
        "Application's JSON schema changed: append the next mark with this digest to MARKS and set SEALED_JSON_MARK (crates/lessee-service/src/vault.rs) to it"
    );
    assert_eq!(lessee_service::vault::SEALED_JSON_MARK, *mark, "SEALED_JSON_MARK is not the last of MARKS");
    for (n, (mark, digest)) in MARKS.iter().enumerate() {
        // Version n + 1: n + 1 spaces and a newline (none a prefix of another).
        assert_eq!(*mark, [vec![b' '; n + 1], vec![b'\n']].concat().as_slice(), "mark {n} is not the next mark");
        assert_eq!(MARKS.iter().filter(|(_, d)| d == digest).count(), 1, "two marks stand for one schema");
    }
}
