//! lessee's HTTP API. Thin: handlers parse, call one service function, map the result; errors
//! are RFC 9457 problems whose status comes from the one table in [`problem`].
#![forbid(unsafe_code)]

pub mod extract;
pub mod openapi;
pub mod problem;
pub mod screening;
pub mod v1;
pub mod v1_measures;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use lessee_service::{Error, ErrorCode, Service};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::extract::RequestId;
use crate::problem::ApiError;

/// Settings of the HTTP edge.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest batch of access events accepted, in bytes.
    pub max_batch_bytes: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig { max_body_bytes: 4 * 1024 * 1024, max_batch_bytes: 64 * 1024 * 1024 }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub service: Arc<Service>,
    pub config: Arc<ApiConfig>,
    metrics: PrometheusHandle,
}

/// The process-wide Prometheus recorder (a process has one metrics recorder).
fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed; the handle then renders nothing
            // of ours, which is visible in /metrics rather than a crash.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

impl AppState {
    pub fn new(service: Arc<Service>, config: ApiConfig) -> Self {
        AppState { service, config: Arc::new(config), metrics: prometheus() }
    }
}

/// Serves the router with the client's address available to handlers (for audit records).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// The whole router.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// The whole router with `extra` routes beside the product's, behind the same middleware
/// (request id, metrics, log line, headers, body limit): benchmarks compare their routes with
/// the product's on the same request path.
pub fn router_with(state: AppState, extra: Router<AppState>) -> Router {
    let v1 = Router::new()
        .route("/v1/accounts", get(v1::list_accounts).post(v1::open_account))
        .route("/v1/accounts/{id}", get(v1::get_account))
        .route("/v1/accounts/{id}/decisions", get(v1::account_decisions))
        .route("/v1/accounts/{id}/application", get(v1::get_application).put(v1::resubmit_application))
        .route("/v1/accounts/{id}/verifications/{channel}", axum::routing::post(v1::start_verification))
        .route("/v1/accounts/{id}/verifications/{channel}/confirm", axum::routing::post(v1::confirm_verification))
        .route("/v1/webhooks/vendors/{vendor}", axum::routing::post(v1::vendor_webhook))
        .route("/v1/reviews", get(v1::list_reviews))
        .route("/v1/lists", get(screening::list_versions))
        .route("/v1/screen", axum::routing::post(screening::screen))
        .route("/v1/accounts/{id}/alerts", get(screening::account_alerts))
        .route("/v1/alerts", get(screening::list_alerts))
        .route("/v1/alerts/{id}/disposition", axum::routing::post(screening::dispose_alert))
        .route("/v1/accounts/{id}/reviews", axum::routing::post(v1::open_review))
        .route("/v1/reviews/{id}/claim", axum::routing::post(v1::claim_review))
        .route("/v1/reviews/{id}/decision", axum::routing::post(v1::decide_review))
        .route("/v1/reviews/{id}/second", axum::routing::post(v1::second_review))
        .route("/v1/accounts/search", axum::routing::post(v1::search_accounts))
        .route("/v1/audit/checkpoints", axum::routing::post(v1::audit_checkpoint))
        .route("/v1/audit/export", get(v1::audit_export))
        .route("/v1/accounts/{id}/close", axum::routing::post(v1::close_account))
        .route("/v1/exports", axum::routing::post(v1::legal_export))
        .route("/v1/exports/cip", axum::routing::post(v1::export_cip))
        .route("/v1/policy", get(v1::get_policy).post(v1::set_policy))
        .route("/v1/policy/history", get(v1::policy_history))
        .route("/v1/legal-holds", get(v1::list_holds).post(v1::place_hold))
        .route("/v1/legal-holds/{id}/release", axum::routing::post(v1::release_hold))
        .route("/v1/audit/proofs/inclusion", get(v1::inclusion_proof))
        .route("/v1/audit/proofs/consistency", get(v1::consistency_proof))
        .route(
            "/v1/access-events",
            get(v1::events_by_ip)
                .post(v1::ingest_events)
                .layer(DefaultBodyLimit::max(state.config.max_batch_bytes.max(state.config.max_body_bytes))),
        )
        .route("/v1/accounts/{id}/access-events", get(v1::account_events))
        .merge(v1_measures::routes());
    Router::new()
        .merge(v1)
        .merge(extra)
        .route("/openapi.json", get(openapi::serve))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(middleware::from_fn(observe))
        .with_state(state)
}

/// Assigns the request id, records metrics and a log line per request (method, route
/// template, status, time; never bodies, query strings or headers), sets safe headers.
async fn observe(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let rid = RequestId::from_header(req.headers().get("x-request-id").and_then(|v| v.to_str().ok()));
    req.extensions_mut().insert(rid.clone());
    let method = req.method().as_str().to_owned();
    let route =
        req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_else(|| "unmatched".to_owned());
    let mut resp = next.run(req).await;
    let status = resp.status().as_u16();
    let elapsed = started.elapsed();
    metrics::counter!("lessee_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.to_string()).increment(1);
    metrics::histogram!("lessee_http_request_duration_seconds", "method" => method.clone(), "route" => route.clone())
        .record(elapsed.as_secs_f64());
    tracing::debug!(request_id = %rid.0, %method, %route, status, elapsed_ms = elapsed.as_secs_f64() * 1000.0, "Request handled.");
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&rid.0) {
        h.insert("x-request-id", v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    resp
}

async fn not_found(RequestId(rid): RequestId) -> ApiError {
    ApiError::new(Error::new(ErrorCode::NotFound, "no such route; see /openapi.json"), &rid)
}

async fn method_not_allowed(RequestId(rid): RequestId) -> ApiError {
    ApiError::new(
        Error::new(ErrorCode::MethodNotAllowed, "this route does not take that method; see /openapi.json"),
        &rid,
    )
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Alive", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "Ready", body = String),
    (status = 503, body = problem::Problem, content_type = "application/problem+json"),
))]
pub async fn readyz(State(state): State<AppState>, RequestId(rid): RequestId) -> Result<&'static str, ApiError> {
    state.service.ready().await.map(|_| "ready").map_err(|e| {
        let cause = e.internal.clone().unwrap_or_else(|| e.detail.clone());
        ApiError::new(
            Error { internal: Some(cause), ..Error::new(ErrorCode::Unavailable, "the database is not reachable") },
            &rid,
        )
    })
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", body = String)))]
pub async fn metrics_text(State(state): State<AppState>) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}
