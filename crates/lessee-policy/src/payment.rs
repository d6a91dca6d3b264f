//! Payment instruments as evidence: card BIN and issuer country (never a full card number),
//! IBAN checksum and country (ISO 13616, the `iban_validate` crate), BIC format and country
//! (ISO 9362), ABA routing-number checksum, and crypto wallet addresses: Bitcoin base58check
//! (P2PKH, P2SH) and bech32/bech32m segwit (BIP 173, BIP 350), Ethereum EIP-55 mixed-case
//! checksums.

use lessee_domain::Country;
use lessee_domain::application::{BankAccount, Card, CryptoWallet, Payment, PaymentMethod};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sha3::Keccak256;

use crate::codes;
use crate::evidence::{EvidenceKind, EvidenceRef, EvidenceState, Finding, Severity};

/// Where a payment country comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentCountrySource {
    CardIssuer,
    BankCountry,
    Iban,
    Bic,
    BillingAddress,
}

/// One country the payment instrument points at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PaymentCountry {
    pub source: PaymentCountrySource,
    pub country: Country,
    /// JSON pointer.
    pub pointer: &'static str,
}

/// The verdict on the payment instrument.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PaymentCheck {
    pub method: Option<PaymentMethod>,
    /// `confirmed` when the instrument's format and checksums verify; `failed` when one does
    /// not; `not_started` when there is nothing to check.
    pub state: EvidenceState,
    pub countries: Vec<PaymentCountry>,
    pub findings: Vec<Finding>,
}

fn fail(code: &'static str, message: impl Into<String>, source: &str) -> Finding {
    Finding {
        code,
        severity: Severity::Fail,
        message: message.into(),
        evidence: EvidenceRef::new(EvidenceKind::Payment, source).state(EvidenceState::Failed),
    }
}

fn info(code: &'static str, message: impl Into<String>, source: &str) -> Finding {
    Finding {
        code,
        severity: Severity::Info,
        message: message.into(),
        evidence: EvidenceRef::new(EvidenceKind::Payment, source),
    }
}

/// Checks the payment instrument of an application.
pub fn check_payment(payment: Option<&Payment>) -> PaymentCheck {
    let mut out = PaymentCheck {
        method: payment.map(|p| p.method),
        state: EvidenceState::NotStarted,
        countries: Vec::new(),
        findings: Vec::new(),
    };
    let Some(p) = payment else {
        out.findings.push(info(codes::PAYMENT_MISSING, "no payment instrument is given", "/payment"));
        return out;
    };
    let checked = match p.method {
        PaymentMethod::Card => p.card.as_ref().map(|c| card(c, &mut out)),
        PaymentMethod::BankTransfer => p.bank.as_ref().map(|b| bank(b, &mut out)),
        PaymentMethod::Crypto => p.crypto.as_ref().map(|w| wallet(w, &mut out)),
        PaymentMethod::Invoice | PaymentMethod::Marketplace => None,
    };
    if let Some(addr) = &p.billing_address
        && let Ok(c) = Country::parse(&addr.country)
    {
        out.countries.push(PaymentCountry {
            source: PaymentCountrySource::BillingAddress,
            country: c,
            pointer: "/payment/billing_address/country",
        });
    }
    let failed = out.findings.iter().any(|f| f.severity == Severity::Fail);
    out.state = match (checked, failed) {
        (_, true) => EvidenceState::Failed,
        (Some(true), false) => EvidenceState::Confirmed,
        _ => EvidenceState::NotStarted,
    };
    out
}

/// Card: BIN 6-8 digits, issuer country a country code; a full number is refused.
fn card(c: &Card, out: &mut PaymentCheck) -> bool {
    if c.number.is_some() {
        out.findings.push(fail(
            codes::PAYMENT_CARD_NUMBER_PRESENT,
            "a full card number was sent; only a token, the BIN and the last four digits may be",
            "/payment/card/number",
        ));
    }
    let bin_ok = c.bin.as_deref().is_some_and(|b| {
        let b = b.trim();
        (6..=8).contains(&b.len()) && b.bytes().all(|x| x.is_ascii_digit())
    });
    if !bin_ok {
        out.findings.push(fail(
            codes::PAYMENT_CARD_BIN_INVALID,
            "the card BIN is missing or is not 6 to 8 digits",
            "/payment/card/bin",
        ));
    }
    let issuer = c.issuer_country.as_deref().and_then(|x| Country::parse(x).ok());
    match issuer {
        Some(country) => out.countries.push(PaymentCountry {
            source: PaymentCountrySource::CardIssuer,
            country,
            pointer: "/payment/card/issuer_country",
        }),
        None => out.findings.push(info(
            codes::PAYMENT_CARD_ISSUER_COUNTRY_UNKNOWN,
            "the card's issuer country is missing or not a country code",
            "/payment/card/issuer_country",
        )),
    }
    bin_ok && issuer.is_some()
}

/// Bank account: IBAN (checksum, country) or account number with BIC or routing number.
fn bank(b: &BankAccount, out: &mut PaymentCheck) -> bool {
    let stated = b.country.as_deref().and_then(|c| Country::parse(c).ok());
    if let Some(country) = stated {
        out.countries.push(PaymentCountry {
            source: PaymentCountrySource::BankCountry,
            country,
            pointer: "/payment/bank/country",
        });
    }
    let mut ok = true;
    let mut identified = false;
    if let Some(iban) = b.iban.as_deref() {
        match iban_country(iban) {
            Some(country) => {
                identified = true;
                out.countries.push(PaymentCountry {
                    source: PaymentCountrySource::Iban,
                    country,
                    pointer: "/payment/bank/iban",
                });
                if stated.is_some_and(|s| s != country) {
                    ok = false;
                    out.findings.push(fail(
                        codes::PAYMENT_IBAN_COUNTRY_MISMATCH,
                        format!("the IBAN is of {country}, not of the stated bank country"),
                        "/payment/bank/iban",
                    ));
                }
            }
            None => {
                ok = false;
                out.findings.push(fail(
                    codes::PAYMENT_IBAN_INVALID,
                    "the IBAN fails its structure or checksum",
                    "/payment/bank/iban",
                ));
            }
        }
    }
    if let Some(bic) = b.bic.as_deref() {
        match bic_country(bic) {
            Some(country) => {
                identified |= b.account_number.is_some();
                out.countries.push(PaymentCountry {
                    source: PaymentCountrySource::Bic,
                    country,
                    pointer: "/payment/bank/bic",
                });
                if stated.is_some_and(|s| s != country) {
                    ok = false;
                    out.findings.push(fail(
                        codes::PAYMENT_BIC_COUNTRY_MISMATCH,
                        format!("the BIC is of {country}, not of the stated bank country"),
                        "/payment/bank/bic",
                    ));
                }
            }
            None => {
                ok = false;
                out.findings.push(fail(
                    codes::PAYMENT_BIC_INVALID,
                    "the BIC is not an ISO 9362 code",
                    "/payment/bank/bic",
                ));
            }
        }
    }
    if let Some(rtn) = b.routing_number.as_deref() {
        if aba_routing_valid(rtn) {
            identified |= b.account_number.is_some();
        } else {
            ok = false;
            out.findings.push(fail(
                codes::PAYMENT_ROUTING_NUMBER_INVALID,
                "the ABA routing number fails its checksum",
                "/payment/bank/routing_number",
            ));
        }
    }
    if !identified && ok {
        out.findings.push(info(
            codes::PAYMENT_BANK_ACCOUNT_INCOMPLETE,
            "the bank account has neither a valid IBAN nor an account number with a BIC or routing number",
            "/payment/bank",
        ));
    }
    ok && identified
}

fn wallet(w: &CryptoWallet, out: &mut PaymentCheck) -> bool {
    match check_wallet(&w.asset, &w.wallet) {
        Ok(WalletKind::EthereumNoChecksum) => {
            out.findings.push(info(
                codes::PAYMENT_WALLET_NO_CHECKSUM,
                "the Ethereum address is all one case and carries no EIP-55 checksum",
                "/payment/crypto/wallet",
            ));
            true
        }
        Ok(_) => true,
        Err(WalletError::UnsupportedAsset) => {
            out.findings.push(info(
                codes::PAYMENT_WALLET_UNSUPPORTED_ASSET,
                "no address check is known for this asset",
                "/payment/crypto/asset",
            ));
            false
        }
        Err(WalletError::Invalid(why)) => {
            out.findings.push(fail(
                codes::PAYMENT_WALLET_INVALID,
                format!("the wallet address is not valid: {why}"),
                "/payment/crypto/wallet",
            ));
            false
        }
    }
}

/// The country of a valid IBAN (spaces allowed), `None` if it is not valid.
pub fn iban_country(iban: &str) -> Option<Country> {
    if iban.len() > 64 {
        return None;
    }
    let parsed: iban::Iban = iban.trim().parse().ok()?;
    Country::parse(iban::IbanLike::country_code(&parsed)).ok()
}

/// The country of an ISO 9362 BIC (`WESTGB2L`, `DEUTDEFF500`), `None` if malformed.
pub fn bic_country(bic: &str) -> Option<Country> {
    let b = bic.trim().as_bytes();
    if b.len() != 8 && b.len() != 11 {
        return None;
    }
    let (bank, rest) = b.split_at(4);
    let (country, rest) = rest.split_at(2);
    if !bank.iter().all(u8::is_ascii_alphanumeric)
        || !country.iter().all(u8::is_ascii_uppercase)
        || !rest.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return None;
    }
    Country::parse(std::str::from_utf8(country).ok()?).ok()
}

/// The ABA routing-number checksum: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10).
pub fn aba_routing_valid(rtn: &str) -> bool {
    let digits: Vec<u32> = rtn.trim().chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != 9 || rtn.trim().len() != 9 {
        return false;
    }
    let sum: u32 = digits.iter().zip([3u32, 7, 1].into_iter().cycle()).map(|(d, w)| d * w).sum();
    sum.is_multiple_of(10)
}

/// What a valid wallet address is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WalletKind {
    /// Bitcoin pay-to-public-key-hash, base58check, version 0x00 (`1...`).
    BitcoinP2pkh,
    /// Bitcoin pay-to-script-hash, base58check, version 0x05 (`3...`).
    BitcoinP2sh,
    /// Bitcoin segwit version 0, bech32 (`bc1q...`).
    BitcoinSegwitV0,
    /// Bitcoin segwit version 1 or later (taproot), bech32m (`bc1p...`).
    BitcoinSegwitV1Plus,
    /// Ethereum address with a valid EIP-55 checksum.
    EthereumChecksummed,
    /// Ethereum address in one case: well formed, no checksum to verify.
    EthereumNoChecksum,
}

/// Why a wallet address is not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    #[error("no address check is known for this asset")]
    UnsupportedAsset,
    #[error("{0}")]
    Invalid(&'static str),
}

/// Checks a wallet address for an asset: `BTC` (also `XBT`) by Bitcoin rules (mainnet only);
/// `ETH` and any other asset whose address starts with `0x` (ERC-20 tokens) by Ethereum rules.
pub fn check_wallet(asset: &str, address: &str) -> Result<WalletKind, WalletError> {
    let address = address.trim();
    if address.len() > 100 {
        return Err(WalletError::Invalid("the address is too long"));
    }
    match asset.trim().to_ascii_uppercase().as_str() {
        "BTC" | "XBT" => check_bitcoin(address),
        "ETH" => check_ethereum(address),
        _ if address.starts_with("0x") => check_ethereum(address),
        _ => Err(WalletError::UnsupportedAsset),
    }
}

/// A Bitcoin mainnet address: base58check P2PKH/P2SH or bech32/bech32m segwit.
pub fn check_bitcoin(address: &str) -> Result<WalletKind, WalletError> {
    let lower = address.to_ascii_lowercase();
    if lower.starts_with("bc1") || lower.starts_with("tb1") || lower.starts_with("bcrt1") {
        let (hrp, version, _program) = bech32::segwit::decode(address)
            .map_err(|_| WalletError::Invalid("the bech32/bech32m checksum or witness program is wrong"))?;
        if hrp != bech32::hrp::BC {
            return Err(WalletError::Invalid("a test-network address, not a Bitcoin mainnet one"));
        }
        return Ok(if version == bech32::segwit::VERSION_0 {
            WalletKind::BitcoinSegwitV0
        } else {
            WalletKind::BitcoinSegwitV1Plus
        });
    }
    let bytes = bs58::decode(address).into_vec().map_err(|_| WalletError::Invalid("not base58"))?;
    if bytes.len() != 25 {
        return Err(WalletError::Invalid("a base58check address decodes to 25 bytes"));
    }
    let (payload, checksum) = bytes.split_at(21);
    let digest = Sha256::digest(Sha256::digest(payload));
    if digest.get(..4) != Some(checksum) {
        return Err(WalletError::Invalid("the base58check checksum is wrong"));
    }
    match payload.first() {
        Some(0x00) => Ok(WalletKind::BitcoinP2pkh),
        Some(0x05) => Ok(WalletKind::BitcoinP2sh),
        _ => Err(WalletError::Invalid("the version byte is not Bitcoin mainnet P2PKH (0x00) or P2SH (0x05)")),
    }
}

/// An Ethereum address, `0x` and 40 hex digits; mixed case must satisfy EIP-55.
pub fn check_ethereum(address: &str) -> Result<WalletKind, WalletError> {
    let hex = address.strip_prefix("0x").ok_or(WalletError::Invalid("an Ethereum address starts with 0x"))?;
    if hex.len() != 40 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(WalletError::Invalid("an Ethereum address has 40 hexadecimal digits after 0x"));
    }
    let has_lower = hex.bytes().any(|c| c.is_ascii_lowercase());
    let has_upper = hex.bytes().any(|c| c.is_ascii_uppercase());
    if !(has_lower && has_upper) {
        return Ok(WalletKind::EthereumNoChecksum);
    }
    let hash = Keccak256::digest(hex.to_ascii_lowercase().as_bytes());
    for (i, c) in hex.bytes().enumerate() {
        if !c.is_ascii_alphabetic() {
            continue;
        }
        let byte = hash.get(i / 2).copied().unwrap_or(0);
        let nibble = if i.is_multiple_of(2) { byte >> 4 } else { byte & 0x0f };
        if (nibble >= 8) != c.is_ascii_uppercase() {
            return Err(WalletError::Invalid("the EIP-55 checksum (letter case) is wrong"));
        }
    }
    Ok(WalletKind::EthereumChecksummed)
}
