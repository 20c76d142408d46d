//! `[notify.email]` over SMTP with `lettre`: STARTTLS (required) or implicit TLS through
//! rustls, or plain SMTP to a relay on loopback; optional AUTH with a password from the
//! environment or a file.

use std::path::Path;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Event, Kind};
use crate::config::{EmailConfig, EmailTls};
use crate::error::EngineError;

/// How long one SMTP conversation may take.
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

fn config_err(what: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::Config(format!("notify.email.{what}: {e}"))
}

/// Parses an address (`admin@contoso.com` or `IT <admin@contoso.com>`).
pub fn mailbox(what: &str, addr: &str) -> Result<Mailbox, EngineError> {
    addr.parse::<Mailbox>()
        .map_err(|e| config_err(what, format!("{addr:?}: {e}")))
}

impl Email {
    pub fn new(cfg: &EmailConfig, base: &Path) -> Result<Email, EngineError> {
        let host = cfg.smtp_host.as_str();
        let tls = |h: &str| TlsParameters::new(h.to_string()).map_err(|e| config_err("tls", e));
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(cfg.port())
            .timeout(Some(TIMEOUT));
        let mut builder = match cfg.tls {
            EmailTls::Starttls => builder.tls(Tls::Required(tls(host)?)),
            EmailTls::Implicit => builder.tls(Tls::Wrapper(tls(host)?)),
            EmailTls::None => builder.tls(Tls::None),
        };
        if let (Some(user), Some(password)) = (&cfg.username, cfg.password(base)?) {
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let to = cfg.to.iter().map(|a| mailbox("to", a)).collect::<Result<Vec<_>, _>>()?;
        Ok(Email {
            transport: builder.build(),
            from: mailbox("from", &cfg.from)?,
            to,
        })
    }

    pub async fn send(&self, ev: &Event) -> Result<(), EngineError> {
        let (subject, body) = compose(ev);
        let mut m = Message::builder().from(self.from.clone()).subject(subject);
        for to in &self.to {
            m = m.to(to.clone());
        }
        let message = m
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| EngineError::Config(format!("notify.email: {e}")))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| EngineError::Transport(format!("email via SMTP: {e}")))
    }
}

/// The subject and plain-text body: what happened, which objects, what to do next.
pub fn compose(ev: &Event) -> (String, String) {
    let what = match ev.event {
        Kind::Quarantine => format!("in quarantine ({})", ev.reason),
        Kind::DeletionThreshold => "deletions held back by the threshold".to_string(),
        Kind::Failures => "objects failed to provision".to_string(),
    };
    let subject = format!("[scimd] provisioning job {}: {what}", ev.job);
    let mut body = format!("Job: {}\nWhen: {}\n\nWhat happened:\n  {}\n", ev.job, ev.at, ev.reason);
    if !ev.objects.is_empty() {
        body.push_str(&format!("\nObjects ({} listed):\n", ev.objects.len()));
        for o in &ev.objects {
            body.push_str(&format!("  {} {} ({})", o.kind, o.display, o.source_id));
            if let Some(code) = &o.error_code {
                body.push_str(&format!(": [{code}] {}", o.message.as_deref().unwrap_or_default()));
            }
            body.push('\n');
        }
    }
    body.push_str(&format!("\nWhat to do next:\n  {}\n", ev.next_steps));
    if !ev.details.is_null() {
        body.push_str(&format!("\nDetails: {}\n", ev.details));
    }
    (subject, body)
}
