//! `policy test`: runs example applications through a policy and returns each decision. The
//! CLI wraps it as `lessee policy test FILE --cases DIR`.
//!
//! [`run_case`] is pure (text in, decision out); [`run_cases`] reads the `*.json` files of a
//! directory in name order and is the only function of this crate that does I/O.

use std::path::Path;

use chrono::{DateTime, Utc};
use lessee_domain::classify::{ClassificationConfig, classify};
use lessee_domain::{Application, FieldError, validate};
use serde::Serialize;

use crate::engine::{PolicyDecision, evaluate};
use crate::evidence::ExternalEvidence;
use crate::policy::Policy;

/// Largest case file read.
pub const MAX_CASE_BYTES: u64 = 1024 * 1024;

/// Why a case was not decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CaseError {
    #[error("cannot read the case: {message}")]
    Read { message: String },
    #[error("the case is not an application: {message}")]
    Parse { message: String },
    #[error("the application is invalid ({} problems)", errors.len())]
    Invalid { errors: Vec<FieldError> },
}

/// One case and its decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaseResult {
    /// The file name.
    pub case: String,
    pub result: Result<PolicyDecision, CaseError>,
}

/// Parses, validates, classifies and decides one application given as JSON text.
/// `evidence` supplies what comes from outside (geolocation, one-time codes, vendors).
pub fn run_case(
    policy: &Policy,
    json: &str,
    now: DateTime<Utc>,
    classification: &ClassificationConfig,
    evidence: &mut dyn FnMut(&Application) -> ExternalEvidence,
) -> Result<PolicyDecision, CaseError> {
    let app: Application = serde_json::from_str(json).map_err(|e| CaseError::Parse { message: e.to_string() })?;
    validate(&app, now).map_err(|errors| CaseError::Invalid { errors })?;
    let ext = evidence(&app);
    let class = classify(&app, ext.classification(), classification);
    Ok(evaluate(policy, &app, &class, &ext, now))
}

/// Runs every `*.json` file of `dir` (not recursive, name order) through [`run_case`].
pub fn run_cases(
    policy: &Policy,
    dir: &Path,
    now: DateTime<Utc>,
    classification: &ClassificationConfig,
    evidence: &mut dyn FnMut(&Application) -> ExternalEvidence,
) -> std::io::Result<Vec<CaseResult>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out = Vec::with_capacity(files.len());
    for path in files {
        let case = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let result = read_case(&path).and_then(|text| run_case(policy, &text, now, classification, evidence));
        out.push(CaseResult { case, result });
    }
    Ok(out)
}

fn read_case(path: &Path) -> Result<String, CaseError> {
    let len = std::fs::metadata(path).map_err(|e| CaseError::Read { message: e.to_string() })?.len();
    if len > MAX_CASE_BYTES {
        return Err(CaseError::Read { message: format!("{len} bytes; at most {MAX_CASE_BYTES} are read") });
    }
    std::fs::read_to_string(path).map_err(|e| CaseError::Read { message: e.to_string() })
}
