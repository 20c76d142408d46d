//! Email notifications delivered to a real SMTP listener the test starts: on failed
//! objects above the configured share, on quarantine and on a tripped deletion threshold,
//! throttled to one per job and kind per window.

use serde_json::Value as Json;
use sync_engine::cycle::CycleOptions;
use sync_engine::quarantine::REASON_CREDENTIALS;
use sync_testkit::{FaultAction, SmtpSink, fault};
use time::Duration;

use crate::harness::*;

const FAILING: &str = r#"
[[users.mappings]]
target = "locale"
type = "expression"
expression = 'IIF([country]="US", "en-US", "en-GB")'
"#;

/// `[notify]` with email to the sink (plain SMTP is allowed on loopback), AUTH with a
/// password from a file.
fn email_toml(sink: &SmtpSink, password_file: &std::path::Path) -> String {
    format!(
        r#"
[notify]
failure_share = 0.1
throttle = "24h"
[notify.email]
to = ["it-admin@contoso.test", "Security <sec@contoso.test>"]
from = "scimd <scimd@contoso.test>"
smtp_host = "127.0.0.1"
smtp_port = {port}
tls = "none"
username = "scimd"
password_file = "{pw}"
"#,
        port = sink.addr.port(),
        pw = password_file.display()
    )
}

fn password() -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), "s3cret\n").unwrap();
    f
}

#[tokio::test]
async fn failed_objects_above_the_share_send_one_email_per_window() {
    let sink = SmtpSink::start().await;
    let pw = password();
    let mut directory = directory();
    for id in ["u-alan", "u-grace"] {
        set_attr(&mut directory, id, "country", Json::Null);
    }
    let h = Harness::with(Setup {
        directory,
        user_mappings: FAILING.into(),
        notify: email_toml(&sink, pw.path()),
        ..Default::default()
    })
    .await;

    h.cycle_lenient().await;
    let mails = sink.mails();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    let m = &mails[0];
    assert_eq!(m.from, "scimd@contoso.test");
    assert_eq!(
        m.to,
        vec!["it-admin@contoso.test".to_string(), "sec@contoso.test".to_string()]
    );
    assert_eq!(
        m.auth.as_deref(),
        Some("scimd:s3cret"),
        "AUTH with the password file's contents"
    );
    let subject = m.header("Subject").unwrap_or_default();
    assert_eq!(
        subject,
        format!("[scimd] provisioning job {JOB}: objects failed to provision")
    );
    for want in [
        "object actions failed",
        "u-alan",
        "u-grace",
        "[MappingEvaluationFailed]",
        "What to do next:",
        "--status failure",
    ] {
        assert!(m.text().contains(want), "{want:?} in {}", m.text());
    }

    // Still failing an hour later: no second email within the window.
    h.run(NOW + Duration::hours(1), CycleOptions::default())
        .await
        .expect("cycle");
    assert_eq!(sink.mails().len(), 1, "throttled");
    // A day later the failures are news again.
    h.run(NOW + Duration::hours(25), CycleOptions::default())
        .await
        .expect("cycle");
    assert_eq!(sink.mails().len(), 2);
}

#[tokio::test]
async fn quarantine_and_held_deletions_are_emailed_with_what_to_do() {
    let sink = SmtpSink::start().await;
    let pw = password();
    let h = Harness::with(Setup {
        safety: "deletion_threshold = 2".into(),
        notify: email_toml(&sink, pw.path()),
        ..Default::default()
    })
    .await;
    h.cycle().await;
    assert!(sink.mails().is_empty(), "a clean cycle sends nothing");

    // Three users leave the directory: their deletions are held back, and the admin hears.
    h.edit(|d| {
        for id in ["u-linus", "u-margaret", "u-grace"] {
            remove_user(d, id);
        }
    });
    let report = h.cycle().await;
    assert!(report.threshold_tripped);
    let mails = sink.mails();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    let m = &mails[0];
    assert!(
        m.header("Subject")
            .unwrap_or_default()
            .contains("deletions held back by the threshold")
    );
    for want in [
        "u-linus",
        "u-margaret",
        "u-grace",
        "--allow-deletes",
        "exceed the threshold",
    ] {
        assert!(m.text().contains(want), "{want:?} in {}", m.text());
    }

    // The token is revoked: quarantine, and an email that says to check the credentials.
    h.target.inject(fault("", "", 100_000, FaultAction::Unauthorized));
    h.run(NOW, CycleOptions::default())
        .await
        .expect_err("401 stops the cycle");
    let mails = sink.mails();
    assert_eq!(mails.len(), 2, "{mails:#?}");
    let m = &mails[1];
    assert_eq!(
        m.header("Subject").unwrap_or_default(),
        format!("[scimd] provisioning job {JOB}: in quarantine ({REASON_CREDENTIALS})")
    );
    assert!(
        m.text().contains("test-connection") && m.text().contains("--lift-quarantine"),
        "{}",
        m.text()
    );
}
