//! The decision: risk tier, verification of each foreign subject, location consistency,
//! reseller terms and exemptions, combined into one outcome with reasons and conditions.
//!
//! The outcome is the most severe one any rule asks for (approve < approve_with_conditions <
//! manual_review < deny); with no rule asking for anything, the application is approved.
//! Conditions are kept when the outcome is approve_with_conditions. Pure: `now` is passed in
//! and every outside fact comes in [`ExternalEvidence`].

use std::cell::OnceCell;
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use lessee_domain::Country;
use lessee_domain::application::{AccountType, Application, Customer, PaymentMethod};
use lessee_domain::classify::{
    AccountClassification, Basis, Conflict, EvidenceKind as ClassifyKind, PersonStatus, Rule,
};
use lessee_domain::decision::{Condition, Decision, Evidence, Outcome, Reason};
use serde::Serialize;

use crate::codes;
use crate::codes::requirements;
use crate::documents::{self, DocumentCheck};
use crate::evidence::{EvidenceKind, EvidenceRef, EvidenceState, ExternalEvidence, Finding, Severity, Subject};
use crate::expr::{Atom, Expr, Level};
use crate::location::{self, Category, Observation};
use crate::payment::{self, PaymentCheck};
use crate::phone::{self, PhoneCheck};
use crate::policy::{ExemptionEffect, OutcomeRule, Policy, Tier};

/// What lifts a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LiftedBy {
    /// The pending verification completes (the account is decided again and approved).
    Verification,
    /// A reviewer decides.
    Review,
}

/// A condition imposed on an approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AppliedCondition {
    pub id: String,
    pub description: String,
    pub params: BTreeMap<String, i64>,
    pub lifted_by: LiftedBy,
    /// The code of the reason that imposed it.
    pub imposed_by: &'static str,
    pub subject: String,
}

/// One contribution to the risk score.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RiskFactor {
    /// `account_type:trial`, `opening_method:self_service`, `product:gpu`, `foreign_reseller`,
    /// `jurisdiction:LIST`.
    pub factor: String,
    pub points: u32,
    /// JSON pointer (or `external:...`) of what triggered it.
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
}

/// The engine's full answer: the domain [`Decision`] (outcome, reasons, policy version) and what
/// the domain type has no room for yet: the evidence behind each reason, the conditions, the
/// tier and the risk factors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyDecision {
    pub decision: Decision,
    /// `evidence[i]` is the evidence behind `decision.reasons[i]`.
    pub evidence: Vec<Vec<EvidenceRef>>,
    pub conditions: Vec<AppliedCondition>,
    pub tier: String,
    pub risk_score: u32,
    pub risk_factors: Vec<RiskFactor>,
    /// Ids of the exemptions granted by Commerce ([`ExternalEvidence::granted_exemptions`])
    /// that waived a requirement in this decision.
    pub exemptions_used: Vec<String>,
}

impl PolicyDecision {
    pub fn outcome(&self) -> Outcome {
        self.decision.outcome
    }

    /// Each reason with its evidence.
    pub fn reasons(&self) -> impl Iterator<Item = (&Reason, &[EvidenceRef])> {
        self.decision.reasons.iter().enumerate().map(|(i, r)| (r, self.evidence.get(i).map_or(&[][..], Vec::as_slice)))
    }

    /// The reason codes, in order.
    pub fn codes(&self) -> Vec<&str> {
        self.decision.reasons.iter().map(|r| r.code.as_str()).collect()
    }

    pub fn has(&self, code: &str) -> bool {
        self.decision.reasons.iter().any(|r| r.code == code)
    }

    /// The decision as it is stored and shown: each reason with its evidence, the conditions,
    /// the tier and the risk score.
    pub fn to_decision(&self) -> Decision {
        fn word<T: Serialize>(v: &T) -> String {
            serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
        }
        let mut d = self.decision.clone();
        for (i, r) in d.reasons.iter_mut().enumerate() {
            r.evidence = self
                .evidence
                .get(i)
                .map(|refs| {
                    refs.iter()
                        .map(|e| Evidence {
                            kind: word(&e.kind),
                            source: e.source.clone(),
                            state: e.state.map(|s| word(&s)),
                            country: e.country,
                            detail: e.detail.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default();
        }
        d.conditions = self
            .conditions
            .iter()
            .map(|c| Condition {
                id: c.id.clone(),
                description: c.description.clone(),
                params: c.params.clone(),
                lifted_by: word(&c.lifted_by),
                imposed_by: c.imposed_by.to_owned(),
                subject: c.subject.clone(),
            })
            .collect();
        d.tier = Some(self.tier.clone());
        d.risk_score = Some(self.risk_score);
        d
    }
}

/// Decides an application: the domain decision only. See [`evaluate`].
pub fn decide(
    policy: &Policy,
    app: &Application,
    classification: &AccountClassification,
    external: &ExternalEvidence,
    now: DateTime<Utc>,
) -> Decision {
    evaluate(policy, app, classification, external, now).decision
}

/// Decides an application under a policy, with everything behind the decision.
pub fn evaluate(
    policy: &Policy,
    app: &Application,
    classification: &AccountClassification,
    external: &ExternalEvidence,
    now: DateTime<Utc>,
) -> PolicyDecision {
    let ctx = Ctx {
        policy,
        app,
        class: classification,
        ext: external,
        today: now.date_naive(),
        phone: OnceCell::new(),
        payment: OnceCell::new(),
        documents: OnceCell::new(),
    };
    let mut out = Out::default();

    let (score, factors) = ctx.risk();
    let tier = policy.tier_for(score).or(policy.tiers.first());
    let tier_name = tier.map(|t| t.name.clone()).unwrap_or_default();
    let mut message = format!("risk tier `{tier_name}` (score {score}");
    let mut factor_evidence = Vec::with_capacity(factors.len());
    for f in &factors {
        let detail = format!("{} +{}", f.factor, f.points);
        message.push_str(", ");
        message.push_str(&detail);
        factor_evidence
            .push(EvidenceRef::new(EvidenceKind::RiskFactor, f.source.clone()).country(f.country).detail(detail));
    }
    message.push(')');
    out.reason(codes::RISK_TIER, message, "customer".into(), factor_evidence);

    // Exemptions: those the policy defines and the caller says apply, and those Commerce granted
    // (the registry) that are in force for this application. `waiver` says what each waives,
    // naming the first exemption that waives it.
    let mut waiver = Waiver::default();
    for id in &external.exemptions {
        let ev = vec![EvidenceRef::new(EvidenceKind::Exemption, format!("external:exemption:{id}"))];
        match policy.exemptions.get(id) {
            Some(e) => {
                if e.effect == ExemptionEffect::WaiveVerification {
                    waiver.verification.get_or_insert_with(|| By::policy(id));
                }
                out.reason(
                    codes::EXEMPTION_APPLIED,
                    format!("exemption `{id}` applies: {}", e.description),
                    "customer".into(),
                    ev,
                );
            }
            None => out.reason(
                codes::EXEMPTION_UNKNOWN,
                format!("exemption `{id}` is not defined by policy {}; ignored", policy.name),
                "customer".into(),
                ev,
            ),
        }
    }
    for (i, g) in external.granted_exemptions.iter().enumerate() {
        if g.waives(requirements::CIP_VERIFICATION) {
            waiver.verification.get_or_insert_with(|| By::granted(i, g));
        }
        if g.waives(requirements::BENEFICIAL_OWNER_VERIFICATION) {
            waiver.owners.get_or_insert_with(|| By::granted(i, g));
        }
        if g.waives(requirements::RESELLER_CIP) {
            waiver.reseller_cip.get_or_insert_with(|| By::granted(i, g));
        }
    }
    let mut used: BTreeMap<usize, Vec<&'static str>> = BTreeMap::new();

    // The customer.
    conflicts(&mut out, "customer", &classification.conflicts);
    match classification.status {
        PersonStatus::UsPerson => us_person(&mut out, Subject::Customer, &classification.basis),
        PersonStatus::ForeignPerson => {
            let expr = tier.map(|t| match app.customer {
                Customer::Individual(_) => &t.individual,
                Customer::Entity(_) => &t.entity,
            });
            match &waiver.verification {
                Some(by) => {
                    if ctx.waive(&mut out, Subject::Customer, expr.zip(tier), &by.label) {
                        by.note(&mut used, requirements::CIP_VERIFICATION);
                    }
                }
                None => {
                    if let (Some(t), Some(expr)) = (tier, expr) {
                        ctx.verify(&mut out, Subject::Customer, expr, t);
                    }
                }
            }
        }
    }

    // Beneficial owners.
    for bo in &classification.beneficial_owners {
        let subject = Subject::BeneficialOwner(bo.index);
        let label = subject.to_string();
        conflicts(&mut out, &label, &bo.conflicts);
        match bo.status {
            PersonStatus::UsPerson => us_person(&mut out, subject, &bo.basis),
            PersonStatus::ForeignPerson => {
                let by = waiver
                    .verification
                    .as_ref()
                    .map(|b| (b, requirements::CIP_VERIFICATION))
                    .or(waiver.owners.as_ref().map(|b| (b, requirements::BENEFICIAL_OWNER_VERIFICATION)));
                let owner_tier = tier.map(|t| (&t.beneficial_owner, t));
                match by {
                    Some((by, requirement)) => {
                        if ctx.waive(&mut out, subject, owner_tier, &by.label) {
                            by.note(&mut used, requirement);
                        }
                    }
                    None => {
                        if let Some(t) = tier {
                            ctx.verify(&mut out, subject, &t.beneficial_owner, t);
                        }
                    }
                }
            }
        }
    }

    ctx.location(&mut out);
    if ctx.reseller(&mut out, waiver.reseller_cip.as_ref().map(|b| b.label.as_str()))
        && let Some(by) = &waiver.reseller_cip
    {
        by.note(&mut used, requirements::RESELLER_CIP);
    }
    // Each exemption granted by Commerce that changed this decision, and what it waived.
    let mut exemptions_used = Vec::with_capacity(used.len());
    for (i, waived) in &used {
        let Some(g) = external.granted_exemptions.get(*i) else { continue };
        let mut waived = waived.clone();
        waived.dedup();
        out.reason(
            codes::EXEMPTION_APPLIED,
            format!("{} granted by Commerce applies: it waives {}", g.label(), waived.join(", ")),
            "customer".into(),
            vec![EvidenceRef::new(EvidenceKind::Exemption, format!("registry:exemption:{}", g.id))],
        );
        exemptions_used.push(g.id.clone());
    }
    ctx.screening(&mut out);

    let outcome = out.outcome;
    let mut conditions = Vec::new();
    if outcome == Outcome::ApproveWithConditions {
        for c in out.conditions {
            if !conditions.iter().any(|x: &AppliedCondition| x.id == c.id) {
                conditions.push(c);
            }
        }
    }
    PolicyDecision {
        decision: Decision::new(outcome, out.reasons, policy.id().to_owned(), now),
        evidence: out.evidence,
        conditions,
        tier: tier_name,
        risk_score: score,
        risk_factors: factors,
        exemptions_used,
    }
}

fn severity_rank(o: Outcome) -> u8 {
    match o {
        Outcome::Approve => 0,
        Outcome::ApproveWithConditions => 1,
        Outcome::ManualReview => 2,
        Outcome::Deny => 3,
    }
}

struct Out {
    reasons: Vec<Reason>,
    evidence: Vec<Vec<EvidenceRef>>,
    outcome: Outcome,
    conditions: Vec<AppliedCondition>,
}

impl Default for Out {
    fn default() -> Self {
        Out { reasons: Vec::new(), evidence: Vec::new(), outcome: Outcome::Approve, conditions: Vec::new() }
    }
}

impl Out {
    fn reason(&mut self, code: &str, message: String, subject: String, evidence: Vec<EvidenceRef>) {
        self.reasons.push(Reason::new(code, message, subject));
        self.evidence.push(evidence);
    }

    fn raise(&mut self, o: Outcome) {
        if severity_rank(o) > severity_rank(self.outcome) {
            self.outcome = o;
        }
    }

    fn apply(&mut self, policy: &Policy, rule: &OutcomeRule, lifted_by: LiftedBy, code: &'static str, subject: &str) {
        self.raise(rule.outcome);
        for id in &rule.conditions {
            if let Some(def) = policy.conditions.get(id) {
                self.conditions.push(AppliedCondition {
                    id: id.clone(),
                    description: def.description.clone(),
                    params: def.params.clone(),
                    lifted_by,
                    imposed_by: code,
                    subject: subject.to_owned(),
                });
            }
        }
    }

    /// Takes in everything another `Out` gathered.
    fn absorb(&mut self, other: Out) {
        self.reasons.extend(other.reasons);
        self.evidence.extend(other.evidence);
        self.conditions.extend(other.conditions);
        self.raise(other.outcome);
    }

    fn finding(&mut self, f: &Finding, subject: &str) {
        self.reason(f.code, f.message.clone(), subject.to_owned(), vec![f.evidence.clone()]);
        if f.severity == Severity::Review {
            self.raise(Outcome::ManualReview);
        }
    }
}

fn conflicts(out: &mut Out, subject: &str, conflicts: &[Conflict]) {
    for c in conflicts {
        out.reason(
            &c.code,
            c.message.clone(),
            subject.to_owned(),
            c.evidence
                .iter()
                .map(|e| {
                    EvidenceRef::new(EvidenceKind::Classification, e.source.clone())
                        .country(Some(e.country))
                        .detail(classify_kind_name(e.kind))
                })
                .collect(),
        );
    }
}

fn rule_name(r: Rule) -> &'static str {
    match r {
        Rule::UsCitizen => "us_citizen",
        Rule::UsPermanentResident => "us_permanent_resident",
        Rule::OrganizedInUs => "organized_in_us",
        Rule::LocatedInUs => "located_in_us",
        Rule::NoUsNexus => "no_us_nexus",
    }
}

fn classify_kind_name(k: ClassifyKind) -> &'static str {
    match k {
        ClassifyKind::Citizenship => "citizenship",
        ClassifyKind::PermanentResidence => "permanent_residence",
        ClassifyKind::PlaceOfOrganization => "place_of_organization",
        ClassifyKind::RegistrationCountry => "registration_country",
        ClassifyKind::AddressCountry => "address_country",
        ClassifyKind::IpGeolocation => "ip_geolocation",
    }
}

fn method_name(m: PaymentMethod) -> &'static str {
    match m {
        PaymentMethod::Card => "card",
        PaymentMethod::BankTransfer => "bank_transfer",
        PaymentMethod::Crypto => "crypto",
        PaymentMethod::Invoice => "invoice",
        PaymentMethod::Marketplace => "marketplace",
    }
}

fn us_person(out: &mut Out, subject: Subject, basis: &Basis) {
    let who = match subject {
        Subject::Customer => "the customer is".to_owned(),
        Subject::BeneficialOwner(n) => format!("beneficial owner {n} is"),
    };
    out.reason(
        codes::US_PERSON_NO_CIP_REQUIRED,
        format!("{who} a United States person ({}); no CIP verification is required", rule_name(basis.rule)),
        subject.to_string(),
        basis
            .evidence
            .iter()
            .map(|e| EvidenceRef::new(EvidenceKind::Classification, e.source.clone()).country(Some(e.country)))
            .collect(),
    );
}

/// What the exemptions in force waive, each naming the exemption that waives it.
#[derive(Default)]
struct Waiver {
    /// CIP verification of foreign subjects (customer and owners).
    verification: Option<By>,
    /// CIP verification of foreign beneficial owners only.
    owners: Option<By>,
    /// The foreign reseller's CIP requirement.
    reseller_cip: Option<By>,
}

/// The exemption behind a waiver: its label in reasons, and its index among the granted ones.
struct By {
    label: String,
    granted: Option<usize>,
}

impl By {
    fn policy(id: &str) -> Self {
        By { label: format!("exemption `{id}`"), granted: None }
    }

    fn granted(i: usize, g: &crate::evidence::GrantedExemption) -> Self {
        By { label: g.label(), granted: Some(i) }
    }

    /// Records that a granted exemption waived `requirement` in this decision.
    fn note(&self, used: &mut BTreeMap<usize, Vec<&'static str>>, requirement: &'static str) {
        if let Some(i) = self.granted {
            used.entry(i).or_default().push(requirement);
        }
    }
}

struct Ctx<'a> {
    policy: &'a Policy,
    app: &'a Application,
    class: &'a AccountClassification,
    ext: &'a ExternalEvidence,
    today: NaiveDate,
    phone: OnceCell<Option<PhoneCheck>>,
    payment: OnceCell<PaymentCheck>,
    documents: OnceCell<Vec<DocumentCheck>>,
}

impl Ctx<'_> {
    fn customer_phone(&self) -> Option<&str> {
        match &self.app.customer {
            Customer::Individual(i) => i.phone.as_deref(),
            Customer::Entity(e) => e.phone.as_deref(),
        }
    }

    fn phone(&self) -> Option<&PhoneCheck> {
        self.phone.get_or_init(|| self.customer_phone().map(phone::check_phone)).as_ref()
    }

    fn payment(&self) -> &PaymentCheck {
        self.payment.get_or_init(|| payment::check_payment(self.app.payment.as_ref()))
    }

    fn documents(&self) -> &[DocumentCheck] {
        self.documents.get_or_init(|| {
            self.app
                .documents
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    documents::check_document(self.app, i, d, self.today, self.policy.name_transliteration_variant)
                })
                .collect()
        })
    }

    fn documents_of(&self, subject: Subject) -> impl Iterator<Item = &DocumentCheck> {
        self.documents().iter().filter(move |d| d.subject == subject)
    }

    /// The state of one atom for a subject, with its evidence and any findings to report.
    fn atom(&self, subject: Subject, atom: Atom) -> (EvidenceState, Vec<EvidenceRef>, Vec<Finding>) {
        let customer = subject == Subject::Customer;
        match atom {
            Atom::Document => {
                let docs: Vec<&DocumentCheck> = self.documents_of(subject).collect();
                let state = if docs.iter().any(|d| d.state == EvidenceState::Confirmed) {
                    EvidenceState::Confirmed
                } else if docs.iter().any(|d| d.state == EvidenceState::Failed) {
                    EvidenceState::Failed
                } else {
                    EvidenceState::NotStarted
                };
                let ev = if docs.is_empty() {
                    vec![EvidenceRef::new(EvidenceKind::Document, "/documents").state(state)]
                } else {
                    docs.iter()
                        .map(|d| {
                            let mut e = EvidenceRef::new(EvidenceKind::Document, format!("/documents/{}", d.index))
                                .state(d.state)
                                .country(d.issuing_country);
                            if let Some(f) = d.format {
                                e = e.detail(f.as_str());
                            }
                            e
                        })
                        .collect()
                };
                let findings = docs.iter().flat_map(|d| d.findings.iter().cloned()).collect();
                (state, ev, findings)
            }
            Atom::Email => {
                let state = if customer { self.ext.email } else { EvidenceState::NotStarted };
                (state, vec![EvidenceRef::new(EvidenceKind::Email, "external:email").state(state)], Vec::new())
            }
            Atom::Phone => {
                if !customer {
                    return (EvidenceState::NotStarted, Vec::new(), Vec::new());
                }
                let pointer = "/customer/phone";
                match self.phone() {
                    None => {
                        let ev = EvidenceRef::new(EvidenceKind::Phone, pointer).state(EvidenceState::NotStarted);
                        let f = Finding {
                            code: codes::PHONE_MISSING,
                            severity: Severity::Info,
                            message: "no phone number is given".into(),
                            evidence: ev.clone(),
                        };
                        (EvidenceState::NotStarted, vec![ev], vec![f])
                    }
                    Some(p) if !p.valid => {
                        let ev = EvidenceRef::new(EvidenceKind::Phone, pointer)
                            .state(EvidenceState::Failed)
                            .country(p.country);
                        let f = Finding {
                            code: codes::PHONE_INVALID,
                            severity: Severity::Fail,
                            message: "the phone number is not a valid number (libphonenumber metadata)".into(),
                            evidence: ev.clone(),
                        };
                        (EvidenceState::Failed, vec![ev], vec![f])
                    }
                    Some(p) => {
                        let state = self.ext.phone;
                        let mut ev = EvidenceRef::new(EvidenceKind::Phone, pointer).state(state).country(p.country);
                        if let Some(t) = p.line_type {
                            ev = ev.detail(t.as_str());
                        }
                        (state, vec![ev], Vec::new())
                    }
                }
            }
            Atom::Payment => {
                if !customer {
                    return (EvidenceState::NotStarted, Vec::new(), Vec::new());
                }
                let p = self.payment();
                let mut findings = p.findings.clone();
                let counts = p.method.is_some_and(|m| self.policy.payment_evidence_methods.contains(&m));
                let mut state = p.state;
                if !counts && state == EvidenceState::Confirmed {
                    state = EvidenceState::NotStarted;
                    findings.push(Finding {
                        code: codes::PAYMENT_METHOD_NOT_EVIDENCE,
                        severity: Severity::Info,
                        message: "the payment instrument checks out, but this method does not count as identity evidence under the policy".into(),
                        evidence: EvidenceRef::new(EvidenceKind::Payment, "/payment/method"),
                    });
                }
                let mut ev = EvidenceRef::new(EvidenceKind::Payment, "/payment").state(state);
                if let Some(m) = p.method {
                    ev = ev.detail(method_name(m));
                }
                (state, vec![ev], findings)
            }
            Atom::IdVendor => {
                let state = self.ext.vendor_state(subject);
                (
                    state,
                    vec![
                        EvidenceRef::new(EvidenceKind::IdVendor, format!("external:id_vendor:{subject}")).state(state),
                    ],
                    Vec::new(),
                )
            }
            Atom::Registration => {
                let Customer::Entity(e) = &self.app.customer else {
                    return (EvidenceState::NotStarted, Vec::new(), Vec::new());
                };
                let pointer = "/customer/registration";
                match &e.registration {
                    None => {
                        let ev = EvidenceRef::new(EvidenceKind::Registration, pointer).state(EvidenceState::NotStarted);
                        let f = Finding {
                            code: codes::REGISTRATION_MISSING,
                            severity: Severity::Info,
                            message: "the entity states no registration".into(),
                            evidence: ev.clone(),
                        };
                        (EvidenceState::NotStarted, vec![ev], vec![f])
                    }
                    Some(r) => {
                        let reg = Country::parse(&r.country).ok();
                        let org = Country::parse(&e.organized_in).ok();
                        if reg.is_some() && reg == org && !r.number.trim().is_empty() {
                            let ev = EvidenceRef::new(EvidenceKind::Registration, pointer)
                                .state(EvidenceState::Confirmed)
                                .country(reg);
                            (EvidenceState::Confirmed, vec![ev], Vec::new())
                        } else {
                            let ev = EvidenceRef::new(EvidenceKind::Registration, pointer)
                                .state(EvidenceState::Failed)
                                .country(reg);
                            let f = Finding {
                                code: codes::REGISTRATION_COUNTRY_MISMATCH,
                                severity: Severity::Fail,
                                message:
                                    "the registration country is not the place of organization (or the number is blank)"
                                        .into(),
                                evidence: ev.clone(),
                            };
                            (EvidenceState::Failed, vec![ev], vec![f])
                        }
                    }
                }
            }
        }
    }

    /// Verifies one foreign subject against a tier's requirement.
    /// Waives a subject's verification (`by` names the exemption) unless evidence presented for
    /// it failed: a waiver covers evidence not given, never evidence found false. Returns whether
    /// it waived; if not, the verification's reasons are in `out`.
    fn waive(&self, out: &mut Out, subject: Subject, requirement: Option<(&Expr, &Tier)>, by: &str) -> bool {
        if let Some((expr, tier)) = requirement {
            let mut checked = Out::default();
            self.verify(&mut checked, subject, expr, tier);
            let failed = checked
                .reasons
                .iter()
                .any(|r| r.code == codes::VERIFICATION_FAILED || r.code == codes::EVIDENCE_FAILED);
            if failed {
                out.absorb(checked);
                return false;
            }
        }
        let who = match subject {
            Subject::Customer => "the customer is a foreign person".to_owned(),
            Subject::BeneficialOwner(_) => "this beneficial owner is a foreign person".to_owned(),
        };
        out.reason(
            codes::VERIFICATION_WAIVED,
            format!("{who}; {by} waives CIP verification"),
            subject.to_string(),
            Vec::new(),
        );
        true
    }

    fn verify(&self, out: &mut Out, subject: Subject, expr: &Expr, tier: &Tier) {
        let label = subject.to_string();
        let atoms = expr.atoms();
        let mut states: Vec<(Atom, EvidenceState)> = Vec::with_capacity(atoms.len());
        let mut evidence = Vec::new();
        for a in &atoms {
            let (state, ev, findings) = self.atom(subject, *a);
            states.push((*a, state));
            evidence.extend(ev);
            for f in &findings {
                out.finding(f, &label);
            }
        }
        let state_of = |a: Atom| states.iter().find(|(x, _)| *x == a).map_or(EvidenceState::NotStarted, |(_, s)| *s);
        let level = expr.eval(&mut |a| Level::of(state_of(a)));
        let failed: Vec<&str> =
            states.iter().filter(|(_, s)| *s == EvidenceState::Failed).map(|(a, _)| a.as_str()).collect();
        let list = |want: &dyn Fn(EvidenceState) -> bool| {
            states.iter().filter(|(_, s)| want(*s)).map(|(a, s)| format!("{a} ({s})")).collect::<Vec<_>>().join(", ")
        };
        let who = match subject {
            Subject::Customer => "the customer".to_owned(),
            Subject::BeneficialOwner(n) => format!("beneficial owner {n}"),
        };
        let escalate = !failed.is_empty() && tier.fail_on_any_failed_evidence;
        if level == Level::Failed {
            out.reason(
                codes::VERIFICATION_FAILED,
                format!(
                    "{who} cannot be verified under tier `{}` ({expr}): {}",
                    tier.name,
                    list(&|s| s != EvidenceState::Confirmed)
                ),
                label.clone(),
                evidence,
            );
            out.apply(self.policy, &tier.failed, LiftedBy::Review, codes::VERIFICATION_FAILED, &label);
        } else if escalate {
            out.reason(
                codes::EVIDENCE_FAILED,
                format!(
                    "evidence presented for {who} failed ({}); tier `{}` fails on any failed evidence",
                    failed.join(", "),
                    tier.name
                ),
                label.clone(),
                evidence,
            );
            out.apply(self.policy, &tier.failed, LiftedBy::Review, codes::EVIDENCE_FAILED, &label);
        } else if level == Level::Satisfied {
            out.reason(
                codes::VERIFIED,
                format!(
                    "{who} is verified under tier `{}` ({expr}): {}",
                    tier.name,
                    list(&|s| s == EvidenceState::Confirmed)
                ),
                label,
                evidence,
            );
        } else {
            let code = match subject {
                Subject::Customer => codes::VERIFICATION_PENDING,
                Subject::BeneficialOwner(_) => codes::BENEFICIAL_OWNER_VERIFICATION_PENDING,
            };
            let rule = if level == Level::Pending { &tier.pending } else { &tier.missing };
            out.reason(
                code,
                format!(
                    "verification of {who} under tier `{}` ({expr}) is not complete: {}",
                    tier.name,
                    list(&|s| s != EvidenceState::Confirmed)
                ),
                label.clone(),
                evidence,
            );
            out.apply(self.policy, rule, LiftedBy::Verification, code, &label);
        }
    }

    /// Countries the customer and its beneficial owners are connected to, for the
    /// jurisdiction lists.
    fn connected_countries(&self) -> Vec<(Country, String)> {
        let mut out: Vec<(Country, String)> = Vec::new();
        let mut add = |c: &str, source: String| {
            if let Ok(c) = Country::parse(c) {
                out.push((c, source));
            }
        };
        match &self.app.customer {
            Customer::Individual(i) => {
                for (n, c) in i.citizenships.iter().enumerate() {
                    add(c, format!("/customer/citizenships/{n}"));
                }
                if let Some(a) = &i.address {
                    add(&a.country, "/customer/address/country".into());
                }
            }
            Customer::Entity(e) => {
                add(&e.organized_in, "/customer/organized_in".into());
                if let Some(a) = &e.address {
                    add(&a.country, "/customer/address/country".into());
                }
                for (n, bo) in e.beneficial_owners.iter().enumerate() {
                    if let Customer::Individual(i) = &bo.person {
                        for (k, c) in i.citizenships.iter().enumerate() {
                            add(c, format!("/customer/beneficial_owners/{n}/person/citizenships/{k}"));
                        }
                        if let Some(a) = &i.address {
                            add(&a.country, format!("/customer/beneficial_owners/{n}/person/address/country"));
                        }
                    }
                }
            }
        }
        if let Some(c) = self.ext.signup_ip_country {
            out.push((c, "external:signup_ip_country".into()));
        }
        if let Some(c) = self.phone().and_then(|p| p.country) {
            out.push((c, "/customer/phone".into()));
        }
        for pc in &self.payment().countries {
            out.push((pc.country, pc.pointer.to_owned()));
        }
        out
    }

    fn risk(&self) -> (u32, Vec<RiskFactor>) {
        let r = &self.policy.risk;
        let mut factors = Vec::new();
        let mut push = |factor: String, points: u32, source: String, country: Option<Country>| {
            if points > 0 {
                factors.push(RiskFactor { factor, points, source, country });
            }
        };
        let at = self.app.account_type;
        push(format!("account_type:{}", at.as_str()), r.account_type.of(at), "/account_type".into(), None);
        let om = self.app.opening_method;
        push(format!("opening_method:{}", om.as_str()), r.opening_method.of(om), "/opening_method".into(), None);
        for (n, p) in self.app.products.iter().enumerate() {
            let p = p.trim();
            let points = r.products.get(p).copied().unwrap_or(r.other_products);
            push(format!("product:{p}"), points, format!("/products/{n}"), None);
        }
        if at == AccountType::Reseller && self.class.status == PersonStatus::ForeignPerson {
            push("foreign_reseller".into(), r.foreign_reseller, "/account_type".into(), None);
        }
        if !self.policy.jurisdictions.is_empty() {
            let connected = self.connected_countries();
            for (name, list) in &self.policy.jurisdictions {
                if let Some((c, source)) = connected.iter().find(|(c, _)| list.countries.binary_search(c).is_ok()) {
                    push(format!("jurisdiction:{name}"), list.weight, source.clone(), Some(*c));
                }
            }
        }
        (factors.iter().map(|f| f.points).sum(), factors)
    }

    fn location(&self, out: &mut Out) {
        let Some(loc) = &self.policy.location else {
            return;
        };
        if loc.rules.is_empty() {
            return;
        }
        let w = &loc.weights;
        let mut obs: Vec<Observation> = Vec::new();
        if let Some(a) = self.app.customer.address()
            && let Ok(c) = Country::parse(&a.country)
        {
            obs.push(Observation {
                category: Category::Address,
                country: c,
                source: "/customer/address/country".into(),
            });
        }
        if let Some(c) = self.ext.signup_ip_country {
            obs.push(Observation {
                category: Category::SignupIp,
                country: c,
                source: "external:signup_ip_country".into(),
            });
        }
        if w.phone > 0
            && let Some(c) = self.phone().filter(|p| p.valid).and_then(|p| p.country)
        {
            obs.push(Observation { category: Category::Phone, country: c, source: "/customer/phone".into() });
        }
        if w.payment > 0 {
            for pc in &self.payment().countries {
                obs.push(Observation {
                    category: Category::Payment,
                    country: pc.country,
                    source: pc.pointer.to_owned(),
                });
            }
        }
        if w.document > 0 {
            for d in self.documents_of(Subject::Customer) {
                for c in [d.nationality, d.issuing_country].into_iter().flatten() {
                    obs.push(Observation {
                        category: Category::Document,
                        country: c,
                        source: format!("/documents/{}", d.index),
                    });
                }
            }
        }
        let report = location::assess(&obs, w, loc.high_risk_weight, |c| self.policy.is_high_risk(c));
        let Some(rule) = loc.rules.iter().rev().find(|r| report.weight >= r.min_weight) else {
            return;
        };
        let anchor =
            report.anchor.as_ref().map(|a| format!("{} ({})", a.country, a.category.as_str())).unwrap_or_default();
        let differing = report
            .disagreeing
            .iter()
            .map(|o| format!("{} ({})", o.country, o.category.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let high = if report.high_risk.is_empty() {
            String::new()
        } else {
            format!("; high-risk: {}", report.high_risk.iter().map(Country::as_str).collect::<Vec<_>>().join(", "))
        };
        let evidence = report
            .anchor
            .iter()
            .chain(report.disagreeing.iter())
            .map(|o| {
                let kind = match o.category {
                    Category::Address => EvidenceKind::Address,
                    Category::SignupIp => EvidenceKind::SignupIp,
                    Category::Phone => EvidenceKind::Phone,
                    Category::Payment => EvidenceKind::Payment,
                    Category::Document => EvidenceKind::Document,
                };
                EvidenceRef::new(kind, o.source.clone()).country(Some(o.country)).detail(o.category.as_str())
            })
            .collect();
        out.reason(
            codes::LOCATION_INCONSISTENT,
            format!(
                "location evidence disagrees with {anchor}: {differing}{high} (weight {}, rule from {})",
                report.weight, rule.min_weight
            ),
            "customer".into(),
            evidence,
        );
        out.apply(self.policy, &rule.outcome, LiftedBy::Review, codes::LOCATION_INCONSISTENT, "customer");
    }

    /// Screening alerts (R3): an analyst's true match denies; open or escalated alerts apply
    /// the policy's `[screening]` rules; a decided false positive weighs nothing.
    fn screening(&self, out: &mut Out) {
        use crate::evidence::{HitStatus, Screening};
        let sp = &self.policy.screening;
        match &self.ext.screening {
            Screening::NotRequested => {}
            Screening::NotPossible => {
                out.reason(
                    codes::SCREENING_NOT_POSSIBLE,
                    "no screening list is imported, so screening was not possible; the first list import re-screens this account".into(),
                    "customer".into(),
                    vec![EvidenceRef::new(EvidenceKind::Screening, "external:screening")],
                );
                if let Some(rule) = &sp.not_screened {
                    out.apply(self.policy, rule, LiftedBy::Review, codes::SCREENING_NOT_POSSIBLE, "customer");
                }
            }
            Screening::Screened { lists, hits } => {
                let live = hits.iter().filter(|h| h.status != HitStatus::FalsePositive).count();
                if live == 0 {
                    out.reason(
                        codes::SCREENING_CLEAR,
                        format!(
                            "screened against {}: no open alert",
                            if lists.is_empty() { "no list".to_owned() } else { lists.join(", ") }
                        ),
                        "customer".into(),
                        vec![EvidenceRef::new(EvidenceKind::Screening, "external:screening")],
                    );
                }
                for h in hits {
                    let ev = vec![
                        EvidenceRef::new(EvidenceKind::Screening, format!("external:alert:{}", h.alert_id))
                            .detail(format!("{} {} {}", h.list, h.entity_id, h.list_version)),
                    ];
                    let cite = format!(
                        "{} entry {} (list version {}), score {:.2}",
                        h.list, h.entity_id, h.list_version, h.score
                    );
                    match h.status {
                        HitStatus::TrueMatch => {
                            out.reason(
                                codes::SCREENING_TRUE_MATCH,
                                format!("confirmed as a true match of {cite}"),
                                h.subject.clone(),
                                ev,
                            );
                            out.raise(Outcome::Deny);
                        }
                        HitStatus::FalsePositive => out.reason(
                            codes::SCREENING_FALSE_POSITIVE,
                            format!("decided a false positive against {cite}"),
                            h.subject.clone(),
                            ev,
                        ),
                        HitStatus::Open | HitStatus::Escalated => {
                            let (code, rule, what) = if h.strong {
                                (
                                    codes::SCREENING_STRONG_HIT,
                                    &sp.strong_hit,
                                    "name and date of birth or identifier match",
                                )
                            } else {
                                (codes::SCREENING_HIT, &sp.hit, "possible name match")
                            };
                            out.reason(code, format!("{what}: {cite}"), h.subject.clone(), ev);
                            out.apply(self.policy, rule, LiftedBy::Review, code, &h.subject);
                        }
                    }
                }
            }
        }
    }

    /// The reseller terms of a foreign reseller account; `true` when `waived_by` waived them.
    fn reseller(&self, out: &mut Out, waived_by: Option<&str>) -> bool {
        let Some(rp) = &self.policy.resellers else {
            return false;
        };
        let is_reseller = self.app.account_type == AccountType::Reseller || self.app.reseller.is_some();
        if !is_reseller || self.class.status != PersonStatus::ForeignPerson {
            return false;
        }
        let ev = vec![EvidenceRef::new(EvidenceKind::ResellerTerms, "/reseller")];
        use lessee_domain::application::ResellerCip;
        let (code, message, rule) = match &self.app.reseller {
            None => (
                codes::RESELLER_TERMS_MISSING,
                "a foreign reseller account does not say how the reseller meets its CIP obligation",
                Some(&rp.missing_terms),
            ),
            Some(t) if t.cip == ResellerCip::OwnCip => (
                codes::RESELLER_OWN_CIP,
                "the foreign reseller keeps its own CIP; it must be filed and reviewed",
                Some(&rp.own_cip),
            ),
            Some(t) if t.agreement_signed.as_deref().is_none_or(|d| d.trim().is_empty()) => (
                codes::RESELLER_AGREEMENT_MISSING,
                "the foreign reseller adopts the provider's CIP but no signed agreement date is given",
                Some(&rp.missing_agreement),
            ),
            Some(_) => (
                codes::RESELLER_ADOPTS_PROVIDER_CIP,
                "the foreign reseller adopts the provider's CIP by a signed agreement",
                None,
            ),
        };
        if let Some(by) = waived_by.filter(|_| rule.is_some()) {
            out.reason(
                codes::RESELLER_CIP_WAIVED,
                format!("{message}; {by} waives the reseller CIP requirement"),
                "customer".into(),
                ev,
            );
            return true;
        }
        out.reason(code, message.into(), "customer".into(), ev);
        if let Some(rule) = rule {
            out.apply(self.policy, rule, LiftedBy::Review, code, "customer");
        }
        false
    }
}
