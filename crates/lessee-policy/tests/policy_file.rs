//! The policy file: the shipped default, canonical identity, precise errors with positions,
//! and the risk tiers it computes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking
#![allow(clippy::type_complexity)] // case tables are tuples on purpose

use chrono::{TimeZone, Utc};
use lessee_domain::classify::{ClassificationConfig, classify};
use lessee_domain::{Application, Country};
use lessee_policy::{ExternalEvidence, Policy, check, evaluate};
use serde_json::json;

const BASE: &str = r#"[policy]
name = "t"
version = 1

[tiers.base]
min_score = 0
individual = "document"
entity = "registration"
beneficial_owner = "document"
pending = { outcome = "manual_review" }
failed = { outcome = "manual_review" }
"#;

/// 1-based (line, column) of the first `needle` in `text`, plus `skip` characters.
fn pos_of(text: &str, needle: &str, skip: usize) -> (usize, usize) {
    let at = text.find(needle).unwrap_or_else(|| panic!("`{needle}` not in the case text")) + skip;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

#[test]
fn the_default_policy_checks() {
    let p = Policy::default_policy()
        .unwrap_or_else(|e| panic!("{}", e.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")));
    assert_eq!((p.name(), p.version()), ("default", 1));
    assert_eq!(p.sha256().len(), 64);
    assert_eq!(p.id(), format!("default@1+sha256:{}", p.sha256()));
    let tiers: Vec<(&str, u32)> = p.tiers().iter().map(|t| (t.name.as_str(), t.min_score)).collect();
    assert_eq!(tiers, [("standard", 0), ("elevated", 40), ("high", 80)]);
    assert_eq!(p.tiers()[0].individual.to_string(), "email and phone and (document or payment)");
    assert!(p.exemptions().contains_key("adp"));
}

#[test]
fn the_identity_is_of_the_meaning_not_the_layout() {
    let a = check(BASE).unwrap();
    let reordered =
        BASE.replace("[policy]\n", "# a comment\n[policy]\n").replace("version = 1\nname = \"t\"", "").replace(
            "individual = \"document\"\nentity = \"registration\"",
            "entity   =   \"registration\"   # why\nindividual = \"(document)\"",
        );
    let b = check(&reordered).unwrap();
    assert_eq!(a.sha256(), b.sha256());
    let changed = check(&BASE.replace("individual = \"document\"", "individual = \"document or id_vendor\"")).unwrap();
    assert_ne!(a.sha256(), changed.sha256());
    let bumped = check(&BASE.replace("version = 1", "version = 2")).unwrap();
    assert_ne!(a.id(), bumped.id());
    assert_eq!(a.canonical_json(), b.canonical_json());
}

#[test]
fn errors_have_positions() {
    // (case, text, where the error points (needle, skip), words the message contains)
    let with = |from: &str, to: &str| BASE.replace(from, to);
    let rows: Vec<(&str, String, (&str, usize), &str)> = vec![
        ("unknown top-level key", format!("{BASE}colour = \"red\"\n"), ("colour", 0), "unknown field `colour`"),
        (
            "unknown key in a tier",
            with("min_score = 0", "min_score = 0\nmin_scroe = 1"),
            ("min_scroe", 0),
            "unknown field `min_scroe`",
        ),
        (
            "unknown key in an outcome",
            with("failed = { outcome = \"manual_review\" }", "failed = { outcome = \"manual_review\", until = 1 }"),
            ("until", 0),
            "unknown field `until`",
        ),
        (
            "bad outcome",
            with("pending = { outcome = \"manual_review\" }", "pending = { outcome = \"aprove\" }"),
            ("\"aprove\"", 0),
            "`aprove` is not an outcome",
        ),
        (
            "unclosed parenthesis",
            with("individual = \"document\"", "individual = \"email and (phone or\""),
            ("email and (phone or\"", 19),
            "ends where",
        ),
        (
            "operator that is not a word",
            with("individual = \"document\"", "individual = \"email & phone\""),
            ("email & phone", 6),
            "unexpected character `&`",
        ),
        (
            "unknown evidence",
            with("individual = \"document\"", "individual = \"email and passport\""),
            ("passport", 0),
            "`passport` is not an evidence name",
        ),
        (
            "dangling and",
            with("individual = \"document\"", "individual = \"email and\""),
            ("email and\"", 9),
            "ends where",
        ),
        (
            "evidence an owner cannot have",
            with("beneficial_owner = \"document\"", "beneficial_owner = \"document or email\""),
            ("\"document or email\"", 0),
            "`email` is not evidence this subject can have",
        ),
        (
            "undefined condition",
            with(
                "pending = { outcome = \"manual_review\" }",
                "pending = { outcome = \"approve_with_conditions\", conditions = [\"no_gpu\"] }",
            ),
            ("\"no_gpu\"", 0),
            "condition `no_gpu` is not defined",
        ),
        (
            "pending approved",
            with("pending = { outcome = \"manual_review\" }", "pending = { outcome = \"approve\" }"),
            ("\"approve\"", 0),
            "cannot be approved without conditions",
        ),
        (
            "failure approved",
            format!(
                "{}\n[conditions.c]\ndescription = \"d\"\n",
                with(
                    "failed = { outcome = \"manual_review\" }",
                    "failed = { outcome = \"approve_with_conditions\", conditions = [\"c\"] }"
                )
            ),
            ("\"approve_with_conditions\"", 0),
            "manual_review or deny",
        ),
        (
            "conditions without approve_with_conditions",
            format!(
                "{}\n[conditions.c]\ndescription = \"d\"\n",
                with(
                    "failed = { outcome = \"manual_review\" }",
                    "failed = { outcome = \"deny\", conditions = [\"c\"] }"
                )
            ),
            ("\"deny\"", 0),
            "conditions apply only",
        ),
        (
            "bad country code",
            format!("{BASE}\n[jurisdictions.x]\ncountries = [\"DE\", \"UK\"]\nweight = 1\n"),
            ("\"UK\"", 0),
            "`UK` is not an ISO 3166-1",
        ),
        ("no tier at 0", with("min_score = 0", "min_score = 10"), ("10", 0), "min_score = 0"),
        ("negative weight", format!("{BASE}\n[risk]\nother_products = -1\n"), ("-1", 0), "expected u32"),
        (
            "unknown variant rule",
            format!("{BASE}\n[documents]\nname_transliteration_variant = \"maybe\"\n"),
            ("\"maybe\"", 0),
            "unknown variant `maybe`",
        ),
        (
            "unknown high-risk list",
            format!("{BASE}\n[location]\nhigh_risk_lists = [\"nowhere\"]\n"),
            ("\"nowhere\"", 0),
            "`nowhere` is not a list",
        ),
        (
            "location never denies",
            format!("{BASE}\n[[location.rules]]\nmin_weight = 3\noutcome = \"deny\"\n"),
            ("\"deny\"", 0),
            "never fatal",
        ),
        ("not TOML", "[policy\nname = 1".to_owned(), ("\nname", 0), ""),
    ];
    for (case, text, (needle, skip), words) in rows {
        let errors = check(&text).err().unwrap_or_else(|| panic!("{case}: accepted"));
        let e = &errors[0];
        let (line, col) = pos_of(&text, needle, skip);
        assert_eq!((e.line, e.column), (Some(line), Some(col)), "{case}: {e}");
        assert!(e.message.contains(words), "{case}: {e}");
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = BASE
        .replace("individual = \"document\"", "individual = \"passport\"")
        .replace("entity = \"registration\"", "entity = \"document\"")
        .replace("pending = { outcome = \"manual_review\" }", "pending = { outcome = \"later\" }");
    let errors = check(&text).unwrap_err();
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["tiers.base.pending.outcome", "tiers.base.individual", "tiers.base.entity"], "{errors:?}");
    assert!(errors[0].to_string().starts_with("10:23: tiers.base.pending.outcome: "), "{}", errors[0]);
}

#[test]
fn oversized_policies_are_refused() {
    let text = format!("{BASE}{}", "#".repeat(300 * 1024));
    let e = check(&text).unwrap_err();
    assert!(e[0].message.contains("at most"), "{e:?}");
}

fn foreign_app(account_type: &str, opening_method: &str, products: &[&str]) -> Application {
    serde_json::from_value(json!({
        "external_id": "t", "account_type": account_type, "opening_method": opening_method,
        "products": products,
        "customer": {"kind": "individual", "name": {"given": "Ana", "family": "Silva"},
            "citizenships": ["PT"], "address": {"country": "PT"}}
    }))
    .unwrap()
}

#[test]
fn tiers_follow_risk() {
    let p = Policy::default_policy().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().unwrap();
    let tier = |app: &Application, ip: Option<&str>| {
        let ext = ExternalEvidence {
            signup_ip_country: ip.and_then(|c| Country::parse(c).ok()),
            ..ExternalEvidence::default()
        };
        let class = classify(app, ext.classification(), &ClassificationConfig::default());
        let d = evaluate(&p, app, &class, &ext, now);
        (d.tier, d.risk_score)
    };
    let rank = |name: &str| p.tiers().iter().position(|t| t.name == name).unwrap();
    // (account type, opening method, products, sign-up IP country, tier, score)
    let rows: &[(&str, &str, &[&str], Option<&str>, &str, u32)] = &[
        ("enterprise", "sales_assisted", &["compute"], Some("PT"), "standard", 0),
        ("standard", "self_service", &["compute", "storage"], Some("PT"), "standard", 30),
        ("standard", "marketplace", &["gpu"], Some("PT"), "elevated", 50),
        ("trial", "self_service", &["gpu"], Some("PT"), "elevated", 70),
        ("trial", "self_service", &["gpu", "bare_metal"], Some("PT"), "high", 100),
        // Iran is on both lists (60 + 40).
        ("enterprise", "sales_assisted", &["compute"], Some("IR"), "high", 100),
    ];
    for (at, om, products, ip, want_tier, want_score) in rows {
        let (t, s) = tier(&foreign_app(at, om, products), *ip);
        assert_eq!((t.as_str(), s), (*want_tier, *want_score), "{at} {om} {products:?} {ip:?}");
    }
    let (trial_gpu, _) = tier(&foreign_app("trial", "self_service", &["gpu"]), Some("PT"));
    let (enterprise, _) = tier(&foreign_app("enterprise", "sales_assisted", &["compute"]), Some("PT"));
    assert!(rank(&trial_gpu) > rank(&enterprise), "{trial_gpu} vs {enterprise}");
}

#[test]
fn expressions() {
    use Level::*;
    use lessee_policy::expr::{Atom, Expr, Level};
    // (text, normal form, levels of document, email, phone, payment -> result)
    let rows: &[(&str, &str, [Level; 4], Level)] = &[
        ("document", "document", [Satisfied, Missing, Missing, Missing], Satisfied),
        (
            "document or (email and phone and payment)",
            "document or email and phone and payment",
            [Failed, Satisfied, Pending, Satisfied],
            Pending,
        ),
        (
            "document or (email and phone and payment)",
            "document or email and phone and payment",
            [Failed, Satisfied, Failed, Satisfied],
            Failed,
        ),
        (
            "(document or payment) and email and phone",
            "(document or payment) and email and phone",
            [Failed, Satisfied, Satisfied, Satisfied],
            Satisfied,
        ),
        ("((email))", "email", [Missing, Pending, Missing, Missing], Pending),
        (
            "email and (phone and payment)",
            "email and phone and payment",
            [Missing, Satisfied, Satisfied, Missing],
            Missing,
        ),
        ("none", "none", [Failed, Failed, Failed, Failed], Satisfied),
    ];
    for (text, normal, levels, want) in rows {
        let e = Expr::parse(text).unwrap();
        assert_eq!(e.to_string(), *normal, "{text}");
        assert_eq!(Expr::parse(normal).unwrap(), e, "{text}: the normal form parses back");
        let got = e.eval(&mut |a| match a {
            Atom::Document => levels[0],
            Atom::Email => levels[1],
            Atom::Phone => levels[2],
            Atom::Payment => levels[3],
            _ => Missing,
        });
        assert_eq!(got, *want, "{text} with {levels:?}");
    }
    for (bad, offset) in
        [("", 0), ("email and", 9), ("email phone", 6), ("(email", 6), ("email)", 5), ("EMAIL", 0), ("email|phone", 5)]
    {
        assert_eq!(Expr::parse(bad).map_err(|e| e.offset), Err(offset), "{bad:?}");
    }
}

#[test]
fn reason_codes_are_unique_and_described() {
    let mut seen = std::collections::BTreeSet::new();
    for (code, meaning) in lessee_policy::codes::ALL {
        assert!(seen.insert(*code), "{code} twice");
        assert!(!meaning.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{code}");
    }
}
