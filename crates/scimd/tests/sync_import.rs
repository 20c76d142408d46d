//! `scimd sync import-entra`: the Hoxhunt mapping exported from Entra imports to a job that
//! plans exactly what `examples/hoxhunt.toml` plans against the sample directory.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use common::sync::*;

const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/entra-schema-hoxhunt.json");

#[test]
fn the_hoxhunt_schema_imports_to_the_examples_plan() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = serve(d);
    write_job(d, &server.url);
    let env = [("HOXHUNT_SCIM_TOKEN", server.token.as_str())];
    let (ok, example_plan, err) = run_in(d, &["sync", "plan", "job.toml"], &env);
    assert!(ok, "{err}");

    let (ok, out, err) = run_in(d, &["sync", "import-entra", SCHEMA, "-o", "imported.toml"], &[]);
    assert!(ok, "{out}{err}");
    assert!(
        err.contains("wrote imported.toml: 11 converted, 0 not converted"),
        "{err}"
    );
    assert!(err.contains("note: groups.mappings (target \"members\")"), "{err}");
    let (ok, _, err) = run_in(d, &["sync", "import-entra", SCHEMA, "-o", "imported.toml"], &[]);
    assert!(
        !ok && err.contains("must not exist yet"),
        "an existing file is kept: {err}"
    );

    // Only what a schema cannot know: where the directory and the app are, who is assigned.
    let example: toml::Table = std::fs::read_to_string(d.join("job.toml")).unwrap().parse().unwrap();
    let mut imported: toml::Table = std::fs::read_to_string(d.join("imported.toml"))
        .unwrap()
        .parse()
        .unwrap();
    for key in ["source", "target", "scope", "job"] {
        imported.insert(key.into(), example[key].clone());
    }
    std::fs::write(d.join("imported.toml"), toml::to_string(&imported).unwrap()).unwrap();
    let (ok, imported_plan, err) = run_in(d, &["sync", "plan", "imported.toml"], &env);
    assert!(ok, "{err}");
    assert!(example_plan.lines().count() > 100, "{example_plan}");
    assert_eq!(imported_plan, example_plan);

    let (ok, _, err) = run_in(d, &["sync", "import-entra", "job.toml"], &[]);
    assert!(!ok && err.contains("is not JSON"), "{err}");
}
