//! Table tests: `Retry-After` parsing and `ClientError::is_transient`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use scim_client::{ClientError, parse_retry_after};

fn status(code: u16) -> ClientError {
    ClientError::Status {
        status: code,
        scim_type: None,
        detail: String::new(),
        retry_after: None,
    }
}

#[test]
fn retry_after_table() {
    // 2015-10-21T07:28:00Z
    let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480);
    let cases: &[(&str, Option<u64>)] = &[
        ("0", Some(0)),
        ("7", Some(7)),
        (" 120 ", Some(120)),
        ("86400", Some(86_400)),
        ("Wed, 21 Oct 2015 07:28:00 GMT", Some(0)),
        ("Wed, 21 Oct 2015 07:30:30 GMT", Some(150)),
        ("Wed, 21 Oct 2015 06:00:00 GMT", Some(0)),         // in the past
        ("Thursday, 22-Oct-15 07:28:00 GMT", Some(86_400)), // RFC 850
        ("Thu Oct 22 07:28:00 2015", Some(86_400)),         // asctime
        ("", None),
        ("   ", None),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("99999999999999999999999", None),
        ("Wed, 32 Oct 2015 07:28:00 GMT", None),
    ];
    for (input, want) in cases {
        assert_eq!(
            parse_retry_after(input, now),
            want.map(Duration::from_secs),
            "Retry-After {input:?}"
        );
    }
    // Relative to the real clock too.
    let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
    let got = parse_retry_after(&soon, SystemTime::now()).unwrap();
    assert!(
        got <= Duration::from_secs(30) && got >= Duration::from_secs(28),
        "{got:?}"
    );
}

#[test]
fn is_transient_table() {
    let cases: Vec<(ClientError, bool)> = vec![
        (status(400), false),
        (status(401), false),
        (status(403), false),
        (status(404), false),
        (status(408), true),
        (status(409), false),
        (status(412), false),
        (status(413), false),
        (status(429), true),
        (status(500), true),
        (status(501), false),
        (status(502), true),
        (status(503), true),
        (status(504), true),
        (status(599), true),
        (status(302), false),
        (ClientError::Timeout, true),
        (ClientError::Transport("connection reset".into()), true),
        (ClientError::Decode("bad json".into()), false),
        (ClientError::Config("bad url".into()), false),
    ];
    for (err, want) in cases {
        assert_eq!(err.is_transient(), want, "{err:?}");
    }
}

#[test]
fn accessors() {
    let e = ClientError::Status {
        status: 429,
        scim_type: Some("tooMany".into()),
        detail: "later".into(),
        retry_after: Some(Duration::from_secs(3)),
    };
    assert_eq!(e.status(), Some(429));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    assert_eq!(e.to_string(), "HTTP 429 (tooMany): later");
    for other in [
        ClientError::Timeout,
        ClientError::Transport("x".into()),
        ClientError::Decode("x".into()),
        ClientError::Config("x".into()),
    ] {
        assert_eq!(other.status(), None);
        assert_eq!(other.retry_after(), None);
    }
}
