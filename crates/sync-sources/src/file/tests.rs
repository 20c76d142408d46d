use std::io::Write;

use serde_json::json;

use super::*;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    path
}

async fn read(path: &Path) -> Result<SourceBatch, EngineError> {
    FileSource::new(path, None)?.read_all().await
}

fn err_text(r: Result<SourceBatch, EngineError>) -> String {
    match r {
        Err(e @ EngineError::Source(_)) => e.to_string(),
        other => panic!("expected a source error, got {other:?}"),
    }
}

const GRAPH_JSON: &str = r##"{
  "users": [
    {
      "id": "u1",
      "userPrincipalName": "aino.virtanen@contoso.example",
      "mail": "aino.virtanen@contoso.example",
      "givenName": "Aino",
      "surname": "Virtanen",
      "displayName": "Aino Virtanen",
      "department": "Security",
      "accountEnabled": true,
      "manager": {"id": "u2"},
      "appRoleAssignments": [{"id": "a1", "value": "User", "displayName": "User"}],
      "extension_123_costCenter": "CC-7",
      "@odata.etag": "W/\"1\""
    },
    {"id": "u2", "userPrincipalName": "boss@contoso.example", "accountEnabled": "False", "manager": "u3"}
  ],
  "groups": [
    {"id": "g1", "displayName": "Security Awareness", "members": ["u1", {"id": "u2"}],
     "appRoleAssignments": [{"id": "a2", "appRoleId": "00000000-0000-0000-0000-000000000000"}]}
  ]
}"##;

#[tokio::test]
async fn json_object_with_users_and_groups() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "dir.json", GRAPH_JSON);
    let batch = read(&path).await.unwrap();
    assert!(batch.complete);
    assert_eq!(batch.watermark, None);
    let [u1, u2, g1] = batch.objects.as_slice() else {
        panic!("{:?}", batch.objects)
    };
    assert_eq!((u1.kind, u1.id.as_str()), (ObjectKind::User, "u1"));
    assert_eq!(u1.attr("manager"), Some(&json!("u2")));
    assert_eq!(u1.attr("extension_123_costCenter"), Some(&json!("CC-7")));
    assert_eq!(u1.attr("@odata.etag"), None);
    assert_eq!(u1.attr("id"), None);
    assert_eq!(u1.app_roles[0].value, "User");
    assert!(!u1.is_disabled());
    assert_eq!(u2.attr("accountEnabled"), Some(&json!(false)));
    assert!(u2.is_disabled());
    assert_eq!(u2.attr("manager"), Some(&json!("u3")));
    assert_eq!(
        (g1.kind, g1.members.clone()),
        (ObjectKind::Group, vec!["u1".to_string(), "u2".to_string()])
    );
    assert_eq!(g1.app_roles[0].value, DEFAULT_ACCESS);
    assert_eq!(g1.app_roles[0].id, "a2");
    assert_eq!(
        FileSource::new(&path, None).unwrap().describe(),
        format!("file:{}", path.display())
    );
}

#[tokio::test]
async fn json_array_and_graph_list_detect_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let array = r##"[
      {"@odata.type": "#microsoft.graph.user", "id": "a"},
      {"@odata.type": "#microsoft.graph.group", "id": "b", "displayName": "G"},
      {"id": "c", "members": []},
      {"id": "d", "userPrincipalName": "d@x"},
      {"id": "e", "@odata.type": "#microsoft.graph.user", "@removed": {"reason": "deleted"}},
      {"id": "f", "@odata.type": "#microsoft.graph.user", "@removed": {"reason": "changed"}},
      {"id": "g", "@odata.type": "#microsoft.graph.group", "@removed": {"reason": "changed"}}
    ]"##;
    let batch = read(&write(&dir, "a.json", array)).await.unwrap();
    let kinds: Vec<(ObjectKind, bool, bool)> = batch
        .objects
        .iter()
        .map(|o| (o.kind, o.deleted, o.is_disabled()))
        .collect();
    use ObjectKind::*;
    assert_eq!(
        kinds,
        [
            (User, false, false),
            (Group, false, false),
            (Group, false, false),
            (User, false, false),
            (User, true, false),
            (User, false, true),
            (Group, true, false),
        ]
    );
    let list = r#"{"@odata.context": "x", "value": [{"id": "u", "userPrincipalName": "u@x"}]}"#;
    let batch = read(&write(&dir, "b.json", list)).await.unwrap();
    assert_eq!(batch.objects.len(), 1);
    assert_eq!(batch.objects[0].kind, User);
}

#[tokio::test]
async fn json_lines_and_ndjson() {
    let dir = tempfile::tempdir().unwrap();
    let text = "{\"id\": \"u1\", \"userPrincipalName\": \"a@x\"}\n\n{\"id\": \"g1\", \"members\": [\"u1\"]}\n";
    for name in ["d.jsonl", "d.ndjson"] {
        let batch = read(&write(&dir, name, text)).await.unwrap();
        let ids: Vec<(&str, ObjectKind)> = batch.objects.iter().map(|o| (o.id.as_str(), o.kind)).collect();
        assert_eq!(ids, [("u1", ObjectKind::User), ("g1", ObjectKind::Group)], "{name}");
    }
}

#[tokio::test]
async fn csv_users() {
    let dir = tempfile::tempdir().unwrap();
    let text = "\u{feff}id,userPrincipalName,givenName,department,accountEnabled,manager,appRoleAssignments\n\
                u1,a@x,Aino,Sales,true,,User;Admin\n\
                u2,\"b@x\",\"Björn, Jr\", ,FALSE,u1,\n";
    let batch = read(&write(&dir, "users.csv", text)).await.unwrap();
    let [u1, u2] = batch.objects.as_slice() else { panic!() };
    assert_eq!(u1.kind, ObjectKind::User);
    assert_eq!(u1.attr("accountEnabled"), Some(&json!(true)));
    assert_eq!(u1.attr("manager"), None);
    let roles: Vec<&str> = u1.app_roles.iter().map(|r| r.value.as_str()).collect();
    assert_eq!(roles, ["User", "Admin"]);
    assert_eq!(u2.attr("givenName"), Some(&json!("Björn, Jr")));
    assert_eq!(u2.attr("department"), None, "blank cells are absent");
    assert!(u2.is_disabled());
    assert_eq!(u2.attr("manager"), Some(&json!("u1")));
    assert!(u2.app_roles.is_empty());
}

#[tokio::test]
async fn explicit_format_overrides_extension() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "export.txt", "id,userPrincipalName\nu1,a@x\n");
    let err = FileSource::new(&path, None).unwrap_err();
    assert!(
        matches!(err, EngineError::Config(ref m) if m.contains("source.format")),
        "{err}"
    );
    let src = FileSource::new(&path, Some("CSV")).unwrap();
    assert_eq!(src.format(), FileFormat::Csv);
    assert_eq!(src.read_all().await.unwrap().objects.len(), 1);
    assert!(FileSource::new(&path, Some("xml")).is_err());
}

#[tokio::test]
async fn errors_name_file_record_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    #[rustfmt::skip]
    let cases: &[(&str, &str, &[&str])] = &[
        ("bad.json", "[{\"id\": \"u1\",}]", &["bad.json", "invalid JSON", "line 1"]),
        ("noid.json", r#"{"users": [{"id": "u1"}, {"userPrincipalName": "x"}]}"#, &["users[1]", "no \"id\""]),
        ("emptyid.json", r#"[{"id": " ", "userPrincipalName": "x"}]"#, &["[0]", "non-empty string"]),
        ("scalar.json", "[1]", &["[0]", "expected an object, found a number"]),
        ("top.json", "\"x\"", &["expected an array"]),
        ("kind.json", r#"[{"id": "x", "displayName": "?"}]"#, &["[0]", "cannot tell"]),
        ("odata.json", r##"[{"id": "x", "@odata.type": "#microsoft.graph.device"}]"##, &["unsupported @odata.type"]),
        ("conflict.json", r##"{"users": [{"id": "x", "@odata.type": "#microsoft.graph.group"}]}"##, &["users[0]", "says group"]),
        ("members.json", r#"{"groups": [{"id": "g", "members": [true]}]}"#, &["groups[0]", "members[0]"]),
        ("usermembers.json", r#"{"users": [{"id": "u", "members": []}]}"#, &["only groups have members"]),
        ("roles.json", r#"{"users": [{"id": "u", "appRoleAssignments": [{"id": "r"}]}]}"#, &["appRoleAssignments[0] has no \"value\""]),
        ("manager.json", r#"{"users": [{"id": "u", "manager": {"name": "x"}}]}"#, &["manager must be"]),
        ("dup.json", r#"{"users": [{"id": "u"}], "groups": [{"id": "u"}]}"#, &["id \"u\" appears twice"]),
        ("lines.jsonl", "{\"id\": \"u\", \"userPrincipalName\": \"x\"}\n\n{oops\n", &["lines.jsonl", "line 3", "invalid JSON"]),
        ("lines2.jsonl", "{\"id\": \"u\", \"userPrincipalName\": \"x\"}\n[]\n", &["line 2", "expected an object"]),
        ("noidcol.csv", "userPrincipalName\nx\n", &["line 1", "no \"id\" column"]),
        ("dupcol.csv", "id,mail,Mail\nu,x,y\n", &["line 1", "\"Mail\" appears twice"]),
        ("ragged.csv", "id,mail\nu1,x\nu2,y,z\n", &["ragged.csv", "line 3"]),
        ("enabled.csv", "id,accountEnabled\nu1,true\nu2,yes\n", &["line 3", "accountEnabled must be true or false"]),
        ("emptyid.csv", "id,mail\n,x\n", &["line 2", "no \"id\""]),
    ];
    for (name, text, wants) in cases {
        let e = err_text(read(&write(&dir, name, text)).await);
        for want in *wants {
            assert!(e.contains(want), "{name}: {e:?} lacks {want:?}");
        }
    }
    // Not UTF-8.
    let path = dir.path().join("latin1.json");
    std::fs::write(&path, b"[{\"id\": \"caf\xe9\"}]").unwrap();
    let e = err_text(read(&path).await);
    assert!(e.contains("not UTF-8"), "{e}");
    // Missing file.
    let e = err_text(read(&dir.path().join("missing.json")).await);
    assert!(e.contains("missing.json") && e.contains("cannot read"), "{e}");
}

#[tokio::test]
async fn refuses_files_over_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "small.json", "[]");
    let src = FileSource::new(&path, None).unwrap().with_max_bytes(1);
    let e = err_text(src.read_all().await);
    assert!(e.contains("is 2 bytes, more than the limit of 1 bytes"), "{e}");
    // The default limit is 1 GiB: a sparse file just over it is refused without being read.
    let big = dir.path().join("big.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(MAX_FILE_BYTES + 1)
        .unwrap();
    let e = err_text(read(&big).await);
    assert!(
        e.contains(&format!("more than the limit of {MAX_FILE_BYTES} bytes")),
        "{e}"
    );
}

#[tokio::test]
async fn read_one_finds_by_kind_and_id() {
    let dir = tempfile::tempdir().unwrap();
    let src = FileSource::new(write(&dir, "d.json", GRAPH_JSON), None).unwrap();
    let u = src.read_one(ObjectKind::User, "u2").await.unwrap().unwrap();
    assert_eq!(u.attr("userPrincipalName"), Some(&json!("boss@contoso.example")));
    assert!(src.read_one(ObjectKind::Group, "u2").await.unwrap().is_none());
}

#[test]
fn graph_json_round_trips() {
    let objects = parse_text(GRAPH_JSON, FileFormat::Json, "x").unwrap();
    let text = serde_json::to_string(&to_graph_json(&objects)).unwrap();
    let again = parse_text(&text, FileFormat::Json, "x").unwrap();
    assert_eq!(objects, again);
}

#[tokio::test]
async fn a_large_file_streams_in_pages_and_a_bad_record_ends_the_stream_with_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let users: Vec<_> = (0..PAGE + 1)
        .map(|i| json!({"id": format!("u{i}"), "userPrincipalName": format!("u{i}@x.example")}))
        .collect();
    let good = write(
        &dir,
        "big.json",
        &json!({ "users": users, "groups": [{"id": "g", "members": ["u1"]}] }).to_string(),
    );
    let mut rx = FileSource::new(&good, None).unwrap().stream();
    let mut sizes = Vec::new();
    while let Some(page) = rx.recv().await {
        sizes.push(page.unwrap().len());
    }
    assert_eq!(sizes, [PAGE, 2], "pages of PAGE objects, the rest last");

    // Large groups end a page early: each page holds at most PAGE_WEIGHT members, or one
    // group that alone weighs more.
    let ids: Vec<String> = (0..PAGE + 1).map(|i| format!("u{i}")).collect();
    let groups: Vec<_> = (0..PAGE_WEIGHT / PAGE * 2)
        .map(|g| json!({"id": format!("g{g}"), "members": ids}))
        .chain([json!({"id": "small", "members": ["u1"]})])
        .collect();
    let heavy = write(
        &dir,
        "heavy.json",
        &json!({ "users": users, "groups": groups }).to_string(),
    );
    let mut rx = FileSource::new(&heavy, None).unwrap().stream();
    let mut weights = Vec::new();
    while let Some(page) = rx.recv().await {
        weights.push(page.unwrap().iter().map(|o| 1 + o.members.len()).sum::<usize>());
    }
    assert_eq!(weights.len(), 4, "{weights:?}");
    assert!(weights[1..].iter().all(|w| *w <= PAGE_WEIGHT + PAGE + 2), "{weights:?}");

    let mut bad = users.clone();
    bad.push(json!({"id": "u0", "userPrincipalName": "again@x.example"}));
    let bad = write(&dir, "bad.json", &json!({ "users": bad }).to_string());
    let mut rx = FileSource::new(&bad, None).unwrap().stream();
    let first = rx.recv().await.unwrap().unwrap();
    assert_eq!(first.len(), PAGE, "what parsed before the bad record arrives first");
    let err = rx.recv().await.unwrap().unwrap_err().to_string();
    let again = format!("id \"u0\" appears twice (again in record {})", PAGE + 2);
    assert!(err.contains(&again), "{err}");
    assert!(rx.recv().await.is_none(), "the stream ends after its error");
}
