//! `/v1/measures` and `/v1/exemptions`: special measures, exemptions and the ADP description
//! (issue 7). Each handler parses, calls one service function, maps the result.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use lessee_service::measures::{
    AdpChange, AdpView, ExemptionView, ExtendRequest, ImpactView, MeasureDetail, MeasureView, ReevaluationReport,
    RevokeRequest,
};

use crate::AppState;
use crate::extract::{Auth, Ctx, StrictJson};
use crate::problem::{ApiError, Problem};

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/measures", get(list_measures).post(add_measure))
        .route("/v1/measures/reevaluate", post(reevaluate_measures))
        .route("/v1/measures/{id}", get(get_measure))
        .route("/v1/measures/{id}/extend", post(extend_measure))
        .route("/v1/measures/{id}/revoke", post(revoke_measure))
        .route("/v1/measures/{id}/impact", get(measure_impact))
        .route("/v1/exemptions", get(list_exemptions).post(add_exemption))
        .route("/v1/exemptions/adp", get(get_adp).post(record_adp))
        .route("/v1/exemptions/{id}/revoke", post(revoke_exemption))
        .route("/v1/resellers", get(list_resellers))
        .route("/v1/resellers/{id}", get(get_reseller).put(register_reseller))
        .route("/v1/resellers/{id}/cip-documents", post(file_cip_document))
        .route("/v1/resellers/{id}/attestations", post(attest_reseller))
        .route("/v1/resellers/{id}/non-compliance", post(mark_non_compliant))
        .route("/v1/resellers/{id}/outcome", post(record_outcome))
        .route("/v1/resellers/{id}/reports", post(attach_report))
        .route("/v1/resellers/{id}/tokens", post(create_reseller_token))
        .route("/v1/resellers/{id}/sub-lessees", get(list_sub_lessees).post(register_sub_lessee))
        .route("/v1/resellers/{id}/sub-lessees/{sub}", get(get_sub_lessee).put(update_sub_lessee))
}

/// Add a special measure (EO 13984 § 2(d)).
///
/// The body is a measure: `kind` (`jurisdiction` | `person`), `target` (`{"country": "RU"}`,
/// `{"subdivision": "UA-43"}`, `{"region": "crimea"}`, or a person with `name`, `aliases`,
/// `date_of_birth`, `identifiers`), `effect` (`{"type": "prohibit"}` or `{"type": "condition",
/// "conditions": [...]}`), `scope` (`opening`, `maintaining`, `reseller_accounts`,
/// `on_behalf_of`), `citation`, `determination` (default: today), `effective`, `expiry`
/// (default 365 days after `effective`), `expedited` (`{"citation"}`: waives the 180-day lead
/// time). Unknown fields are refused; every invalid value is reported at once (422).
#[utoipa::path(
    post, path = "/v1/measures", tag = "measures",
    request_body(content = Object, description = "A measure (see above)"),
    responses(
        (status = 201, body = MeasureView),
        (status = 400, description = "Malformed JSON, unknown fields, unknown country", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The id exists", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid dates (effective before determination, lead time), empty citation, ...", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn add_measure(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    StrictJson(body): StrictJson<serde_json::Value>,
) -> Result<(StatusCode, Json<MeasureView>), ApiError> {
    let rid = ctx.request_id.clone();
    state
        .service
        .add_measure(&principal, &ctx, body)
        .await
        .map(|m| (StatusCode::CREATED, Json(m)))
        .map_err(|e| ApiError::new(e, &rid))
}

/// List the measures with their status today.
#[utoipa::path(
    get, path = "/v1/measures", tag = "measures",
    responses(
        (status = 200, body = Vec<MeasureView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_measures(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
) -> Result<Json<Vec<MeasureView>>, ApiError> {
    state.service.list_measures(&principal).await.map(Json).map_err(|e| ApiError::new(e, &ctx.request_id))
}

/// A measure with its history (created, extended, revoked).
#[utoipa::path(
    get, path = "/v1/measures/{id}", tag = "measures",
    params(("id" = String, Path, description = "measure id")),
    responses(
        (status = 200, body = MeasureDetail),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_measure(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<MeasureDetail>, ApiError> {
    state.service.measure(&principal, &id).await.map(Json).map_err(|e| ApiError::new(e, &ctx.request_id))
}

/// Extend a measure's expiry.
#[utoipa::path(
    post, path = "/v1/measures/{id}/extend", tag = "measures",
    params(("id" = String, Path, description = "measure id")),
    request_body = ExtendRequest,
    responses(
        (status = 200, body = MeasureView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Revoked, or changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The new expiry does not extend it, or it lapsed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn extend_measure(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path(id): Path<String>,
    StrictJson(req): StrictJson<ExtendRequest>,
) -> Result<Json<MeasureView>, ApiError> {
    let rid = ctx.request_id.clone();
    state.service.extend_measure(&principal, &ctx, &id, req).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

/// Revoke a measure.
#[utoipa::path(
    post, path = "/v1/measures/{id}/revoke", tag = "measures",
    params(("id" = String, Path, description = "measure id")),
    request_body = RevokeRequest,
    responses(
        (status = 200, body = MeasureView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn revoke_measure(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path(id): Path<String>,
    StrictJson(req): StrictJson<RevokeRequest>,
) -> Result<Json<MeasureView>, ApiError> {
    let rid = ctx.request_id.clone();
    state.service.revoke_measure(&principal, &ctx, &id, req).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

/// The accounts a measure reaches: `upcoming` before its effective date, `applied`, `lifted`.
#[utoipa::path(
    get, path = "/v1/measures/{id}/impact", tag = "measures",
    params(("id" = String, Path, description = "measure id")),
    responses(
        (status = 200, body = ImpactView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn measure_impact(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<ImpactView>, ApiError> {
    let rid = ctx.request_id.clone();
    state.service.measure_impact(&principal, &ctx, &id).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

/// Re-evaluate existing accounts now against every measure that changed (version, status
/// or exemptions) since its last evaluation. `serve` does it on its own after changes and
/// when a date passes.
#[utoipa::path(
    post, path = "/v1/measures/reevaluate", tag = "measures",
    responses(
        (status = 200, body = ReevaluationReport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn reevaluate_measures(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
) -> Result<Json<ReevaluationReport>, ApiError> {
    let rid = ctx.request_id.clone();
    state.service.reevaluate_measures_for(&principal, &ctx).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

/// Record an exemption granted by Commerce (EO 13984 § 1(c)).
///
/// Body: `scope` (`{"type": "provider"}`, `{"type": "account_type", "account_type": "trial"}`,
/// `{"type": "lessee_type", ...}`, `{"type": "country", ...}`), `reference`, `granted`
/// (default: today), `effective`, `expiry`, `conditions`, `exempts_from` (`{"type": "all"}` or
/// `{"type": "listed", "measures": [...], "requirements": [...]}`).
#[utoipa::path(
    post, path = "/v1/exemptions", tag = "measures",
    request_body(content = Object, description = "An exemption (see above)"),
    responses(
        (status = 201, body = ExemptionView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn add_exemption(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    StrictJson(body): StrictJson<serde_json::Value>,
) -> Result<(StatusCode, Json<ExemptionView>), ApiError> {
    let rid = ctx.request_id.clone();
    state
        .service
        .add_exemption(&principal, &ctx, body)
        .await
        .map(|x| (StatusCode::CREATED, Json(x)))
        .map_err(|e| ApiError::new(e, &rid))
}

/// List exemptions with their status today.
#[utoipa::path(
    get, path = "/v1/exemptions", tag = "measures",
    responses(
        (status = 200, body = Vec<ExemptionView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_exemptions(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
) -> Result<Json<Vec<ExemptionView>>, ApiError> {
    state.service.list_exemptions(&principal).await.map(Json).map_err(|e| ApiError::new(e, &ctx.request_id))
}

/// Revoke an exemption.
#[utoipa::path(
    post, path = "/v1/exemptions/{id}/revoke", tag = "measures",
    params(("id" = String, Path, description = "exemption id")),
    request_body = RevokeRequest,
    responses(
        (status = 200, body = ExemptionView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn revoke_exemption(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path(id): Path<String>,
    StrictJson(req): StrictJson<RevokeRequest>,
) -> Result<Json<ExemptionView>, ApiError> {
    let rid = ctx.request_id.clone();
    state.service.revoke_exemption(&principal, &ctx, &id, req).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

/// The ADP description, its versions and the current one.
#[utoipa::path(
    get, path = "/v1/exemptions/adp", tag = "measures",
    responses(
        (status = 200, body = AdpView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_adp(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
) -> Result<Json<AdpView>, ApiError> {
    state.service.adp(&principal).await.map(Json).map_err(|e| ApiError::new(e, &ctx.request_id))
}

/// Record a new version of the ADP description (the first names the program).
#[utoipa::path(
    post, path = "/v1/exemptions/adp", tag = "measures",
    request_body = AdpChange,
    responses(
        (status = 201, body = AdpView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not after the current version, empty text", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn record_adp(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    StrictJson(req): StrictJson<AdpChange>,
) -> Result<(StatusCode, Json<AdpView>), ApiError> {
    let rid = ctx.request_id.clone();
    state
        .service
        .record_adp(&principal, &ctx, req)
        .await
        .map(|a| (StatusCode::CREATED, Json(a)))
        .map_err(|e| ApiError::new(e, &rid))
}

use lessee_service::resellers::{
    ActivityReport, Attestation, CipDocumentRequest, NonComplianceRequest, OutcomeRequest, ResellerRegistration,
    ResellerView,
};

/// The reseller register.
#[utoipa::path(
    get, path = "/v1/resellers", tag = "measures",
    responses(
        (status = 200, body = Vec<ResellerView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_resellers(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
) -> Result<Json<Vec<ResellerView>>, ApiError> {
    state.service.list_resellers(&principal).await.map(Json).map_err(|e| ApiError::new(e, &ctx.request_id))
}

/// A registered reseller with its compliance status.
#[utoipa::path(
    get, path = "/v1/resellers/{id}", tag = "measures",
    params(("id" = String, Path, description = "the reseller's account id")),
    responses(
        (status = 200, body = ResellerView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_reseller(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<ResellerView>, ApiError> {
    state.service.reseller(&principal, &id).await.map(Json).map_err(|e| ApiError::new(e, &ctx.request_id))
}

macro_rules! reseller_post {
    ($name:ident, $path:literal, $body:ty, $call:ident, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(
                                    post, path = $path, tag = "measures",
                                    params(("id" = String, Path, description = "the reseller's account id")),
                                    request_body = $body,
                                    responses(
                                        (status = 200, body = ResellerView),
                                        (status = 400, body = Problem, content_type = "application/problem+json"),
                                        (status = 401, body = Problem, content_type = "application/problem+json"),
                                        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
                                        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
                                        (status = 403, body = Problem, content_type = "application/problem+json"),
                                        (status = 404, body = Problem, content_type = "application/problem+json"),
                                        (status = 409, body = Problem, content_type = "application/problem+json"),
                                        (status = 422, body = Problem, content_type = "application/problem+json"),
                                    ),
                                    security(("bearer" = []))
                                )]
        pub async fn $name(
            State(state): State<AppState>,
            Ctx(ctx): Ctx,
            Auth(principal): Auth,
            Path(id): Path<String>,
            StrictJson(body): StrictJson<$body>,
        ) -> Result<Json<ResellerView>, ApiError> {
            let rid = ctx.request_id.clone();
            state.service.$call(&principal, &ctx, &id, body).await.map(Json).map_err(|e| ApiError::new(e, &rid))
        }
    };
}

/// Register a reseller account (or update its location and CIP basis).
#[utoipa::path(
    put, path = "/v1/resellers/{id}", tag = "measures",
    params(("id" = String, Path, description = "the reseller's account id")),
    request_body = ResellerRegistration,
    responses(
        (status = 200, body = ResellerView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn register_reseller(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path(id): Path<String>,
    StrictJson(body): StrictJson<ResellerRegistration>,
) -> Result<Json<ResellerView>, ApiError> {
    let rid = ctx.request_id.clone();
    state.service.register_reseller(&principal, &ctx, &id, body).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

reseller_post!(
    file_cip_document,
    "/v1/resellers/{id}/cip-documents",
    CipDocumentRequest,
    file_cip_document,
    "File a new version of the reseller's own CIP."
);
reseller_post!(
    attest_reseller,
    "/v1/resellers/{id}/attestations",
    Attestation,
    attest_reseller,
    "Record an annual attestation (the next is due a year later)."
);
reseller_post!(
    mark_non_compliant,
    "/v1/resellers/{id}/non-compliance",
    NonComplianceRequest,
    mark_reseller_non_compliant,
    "Mark a foreign reseller non-compliant: a 30-day termination deadline, with reminder jobs."
);
reseller_post!(
    record_outcome,
    "/v1/resellers/{id}/outcome",
    OutcomeRequest,
    record_reseller_outcome,
    "Record the outcome of a non-compliance finding (`terminated` or `remediated`)."
);
reseller_post!(
    attach_report,
    "/v1/resellers/{id}/reports",
    ActivityReport,
    attach_activity_report,
    "Attach a suspected-malicious-activity report (reference and SHA-256)."
);

/// `POST /v1/resellers/{id}/tokens`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResellerTokenRequest {
    pub name: String,
}

/// The plaintext of a new reseller token, shown once.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ResellerTokenCreated {
    pub id: String,
    pub token: String,
}

/// Create a `reseller` token bound to a registered reseller's account (admin).
#[utoipa::path(
    post, path = "/v1/resellers/{id}/tokens", tag = "measures",
    params(("id" = String, Path, description = "the reseller's account id")),
    request_body = ResellerTokenRequest,
    responses(
        (status = 201, body = ResellerTokenCreated),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_reseller_token(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path(id): Path<String>,
    StrictJson(req): StrictJson<ResellerTokenRequest>,
) -> Result<(StatusCode, Json<ResellerTokenCreated>), ApiError> {
    let rid = ctx.request_id.clone();
    state
        .service
        .create_reseller_token(&principal, &ctx, &id, &req.name)
        .await
        .map(|t| (StatusCode::CREATED, Json(ResellerTokenCreated { id: t.id, token: t.token })))
        .map_err(|e| ApiError::new(e, &rid))
}

/// A reseller registers a sub-lessee (opened, classified, screened and decided like a customer).
#[utoipa::path(
    post, path = "/v1/resellers/{id}/sub-lessees", tag = "measures",
    params(("id" = String, Path, description = "the reseller's account id (its own, for a reseller token)")),
    request_body = lessee_domain::Application,
    responses(
        (status = 201, body = lessee_domain::Account),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn register_sub_lessee(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path(id): Path<String>,
    StrictJson(app): StrictJson<lessee_domain::Application>,
) -> Result<(StatusCode, Json<lessee_domain::Account>), ApiError> {
    let rid = ctx.request_id.clone();
    state
        .service
        .register_sub_lessee(&principal, &ctx, &id, app, None)
        .await
        .map(|o| (StatusCode::CREATED, Json(o.account)))
        .map_err(|e| ApiError::new(e, &rid))
}

/// A reseller's sub-lessees.
#[utoipa::path(
    get, path = "/v1/resellers/{id}/sub-lessees", tag = "measures",
    params(("id" = String, Path, description = "the reseller's account id")),
    responses(
        (status = 200, body = Vec<lessee_domain::Account>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_sub_lessees(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<lessee_domain::Account>>, ApiError> {
    state.service.list_sub_lessees(&principal, &id).await.map(Json).map_err(|e| ApiError::new(e, &ctx.request_id))
}

/// One of a reseller's sub-lessees.
#[utoipa::path(
    get, path = "/v1/resellers/{id}/sub-lessees/{sub}", tag = "measures",
    params(("id" = String, Path, description = "the reseller's account id"), ("sub" = String, Path, description = "the sub-lessee's account id")),
    responses(
        (status = 200, body = lessee_domain::Account),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_sub_lessee(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path((id, sub)): Path<(String, String)>,
) -> Result<Json<lessee_domain::Account>, ApiError> {
    state.service.sub_lessee(&principal, &id, &sub).await.map(Json).map_err(|e| ApiError::new(e, &ctx.request_id))
}

/// A reseller updates one of its sub-lessees (decided again).
#[utoipa::path(
    put, path = "/v1/resellers/{id}/sub-lessees/{sub}", tag = "measures",
    params(("id" = String, Path, description = "the reseller's account id"), ("sub" = String, Path, description = "the sub-lessee's account id")),
    request_body = lessee_domain::Application,
    responses(
        (status = 200, body = lessee_domain::Account),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update_sub_lessee(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path((id, sub)): Path<(String, String)>,
    StrictJson(app): StrictJson<lessee_domain::Application>,
) -> Result<Json<lessee_domain::Account>, ApiError> {
    let rid = ctx.request_id.clone();
    state
        .service
        .update_sub_lessee(&principal, &ctx, &id, &sub, app)
        .await
        .map(Json)
        .map_err(|e| ApiError::new(e, &rid))
}
