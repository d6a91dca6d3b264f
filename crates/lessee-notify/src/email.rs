//! Email ownership codes over SMTP (lettre, async on tokio, rustls; no OpenSSL).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};

use crate::otp::OneTimeCode;
use crate::sender::{CodeSender, SendError};
use crate::util::is_loopback_host;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// Plaintext. Only for a relay on the same host (and the tests' sink); credentials are
    /// refused with it unless the host is loopback.
    None,
    /// Plaintext first, then `STARTTLS`, which is *required*: if the server does not offer it,
    /// or the handshake fails, nothing is sent (no downgrade). Usually port 587.
    StartTls,
    /// TLS from the first byte (SMTPS, "implicit TLS"). Usually port 465.
    Tls,
}

/// Where and how to send email, and what the message says.
///
/// `Debug` shows the password as `[REDACTED]` (it is a [`SecretString`]).
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// The SMTP server's host name (also the name its TLS certificate must carry).
    pub host: String,
    /// The port (25, 465 with [`Tls::Tls`], 587 with [`Tls::StartTls`]).
    pub port: u16,
    /// Connection security.
    pub tls: Tls,
    /// The user to authenticate as, if the server requires it (with `password`).
    pub username: Option<String>,
    /// The password for `username`.
    pub password: Option<SecretString>,
    /// The sender, `addr@example.com` or `Name <addr@example.com>`.
    pub from: String,
    /// The subject; `{code}` and `{minutes}` are replaced. One line.
    pub subject_template: String,
    /// The plain-text body; must contain `{code}`; `{minutes}` is replaced too.
    pub body_template: String,
    /// The name sent with `EHLO` (defaults to the address literal `[127.0.0.1]`; set it to the
    /// host's public name when talking to a strict relay).
    pub hello_name: Option<String>,
    /// An extra trusted root certificate (PEM) for a relay with a private CA, on top of the
    /// webpki roots (Mozilla's).
    pub extra_root_certificate_pem: Option<String>,
    /// Timeout for each SMTP command.
    pub timeout: Duration,
}

/// The subject used by [`SmtpConfig::new`].
pub const DEFAULT_SUBJECT: &str = "Your verification code";
/// The body used by [`SmtpConfig::new`].
pub const DEFAULT_BODY: &str = "Your verification code is {code}.\n\
    It expires in {minutes} minutes. If you did not ask for it, ignore this message.\n";

impl SmtpConfig {
    /// A configuration without credentials, with the default templates and a 30 s timeout.
    #[must_use]
    pub fn new(host: impl Into<String>, port: u16, tls: Tls, from: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port,
            tls,
            username: None,
            password: None,
            from: from.into(),
            subject_template: DEFAULT_SUBJECT.to_owned(),
            body_template: DEFAULT_BODY.to_owned(),
            hello_name: None,
            extra_root_certificate_pem: None,
            timeout: Duration::from_secs(30),
        }
    }
}

/// A configuration [`SmtpSender::new`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpConfigError {
    /// The sender is not a valid mailbox.
    #[error("the sender address is not a valid mailbox")]
    InvalidFrom,
    /// The host is empty or has characters a host name cannot have.
    #[error("the SMTP host is not a valid host name")]
    InvalidHost,
    /// The subject template has a line break or another control character (header injection).
    #[error("the subject template has a control character (CR, LF, ...); it must be one line")]
    SubjectControlCharacter,
    /// The body template has a control character other than CR, LF or tab.
    #[error("the body template has a control character other than CR, LF or tab")]
    BodyControlCharacter,
    /// The body template does not contain `{code}`.
    #[error("the body template does not contain the {{code}} placeholder")]
    BodyWithoutCode,
    /// Only one of username and password is set.
    #[error("username and password must be given together")]
    PartialCredentials,
    /// Credentials would go in plaintext to a host that is not loopback.
    #[error("credentials over an unencrypted connection are refused except to a loopback host")]
    CredentialsWithoutTls,
    /// The `EHLO` name is not a plausible host name.
    #[error("the EHLO name is not a valid host name")]
    InvalidHelloName,
    /// The extra root certificate could not be read or the TLS parameters not built.
    #[error("the TLS parameters could not be built: {0}")]
    Tls(String),
}

/// Sends one-time codes by email.
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    subject_template: String,
    body_template: String,
}

impl fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSender").field("from", &self.from.email.to_string()).finish_non_exhaustive()
    }
}

fn has_header_breaking_char(s: &str) -> bool {
    s.chars().any(char::is_control)
}

fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
}

impl SmtpSender {
    /// Checks the configuration and builds the transport (no connection is made yet).
    ///
    /// # Errors
    /// [`SmtpConfigError`] for an invalid sender, template, credentials or TLS setting.
    pub fn new(config: SmtpConfig) -> Result<Self, SmtpConfigError> {
        if !is_host_name(&config.host) {
            return Err(SmtpConfigError::InvalidHost);
        }
        if has_header_breaking_char(&config.from) {
            return Err(SmtpConfigError::InvalidFrom);
        }
        let from: Mailbox = config.from.parse().map_err(|_| SmtpConfigError::InvalidFrom)?;
        if has_header_breaking_char(&config.subject_template) {
            return Err(SmtpConfigError::SubjectControlCharacter);
        }
        if config.body_template.chars().any(|c| c.is_control() && !matches!(c, '\r' | '\n' | '\t')) {
            return Err(SmtpConfigError::BodyControlCharacter);
        }
        if !config.body_template.contains("{code}") {
            return Err(SmtpConfigError::BodyWithoutCode);
        }

        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.as_str())
            .port(config.port)
            .timeout(Some(config.timeout));

        match (config.username, config.password) {
            (None, None) => {}
            (Some(user), Some(password)) => {
                if config.tls == Tls::None && !is_loopback_host(&config.host) {
                    return Err(SmtpConfigError::CredentialsWithoutTls);
                }
                builder = builder.credentials(Credentials::new(user, password.expose_secret().to_owned()));
            }
            _ => return Err(SmtpConfigError::PartialCredentials),
        }

        if let Some(name) = config.hello_name {
            if !is_host_name(&name) {
                return Err(SmtpConfigError::InvalidHelloName);
            }
            builder = builder.hello_name(ClientId::Domain(name));
        }

        let tls = match config.tls {
            Tls::None => lettre::transport::smtp::client::Tls::None,
            Tls::StartTls => lettre::transport::smtp::client::Tls::Required(tls_parameters(
                &config.host,
                config.extra_root_certificate_pem.as_deref(),
            )?),
            Tls::Tls => lettre::transport::smtp::client::Tls::Wrapper(tls_parameters(
                &config.host,
                config.extra_root_certificate_pem.as_deref(),
            )?),
        };
        builder = builder.tls(tls);

        Ok(Self {
            transport: builder.build(),
            from,
            subject_template: config.subject_template,
            body_template: config.body_template,
        })
    }

    /// Sends `code` to `to`, saying it expires in `minutes`.
    ///
    /// # Errors
    /// [`SendError::InvalidRecipient`] for an address that does not parse (or carries a line
    /// break); otherwise the classified SMTP failure (see [`SendError`]). Errors never contain
    /// the code, the recipient or the server's reply text (which may echo the recipient).
    pub async fn send_code(&self, to: &str, code: &OneTimeCode, minutes: u32) -> Result<(), SendError> {
        let message = self.message(to, code, minutes)?;
        self.transport.send(message).await.map(|_| ()).map_err(classify_smtp_error)
    }

    fn message(&self, to: &str, code: &OneTimeCode, minutes: u32) -> Result<Message, SendError> {
        let to = to.trim();
        if has_header_breaking_char(to) {
            return Err(SendError::InvalidRecipient { expected: "an email address" });
        }
        let address: Address = to.parse().map_err(|_| SendError::InvalidRecipient { expected: "an email address" })?;
        let minutes = minutes.to_string();
        let render = |template: &str| template.replace("{minutes}", &minutes).replace("{code}", code.expose());
        let message_id = format!("<{:032x}@{}>", rand::rng().random::<u128>(), self.from.email.domain());
        Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, address))
            .subject(render(&self.subject_template))
            .message_id(Some(message_id))
            .header(ContentType::TEXT_PLAIN)
            .body(render(&self.body_template))
            .map_err(|e| SendError::InvalidMessage { detail: e.to_string() })
    }
}

fn tls_parameters(host: &str, extra_root_pem: Option<&str>) -> Result<TlsParameters, SmtpConfigError> {
    let mut builder = TlsParameters::builder(host.to_owned());
    if let Some(pem) = extra_root_pem {
        use rustls::pki_types::pem::PemObject as _;
        // lettre accepts PEM without any certificate in it; a typo'd file must not pass.
        let count = rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
            .try_fold(0usize, |n, cert| cert.map(|_| n.saturating_add(1)))
            .map_err(|_| SmtpConfigError::Tls("the root certificate PEM is invalid".to_owned()))?;
        if count == 0 {
            return Err(SmtpConfigError::Tls("the root certificate PEM holds no certificate".to_owned()));
        }
        let certificate = Certificate::from_pem(pem.as_bytes()).map_err(|e| SmtpConfigError::Tls(e.to_string()))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder.build_rustls().map_err(|e| SmtpConfigError::Tls(e.to_string()))
}

/// Maps lettre's error to [`SendError`], keeping the reply code but not the reply text (which
/// may quote the recipient's address).
fn classify_smtp_error(error: lettre::transport::smtp::Error) -> SendError {
    let code = error.status().map(u16::from);
    if error.is_permanent() {
        SendError::Rejected { code }
    } else if error.is_transient() {
        SendError::Unavailable { detail: format!("the SMTP server answered {}", code.unwrap_or(0)) }
    } else if error.is_tls() || is_starttls_refusal(&error) || has_rustls_cause(&error) {
        // Not retried: the server or its certificate is wrong, which waiting will not fix.
        SendError::Tls { detail: error.to_string() }
    } else if error.is_response() {
        SendError::Unavailable { detail: "the SMTP server's reply could not be parsed".to_owned() }
    } else {
        // Connection, network, timeout, shutdown: no reply text in these.
        SendError::Unavailable { detail: error.to_string() }
    }
}

/// Whether a rustls error (handshake, certificate) is in the chain: lettre reports a failed
/// handshake as a connection error.
fn has_rustls_cause(error: &lettre::transport::smtp::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.get_ref().is_some_and(|inner| inner.is::<rustls::Error>())
        {
            return true;
        }
        source = cause.source();
    }
    false
}

fn is_starttls_refusal(error: &lettre::transport::smtp::Error) -> bool {
    error.is_client() && error.to_string().contains("STARTTLS")
}

#[async_trait]
impl CodeSender for SmtpSender {
    async fn send_code(&self, to: &str, code: &OneTimeCode, valid_minutes: u32) -> Result<(), SendError> {
        SmtpSender::send_code(self, to, code, valid_minutes).await
    }
}
