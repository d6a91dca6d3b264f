//! Requirement expressions: which evidence suffices, e.g.
//! `document or (email and phone and payment)`.
//!
//! Grammar (`and` binds tighter than `or`; parentheses group):
//!
//! ```text
//! expr := term ("or" term)*
//! term := factor ("and" factor)*
//! factor := ATOM | "(" expr ")"
//! ATOM := document | email | phone | payment | id_vendor | registration | none
//! ```
//!
//! Evaluation is over four levels, worst to best: `failed`, `missing`, `pending`, `satisfied`.
//! `and` takes the worst of its parts, `or` the best, so `document or email` is satisfied by
//! either and fails only when both fail.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::evidence::EvidenceState;

/// One kind of evidence a requirement can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Atom {
    /// An identity document (ICAO 9303 MRZ) of the subject: valid, unexpired, consistent.
    Document,
    /// Ownership of the customer's email address (one-time code).
    Email,
    /// A valid phone number (libphonenumber) whose ownership is confirmed (one-time code).
    Phone,
    /// A payment instrument whose format and checksum verify, of a method the policy accepts.
    Payment,
    /// An identity-verification vendor's positive result for the subject.
    IdVendor,
    /// An entity's registration (country and number) stated and consistent with its place of
    /// organization.
    Registration,
}

impl Atom {
    pub const ALL: [Atom; 6] =
        [Atom::Document, Atom::Email, Atom::Phone, Atom::Payment, Atom::IdVendor, Atom::Registration];

    pub fn as_str(self) -> &'static str {
        match self {
            Atom::Document => "document",
            Atom::Email => "email",
            Atom::Phone => "phone",
            Atom::Payment => "payment",
            Atom::IdVendor => "id_vendor",
            Atom::Registration => "registration",
        }
    }

    fn parse(s: &str) -> Option<Atom> {
        Atom::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed requirement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// Nothing is required.
    None,
    Atom(Atom),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

/// How far a requirement (or one piece of evidence) is from being met; ordered worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Failed,
    Missing,
    Pending,
    Satisfied,
}

impl Level {
    pub fn of(state: EvidenceState) -> Level {
        match state {
            EvidenceState::Confirmed => Level::Satisfied,
            EvidenceState::Pending => Level::Pending,
            EvidenceState::NotStarted | EvidenceState::Expired => Level::Missing,
            EvidenceState::Failed => Level::Failed,
        }
    }
}

/// A syntax error at a byte offset of the expression text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExprError {
    pub offset: usize,
    pub message: String,
}

impl Expr {
    /// Parses an expression.
    pub fn parse(text: &str) -> Result<Expr, ExprError> {
        let tokens = tokenize(text)?;
        let mut p = Parser { tokens: &tokens, pos: 0, end: text.len() };
        let e = p.or()?;
        match p.peek() {
            None => Ok(e),
            Some(t) => Err(ExprError {
                offset: t.offset,
                message: format!("unexpected `{}` after a complete expression", t.text),
            }),
        }
    }

    /// Every atom named, once each, in order of first appearance.
    pub fn atoms(&self) -> Vec<Atom> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect(&self, out: &mut Vec<Atom>) {
        match self {
            Expr::None => {}
            Expr::Atom(a) => {
                if !out.contains(a) {
                    out.push(*a);
                }
            }
            Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| x.collect(out)),
        }
    }

    /// Evaluates with `level` giving the level of each atom.
    pub fn eval(&self, level: &mut impl FnMut(Atom) -> Level) -> Level {
        match self {
            Expr::None => Level::Satisfied,
            Expr::Atom(a) => level(*a),
            Expr::And(xs) => xs.iter().map(|x| x.eval(level)).min().unwrap_or(Level::Satisfied),
            Expr::Or(xs) => xs.iter().map(|x| x.eval(level)).max().unwrap_or(Level::Satisfied),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::None => f.write_str("none"),
            Expr::Atom(a) => f.write_str(a.as_str()),
            Expr::And(xs) => {
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" and ")?;
                    }
                    match x {
                        Expr::Or(_) => write!(f, "({x})")?,
                        _ => write!(f, "{x}")?,
                    }
                }
                Ok(())
            }
            Expr::Or(xs) => {
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" or ")?;
                    }
                    write!(f, "{x}")?;
                }
                Ok(())
            }
        }
    }
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

struct Token<'a> {
    text: &'a str,
    offset: usize,
}

fn tokenize(text: &str) -> Result<Vec<Token<'_>>, ExprError> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c == '(' || c == ')' {
            out.push(Token { text: text.get(i..i + 1).unwrap_or(""), offset: i });
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if d.is_ascii_alphanumeric() || d == '_' {
                    end = j + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(Token { text: text.get(i..end).unwrap_or(""), offset: i });
            continue;
        }
        return Err(ExprError {
            offset: i,
            message: format!("unexpected character `{c}`: write `and`, `or`, parentheses and evidence names"),
        });
    }
    Ok(out)
}

struct Parser<'t, 'a> {
    tokens: &'t [Token<'a>],
    pos: usize,
    end: usize,
}

impl<'a> Parser<'_, 'a> {
    fn peek(&self) -> Option<&Token<'a>> {
        self.tokens.get(self.pos)
    }

    fn eat(&mut self, word: &str) -> bool {
        if self.peek().is_some_and(|t| t.text == word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        let mut parts = vec![self.and()?];
        while self.eat("or") {
            parts.push(self.and()?);
        }
        Ok(flatten(parts, true))
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut parts = vec![self.factor()?];
        while self.eat("and") {
            parts.push(self.factor()?);
        }
        Ok(flatten(parts, false))
    }

    fn factor(&mut self) -> Result<Expr, ExprError> {
        let Some(t) = self.tokens.get(self.pos) else {
            return Err(ExprError {
                offset: self.end,
                message: "the expression ends where an evidence name or `(` was expected".into(),
            });
        };
        self.pos += 1;
        match t.text {
            "(" => {
                let e = self.or()?;
                if self.eat(")") {
                    Ok(e)
                } else {
                    Err(ExprError {
                        offset: self.peek().map_or(self.end, |t| t.offset),
                        message: format!("`(` at offset {} is not closed", t.offset),
                    })
                }
            }
            "none" => Ok(Expr::None),
            text => match Atom::parse(text) {
                Some(a) => Ok(Expr::Atom(a)),
                None => Err(ExprError {
                    offset: t.offset,
                    message: format!(
                        "`{text}` is not an evidence name (expected one of: {}, or none)",
                        Atom::ALL.map(Atom::as_str).join(", ")
                    ),
                }),
            },
        }
    }
}

/// Builds an `and`/`or` node, merging nested nodes of the same kind.
fn flatten(parts: Vec<Expr>, or: bool) -> Expr {
    if parts.len() == 1 {
        return parts.into_iter().next().unwrap_or(Expr::None);
    }
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        match (p, or) {
            (Expr::Or(xs), true) | (Expr::And(xs), false) => out.extend(xs),
            (p, _) => out.push(p),
        }
    }
    if or { Expr::Or(out) } else { Expr::And(out) }
}
