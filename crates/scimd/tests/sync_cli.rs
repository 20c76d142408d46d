//! `scimd sync …` and `scimd demo`, run as a user would: the built binary against a real
//! `scimd serve` on an ephemeral port.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use common::sync::*;
use serde_json::Value;

#[test]
fn validate_accepts_the_example_and_rejects_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    write_job(dir.path(), "http://127.0.0.1:9/scim/v2/x");
    let (ok, out, err) = run_in(
        dir.path(),
        &["sync", "validate", "job.toml"],
        &[("HOXHUNT_SCIM_TOKEN", "t")],
    );
    assert!(ok, "{err}");
    assert!(out.contains("valid"));
    let broken = std::fs::read_to_string(dir.path().join("job.toml"))
        .unwrap()
        .replace("Switch([IsSoftDeleted]", "Switch([IsSoftDeleted]]");
    std::fs::write(dir.path().join("bad.toml"), broken).unwrap();
    let (ok, _, err) = run_in(dir.path(), &["sync", "validate", "bad.toml"], &[]);
    assert!(!ok);
    assert!(
        err.contains("active") && err.contains("Switch"),
        "the error names the mapping: {err}"
    );
    // What the machine must provide: the token, the source file, attributes that exist.
    let (ok, _, err) = run_in(dir.path(), &["sync", "validate", "job.toml"], &[]);
    assert!(
        !ok && err.contains("environment variable HOXHUNT_SCIM_TOKEN is not set"),
        "{err}"
    );
    let (ok, _, err) = run_in(
        dir.path(),
        &["sync", "validate", "job.toml"],
        &[("HOXHUNT_SCIM_TOKEN", " ")],
    );
    assert!(!ok && err.contains("HOXHUNT_SCIM_TOKEN is empty"), "{err}");
    let job = std::fs::read_to_string(dir.path().join("job.toml")).unwrap();
    let edited = |from: &str, to: &str, name: &str| {
        assert!(job.contains(from), "{from}");
        std::fs::write(dir.path().join(name), job.replace(from, to)).unwrap();
    };
    edited(
        "token_env = \"HOXHUNT_SCIM_TOKEN\"",
        "token_file = \"secrets/token\"",
        "file.toml",
    );
    let (ok, _, err) = run_in(dir.path(), &["sync", "validate", "file.toml"], &[]);
    assert!(
        !ok && err.contains("cannot read token_file") && err.contains("secrets/token"),
        "{err}"
    );
    edited(
        "path = \"sample-directory.json\"",
        "path = \"nowhere.json\"",
        "nosource.toml",
    );
    let (ok, _, err) = run_in(
        dir.path(),
        &["sync", "validate", "nosource.toml"],
        &[("HOXHUNT_SCIM_TOKEN", "t")],
    );
    assert!(!ok && err.contains("nowhere.json does not exist"), "{err}");
    edited("source = \"givenName\"", "source = \"givenNmae\"", "typo.toml");
    let (ok, _, err) = run_in(dir.path(), &["sync", "validate", "typo.toml"], &[]);
    assert!(!ok && err.contains("2 problems"), "both problems are listed: {err}");
    assert!(
        err.contains("no user in the source has the attribute \"givenNmae\""),
        "{err}"
    );
    std::fs::write(dir.path().join("unknown.toml"), "version = 1\nbogus = 2\n").unwrap();
    let (ok, _, err) = run_in(dir.path(), &["sync", "validate", "unknown.toml"], &[]);
    assert!(!ok);
    assert!(err.contains("bogus") || err.contains("unknown"), "{err}");
}

#[test]
fn plan_run_status_logs_provision_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    write_job(dir.path(), &server.url);
    let env = [("HOXHUNT_SCIM_TOKEN", server.token.as_str())];
    let d = dir.path();

    let (ok, out, err) = run_in(d, &["sync", "test-connection", "job.toml"], &env);
    assert!(ok, "{err}");
    assert!(out.contains("HTTP 200") && out.contains("patch yes"), "{out}");
    let (ok, _, err) = run_in(
        d,
        &["sync", "test-connection", "job.toml"],
        &[("HOXHUNT_SCIM_TOKEN", "scimd_wrong")],
    );
    assert!(!ok, "a wrong token fails Test Connection");
    assert!(err.contains("failed"), "{err}");

    // Dry run: a plan, and nothing on the target.
    let (ok, out, err) = run_in(d, &["sync", "plan", "job.toml", "--json"], &env);
    assert!(ok, "{err}");
    let plan: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let creates = plan["counts"]["create"].as_u64().unwrap();
    assert!(creates > 100, "{creates}");
    assert_eq!(users(&server), 0, "plan changes nothing");
    // `sync plan … | head -1` ends quietly too.
    let (ok, text, _) = run_in(d, &["sync", "plan", "job.toml"], &env);
    assert!(
        ok && text.len() > 1 << 16,
        "the plan outgrows the pipe buffer: {} bytes",
        text.len()
    );
    let (ok, first, err) = first_line_then_close(d, &["sync", "plan", "job.toml"], &env);
    assert!(ok && !err.contains("panicked"), "{err}");
    assert!(first.starts_with("+ create-or-match "), "{first}");

    let (ok, out, err) = run_in(d, &["sync", "run", "job.toml", "--once"], &env);
    assert!(ok, "{err}");
    assert!(out.contains("initial cycle"), "{out}");
    assert_eq!(users(&server), creates);
    let (ok, out, _) = run_in(d, &["sync", "run", "job.toml", "--once"], &env);
    assert!(ok);
    assert!(
        out.contains("incremental cycle") && out.contains("0 requests"),
        "second cycle sends nothing: {out}"
    );

    let (ok, out, _) = run_in(d, &["sync", "status", "job.toml", "--json"], &env);
    assert!(ok);
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status[0]["job"], "hoxhunt");
    assert_eq!(status[0]["state"], "active");
    assert_eq!(status[0]["managed_objects"].as_u64(), Some(creates));

    let (ok, out, _) = run_in(d, &["sync", "logs", "job.toml", "--json", "--limit", "5000"], &env);
    assert!(ok);
    let records: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(
        records
            .iter()
            .filter(|r| r["action"] == "Create" && r["status"] == "Success")
            .count() as u64,
        creates
    );
    assert!(
        records
            .iter()
            .all(|r| r["cycleId"].is_string() && r["changeId"].is_string())
    );
    // `sync logs … | head -1`: more than a pipe's buffer of output, and the reader leaves
    // after one line.
    assert!(
        out.len() > 1 << 16,
        "the listing outgrows the pipe buffer: {} bytes",
        out.len()
    );
    let (ok, first, err) = first_line_then_close(d, &["sync", "logs", "job.toml", "--json", "--limit", "5000"], &env);
    assert!(
        ok && !err.contains("panicked"),
        "a closed pipe ends the listing quietly: {err}"
    );
    assert!(serde_json::from_str::<Value>(&first).is_ok(), "{first}");
    // The text log says why a record was skipped.
    let (_, text, _) = run_in(
        d,
        &["sync", "logs", "job.toml", "--status", "skipped", "--limit", "3"],
        &env,
    );
    assert!(
        text.lines().count() == 3
            && text
                .lines()
                .all(|l| l.contains(" Other Skipped user ") && l.contains(" ms: ")),
        "{text}"
    );
    assert!(
        records
            .iter()
            .all(|r| r["initiatedBy"] == "cycle" && r["durationInMilliseconds"].is_u64())
    );
    let entitled = records
        .iter()
        .any(|r| r["status"] == "Skipped" && r.to_string().contains("not effectively entitled"));
    assert!(
        entitled,
        "Default-Access-only users are logged as not effectively entitled"
    );

    // Provision on demand: one skipped user shows its trace.
    let skipped = records.iter().find(|r| r["status"] == "Skipped").unwrap();
    let id = skipped["sourceId"].as_str().unwrap();
    let (ok, out, err) = run_in(d, &["sync", "provision", "job.toml", "--user", id, "--json"], &env);
    assert!(ok, "{err}");
    let trace: Value = serde_json::from_str(&out).unwrap();
    let steps: Vec<&str> = trace["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(steps.first(), Some(&"Import"));
    assert!(steps.contains(&"Determine scope"));

    let (ok, out, _) = run_in(d, &["sync", "restart", "job.toml", "--clear-state"], &env);
    assert!(ok);
    assert!(out.contains("cleared"));
    let (ok, out, _) = run_in(d, &["sync", "status", "job.toml", "--json"], &env);
    assert!(ok);
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status[0]["managed_objects"], 0, "links cleared");
    // The next cycle re-matches instead of duplicating.
    let (ok, out, _) = run_in(d, &["sync", "run", "job.toml", "--once"], &env);
    assert!(ok, "{out}");
    assert_eq!(users(&server), creates, "re-matched, no duplicates");
}

/// Test Connection probes the configured matching attribute, and groups by theirs when
/// groups are provisioned, as Entra does.
#[test]
fn test_connection_probes_the_configured_matching_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = serve(d);
    write_job(d, &server.url);
    let env = [("HOXHUNT_SCIM_TOKEN", server.token.as_str())];
    let job = std::fs::read_to_string(d.join("job.toml")).unwrap();
    let edited = job
        .replacen(
            "source = \"userPrincipalName\"\nmatching = 1",
            "source = \"userPrincipalName\"",
            1,
        )
        .replacen("source = \"mail\"", "source = \"mail\"\nmatching = 1", 1)
        + "\n[groups]\n[[groups.mappings]]\ntarget = \"displayName\"\nsource = \"displayName\"\nmatching = 1\n";
    std::fs::write(d.join("job.toml"), edited).unwrap();
    let (ok, out, err) = run_in(d, &["sync", "test-connection", "job.toml"], &env);
    assert!(ok, "{out}{err}");
    let probes: Vec<&str> = out.lines().filter(|l| l.starts_with("probe:")).collect();
    assert_eq!(probes.len(), 2, "{out}");
    assert!(
        probes[0].starts_with("probe: GET /Users?filter=emails[type eq \"work\"].value eq \""),
        "{out}"
    );
    assert!(
        probes[0].ends_with("HTTP 200") && probes[1].ends_with("HTTP 200"),
        "{out}"
    );
    assert!(
        probes[1].starts_with("probe: GET /Groups?filter=displayName eq \""),
        "{out}"
    );
    assert!(out.contains("Test Connection succeeded"), "{out}");
}

/// The documented exit codes: 0 clean, 3 when some objects failed, 4 when the cycle
/// stopped or the job is quarantined; each failure also leaves its trace in the log.
#[test]
fn exit_codes_tell_failed_objects_from_stopped_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = serve(d);
    write_job(d, &server.url);
    let env = [("HOXHUNT_SCIM_TOKEN", server.token.as_str())];
    // The first (assigned) user loses the matching attribute's source.
    let path = d.join("sample-directory.json");
    let mut directory: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let bad = directory["users"][0]["id"].as_str().unwrap().to_string();
    directory["users"][0]
        .as_object_mut()
        .unwrap()
        .remove("userPrincipalName");
    std::fs::write(&path, directory.to_string()).unwrap();

    let (code, out, err) = code_in(d, &["sync", "plan", "job.toml"], &env);
    assert_eq!(code, Some(3), "{err}");
    let failing =
        |l: &&str| l.starts_with("x create user") && l.contains(&bad) && l.contains("[MappingEvaluationFailed]");
    assert_eq!(out.lines().filter(failing).count(), 1, "{out}");
    assert!(err.contains("1 object(s) would fail"), "{err}");

    let (code, out, err) = code_in(d, &["sync", "run", "job.toml", "--once"], &env);
    assert_eq!(code, Some(3), "{out}{err}");
    assert!(out.contains("result: partially_failed"), "{out}");
    assert!(err.contains("1 object action(s) failed and are escrowed"), "{err}");
    let created = users(&server);
    assert!(created > 100, "everyone else is provisioned: {created}");
    let (ok, out, _) = run_in(d, &["sync", "logs", "job.toml", "--status", "Failure"], &env);
    assert!(
        ok && out.contains(&bad) && out.contains("MappingEvaluationFailed"),
        "{out}"
    );

    // The directory is gone: the cycle stops, says why, and leaves a record.
    std::fs::rename(&path, d.join("moved.json")).unwrap();
    let (code, _, err) = code_in(d, &["sync", "run", "job.toml", "--once"], &env);
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("cycle failed [SourceReadFailed]"), "{err}");
    let (_, out, _) = run_in(d, &["sync", "status", "job.toml"], &env);
    assert!(out.contains("failed [SourceReadFailed]"), "{out}");
    let (_, out, _) = run_in(d, &["sync", "logs", "job.toml", "--limit", "1"], &env);
    assert!(
        out.contains("Cycle Failure") && out.contains("SourceReadFailed"),
        "{out}"
    );
    std::fs::rename(d.join("moved.json"), &path).unwrap();

    // A refused token quarantines the job; the next run is held back, and says so.
    let wrong = [("HOXHUNT_SCIM_TOKEN", "scimd_wrong")];
    let (code, _, err) = code_in(d, &["sync", "run", "job.toml", "--once"], &wrong);
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("TargetUnauthorized"), "{err}");
    let (code, out, err) = code_in(d, &["sync", "run", "job.toml", "--once"], &env);
    assert_eq!(code, Some(4), "{out}{err}");
    assert!(out.contains("cycle skipped: quarantined"), "{out}");
    let (code, _, err) = code_in(d, &["sync", "plan", "job.toml"], &env);
    assert_eq!(code, Some(4), "plan says the job is quarantined: {err}");
    let (_, out, _) = run_in(d, &["sync", "logs", "job.toml", "--limit", "3"], &env);
    assert!(
        out.contains("Quarantine Failure") && out.contains("EncounteredQuarantineException"),
        "{out}"
    );
    assert_eq!(users(&server), created, "nothing changed on the target meanwhile");

    // Lifted and fixed: a clean cycle exits 0.
    run_in(d, &["sync", "restart", "job.toml", "--lift-quarantine"], &env);
    let mut directory: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    directory["users"][0]["userPrincipalName"] = Value::from("paivi.makinen@contoso.example");
    std::fs::write(&path, directory.to_string()).unwrap();
    let (code, out, err) = code_in(d, &["sync", "run", "job.toml", "--once"], &env);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(users(&server), created + 1);
}

/// Provisioning Status Off and On, the lease another process holds, and the history.
#[test]
fn stop_start_lease_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = serve(d);
    write_job(d, &server.url);
    let env = [("HOXHUNT_SCIM_TOKEN", server.token.as_str())];

    let (ok, out, _) = run_in(d, &["sync", "stop", "job.toml"], &env);
    assert!(ok && out.contains("job hoxhunt: Off"), "{out}");
    let (code, out, err) = code_in(d, &["sync", "run", "job.toml", "--once"], &env);
    assert_eq!(code, Some(0), "an Off job is not an error: {err}");
    assert!(out.contains("cycle skipped: the job is Off"), "{out}");
    assert_eq!(users(&server), 0);
    let (_, out, _) = run_in(d, &["sync", "history", "job.toml"], &env);
    assert!(out.contains("no cycles yet"), "{out}");
    run_in(d, &["sync", "start", "job.toml"], &env);

    // Another process holds the job: the run refuses and says who.
    let db = format!("sqlite://{}/scimd-sync.db", d.display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let state = rt.block_on(scim_store::open(&db, &Default::default())).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let until = scim_core::Timestamp::new(now + time::Duration::minutes(5));
    rt.block_on(state.claim_lease("hoxhunt", "elsewhere:7", scim_core::Timestamp::new(now), until))
        .unwrap();
    let (code, _, err) = code_in(d, &["sync", "run", "job.toml", "--once"], &env);
    assert_eq!(code, Some(5), "{err}");
    assert!(err.contains("job hoxhunt is running on elsewhere:7"), "{err}");
    let (_, out, _) = run_in(d, &["sync", "status", "job.toml"], &env);
    assert!(out.contains("(On, running on elsewhere:7)"), "{out}");
    assert_eq!(users(&server), 0, "nothing ran");
    rt.block_on(state.release_lease("hoxhunt", "elsewhere:7")).unwrap();

    let (code, _, err) = code_in(d, &["sync", "run", "job.toml", "--once"], &env);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = code_in(d, &["sync", "run", "job.toml", "--once"], &env);
    assert_eq!(code, Some(0), "{err}");
    let (ok, out, _) = run_in(d, &["sync", "history", "job.toml", "--json"], &env);
    assert!(ok);
    let cycles: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(cycles.len(), 2, "{out}");
    assert_eq!(
        (cycles[0]["kind"].as_str(), cycles[1]["kind"].as_str()),
        (Some("incremental"), Some("initial"))
    );
    assert!(
        cycles
            .iter()
            .all(|c| c["outcome"] == "succeeded" && c["worker"].as_str().unwrap().contains(':'))
    );
    assert!(
        cycles[1]["counts"]["Create"]["Success"].as_u64().unwrap() > 100,
        "{}",
        cycles[1]
    );
    assert!(cycles[0]["started"].is_string() && cycles[0]["finished"].is_string() && cycles[0]["id"].is_string());
    let (_, out, _) = run_in(d, &["sync", "status", "job.toml", "--json"], &env);
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (status[0]["provisioning"].as_str(), &status[0]["running_on"]),
        (Some("on"), &Value::Null)
    );

    // `enabled = false` in the file turns the job Off too.
    let job = std::fs::read_to_string(d.join("job.toml")).unwrap();
    std::fs::write(
        d.join("job.toml"),
        job.replacen("[job]\n", "[job]\nenabled = false\n", 1),
    )
    .unwrap();
    let (code, out, _) = code_in(d, &["sync", "run", "job.toml", "--once"], &env);
    assert_eq!(code, Some(0));
    assert!(out.contains("enabled = false"), "{out}");
}

#[test]
fn demo_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = run_in(dir.path(), &["demo", "--users", "60", "--groups", "6"], &[]);
    assert!(ok, "{err}");
    assert!(out.contains("Tenant URL:"));
    assert!(out.contains("initial cycle"));
    assert!(out.contains("0 failed"));
    assert!(out.contains("A third cycle with no directory change sends nothing"));
    let third = out.lines().rev().find(|l| l.starts_with("applied:")).unwrap();
    assert!(third.contains(" 0 requests"), "{third}");
}

/// The engine's target with OAuth 2.0 client credentials instead of a static token, as
/// Entra's gallery rules now ask of SCIM apps: the client comes from the admin API.
#[test]
fn a_job_with_client_credentials_provisions_through_oauth() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = serve(d);
    let db = format!("sqlite://{}/server.db", d.display());
    let (ok, out, err) = run_in(d, &["admin", "token", "issue", "--json", "--database", &db], &[]);
    assert!(ok, "{err}");
    let admin: Value = serde_json::from_str(out.trim()).unwrap();
    let root = server.url.split("/scim/v2/").next().unwrap().to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client: Value = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{root}/admin/v1/tenants/default/clients"))
            .bearer_auth(admin["token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    write_job(d, &server.url);
    let job = std::fs::read_to_string(d.join("job.toml")).unwrap().replace(
        "token_env = \"HOXHUNT_SCIM_TOKEN\"",
        &format!(
            "token_url = \"{}\"\nclient_id = \"{}\"\nclient_secret_env = \"HOXHUNT_CLIENT_SECRET\"",
            client["token_url"].as_str().unwrap(),
            client["client_id"].as_str().unwrap()
        ),
    );
    std::fs::write(d.join("job.toml"), job).unwrap();
    let env = [("HOXHUNT_CLIENT_SECRET", client["client_secret"].as_str().unwrap())];

    let (ok, out, err) = run_in(d, &["sync", "validate", "job.toml"], &env);
    assert!(ok && out.contains("valid"), "{out}{err}");
    let (ok, _, err) = run_in(d, &["sync", "test-connection", "job.toml"], &env);
    assert!(ok, "{err}");
    let (ok, _, err) = run_in(d, &["sync", "run", "job.toml", "--once"], &env);
    assert!(ok, "{err}");
    let total = users(&server);
    assert!(total > 100, "{total}");

    let (ok, _, err) = run_in(
        d,
        &["sync", "test-connection", "job.toml"],
        &[("HOXHUNT_CLIENT_SECRET", "scimdcs_wrong")],
    );
    assert!(
        !ok && err.contains("token endpoint"),
        "a wrong secret names the token endpoint: {err}"
    );
}
