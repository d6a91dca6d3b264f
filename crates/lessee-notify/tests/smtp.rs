//! Email codes through a real SMTP server: `aiosmtpd` from the project venv, writing each
//! message to a maildir we read back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lessee_notify::email::SmtpConfigError;
use lessee_notify::otp::{self, OneTimeCode, OtpKey, Purpose};
use lessee_notify::{CodeSender, SendError, SmtpConfig, SmtpSender, Tls};
use secrecy::SecretString;

const SUBJECT: &str = "ACME code {code}, valid {minutes} min";
const BODY: &str = "Hello,\nyour code: CODE[{code}]\nvalid for {minutes} minutes.\n";

fn venv_python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test.sh, which creates the venv with the peers in \
         scripts/requirements-peers.txt (aiosmtpd among them)",
        python.display()
    );
    let status = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run the venv python");
    assert!(
        status.success(),
        "aiosmtpd is not installed in the venv: run scripts/test.sh (it installs \
         scripts/requirements-peers.txt)"
    );
    python
}

/// Server-side TLS for the sink.
enum SinkTls<'a> {
    None,
    StartTls(&'a Pki),
    Smtps(&'a Pki),
}

/// A running aiosmtpd, killed on drop.
struct Sink {
    child: Child,
    port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl Sink {
    fn start(tls: &SinkTls<'_>) -> Self {
        let python = venv_python();
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("maildir");
        let port = free_port();
        let mut command = Command::new(python);
        command.args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"]);
        match tls {
            SinkTls::None => {}
            SinkTls::StartTls(pki) => {
                command.arg("--tlscert").arg(&pki.cert).arg("--tlskey").arg(&pki.key);
            }
            SinkTls::Smtps(pki) => {
                command.arg("--smtpscert").arg(&pki.cert).arg("--smtpskey").arg(&pki.key);
            }
        }
        command.arg(&maildir);
        let child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("start aiosmtpd");
        let mut sink = Self { child, port, maildir, _dir: dir };
        sink.wait_listening();
        sink
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut stderr = String::new();
                if let Some(mut pipe) = self.child.stderr.take() {
                    std::io::Read::read_to_string(&mut pipe, &mut stderr).ok();
                }
                panic!("aiosmtpd exited ({status}) before listening: {stderr}");
            }
            assert!(Instant::now() < deadline, "aiosmtpd did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The raw messages received so far.
    fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect()
    }

    fn wait_for_message(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut messages = self.messages();
            if let Some(message) = messages.pop() {
                assert!(messages.is_empty(), "more than one message received");
                return message;
            }
            assert!(Instant::now() < deadline, "no message reached the sink");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A private CA and a server certificate for 127.0.0.1 it signed, as PEM files.
struct Pki {
    ca_pem: String,
    cert: PathBuf,
    key: PathBuf,
    _dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap().signed_by(&leaf_key, &ca).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("server.pem");
        let key = dir.path().join("server.key");
        std::fs::write(&cert, leaf.pem()).unwrap();
        std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
        Self { ca_pem: ca.pem(), cert, key, _dir: dir }
    }
}

fn config(port: u16, tls: Tls) -> SmtpConfig {
    let mut config = SmtpConfig::new("127.0.0.1", port, tls, "ACME Cloud <verify@acme.example>");
    config.subject_template = SUBJECT.to_owned();
    config.body_template = BODY.to_owned();
    config.timeout = Duration::from_secs(10);
    config
}

fn extract_code(message: &str) -> String {
    let start = message.find("CODE[").expect("the body carries the code") + "CODE[".len();
    let code = &message[start..start + 6];
    assert_eq!(&message[start + 6..start + 7], "]");
    code.to_owned()
}

fn header<'a>(message: &'a str, name: &str) -> &'a str {
    let prefix = format!("{name}: ");
    message
        .lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {name} header in {message}"))
}

/// Sends a fresh code to `sink` and checks it arrives intact and verifies.
async fn send_and_read_back(sender: &SmtpSender, sink: &Sink) {
    let key = OtpKey::from_bytes([7; 32]);
    let subject_id = "contact-0192";
    let (code, hash) = OneTimeCode::generate(&key, Purpose::EmailVerification, subject_id);

    sender.send_code("new.customer@example.org", &code, 10).await.unwrap();

    let message = sink.wait_for_message();
    assert_eq!(header(&message, "To"), "new.customer@example.org");
    assert_eq!(header(&message, "From"), "\"ACME Cloud\" <verify@acme.example>");
    assert_eq!(header(&message, "Subject"), format!("ACME code {}, valid 10 min", code.expose()));
    assert!(message.contains("valid for 10 minutes."), "{message}");
    let received = extract_code(&message);
    assert_eq!(received, code.expose());
    assert!(otp::verify(&key, Purpose::EmailVerification, subject_id, &received, &hash));
}

#[tokio::test]
async fn a_code_sent_in_plaintext_to_a_local_relay_arrives_and_verifies() {
    let sink = Sink::start(&SinkTls::None);
    let sender = SmtpSender::new(config(sink.port, Tls::None)).unwrap();
    send_and_read_back(&sender, &sink).await;
}

#[tokio::test]
async fn the_sender_works_through_the_code_sender_trait() {
    let sink = Sink::start(&SinkTls::None);
    let sender: Box<dyn CodeSender> = Box::new(SmtpSender::new(config(sink.port, Tls::None)).unwrap());
    let code = OneTimeCode::from_digits("004217").unwrap();
    sender.send_code("a@example.org", &code, 5).await.unwrap();
    assert_eq!(extract_code(&sink.wait_for_message()), "004217");
}

#[tokio::test]
async fn starttls_with_a_private_ca_delivers() {
    let pki = Pki::new();
    let sink = Sink::start(&SinkTls::StartTls(&pki));
    let mut config = config(sink.port, Tls::StartTls);
    config.extra_root_certificate_pem = Some(pki.ca_pem.clone());
    let sender = SmtpSender::new(config).unwrap();
    send_and_read_back(&sender, &sink).await;
}

#[tokio::test]
async fn smtps_with_a_private_ca_delivers() {
    let pki = Pki::new();
    let sink = Sink::start(&SinkTls::Smtps(&pki));
    let mut config = config(sink.port, Tls::Tls);
    config.extra_root_certificate_pem = Some(pki.ca_pem.clone());
    let sender = SmtpSender::new(config).unwrap();
    send_and_read_back(&sender, &sink).await;
}

#[tokio::test]
async fn starttls_is_required_not_opportunistic() {
    // The server offers no STARTTLS: nothing may be sent in plaintext.
    let sink = Sink::start(&SinkTls::None);
    let sender = SmtpSender::new(config(sink.port, Tls::StartTls)).unwrap();
    let code = OneTimeCode::from_digits("123456").unwrap();
    let error = sender.send_code("a@example.org", &code, 10).await.unwrap_err();
    assert!(matches!(&error, SendError::Tls { detail } if detail.contains("STARTTLS")), "{error:?}");
    assert!(!error.is_retryable());
    std::thread::sleep(Duration::from_millis(200));
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn a_certificate_from_an_unknown_ca_is_refused() {
    let pki = Pki::new();
    let sink = Sink::start(&SinkTls::StartTls(&pki));
    // No extra root: the webpki roots do not know the private CA.
    let sender = SmtpSender::new(config(sink.port, Tls::StartTls)).unwrap();
    let code = OneTimeCode::from_digits("123456").unwrap();
    let error = sender.send_code("a@example.org", &code, 10).await.unwrap_err();
    assert!(matches!(error, SendError::Tls { .. }), "{error:?}");
    assert!(!error.to_string().contains("123456"));
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn an_unreachable_server_is_retryable() {
    let sender = SmtpSender::new(config(free_port(), Tls::None)).unwrap();
    let code = OneTimeCode::from_digits("123456").unwrap();
    let error = sender.send_code("a@example.org", &code, 10).await.unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
}

#[tokio::test]
async fn recipients_are_validated_before_anything_is_sent() {
    let sender = SmtpSender::new(config(free_port(), Tls::None)).unwrap();
    let code = OneTimeCode::from_digits("123456").unwrap();
    for bad in [
        "",
        "not an address",
        "a@example.org\r\nBcc: victim@example.net",
        "a@example.org\nBcc: victim@example.net",
        "Name <a@example.org>",
        "a@@example.org",
    ] {
        let error = sender.send_code(bad, &code, 10).await.unwrap_err();
        assert!(matches!(error, SendError::InvalidRecipient { .. }), "{bad:?}: {error:?}");
        assert!(!error.to_string().contains("example"), "{error}");
    }
}

#[test]
fn configurations_that_invite_injection_or_leaks_are_refused() {
    let check = |edit: &dyn Fn(&mut SmtpConfig), expected: SmtpConfigError| {
        let mut config = config(2525, Tls::None);
        config.host = "mail.example.com".to_owned();
        edit(&mut config);
        assert_eq!(SmtpSender::new(config).unwrap_err(), expected);
    };
    check(&|c| c.subject_template = "Code\r\nBcc: x@example.net".to_owned(), SmtpConfigError::SubjectControlCharacter);
    check(&|c| c.subject_template = "Code\n{code}".to_owned(), SmtpConfigError::SubjectControlCharacter);
    check(&|c| c.body_template = "no placeholder".to_owned(), SmtpConfigError::BodyWithoutCode);
    check(&|c| c.body_template = "{code}\u{0}".to_owned(), SmtpConfigError::BodyControlCharacter);
    check(&|c| c.from = "verify@acme.example\r\nBcc: x@example.net".to_owned(), SmtpConfigError::InvalidFrom);
    check(&|c| c.from = "nobody".to_owned(), SmtpConfigError::InvalidFrom);
    check(&|c| c.host = "mail.example.com\r\n".to_owned(), SmtpConfigError::InvalidHost);
    check(
        &|c| {
            c.username = Some("relay".to_owned());
            c.password = Some(SecretString::from("hunter2-hunter2"));
        },
        SmtpConfigError::CredentialsWithoutTls,
    );
    check(&|c| c.username = Some("relay".to_owned()), SmtpConfigError::PartialCredentials);
    let mut bad_root = config(587, Tls::StartTls);
    bad_root.extra_root_certificate_pem = Some("not a certificate".to_owned());
    assert!(matches!(SmtpSender::new(bad_root).unwrap_err(), SmtpConfigError::Tls(_)));
}

#[test]
fn credentials_are_accepted_with_tls_and_the_password_never_printed() {
    let mut config = config(587, Tls::StartTls);
    config.host = "mail.example.com".to_owned();
    config.username = Some("relay".to_owned());
    config.password = Some(SecretString::from("hunter2-hunter2"));
    let printed = format!("{config:?}");
    assert!(!printed.contains("hunter2"), "{printed}");
    let sender = SmtpSender::new(config).unwrap();
    assert!(!format!("{sender:?}").contains("hunter2"));
}

#[test]
fn codes_are_not_printed() {
    let code = OneTimeCode::from_digits("424242").unwrap();
    assert!(!format!("{code:?}").contains("424242"));
}
