//! Screening routes (issue 6): list versions, ad-hoc screening, alerts and their dispositions.

use axum::Json;
use axum::extract::{Path, State};
use lessee_service::screening::{AlertView, DispositionRequest, ListVersionView, ScreenRequest, ScreenResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::extract::{Auth, Ctx, StrictJson, StrictQuery};
use crate::problem::{ApiError, Problem};

/// Query of `GET /v1/lists`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListsQuery {
    /// One list only (`ofac_sdn`, `un`, `bis_dpl`, `csl`, or a custom list).
    list: Option<String>,
}

/// Every imported list version with its provenance, oldest first.
#[utoipa::path(
    get, path = "/v1/lists", tag = "screening", params(ListsQuery),
    responses(
        (status = 200, body = Vec<ListVersionView>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_versions(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    StrictQuery(q): StrictQuery<ListsQuery>,
) -> Result<Json<Vec<ListVersionView>>, ApiError> {
    let rid = ctx.request_id.clone();
    state.service.list_versions(&principal, q.list.as_deref()).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

/// Screen a batch of names or persons against the current list versions; matches at or above
/// the default threshold, best first, with the versions scored against.
#[utoipa::path(
    post, path = "/v1/screen", tag = "screening",
    request_body = ScreenRequest,
    responses(
        (status = 200, body = ScreenResponse),
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
pub async fn screen(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    StrictJson(req): StrictJson<ScreenRequest>,
) -> Result<Json<ScreenResponse>, ApiError> {
    let rid = ctx.request_id.clone();
    state.service.screen_query(&principal, &ctx, req).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

/// The screening alerts of an account, newest first.
#[utoipa::path(
    get, path = "/v1/accounts/{id}/alerts", tag = "screening",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Vec<AlertView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn account_alerts(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<AlertView>>, ApiError> {
    let rid = ctx.request_id.clone();
    state.service.account_alerts(&principal, &id).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}

/// Query of `GET /v1/alerts`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertsQuery {
    /// `open`, `escalated`, `true_match` or `false_positive` (default: all).
    status: Option<String>,
    /// At most this many (1 to 1000, default 100).
    limit: Option<u32>,
}

/// Screening alerts, newest first.
#[utoipa::path(
    get, path = "/v1/alerts", tag = "screening", params(AlertsQuery),
    responses(
        (status = 200, body = Vec<AlertView>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_alerts(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    StrictQuery(q): StrictQuery<AlertsQuery>,
) -> Result<Json<Vec<AlertView>>, ApiError> {
    let rid = ctx.request_id.clone();
    state
        .service
        .list_alerts(&principal, q.status.as_deref(), q.limit)
        .await
        .map(Json)
        .map_err(|e| ApiError::new(e, &rid))
}

/// Disposition an alert: `true_match` (the account is decided again: denied), `false_positive`
/// with a reason (decided again without it; the same entry and customer data do not alert
/// again), or `escalate`.
#[utoipa::path(
    post, path = "/v1/alerts/{id}/disposition", tag = "screening",
    params(("id" = String, Path)),
    request_body = DispositionRequest,
    responses(
        (status = 200, body = AlertView),
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
pub async fn dispose_alert(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Auth(principal): Auth,
    Path(id): Path<String>,
    StrictJson(req): StrictJson<DispositionRequest>,
) -> Result<Json<AlertView>, ApiError> {
    let rid = ctx.request_id.clone();
    state.service.dispose_alert(&principal, &ctx, &id, req).await.map(Json).map_err(|e| ApiError::new(e, &rid))
}
