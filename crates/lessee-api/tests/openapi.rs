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
