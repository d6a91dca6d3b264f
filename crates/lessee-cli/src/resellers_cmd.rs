//! `lessee resellers …` (issue 7): the reseller register from the command line, thin over the
//! service as the `/v1/resellers` routes are. Every change is audited as the local operator.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use lessee_service::resellers::{
    ActivityReport, Attestation, CipBasis, CipDocumentRequest, NonComplianceRequest, OutcomeRequest, ResellerLocation,
    ResellerRegistration,
};
use lessee_service::{Principal, RequestContext, Service};

use crate::exit::{self, Failure};
use crate::print_json;

#[derive(Clone, Copy, ValueEnum)]
pub enum Location {
    Domestic,
    Foreign,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Basis {
    /// The reseller adopts the provider's CIP by agreement (give `--agreement-signed`).
    AdoptsProviderCip,
    /// The reseller keeps its own CIP (file it with `lessee resellers cip`).
    OwnCip,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Ending {
    Terminated,
    Remediated,
}

#[derive(Subcommand)]
pub enum ResellersCmd {
    /// Register a reseller account (an account opened with `account_type` reseller), or update
    /// its location and CIP basis.
    Register {
        /// The reseller's account id.
        id: String,
        #[arg(long, value_enum)]
        location: Location,
        #[arg(long, value_enum)]
        cip_basis: Basis,
        /// Date of the agreement by which the reseller adopts the provider's CIP.
        #[arg(long)]
        agreement_signed: Option<chrono::NaiveDate>,
    },
    /// List registered resellers as JSON lines.
    List,
    /// One reseller, with its CIP documents, attestations and any non-compliance finding.
    Show { id: String },
    /// File a new version of the reseller's own CIP (a text file; its SHA-256 is recorded).
    Cip {
        id: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// Record an annual attestation; the next is due a year later.
    Attest {
        id: String,
        #[arg(long)]
        date: chrono::NaiveDate,
        #[arg(long)]
        reference: String,
    },
    /// Mark a foreign reseller non-compliant: the relationship must end within 30 days
    /// (reminders on days 7, 14, 21, 28 and 30).
    NonCompliant {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Record how an open non-compliance finding ended.
    Outcome {
        id: String,
        #[arg(long, value_enum)]
        outcome: Ending,
    },
    /// Attach a suspected-malicious-activity report by reference and SHA-256.
    Report {
        id: String,
        #[arg(long)]
        reference: String,
        #[arg(long)]
        sha256: String,
        #[arg(long)]
        filed: Option<chrono::NaiveDate>,
    },
    /// Create a `reseller` token bound to the reseller's account (printed once).
    Token {
        id: String,
        #[arg(long)]
        name: String,
    },
    /// The reseller's registered sub-lessees (account views, no personal data) as JSON lines.
    SubLessees { id: String },
}

/// Largest CIP document read from a file (the API's limit).
const MAX_CIP_BYTES: u64 = 1_000_000;

pub async fn resellers(service: &Service, cmd: &ResellersCmd) -> Result<(), Failure> {
    let by = Principal::local_operator();
    let ctx = RequestContext::local();
    match cmd {
        ResellersCmd::Register { id, location, cip_basis, agreement_signed } => {
            let reg = ResellerRegistration {
                location: match location {
                    Location::Domestic => ResellerLocation::Domestic,
                    Location::Foreign => ResellerLocation::Foreign,
                },
                cip_basis: match cip_basis {
                    Basis::AdoptsProviderCip => CipBasis::AdoptsProviderCip,
                    Basis::OwnCip => CipBasis::OwnCip,
                },
                agreement_signed: *agreement_signed,
            };
            print_json(&service.register_reseller(&by, &ctx, id, reg).await?)
        }
        ResellersCmd::List => {
            for r in service.list_resellers(&by).await? {
                print_json(&r)?;
            }
            Ok(())
        }
        ResellersCmd::Show { id } => print_json(&service.reseller(&by, id).await?),
        ResellersCmd::Cip { id, file } => {
            let size = std::fs::metadata(file)
                .map_err(|e| Failure::new(exit::NO_INPUT, format!("cannot read {}: {e}", file.display())))?
                .len();
            if size > MAX_CIP_BYTES {
                return Err(Failure::new(
                    exit::NO_INPUT,
                    format!("{} is {size} bytes; a CIP document is at most {MAX_CIP_BYTES}", file.display()),
                ));
            }
            let text = std::fs::read_to_string(file).map_err(|e| {
                Failure::new(exit::NO_INPUT, format!("cannot read {} as UTF-8 text: {e}", file.display()))
            })?;
            print_json(&service.file_cip_document(&by, &ctx, id, CipDocumentRequest { text }).await?)
        }
        ResellersCmd::Attest { id, date, reference } => {
            let a = Attestation { date: *date, reference: reference.clone() };
            print_json(&service.attest_reseller(&by, &ctx, id, a).await?)
        }
        ResellersCmd::NonCompliant { id, reason } => {
            let req = NonComplianceRequest { reason: reason.clone() };
            print_json(&service.mark_reseller_non_compliant(&by, &ctx, id, req).await?)
        }
        ResellersCmd::Outcome { id, outcome } => {
            let outcome = match outcome {
                Ending::Terminated => "terminated",
                Ending::Remediated => "remediated",
            };
            print_json(
                &service.record_reseller_outcome(&by, &ctx, id, OutcomeRequest { outcome: outcome.into() }).await?,
            )
        }
        ResellersCmd::Report { id, reference, sha256, filed } => {
            let report = ActivityReport { reference: reference.clone(), sha256: sha256.clone(), filed: *filed };
            print_json(&service.attach_activity_report(&by, &ctx, id, report).await?)
        }
        ResellersCmd::Token { id, name } => {
            // The token's plaintext is shown this once (stdout, never a log).
            let t = service.create_reseller_token(&by, &ctx, id, name).await?;
            print_json(&serde_json::json!({"id": t.id, "token": t.token, "role": "reseller", "reseller": id}))
        }
        ResellersCmd::SubLessees { id } => {
            for a in service.list_reseller_sub_lessees(&by, id).await? {
                print_json(&a)?;
            }
            Ok(())
        }
    }
}
