//! The OpenAPI 3.1 document, generated from the handlers and types.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::problem::Problem;
use crate::v1;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "lessee",
        description = "Know-your-customer for US IaaS providers under Executive Order 13984: open accounts, classify US and foreign persons, decide. Errors are RFC 9457 `application/problem+json` with a stable `code`.",
        license(name = "Apache-2.0")
    ),
    paths(
        v1::open_account, v1::get_account, v1::list_accounts, v1::account_decisions,
        v1::get_application, v1::list_reviews, v1::open_review, v1::claim_review, v1::decide_review, v1::second_review, v1::vendor_webhook, v1::start_verification, v1::confirm_verification, v1::resubmit_application, v1::search_accounts, v1::audit_checkpoint, v1::audit_export,
        v1::ingest_events, v1::account_events, v1::events_by_ip, v1::inclusion_proof, v1::consistency_proof,
        v1::close_account, v1::legal_export, v1::get_policy, v1::policy_history, v1::set_policy, v1::export_cip, v1::place_hold, v1::list_holds, v1::release_hold,
        crate::screening::list_versions, crate::screening::screen, crate::screening::account_alerts, crate::screening::list_alerts, crate::screening::dispose_alert,
        crate::v1_measures::add_measure, crate::v1_measures::list_measures, crate::v1_measures::get_measure, crate::v1_measures::extend_measure, crate::v1_measures::revoke_measure, crate::v1_measures::measure_impact, crate::v1_measures::reevaluate_measures, crate::v1_measures::add_exemption, crate::v1_measures::list_exemptions, crate::v1_measures::revoke_exemption, crate::v1_measures::get_adp, crate::v1_measures::record_adp, crate::v1_measures::list_resellers, crate::v1_measures::get_reseller, crate::v1_measures::register_reseller, crate::v1_measures::file_cip_document, crate::v1_measures::attest_reseller, crate::v1_measures::mark_non_compliant, crate::v1_measures::record_outcome, crate::v1_measures::attach_report, crate::v1_measures::create_reseller_token, crate::v1_measures::register_sub_lessee, crate::v1_measures::list_sub_lessees, crate::v1_measures::get_sub_lessee, crate::v1_measures::update_sub_lessee,
        crate::healthz, crate::readyz, crate::metrics_text, serve
    ),
    components(schemas(Problem, lessee_domain::validate::FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "accounts", description = "Account opening, classification and decisions"),
        (name = "records", description = "Personal data (purpose-bound, audited) and the tamper-evident audit log"),
        (name = "review", description = "The review queue: claim, decide, four eyes for a deny or an override"),
        (name = "policy", description = "The verification policy (the written CIP), its versions and the CIP copy"),
        (name = "screening", description = "Government lists, screening, alerts and their dispositions"),
        (name = "measures", description = "Special measures (EO 13984 § 2(d)), exemptions and the ADP description (§ 1(c)), impact reports"),
        (name = "operations", description = "Health, readiness, metrics, this document")
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
