//! `scimd sync import-entra SCHEMA.json [-o JOB.toml]`: an Entra provisioning schema
//! (`GET /servicePrincipals/{id}/synchronization/jobs/{jobId}/schema`) as a job file. What
//! it cannot convert is listed on stderr by name; the job is written either way and checked.

use std::path::PathBuf;

use anyhow::Context;
use sync_engine::config::JobConfig;

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The schema export (JSON)
    pub schema: PathBuf,
    /// Write the job here instead of standard output (an existing file is not replaced)
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// job.name (default: the schema file's name)
    #[arg(long)]
    pub name: Option<String>,
}

pub fn run(args: &ImportArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.schema).with_context(|| format!("reading {}", args.schema.display()))?;
    let schema: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", args.schema.display()))?;
    let name = args.name.clone().unwrap_or_else(|| {
        let stem = args.schema.file_stem().and_then(|s| s.to_str()).unwrap_or("entra");
        stem.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                    c
                } else {
                    '-'
                }
            })
            .take(64)
            .collect()
    });
    let imported = sync_sources::graph::schema::import(&schema, &name)?;
    // The job must load and pass the job file's checks as written.
    let cfg = JobConfig::parse(&imported.toml).context("the converted job does not parse (a bug: please report it)")?;
    let warnings = sync_sources::validate(&cfg).context("the converted job does not validate")?;
    for n in &imported.notes {
        eprintln!("note: {n}");
    }
    for w in warnings {
        eprintln!("warning: {w}");
    }
    for u in &imported.unconverted {
        eprintln!("not converted: {u}");
    }
    match &args.output {
        None => print!("{}", imported.toml),
        Some(path) => {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
            f.write_all(imported.toml.as_bytes())?;
            eprintln!(
                "wrote {}: {} converted, {} not converted; fill in [source] and [target]",
                path.display(),
                imported.toml.matches("[[users.mappings]]").count()
                    + imported.toml.matches("[[groups.mappings]]").count(),
                imported.unconverted.len()
            );
        }
    }
    Ok(())
}
