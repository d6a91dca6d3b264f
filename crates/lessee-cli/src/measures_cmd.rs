//! `lessee measures …` and `lessee exemptions …` (issue 7): thin over the service, as the API.

use std::sync::Arc;

use clap::Subcommand;
use lessee_service::measures::{AdpChange, ExtendRequest, RevokeRequest};
use lessee_service::{Principal, RequestContext, Service};
use serde_json::{Value, json};

use crate::exit::{self, Failure};
use crate::print_json;

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum MeasuresCmd {
    /// Add a measure: `--kind jurisdiction --target RU --effect prohibit --effective 2026-12-01
    /// --citation "…"`; a person: `--kind person --name "…" [--alias …] [--dob YYYY-MM-DD]
    /// [--identifier TYPE:COUNTRY:NUMBER]`; `--effect condition --condition no_gpu`. The scope is
    /// opening, maintaining, reseller accounts and on-behalf-of unless `--scope` lists it.
    Add {
        /// `jurisdiction` or `person`.
        #[arg(long)]
        kind: String,
        /// A country (`RU`), a subdivision (`UA-43`) or a named region (`crimea`, `dnr`, `lnr`).
        #[arg(long)]
        target: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long = "alias")]
        aliases: Vec<String>,
        #[arg(long)]
        dob: Option<String>,
        /// `TYPE:COUNTRY:NUMBER` (COUNTRY may be empty).
        #[arg(long = "identifier")]
        identifiers: Vec<String>,
        /// `prohibit` or `condition`.
        #[arg(long)]
        effect: String,
        /// Condition codes of a conditioning measure.
        #[arg(long = "condition")]
        conditions: Vec<String>,
        /// `opening`, `maintaining`, `reseller_accounts`, `on_behalf_of` (repeat).
        #[arg(long = "scope")]
        scope: Vec<String>,
        #[arg(long)]
        citation: String,
        /// Default: today.
        #[arg(long)]
        determination: Option<String>,
        #[arg(long)]
        effective: String,
        /// Default: 365 days after the effective date.
        #[arg(long)]
        expiry: Option<String>,
        /// The legal basis of a lead time shorter than 180 days.
        #[arg(long)]
        expedited: Option<String>,
        #[arg(long)]
        id: Option<String>,
    },
    /// List measures as JSON lines.
    List,
    /// A measure with its history.
    Show { id: String },
    /// Extend a measure's expiry.
    Extend {
        id: String,
        #[arg(long)]
        until: chrono::NaiveDate,
        #[arg(long)]
        citation: String,
    },
    /// Revoke a measure.
    Revoke {
        id: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
    /// The accounts a measure reaches (as recorded by the last re-evaluation).
    Impact { id: String },
    /// Re-evaluate existing accounts against changed measures now (`serve` does it on its own).
    Reevaluate,
}

#[derive(Subcommand)]
pub enum ExemptionsCmd {
    /// Record an exemption: `--scope provider|account_type:trial|lessee_type:entity|country:DE
    /// --reference "…" --effective D (--measure ID … | --requirement CODE … | --all) [--condition C …]`.
    Add {
        #[arg(long)]
        scope: String,
        #[arg(long)]
        reference: String,
        #[arg(long)]
        granted: Option<String>,
        #[arg(long)]
        effective: String,
        #[arg(long)]
        expiry: Option<String>,
        /// Measures it exempts from.
        #[arg(long = "measure")]
        measures: Vec<String>,
        /// CIP requirements it waives (`cip_verification`, `beneficial_owner_verification`,
        /// `reseller_cip`).
        #[arg(long = "requirement")]
        requirements: Vec<String>,
        /// Exempts from every measure and waives every CIP requirement (an ADP exemption of the
        /// whole program); said explicitly, never the default.
        #[arg(long, conflicts_with_all = ["measures", "requirements"])]
        all: bool,
        #[arg(long = "condition")]
        conditions: Vec<String>,
        #[arg(long)]
        id: Option<String>,
    },
    /// List exemptions as JSON lines.
    List,
    /// Revoke an exemption.
    Revoke {
        id: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
    /// Record a new version of the ADP description.
    Adp {
        #[arg(long)]
        program: Option<String>,
        #[arg(long)]
        effective: chrono::NaiveDate,
        #[arg(long)]
        text: String,
        #[arg(long)]
        reference: Option<String>,
    },
}

fn usage(msg: impl Into<String>) -> Failure {
    Failure::new(exit::USAGE, msg)
}

fn put(obj: &mut serde_json::Map<String, Value>, key: &str, v: &Option<String>) {
    if let Some(v) = v {
        obj.insert(key.into(), Value::String(v.clone()));
    }
}

fn target(
    kind: &str,
    target: &Option<String>,
    name: &Option<String>,
    aliases: &[String],
    dob: &Option<String>,
    ids: &[String],
) -> Result<Value, Failure> {
    match kind {
        "jurisdiction" => {
            let t = target.as_deref().ok_or_else(|| usage("--kind jurisdiction needs --target"))?;
            Ok(if t.contains('-') {
                json!({"subdivision": t})
            } else if t.len() == 2 && t.bytes().all(|b| b.is_ascii_alphabetic()) {
                json!({"country": t.to_ascii_uppercase()})
            } else {
                json!({"region": t})
            })
        }
        "person" => {
            let identifiers: Vec<Value> = ids
                .iter()
                .map(|s| {
                    let mut parts = s.splitn(3, ':');
                    let (t, c, n) = (parts.next(), parts.next(), parts.next());
                    match (t, c, n) {
                        (Some(t), Some(c), Some(n)) => {
                            let mut v = serde_json::Map::new();
                            v.insert("type".into(), json!(t));
                            v.insert("number".into(), json!(n));
                            if !c.is_empty() {
                                v.insert("country".into(), json!(c));
                            }
                            Ok(Value::Object(v))
                        }
                        _ => Err(usage(format!("--identifier is TYPE:COUNTRY:NUMBER, not `{s}`"))),
                    }
                })
                .collect::<Result<_, _>>()?;
            let mut v = serde_json::Map::new();
            v.insert("name".into(), json!(name.clone().unwrap_or_default()));
            v.insert("aliases".into(), json!(aliases));
            v.insert("identifiers".into(), json!(identifiers));
            put(&mut v, "date_of_birth", dob);
            Ok(Value::Object(v))
        }
        other => Err(usage(format!("--kind is jurisdiction or person, not `{other}`"))),
    }
}

pub async fn measures(service: Arc<Service>, cmd: &MeasuresCmd) -> Result<(), Failure> {
    let by = Principal::local_operator();
    let ctx = RequestContext::local();
    match cmd {
        MeasuresCmd::Add {
            kind,
            target: t,
            name,
            aliases,
            dob,
            identifiers,
            effect,
            conditions,
            scope,
            citation,
            determination,
            effective,
            expiry,
            expedited,
            id,
        } => {
            let effect = match effect.as_str() {
                "prohibit" => json!({"type": "prohibit"}),
                "condition" => json!({"type": "condition", "conditions": conditions}),
                other => return Err(usage(format!("--effect is prohibit or condition, not `{other}`"))),
            };
            let scope: Vec<String> = if scope.is_empty() {
                ["opening", "maintaining", "reseller_accounts", "on_behalf_of"].map(String::from).to_vec()
            } else {
                scope.clone()
            };
            let mut body = json!({
                "kind": kind, "target": target(kind, t, name, aliases, dob, identifiers)?, "effect": effect,
                "scope": scope, "citation": citation, "effective": effective,
            });
            if let Some(obj) = body.as_object_mut() {
                put(obj, "determination", determination);
                put(obj, "expiry", expiry);
                put(obj, "id", id);
                if let Some(e) = expedited {
                    obj.insert("expedited".into(), json!({"citation": e}));
                }
            }
            print_json(&service.add_measure(&by, &ctx, body).await?)
        }
        MeasuresCmd::List => {
            for m in service.list_measures(&by).await? {
                print_json(&m)?;
            }
            Ok(())
        }
        MeasuresCmd::Show { id } => print_json(&service.measure(&by, id).await?),
        MeasuresCmd::Extend { id, until, citation } => {
            let req = ExtendRequest { until: *until, citation: citation.clone() };
            print_json(&service.extend_measure(&by, &ctx, id, req).await?)
        }
        MeasuresCmd::Revoke { id, reason, date } => {
            let req = RevokeRequest { reason: reason.clone(), date: *date };
            print_json(&service.revoke_measure(&by, &ctx, id, req).await?)
        }
        MeasuresCmd::Impact { id } => print_json(&service.measure_impact(&by, &ctx, id).await?),
        MeasuresCmd::Reevaluate => print_json(&service.reevaluate_measures_for(&by, &ctx).await?),
    }
}

pub async fn exemptions(service: Arc<Service>, cmd: &ExemptionsCmd) -> Result<(), Failure> {
    let by = Principal::local_operator();
    let ctx = RequestContext::local();
    match cmd {
        ExemptionsCmd::Add {
            scope,
            reference,
            granted,
            effective,
            expiry,
            measures,
            requirements,
            all,
            conditions,
            id,
        } => {
            let scope = match scope.split_once(':') {
                None if scope == "provider" => json!({"type": "provider"}),
                Some((k @ ("account_type" | "lessee_type" | "country"), v)) => json!({"type": k, k: v}),
                _ => {
                    return Err(usage(
                        "--scope is provider, account_type:TYPE, lessee_type:individual|entity or country:CC",
                    ));
                }
            };
            let exempts_from = if *all {
                json!({"type": "all"})
            } else if measures.is_empty() && requirements.is_empty() {
                return Err(usage("say what the exemption exempts from: --measure ID, --requirement CODE or --all"));
            } else {
                json!({"type": "listed", "measures": measures, "requirements": requirements})
            };
            let mut body = json!({
                "scope": scope, "reference": reference, "effective": effective,
                "conditions": conditions, "exempts_from": exempts_from,
            });
            if let Some(obj) = body.as_object_mut() {
                put(obj, "granted", granted);
                put(obj, "expiry", expiry);
                put(obj, "id", id);
            }
            print_json(&service.add_exemption(&by, &ctx, body).await?)
        }
        ExemptionsCmd::List => {
            for x in service.list_exemptions(&by).await? {
                print_json(&x)?;
            }
            Ok(())
        }
        ExemptionsCmd::Revoke { id, reason, date } => {
            let req = RevokeRequest { reason: reason.clone(), date: *date };
            print_json(&service.revoke_exemption(&by, &ctx, id, req).await?)
        }
        ExemptionsCmd::Adp { program, effective, text, reference } => {
            let change = AdpChange {
                program: program.clone(),
                effective: *effective,
                text: text.clone(),
                reference: reference.clone(),
            };
            print_json(&service.record_adp(&by, &ctx, change).await?)
        }
    }
}

/// `serve`'s scheduler: enqueues a `measures.reevaluate` job (run by the job workers) when a
/// measure or an exemption changed (through any server or the CLI) or a date passed (a status
/// changed). Cheap when nothing changed: it reads the registry and compares each measure's
/// (version, status, exemptions) with the last evaluated one.
pub async fn schedule(service: Arc<Service>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
    loop {
        tick.tick().await;
        if let Err(e) = service.schedule_measures().await {
            tracing::error!(error = %e, "Could not check special measures for re-evaluation.");
        }
    }
}
