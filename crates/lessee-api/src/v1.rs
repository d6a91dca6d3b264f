//! `/v1` handlers: each parses, calls one service function, maps the result.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lessee_domain::{Account, Application, Decision};
use lessee_service::{AccountPage, ListQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::extract::{Auth, Ctx, PurposeHeader, RequestId, StrictJson, StrictQuery};
use crate::problem::{ApiError, Problem};

/// Open an account.
///
/// Validates, classifies (US or foreign person) and decides. With an `Idempotency-Key`, a replay
/// of the same request returns the account it created (header `Idempotent-Replayed: true`) and
/// never a second one; the same key with a different body is refused.
#[utoipa::path(
    post, path = "/v1/accounts", tag = "accounts",
    request_body = Application,
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters; scoped to the token")),
    responses(
        (status = 201, description = "Opened (or replayed)", body = Account),
        (status = 400, description = "Malformed JSON, wrong types, unknown fields", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or bad token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role may not open accounts", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "external_id already used", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid values (countries, dates, ...) or reused Idempotency-Key", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn open_account(
    State(state): State<AppState>,
    RequestId(rid): RequestId,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    headers: HeaderMap,
    StrictJson(app): StrictJson<Application>,
) -> Result<Response, ApiError> {
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(v.to_str().map_err(|_| {
            ApiError::new(
                lessee_service::Error::new(
                    lessee_service::ErrorCode::InvalidIdempotencyKey,
                    "an Idempotency-Key is visible ASCII",
                ),
                &rid,
            )
        })?),
    };
    let opened = state.service.open_account(&principal, &ctx, app, key).await.map_err(|e| ApiError::new(e, &rid))?;
    let location = format!("/v1/accounts/{}", opened.account.id);
    let mut resp = (StatusCode::CREATED, Json(opened.account)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert("location", v);
    }
    if opened.replayed {
        resp.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(resp)
}

/// Get an account: its classification and latest decision.
#[utoipa::path(
    get, path = "/v1/accounts/{id}", tag = "accounts",
    params(("id" = String, Path, description = "lessee account id (UUID)")),
    responses(
        (status = 200, body = Account),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_account(
    State(state): State<AppState>,
    RequestId(rid): RequestId,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<Account>, ApiError> {
    state.service.account(&principal, &id).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

/// Query of `GET /v1/accounts`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// The provider's account id.
    external_id: Option<String>,
    /// `approve`, `approve_with_conditions`, `manual_review` or `deny`.
    outcome: Option<String>,
    /// `us_person` or `foreign_person`.
    classification: Option<String>,
    /// `trial`, `standard`, `reseller` or `enterprise`.
    account_type: Option<String>,
    /// `individual` or `entity`.
    customer_kind: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<u32>,
}

/// List accounts, oldest first, with filters and cursor pagination.
#[utoipa::path(
    get, path = "/v1/accounts", tag = "accounts",
    params(ListParams),
    responses(
        (status = 200, body = AccountPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_accounts(
    State(state): State<AppState>,
    RequestId(rid): RequestId,
    Auth(principal): Auth,
    StrictQuery(p): StrictQuery<ListParams>,
) -> Result<Json<AccountPage>, ApiError> {
    let q = ListQuery {
        external_id: p.external_id,
        outcome: p.outcome,
        classification: p.classification,
        account_type: p.account_type,
        customer_kind: p.customer_kind,
        cursor: p.cursor,
        limit: p.limit,
    };
    state.service.list_accounts(&principal, q).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

/// The decision history of an account.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionHistory {
    pub account_id: String,
    /// Oldest first.
    pub decisions: Vec<Decision>,
}

/// The decisions taken on an account, oldest first.
#[utoipa::path(
    get, path = "/v1/accounts/{id}/decisions", tag = "accounts",
    params(("id" = String, Path, description = "lessee account id (UUID)")),
    responses(
        (status = 200, body = DecisionHistory),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn account_decisions(
    State(state): State<AppState>,
    RequestId(rid): RequestId,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<DecisionHistory>, ApiError> {
    let decisions = state.service.decisions(&principal, &id).await.map_err(|e| ApiError::new(e, &rid))?;
    Ok(Json(DecisionHistory { account_id: id, decisions }))
}

/// Read an account's application: personal data.
///
/// The `Lessee-Purpose` header must name a purpose the token's role holds. The read is written
/// to the tamper-evident audit log **before** the data is returned; if that write fails, nothing
/// is returned. Refused reads are audited too.
#[utoipa::path(
    get, path = "/v1/accounts/{id}/application", tag = "records",
    params(
        ("id" = String, Path, description = "lessee account id (UUID)"),
        ("Lessee-Purpose" = String, Header, description = "verification, review, legal_process, audit or customer_support"),
    ),
    responses(
        (status = 200, description = "The application as received", body = Application),
        (status = 400, description = "No or unknown purpose", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role does not hold the purpose", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The audit record could not be written", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_application(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    PurposeHeader(purpose): PurposeHeader,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let rid = ctx.request_id.clone();
    // The JSON of `Application`, as sealed when this version sealed it (no parse and rewrite).
    let json = state.service.application(&principal, &ctx, &id, purpose).await.map_err(|e| ApiError::new(e, &rid))?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], json).into_response())
}

/// Redress: resubmit the application of an account (corrected identity data, a new document,
/// new beneficial owners or payment instrument). It is validated, sealed, classified and
/// decided again under the policy in force; the new decision (trigger `resubmission`) is
/// returned in the account and appended to its history. The `external_id` cannot change.
#[utoipa::path(
    put, path = "/v1/accounts/{id}/application", tag = "accounts",
    params(("id" = String, Path)),
    request_body = Application,
    responses(
        (status = 200, description = "Decided again", body = Account),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn resubmit_application(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path(id): Path<String>,
    StrictJson(app): StrictJson<Application>,
) -> Result<Json<Account>, ApiError> {
    let rid = ctx.request_id.clone();
    state.service.resubmit(&principal, &ctx, &id, app).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

/// Send a one-time code to the customer's email address (by SMTP) or phone number (through the
/// provider's SMS gateway) to verify that the customer controls it. Only the code's keyed hash
/// is stored; it expires and allows a limited number of attempts.
#[utoipa::path(
    post, path = "/v1/accounts/{id}/verifications/{channel}", tag = "accounts",
    params(("id" = String, Path), ("channel" = String, Path, description = "`email` or `phone`")),
    responses(
        (status = 202, body = lessee_service::verification::ChallengeView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "No sender configured, or the code could not be sent", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn start_verification(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path((id, channel)): Path<(String, String)>,
) -> Result<(StatusCode, Json<lessee_service::verification::ChallengeView>), ApiError> {
    let rid = ctx.request_id.clone();
    let channel = lessee_service::verification::Channel::parse(&channel).map_err(|e| ApiError::new(e, &rid))?;
    state
        .service
        .start_verification(&principal, &ctx, &id, channel)
        .await
        .map(|v| (StatusCode::ACCEPTED, Json(v)))
        .map_err(|e| ApiError::new(e, &rid))
}

/// Confirm a one-time code. Right: the evidence is confirmed and the account is decided again
/// (trigger `email_confirmed` / `phone_confirmed`). Wrong, expired or too many attempts: 422
/// with `code_wrong` (and the attempts left), `code_expired` or `code_locked`.
#[utoipa::path(
    post, path = "/v1/accounts/{id}/verifications/{channel}/confirm", tag = "accounts",
    params(("id" = String, Path), ("channel" = String, Path, description = "`email` or `phone`")),
    request_body = lessee_service::verification::CodeSubmission,
    responses(
        (status = 200, body = Account),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn confirm_verification(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path((id, channel)): Path<(String, String)>,
    StrictJson(body): StrictJson<lessee_service::verification::CodeSubmission>,
) -> Result<Json<Account>, ApiError> {
    let rid = ctx.request_id.clone();
    let channel = lessee_service::verification::Channel::parse(&channel).map_err(|e| ApiError::new(e, &rid))?;
    state
        .service
        .confirm_verification(&principal, &ctx, &id, channel, &body.code)
        .await
        .map(Json)
        .map_err(|e| ApiError::new(e, &rid))
}

/// An identity-verification vendor's result, by webhook (no bearer token: the
/// `Lessee-Signature` header authenticates it: `t=<unix>,v1=<hex HMAC-SHA-256(secret,
/// "<t>.<body>")>`, within 300 s). Body: `{"id", "account_id", "subject": "customer" |
/// "beneficial_owner:N", "result": "confirmed" | "failed" | "pending" | "expired",
/// "reference"}`. A delivery id is applied once; the account is decided again.
#[utoipa::path(
    post, path = "/v1/webhooks/vendors/{vendor}", tag = "accounts",
    params(("vendor" = String, Path, description = "the adapter's name, e.g. `generic`"),
           ("Lessee-Signature" = String, Header, description = "t=<unix>,v1=<hex hmac>")),
    request_body = lessee_service::verification::VendorPayload,
    responses(
        (status = 200, body = lessee_service::verification::VendorAck),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn vendor_webhook(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(vendor): Path<String>,
    headers: HeaderMap,
    crate::extract::RawBody(body): crate::extract::RawBody,
) -> Result<Json<lessee_service::verification::VendorAck>, ApiError> {
    let rid = ctx.request_id.clone();
    let sig = headers.get("lessee-signature").and_then(|v| v.to_str().ok());
    state.service.vendor_result(&ctx, &vendor, sig, &body).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

/// Query of `GET /v1/reviews`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    /// `open` (default), `claimed`, `awaiting_second`, `closed` or `all`.
    status: Option<String>,
    account_id: Option<String>,
    /// At most this many (1 to 1000, default 100).
    limit: Option<u32>,
}

/// The review queue, oldest first.
#[utoipa::path(
    get, path = "/v1/reviews", tag = "review", params(ReviewQuery),
    responses(
        (status = 200, body = Vec<lessee_service::review::ReviewView>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_reviews(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    StrictQuery(q): StrictQuery<ReviewQuery>,
) -> Result<Json<Vec<lessee_service::review::ReviewView>>, ApiError> {
    let rid = ctx.request_id.clone();
    state
        .service
        .list_reviews(&principal, q.status.as_deref(), q.account_id.as_deref(), q.limit.unwrap_or(100))
        .await
        .map(Json)
        .map_err(|e| ApiError::new(e, &rid))
}

/// Open a review of an account to override the engine (one open case per account).
#[utoipa::path(
    post, path = "/v1/accounts/{id}/reviews", tag = "review",
    params(("id" = String, Path)),
    request_body = lessee_service::review::OpenReview,
    responses(
        (status = 201, body = lessee_service::review::ReviewView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn open_review(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path(id): Path<String>,
    StrictJson(req): StrictJson<lessee_service::review::OpenReview>,
) -> Result<(StatusCode, Json<lessee_service::review::ReviewView>), ApiError> {
    let rid = ctx.request_id.clone();
    state
        .service
        .open_review(&principal, &ctx, &id, req)
        .await
        .map(|v| (StatusCode::CREATED, Json(v)))
        .map_err(|e| ApiError::new(e, &rid))
}

/// Claim a case.
#[utoipa::path(
    post, path = "/v1/reviews/{id}/claim", tag = "review",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = lessee_service::review::ReviewView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn claim_review(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<lessee_service::review::ReviewView>, ApiError> {
    let rid = ctx.request_id.clone();
    state.service.claim_review(&principal, &ctx, &id).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

/// Decide a claimed case with a note. A deny, or an outcome other than the engine's, is
/// proposed and waits for a second reviewer.
#[utoipa::path(
    post, path = "/v1/reviews/{id}/decision", tag = "review",
    params(("id" = String, Path)),
    request_body = lessee_service::review::ReviewDecision,
    responses(
        (status = 200, body = lessee_service::review::ReviewView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn decide_review(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path(id): Path<String>,
    StrictJson(d): StrictJson<lessee_service::review::ReviewDecision>,
) -> Result<Json<lessee_service::review::ReviewView>, ApiError> {
    let rid = ctx.request_id.clone();
    state.service.decide_review(&principal, &ctx, &id, d).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

/// The second reviewer (another token) confirms or sends back a proposed deny or override.
#[utoipa::path(
    post, path = "/v1/reviews/{id}/second", tag = "review",
    params(("id" = String, Path)),
    request_body = lessee_service::review::SecondOpinion,
    responses(
        (status = 200, body = lessee_service::review::ReviewView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn second_review(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path(id): Path<String>,
    StrictJson(s): StrictJson<lessee_service::review::SecondOpinion>,
) -> Result<Json<lessee_service::review::ReviewView>, ApiError> {
    let rid = ctx.request_id.clone();
    state.service.second_review(&principal, &ctx, &id, s).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

/// A search by a personal identifier, sent in the body so it stays out of URLs and logs.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// `email`, `phone`, `national_id` or `ip_address` (the sign-up address).
    pub kind: String,
    pub value: String,
}

/// Find accounts by email, phone, national id or sign-up IP (exact, after normalization),
/// through keyed blind indexes. Needs `Lessee-Purpose`; audited.
#[utoipa::path(
    post, path = "/v1/accounts/search", tag = "records",
    request_body = SearchRequest,
    params(("Lessee-Purpose" = String, Header, description = "a purpose the role holds")),
    responses(
        (status = 200, body = AccountPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn search_accounts(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    PurposeHeader(purpose): PurposeHeader,
    StrictJson(req): StrictJson<SearchRequest>,
) -> Result<Json<AccountPage>, ApiError> {
    let rid = ctx.request_id.clone();
    let items = state
        .service
        .find_accounts(&principal, &ctx, &req.kind, &req.value, purpose)
        .await
        .map_err(|e| ApiError::new(e, &rid))?;
    Ok(Json(AccountPage { items, next_cursor: None }))
}

/// Sign and return a checkpoint of the audit log as it is now.
#[utoipa::path(
    post, path = "/v1/audit/checkpoints", tag = "records",
    responses(
        (status = 200, body = lessee_service::audit::SignedCheckpoint),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn audit_checkpoint(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
) -> Result<Json<lessee_service::audit::SignedCheckpoint>, ApiError> {
    let rid = ctx.request_id.clone();
    principal.require(lessee_service::Permission::AuditRead).map_err(|e| ApiError::new(e, &rid))?;
    state.service.checkpoint().await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

/// Export the audit log (NDJSON: a header with the public key and a fresh signed checkpoint,
/// then every record). `lessee audit verify FILE` checks it without the server.
#[utoipa::path(
    get, path = "/v1/audit/export", tag = "records",
    responses(
        (status = 200, description = "application/x-ndjson", body = String),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn audit_export(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
) -> Result<Response, ApiError> {
    let rid = ctx.request_id.clone();
    let mut buf = Vec::new();
    state.service.export_audit(&principal, &ctx, &mut buf).await.map_err(|e| ApiError::new(e, &rid))?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/x-ndjson")], buf).into_response())
}

/// Query of `POST /v1/access-events`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IngestParams {
    /// `atomic` (default): any bad line refuses the whole batch; `partial`: keep the good lines.
    mode: Option<String>,
}

/// Send access and administrative events: the IP address and time of every access or
/// administrative action (EO 13984 § 1(a)(ii)).
///
/// The body is a JSON array (`Content-Type: application/json`) or NDJSON
/// (`application/x-ndjson`), up to 50,000 events. Each names its account by `account` (the
/// provider's external id) or `account_id`. Bad lines are reported by number.
#[utoipa::path(
    post, path = "/v1/access-events", tag = "records",
    params(IngestParams),
    request_body(content = Vec<lessee_domain::access::AccessEventInput>, description = "JSON array or NDJSON"),
    responses(
        (status = 200, body = lessee_service::IngestReport),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Atomic batch with bad lines: nothing written", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn ingest_events(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    StrictQuery(p): StrictQuery<IngestParams>,
    headers: HeaderMap,
    crate::extract::RawBody(body): crate::extract::RawBody,
) -> Result<Json<lessee_service::IngestReport>, ApiError> {
    let rid = ctx.request_id.clone();
    let fail = |e| ApiError::new(e, &rid);
    let mode = match p.mode.as_deref() {
        None | Some("atomic") => lessee_service::BatchMode::Atomic,
        Some("partial") => lessee_service::BatchMode::Partial,
        Some(_) => {
            return Err(fail(lessee_service::Error::new(
                lessee_service::ErrorCode::InvalidQuery,
                "`mode` is atomic or partial",
            )));
        }
    };
    let ctype = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = ctype.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if mime != "application/json" && mime != "application/x-ndjson" {
        return Err(fail(lessee_service::Error::new(
            lessee_service::ErrorCode::UnsupportedMediaType,
            "send events as application/json (an array) or application/x-ndjson",
        )));
    }
    let batch = lessee_service::events::parse_batch(&body).map_err(fail)?;
    state.service.ingest_events(&principal, &ctx, batch, mode).await.map(Json).map_err(fail)
}

/// Query of the access-event reads.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// An address or CIDR range (only on `/v1/access-events`).
    ip: Option<String>,
    /// RFC 3339; default 30 days before `to`.
    from: Option<String>,
    /// RFC 3339 (exclusive); default now.
    to: Option<String>,
    cursor: Option<String>,
    /// 1 to 1000 (default 100).
    limit: Option<u32>,
}

/// An account's access and administrative events in a time range. Needs `Lessee-Purpose`; audited.
#[utoipa::path(
    get, path = "/v1/accounts/{id}/access-events", tag = "records",
    params(("id" = String, Path), ("Lessee-Purpose" = String, Header), EventParams),
    responses(
        (status = 200, body = lessee_service::EventPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn account_events(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    PurposeHeader(purpose): PurposeHeader,
    Path(id): Path<String>,
    StrictQuery(p): StrictQuery<EventParams>,
) -> Result<Json<lessee_service::EventPage>, ApiError> {
    let rid = ctx.request_id.clone();
    state
        .service
        .account_events(
            &principal,
            &ctx,
            purpose,
            &id,
            p.from.as_deref(),
            p.to.as_deref(),
            p.cursor.as_deref(),
            p.limit.unwrap_or(100),
        )
        .await
        .map(Json)
        .map_err(|e| ApiError::new(e, &rid))
}

/// Every event, and so every account, seen from an address or CIDR range in a time range (the
/// investigator's question). Needs `Lessee-Purpose`; audited (the address only as a keyed hash).
#[utoipa::path(
    get, path = "/v1/access-events", tag = "records",
    params(("Lessee-Purpose" = String, Header), EventParams),
    responses(
        (status = 200, body = lessee_service::EventPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn events_by_ip(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    PurposeHeader(purpose): PurposeHeader,
    StrictQuery(p): StrictQuery<EventParams>,
) -> Result<Json<lessee_service::EventPage>, ApiError> {
    let rid = ctx.request_id.clone();
    let Some(ip) = p.ip.as_deref() else {
        return Err(ApiError::new(
            lessee_service::Error::new(
                lessee_service::ErrorCode::InvalidQuery,
                "`ip` (an address or CIDR range) is required",
            ),
            &rid,
        ));
    };
    state
        .service
        .events_by_ip(
            &principal,
            &ctx,
            purpose,
            ip,
            p.from.as_deref(),
            p.to.as_deref(),
            p.cursor.as_deref(),
            p.limit.unwrap_or(100),
        )
        .await
        .map(Json)
        .map_err(|e| ApiError::new(e, &rid))
}

/// Query of `GET /v1/audit/proofs/inclusion`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InclusionParams {
    /// The record's sequence number.
    seq: u64,
    /// The tree size to prove against (default: the whole log).
    tree_size: Option<u64>,
}

/// Prove that an audit record is in the log (RFC 9162 inclusion proof).
#[utoipa::path(
    get, path = "/v1/audit/proofs/inclusion", tag = "records",
    params(InclusionParams),
    responses(
        (status = 200, body = lessee_service::audit::InclusionProofView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn inclusion_proof(
    State(state): State<AppState>,
    RequestId(rid): RequestId,
    Auth(principal): Auth,
    StrictQuery(p): StrictQuery<InclusionParams>,
) -> Result<Json<lessee_service::audit::InclusionProofView>, ApiError> {
    state.service.inclusion_proof(&principal, p.seq, p.tree_size).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

/// Query of `GET /v1/audit/proofs/consistency`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyParams {
    /// The older tree size.
    from: u64,
    /// The newer tree size (default: the whole log).
    to: Option<u64>,
}

/// Prove that the log only grew between two tree sizes (RFC 9162 consistency proof).
#[utoipa::path(
    get, path = "/v1/audit/proofs/consistency", tag = "records",
    params(ConsistencyParams),
    responses(
        (status = 200, body = lessee_service::audit::ConsistencyProofView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn consistency_proof(
    State(state): State<AppState>,
    RequestId(rid): RequestId,
    Auth(principal): Auth,
    StrictQuery(p): StrictQuery<ConsistencyParams>,
) -> Result<Json<lessee_service::audit::ConsistencyProofView>, ApiError> {
    state.service.consistency_proof(&principal, p.from, p.to).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

/// Close an account: the provider ended the relationship. Starts its retention period.
#[utoipa::path(
    post, path = "/v1/accounts/{id}/close", tag = "records",
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Closed"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such open account", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn close_account(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let rid = ctx.request_id.clone();
    state
        .service
        .close_account(&principal, &ctx, &id)
        .await
        .map(|_| StatusCode::NO_CONTENT)
        .map_err(|e| ApiError::new(e, &rid))
}

/// Produce everything held about an account, or about every account seen from an address or
/// range, for a period, for legal process: a tar bundle with a signed manifest of SHA-256
/// hashes and the account's audit records with inclusion proofs. Needs `Lessee-Purpose:
/// legal_process`; audited on every account it covers. `lessee export verify` checks it.
#[utoipa::path(
    post, path = "/v1/exports", tag = "records",
    request_body = lessee_service::export::ExportRequest,
    params(("Lessee-Purpose" = String, Header, description = "must be `legal_process`")),
    responses(
        (status = 200, description = "application/x-tar: the bundle", body = String, content_type = "application/x-tar"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn legal_export(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    PurposeHeader(purpose): PurposeHeader,
    StrictJson(req): StrictJson<lessee_service::export::ExportRequest>,
) -> Result<Response, ApiError> {
    let rid = ctx.request_id.clone();
    let produced =
        state.service.legal_export(&principal, &ctx, purpose, req).await.map_err(|e| ApiError::new(e, &rid))?;
    let name = format!(
        "attachment; filename=\"lessee-export-{}.tar\"",
        produced.manifest.produced_at.format("%Y%m%dT%H%M%SZ")
    );
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/x-tar".to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, name),
        ],
        produced.bundle,
    )
        .into_response())
}

/// The verification policy in force (the written CIP): its version, id and file.
#[utoipa::path(
    get, path = "/v1/policy", tag = "policy",
    responses(
        (status = 200, body = lessee_service::policy::PolicyView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_policy(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
) -> Result<Json<lessee_service::policy::PolicyView>, ApiError> {
    let rid = ctx.request_id.clone();
    state.service.current_policy(&principal).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

/// Every policy version, oldest first: who installed it, when and why.
#[utoipa::path(
    get, path = "/v1/policy/history", tag = "policy",
    responses(
        (status = 200, body = Vec<lessee_service::policy::PolicyView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn policy_history(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
) -> Result<Json<Vec<lessee_service::policy::PolicyView>>, ApiError> {
    let rid = ctx.request_id.clone();
    state.service.policy_history(&principal, false).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

/// Install a new policy version (admin; audited). An invalid file is refused with each
/// problem's line and column; the same policy as the one in force changes nothing.
#[utoipa::path(
    post, path = "/v1/policy", tag = "policy",
    request_body = lessee_service::policy::PolicyChange,
    responses(
        (status = 200, body = lessee_service::policy::PolicyView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn set_policy(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    StrictJson(change): StrictJson<lessee_service::policy::PolicyChange>,
) -> Result<Json<lessee_service::policy::PolicyView>, ApiError> {
    let rid = ctx.request_id.clone();
    state.service.set_policy(&principal, &ctx, change).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

/// The copy of the CIP: the policy in force, every earlier version and the audit records of
/// the changes with inclusion proofs, as a signed tar bundle (auditor, admin).
#[utoipa::path(
    post, path = "/v1/exports/cip", tag = "policy",
    responses(
        (status = 200, description = "application/x-tar: the bundle", body = String, content_type = "application/x-tar"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn export_cip(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
) -> Result<Response, ApiError> {
    let rid = ctx.request_id.clone();
    let produced = state.service.export_cip(&principal, &ctx, None).await.map_err(|e| ApiError::new(e, &rid))?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/x-tar")], produced.bundle).into_response())
}

/// Place a legal hold on an account, or on every account seen from an address range. Held
/// accounts are not destroyed at the end of retention until the hold is released.
#[utoipa::path(
    post, path = "/v1/legal-holds", tag = "records",
    request_body = lessee_service::retention::HoldRequest,
    responses(
        (status = 201, body = lessee_service::retention::HoldView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn place_hold(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    StrictJson(req): StrictJson<lessee_service::retention::HoldRequest>,
) -> Result<(StatusCode, Json<lessee_service::retention::HoldView>), ApiError> {
    let rid = ctx.request_id.clone();
    state
        .service
        .place_hold(&principal, &ctx, req)
        .await
        .map(|h| (StatusCode::CREATED, Json(h)))
        .map_err(|e| ApiError::new(e, &rid))
}

/// Query of `GET /v1/legal-holds`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HoldParams {
    /// Also list released holds.
    include_released: Option<bool>,
}

/// List legal holds.
#[utoipa::path(
    get, path = "/v1/legal-holds", tag = "records",
    params(HoldParams),
    responses(
        (status = 200, body = Vec<lessee_service::retention::HoldView>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_holds(
    State(state): State<AppState>,
    RequestId(rid): RequestId,
    Auth(principal): Auth,
    StrictQuery(p): StrictQuery<HoldParams>,
) -> Result<Json<Vec<lessee_service::retention::HoldView>>, ApiError> {
    state
        .service
        .list_holds(&principal, p.include_released.unwrap_or(false))
        .await
        .map(Json)
        .map_err(|e| ApiError::new(e, &rid))
}

/// Release a legal hold.
#[utoipa::path(
    post, path = "/v1/legal-holds/{id}/release", tag = "records",
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Released"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn release_hold(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let rid = ctx.request_id.clone();
    state
        .service
        .release_hold(&principal, &ctx, &id)
        .await
        .map(|_| StatusCode::NO_CONTENT)
        .map_err(|e| ApiError::new(e, &rid))
}
