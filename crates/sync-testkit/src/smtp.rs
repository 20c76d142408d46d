//! A real SMTP listener on `127.0.0.1:0` for tests of email notifications: it speaks
//! enough of RFC 5321 for an SMTP client (EHLO/HELO, AUTH PLAIN and LOGIN, MAIL, RCPT,
//! DATA with dot-unstuffing, RSET, NOOP, QUIT), accepts everything, and records each
//! message before it answers the end of DATA, so a sender that got its reply finds the
//! message recorded.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One message as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The message (headers and body), dot-unstuffed, CRLF line ends.
    pub data: String,
    /// The AUTH credentials, as `user:password`, when the client authenticated.
    pub auth: Option<String>,
}

impl Mail {
    /// The body, decoded from quoted-printable when the message says so.
    pub fn text(&self) -> String {
        let body = self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let qp = self
            .header("Content-Transfer-Encoding")
            .is_some_and(|e| e.eq_ignore_ascii_case("quoted-printable"));
        if !qp {
            return body.to_string();
        }
        let joined = body.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
                (b'=', Some(b)) => {
                    out.push(b);
                    i += 3;
                }
                (c, _) => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// A header's value (unfolded), e.g. `Subject`.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let mut out: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(v) = out.as_mut() {
                    v.push_str(line);
                }
                continue;
            }
            if out.is_some() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case(name)
            {
                out = Some(v.trim().to_string());
            }
        }
        out
    }
}

pub struct SmtpSink {
    pub addr: SocketAddr,
    mails: Arc<Mutex<Vec<Mail>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let addr = listener.local_addr().expect("smtp addr");
        let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
        let store = mails.clone();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = session(conn, store).await;
                });
            }
        });
        SmtpSink { addr, mails, task }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().expect("smtp lock").clone()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

async fn session(conn: TcpStream, store: Arc<Mutex<Vec<Mail>>>) -> std::io::Result<()> {
    let (r, mut w) = conn.into_split();
    let mut lines = BufReader::new(r).lines();
    w.write_all(b"220 sink.test ESMTP\r\n").await?;
    let mut mail = Mail::default();
    let mut auth: Option<String> = None;
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.test\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            b"250 ok\r\n"
        } else if upper.starts_with("AUTH PLAIN") {
            // base64("\0user\0password")
            let decoded = b64(line.get(10..).unwrap_or_default());
            let parts: Vec<&str> = decoded.split('\0').collect();
            auth = Some(format!(
                "{}:{}",
                parts.get(1).unwrap_or(&""),
                parts.get(2).unwrap_or(&"")
            ));
            b"235 2.7.0 authenticated\r\n"
        } else if upper.starts_with("AUTH LOGIN") {
            w.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
            let user = b64(&lines.next_line().await?.unwrap_or_default());
            w.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
            let pass = b64(&lines.next_line().await?.unwrap_or_default());
            auth = Some(format!("{user}:{pass}"));
            b"235 2.7.0 authenticated\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            mail = Mail {
                from: address(&line[10..]),
                auth: auth.clone(),
                ..Default::default()
            };
            b"250 ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            mail.to.push(address(&line[8..]));
            b"250 ok\r\n"
        } else if upper == "DATA" {
            w.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            while let Some(l) = lines.next_line().await? {
                if l == "." {
                    break;
                }
                data.push_str(l.strip_prefix('.').filter(|_| l.starts_with("..")).unwrap_or(&l));
                data.push_str("\r\n");
            }
            mail.data = data;
            store.lock().expect("smtp lock").push(std::mem::take(&mut mail));
            b"250 2.0.0 queued\r\n"
        } else if upper.starts_with("RSET") {
            mail = Mail::default();
            b"250 ok\r\n"
        } else if upper.starts_with("QUIT") {
            w.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 command not implemented\r\n"
        };
        w.write_all(reply).await?;
    }
    Ok(())
}

/// `<a@b>` (with optional parameters after it) → `a@b`.
fn address(s: &str) -> String {
    let s = s.trim();
    match (s.find('<'), s.find('>')) {
        (Some(a), Some(b)) if a < b => s[a + 1..b].to_string(),
        _ => s.split_whitespace().next().unwrap_or_default().to_string(),
    }
}
