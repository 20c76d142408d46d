use super::*;
use crate::config::{AttributeMapping, Clause, EmailConfig, EmailTls, ScopingFilter, WebhookConfig};

const BASE: &str = r#"
version = 1
[job]
name = "acme-prod_1.x"
[source]
type = "file"
path = "directory.json"
[target]
url = "https://scim.example.com/scim/v2/acme"
token_env = "ACME_TOKEN"
[scope]
groups = ["Sales"]
[safety]
deletion_threshold = 100
[[users.mappings]]
target = "userName"
source = "userPrincipalName"
matching = 1
[[users.mappings]]
target = "active"
type = "expression"
expression = 'Not([IsSoftDeleted])'
"#;

fn base() -> JobConfig {
    JobConfig::parse(BASE).unwrap()
}

fn mapping(target: &str) -> AttributeMapping {
    AttributeMapping {
        target: target.into(),
        kind: MappingKind::Direct,
        source: Some("mail".into()),
        value: None,
        expression: None,
        default: None,
        apply: Apply::Always,
        matching: None,
    }
}

fn expr(target: &str, e: &str) -> AttributeMapping {
    AttributeMapping {
        kind: MappingKind::Expression,
        source: None,
        expression: Some(e.into()),
        ..mapping(target)
    }
}

type Edit = Box<dyn Fn(&mut JobConfig)>;

fn email(host: &str, tls: EmailTls) -> EmailConfig {
    EmailConfig {
        to: vec!["it@contoso.test".into()],
        from: "scimd@contoso.test".into(),
        smtp_host: host.into(),
        smtp_port: None,
        tls,
        username: None,
        password_env: None,
        password_file: None,
    }
}

#[test]
fn base_is_valid_without_warnings() {
    assert_eq!(validate(&base()), Ok(vec![]));
    assert_eq!(base().validate(), Ok(vec![]));
}

#[test]
fn errors_table() {
    #[rustfmt::skip]
    let cases: Vec<(&str, Edit, &[&str])> = vec![
        ("version", Box::new(|c| c.version = 2), &["version = 2"]),
        ("empty name", Box::new(|c| c.job.name.clear()), &["job.name must be 1 to 64"]),
        ("name chars", Box::new(|c| c.job.name = "acme prod".into()), &["job.name \"acme prod\"", "' '"]),
        ("name slash", Box::new(|c| c.job.name = "a/b".into()), &["'/' is not allowed"]),
        ("interval", Box::new(|c| c.job.interval = "forty".into()), &["job.interval", "\"forty\""]),
        ("interval zero", Box::new(|c| c.job.interval = "0s".into()), &["job.interval must be more than zero"]),
        ("timeout", Box::new(|c| c.target.timeout = Some("1 fortnight-ish".into())), &["target.timeout"]),
        ("concurrency 0", Box::new(|c| c.job.concurrency = 0), &["job.concurrency = 0"]),
        ("concurrency 65", Box::new(|c| c.job.concurrency = 65), &["job.concurrency = 65: must be 1 to 64"]),
        ("target url", Box::new(|c| c.target.url = "ftp://x".into()), &["target.url", "not an http"]),
        ("target no host", Box::new(|c| c.target.url = "https:///scim".into()), &["target.url", "no host"]),
        ("no secret", Box::new(|c| c.target.secret = SecretRef::default()), &["target: set one of token"]),
        ("two secrets", Box::new(|c| c.target.secret.token = Some("t".into())), &["target: set exactly one"]),
        ("empty token_env", Box::new(|c| c.target.secret.token_env = Some(" ".into())), &["target.token_env is empty"]),
        ("token and client", Box::new(|c| c.target.secret.client_id = Some("acme.1".into())), &["target: set a token or client credentials", "need both token_url and client_id", "exactly one of client_secret"]),
        ("client without secret", Box::new(|c| c.target.secret = SecretRef { token_url: Some("https://x/oauth/token".into()), client_id: Some("acme.1".into()), ..SecretRef::default() }), &["target: set exactly one of client_secret, client_secret_env, client_secret_file"]),
        ("client bad url", Box::new(|c| c.target.secret = SecretRef { token_url: Some("ftp://x".into()), client_id: Some("acme.1".into()), client_secret_env: Some("S".into()), ..SecretRef::default() }), &["target.token_url"]),
        ("bad path", Box::new(|c| c.users.mappings.push(mapping("emails[type eq].value"))), &["users.mappings[2] (target \"emails[type eq].value\"): not a SCIM attribute path", "^"]),
        ("map id", Box::new(|c| c.users.mappings.push(mapping("id"))), &["users.mappings[2]", "the target assigns id"]),
        ("duplicate", Box::new(|c| c.users.mappings.push(mapping("USERNAME"))), &["users.mappings[2] (target \"USERNAME\"): the same target as users.mappings[0]"]),
        ("duplicate filter", Box::new(|c| { c.users.mappings.push(mapping("emails[type eq \"work\"].value")); c.users.mappings.push(mapping("emails[ type eq \"work\" ].value")); }), &["users.mappings[3]", "same target as users.mappings[2]"]),
        ("direct needs source", Box::new(|c| c.users.mappings[0].source = None), &["users.mappings[0] (target \"userName\"): type = \"direct\" needs source"]),
        ("direct takes no value", Box::new(|c| c.users.mappings[0].value = Some("x".into())), &["type = \"direct\" takes no value"]),
        ("brackets", Box::new(|c| c.users.mappings[0].source = Some("[mail]".into())), &["without brackets"]),
        ("constant needs value", Box::new(|c| c.users.mappings.push(AttributeMapping { kind: MappingKind::Constant, source: None, ..mapping("title") })), &["type = \"constant\" needs value"]),
        ("constant takes no source", Box::new(|c| c.users.mappings.push(AttributeMapping { kind: MappingKind::Constant, value: Some("x".into()), ..mapping("title") })), &["type = \"constant\" takes no source"]),
        ("expression needs expression", Box::new(|c| c.users.mappings[1].expression = None), &["users.mappings[1] (target \"active\"): type = \"expression\" needs expression"]),
        ("expression takes no source", Box::new(|c| c.users.mappings[1].source = Some("x".into())), &["type = \"expression\" takes no source"]),
        ("none needs default", Box::new(|c| c.users.mappings.push(AttributeMapping { kind: MappingKind::None, source: None, ..mapping("title") })), &["type = \"none\" needs default"]),
        ("expression parse", Box::new(|c| c.users.mappings.push(expr("title", "Append([a], \"x\""))), &["users.mappings[2] (target \"title\"): expression does not parse", "at byte 15", "\n    Append([a], \"x\"\n                   ^"]),
        ("unknown function", Box::new(|c| c.users.mappings.push(expr("title", "Lower([a])"))), &["unknown function 'Lower'"]),
        ("no matching", Box::new(|c| c.users.mappings[0].matching = None), &["users.mappings: no mapping sets matching"]),
        ("matching 0", Box::new(|c| c.users.mappings[0].matching = Some(0)), &["matching precedence starts at 1"]),
        ("matching twice", Box::new(|c| c.users.mappings.push(AttributeMapping { matching: Some(1), ..mapping("externalId") })), &["users.mappings[2] (target \"externalId\"): matching = 1 is also used by users.mappings[0]"]),
        ("matching constant", Box::new(|c| c.users.mappings.push(AttributeMapping { kind: MappingKind::Constant, source: None, value: Some("x".into()), matching: Some(2), ..mapping("externalId") })), &["a constant cannot be a matching attribute"]),
        ("matching unique", Box::new(|c| c.users.mappings.push(AttributeMapping { matching: Some(2), ..expr("nickName", "SelectUniqueValue([a], [b])") })), &["users.mappings[2] (target \"nickName\"): a SelectUniqueValue mapping cannot be a matching attribute"]),
        ("chunk size", Box::new(|c| c.job.chunk_size = Some(0)), &["job.chunk_size = 0: must be 1 to 100000"]),
        ("no mappings", Box::new(|c| c.users.mappings.clear()), &["users.mappings: an enabled object mapping needs at least one"]),
        ("groups need matching", Box::new(|c| c.groups = Some(ObjectMapping { enabled: true, actions: Default::default(), mappings: vec![mapping("displayName")] })), &["groups.mappings: no mapping sets matching"]),
        ("scope", Box::new(|c| c.scope.filters = vec![ScopingFilter { name: None, clauses: vec![Clause { attribute: "department".into(), operator: "SOUNDS LIKE".into(), value: Some("x".into()) }] }]), &["scope.filters[0]", "clauses[0]", "unknown operator"]),
        ("threshold 0", Box::new(|c| c.safety.deletion_threshold = Some(0)), &["safety.deletion_threshold = 0"]),
        ("percent 0", Box::new(|c| c.safety.deletion_threshold_percent = Some(0.0)), &["deletion_threshold_percent = 0"]),
        ("percent 101", Box::new(|c| c.safety.deletion_threshold_percent = Some(101.0)), &["deletion_threshold_percent = 101"]),
        ("percent NaN", Box::new(|c| c.safety.deletion_threshold_percent = Some(f64::NAN)), &["deletion_threshold_percent = NaN"]),
        ("webhook url", Box::new(|c| c.notify.webhook = Some(WebhookConfig { url: "mailto:x@y".into(), secret: Some("s".into()), secret_env: None, secret_file: None })), &["notify.webhook.url", "not an http"]),
        ("webhook secret format", Box::new(|c| c.notify.webhook = Some(WebhookConfig { url: "https://h.example".into(), secret: Some("plain".into()), secret_env: None, secret_file: None })), &["notify.webhook.secret: not a Standard Webhooks secret"]),
        ("email tls none", Box::new(|c| c.notify.email = Some(email("smtp.example.com", EmailTls::None))), &["tls = \"none\"", "only for a relay on loopback", "\"smtp.example.com\""]),
        ("email no recipients", Box::new(|c| c.notify.email = Some(EmailConfig { to: vec![], ..email("smtp.example.com", EmailTls::Starttls) })), &["notify.email.to: list at least one address"]),
        ("email bad address", Box::new(|c| c.notify.email = Some(EmailConfig { from: "not an address".into(), ..email("smtp.example.com", EmailTls::Starttls) })), &["notify.email.address", "\"not an address\""]),
        ("email user without password", Box::new(|c| c.notify.email = Some(EmailConfig { username: Some("u".into()), ..email("smtp.example.com", EmailTls::Implicit) })), &["username needs password_env or password_file"]),
        ("email password without user", Box::new(|c| c.notify.email = Some(EmailConfig { password_env: Some("P".into()), ..email("smtp.example.com", EmailTls::Implicit) })), &["a password needs a username"]),
        ("failure share", Box::new(|c| c.notify.failure_share = Some(1.5)), &["notify.failure_share = 1.5"]),
        ("throttle", Box::new(|c| c.notify.throttle = Some("daily".into())), &["notify.throttle", "\"daily\""]),
        ("webhook secrets", Box::new(|c| c.notify.webhook = Some(WebhookConfig { url: "https://h.example".into(), secret: Some("s".into()), secret_env: Some("E".into()), secret_file: None })), &["at most one of secret"]),
    ];
    for (name, edit, wants) in cases {
        let mut cfg = base();
        edit(&mut cfg);
        let err = match validate(&cfg) {
            Err(EngineError::Config(m)) => m,
            other => panic!("{name}: expected a config error, got {other:?}"),
        };
        for want in wants {
            assert!(err.contains(want), "{name}: {err:?} lacks {want:?}");
        }
    }
}

#[test]
fn several_problems_are_listed_together() {
    let mut cfg = base();
    cfg.job.concurrency = 0;
    cfg.users.mappings[0].matching = None;
    let err = validate(&cfg).unwrap_err().to_string();
    assert!(err.starts_with("config: 2 problems:\n- job.concurrency"), "{err}");
    assert!(err.contains("\n- users.mappings: no mapping sets matching"), "{err}");
}

#[test]
fn warnings_table() {
    #[rustfmt::skip]
    let cases: Vec<(&str, Edit, &str)> = vec![
        ("switch", Box::new(|c| c.users.mappings[1].expression = Some(r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#.into())), "users.mappings[1] (target \"active\"): Switch evaluates to null"),
        ("default create", Box::new(|c| c.users.mappings.push(AttributeMapping { default: Some("x".into()), apply: Apply::Create, ..mapping("title") })), "default with apply = \"create\""),
        ("default always", Box::new(|c| c.users.mappings.push(AttributeMapping { default: Some("x".into()), ..mapping("title") })), "default is used only when the object is created"),
        ("default constant", Box::new(|c| c.users.mappings.push(AttributeMapping { kind: MappingKind::Constant, source: None, value: Some("v".into()), default: Some("x".into()), ..mapping("title") })), "a constant is never null"),
        ("select unique", Box::new(|c| c.users.mappings.push(expr("nickName", "SelectUniqueValue([a], [b])"))), "SelectUniqueValue runs only when the object is created"),
        ("no threshold", Box::new(|c| c.safety.deletion_threshold = None), "no deletion threshold"),
        ("plain http", Box::new(|c| c.target.url = "http://scim.example.com/v2".into()), "plain http"),
        ("assigned, nothing listed", Box::new(|c| c.scope.groups.clear()), "lists no groups and no app_roles"),
        ("all ignores groups", Box::new(|c| c.scope.mode = ScopeMode::All), "ignores scope.groups"),
        ("unsigned webhook", Box::new(|c| c.notify.webhook = Some(WebhookConfig { url: "https://h.example".into(), secret: None, secret_env: None, secret_file: None })), "not signed"),
    ];
    for (name, edit, want) in cases {
        let mut cfg = base();
        edit(&mut cfg);
        let warnings = validate(&cfg).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            warnings.iter().any(|w| w.contains(want)),
            "{name}: {warnings:?} lacks {want:?}"
        );
    }
    // Loopback over plain http is fine (scimd demo, tests).
    for url in [
        "http://127.0.0.1:8080/scim/v2",
        "http://localhost/scim",
        "http://[::1]:9/x",
    ] {
        let mut cfg = base();
        cfg.target.url = url.into();
        assert_eq!(validate(&cfg), Ok(vec![]), "{url}");
    }
    // Plain SMTP to a relay on loopback is fine.
    for host in ["127.0.0.1", "localhost", "::1"] {
        let mut cfg = base();
        cfg.notify.email = Some(email(host, EmailTls::None));
        assert_eq!(validate(&cfg), Ok(vec![]), "{host}");
    }
}

#[test]
fn disabled_groups_need_no_matching() {
    let mut cfg = base();
    cfg.groups = Some(ObjectMapping {
        enabled: false,
        actions: Default::default(),
        mappings: vec![mapping("displayName")],
    });
    assert_eq!(validate(&cfg), Ok(vec![]));
}

/// target, source, expression, matching
type Row<'a> = (String, Option<&'a str>, Option<&'a str>, Option<u32>);

#[test]
fn hoxhunt_example_parses_and_validates() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/hoxhunt.toml");
    let cfg = JobConfig::load(std::path::Path::new(path)).unwrap();
    let warnings = validate(&cfg).unwrap();
    // Entra's own `active` mapping uses Switch; the only warning is its documented gotcha.
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("Switch"), "{warnings:?}");

    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let table: Vec<Row> = cfg
        .users
        .mappings
        .iter()
        .map(|m| {
            (
                m.target.clone(),
                m.source.as_deref(),
                m.expression.as_deref(),
                m.matching,
            )
        })
        .collect();
    let switch = r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#;
    #[rustfmt::skip]
    let want: Vec<Row> = vec![
        ("userName".into(), Some("userPrincipalName"), None, Some(1)),
        (r#"emails[type eq "work"].value"#.into(), Some("mail"), None, None),
        ("active".into(), None, Some(switch), None),
        ("name.givenName".into(), Some("givenName"), None, None),
        ("name.familyName".into(), Some("surname"), None, None),
        (format!("{ent}:department"), Some("department"), None, None),
        (format!("{ent}:division"), Some("officeLocation"), None, None),
        (r#"addresses[type eq "work"].country"#.into(), Some("country"), None, None),
        ("preferredLanguage".into(), Some("preferredLanguage"), None, None),
    ];
    assert_eq!(table, want);
    assert!(cfg.groups.is_none());
    assert_eq!(cfg.scope.mode, ScopeMode::Assigned);
    assert_eq!(cfg.scope.groups, ["Security Awareness"]);
    assert_eq!(cfg.target.secret.token_env.as_deref(), Some("HOXHUNT_SCIM_TOKEN"));
    assert_eq!(cfg.safety.deletion_threshold, Some(500));
    assert_eq!(cfg.safety.deletion_threshold_percent, Some(20.0));
    assert!(cfg.notify.webhook.is_none());
    assert_eq!(cfg.source.kind, "file");
    assert_eq!(cfg.source.keys["path"].as_str(), Some("sample-directory.json"));
}

#[test]
fn target_bulk_key() {
    use crate::config::BulkMode;
    assert_eq!(base().target.bulk, BulkMode::Auto, "auto by default");
    let with = |line: &str| {
        JobConfig::parse(&BASE.replace(
            "token_env = \"ACME_TOKEN\"",
            &format!("token_env = \"ACME_TOKEN\"\n{line}"),
        ))
    };
    assert_eq!(with("bulk = \"off\"").unwrap().target.bulk, BulkMode::Off);
    assert_eq!(with("bulk = \"auto\"").unwrap().target.bulk, BulkMode::Auto);
    for (line, want) in [
        ("bulk = \"on\"", "unknown variant `on`"),
        ("bulk = true", "wanted string"),
        ("bulks = \"off\"", "unknown field `bulks`"),
    ] {
        let err = with(line).unwrap_err().to_string();
        assert!(err.contains(want), "{line}: {err}");
    }
}

#[test]
fn attributes_no_source_object_has_are_named() {
    use crate::model::{ObjectKind, SourceBatch, SourceObject};
    let user = |attrs: serde_json::Value| SourceObject {
        kind: ObjectKind::User,
        id: "u1".into(),
        attrs: attrs.as_object().cloned().unwrap_or_default(),
        members: vec![],
        app_roles: vec![],
        deleted: false,
    };
    let batch = SourceBatch {
        objects: vec![
            user(serde_json::json!({"userprincipalname": "a@x"})),
            user(serde_json::json!({"department": "R&D"})),
        ],
        complete: true,
        watermark: None,
    };
    let mut cfg = base();
    cfg.users.mappings.push(expr(
        "title",
        r#"IIF([IsSoftDeleted], [objectId], Join(" ", [department], [jobTitle]))"#,
    ));
    cfg.scope.filters = vec![ScopingFilter {
        name: None,
        clauses: vec![Clause {
            attribute: "country".into(),
            operator: "EQUALS".into(),
            value: Some("FI".into()),
        }],
    }];
    let found = crate::validate::missing_attributes(&cfg, &batch);
    // `userPrincipalName` matches `userprincipalname` (names are case-insensitive); computed
    // ones are never missing;
    // one present on any object is enough.
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].contains("(target \"title\")") && found[0].contains("\"jobTitle\""),
        "{}",
        found[0]
    );
    assert!(
        found[1].starts_with("scope.filters[0].clauses[0]") && found[1].contains("\"country\""),
        "{}",
        found[1]
    );
}
