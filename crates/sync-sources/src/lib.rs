//! The engine's directory sources, each one module behind [`sync_engine::source::Source`]:
//! [`file`] (JSON, JSON lines, CSV in Graph's shape), [`scim`] (another SCIM server) and
//! [`graph`] (Microsoft Graph: Entra ID) and [`ldap`] (OpenLDAP, Active Directory). Network sources spool a full read to disk
//! ([`spool`]) so that a cycle's passes never hold the directory in memory.
//! [`Catalog`] checks a job's `[source]` section and opens it; the engine itself builds
//! without any source's dependencies.
//!
//! A new source is a module with a section type (`serde`, `deny_unknown_fields`), its
//! checks, and how it opens, plus one arm in each of [`Catalog`]'s matches.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use sync_engine::EngineError;
use sync_engine::config::{JobConfig, SecretRef, SourceConfig};
use sync_engine::model::SourceBatch;
use sync_engine::source::{Source, SourceCatalog};
use sync_engine::validate::Checks;

pub mod file;
pub mod graph;
pub mod ldap;
pub mod scim;
pub mod spool;

/// Every `type` a `[source]` section may have.
pub const TYPES: &[&str] = &["file", "scim", "graph", "ldap"];

/// The sources this crate provides.
#[derive(Debug, Clone, Copy, Default)]
pub struct Catalog;

/// A job checked with its source: [`sync_engine::validate::validate`] and [`Catalog::check`].
pub fn validate(cfg: &JobConfig) -> Result<Vec<String>, EngineError> {
    sync_engine::validate::validate_with(cfg, &Catalog)
}

fn unknown(kind: &str) -> String {
    format!(
        "source.type = {kind:?} is not a source type; use one of {}",
        TYPES.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>().join(", ")
    )
}

use sync_engine::validate::config_message;

/// A source's secret from exactly one of the keys `{key}`, `{key}_env` and `{key}_file`,
/// with messages that name those keys.
pub(crate) fn secret(
    key: &str,
    inline: &Option<String>,
    env: &Option<String>,
    file: &Option<PathBuf>,
    dir: &Path,
) -> Result<String, EngineError> {
    let r = SecretRef {
        token: inline.clone(),
        token_env: env.clone(),
        token_file: file.clone(),
        ..SecretRef::default()
    };
    r.resolve(&format!("source {key}"), dir).map_err(|e| {
        EngineError::Config(
            config_message(e)
                .replace("token, token_env, token_file", &format!("{key}, {key}_env, {key}_file"))
                .replace("token_file", &format!("{key}_file")),
        )
    })
}

/// The section as `T`, or its problem recorded.
fn spec<T: serde::de::DeserializeOwned>(cfg: &SourceConfig, checks: &mut Checks) -> Option<T> {
    cfg.parse().map_err(|e| checks.err(e)).ok()
}

fn parse<T: serde::de::DeserializeOwned>(cfg: &SourceConfig) -> Result<T, EngineError> {
    cfg.parse().map_err(EngineError::Config)
}

#[async_trait]
impl SourceCatalog for Catalog {
    fn check(&self, job: &JobConfig, checks: &mut Checks) {
        let cfg = &job.source;
        match cfg.kind.as_str() {
            "file" => {
                if let Some(s) = spec(cfg, checks) {
                    file::check(&s, checks);
                }
            }
            "scim" => {
                if let Some(s) = spec(cfg, checks) {
                    scim::check(&s, checks);
                }
            }
            "graph" => {
                if let Some(s) = spec(cfg, checks) {
                    graph::check(&s, job, checks);
                }
            }
            "ldap" => {
                if let Some(s) = spec(cfg, checks) {
                    ldap::check(&s, checks);
                }
            }
            other => checks.err(unknown(other)),
        }
    }

    fn open(&self, job: &JobConfig, dir: &Path) -> Result<Box<dyn Source>, EngineError> {
        let cfg = &job.source;
        match cfg.kind.as_str() {
            "file" => Ok(Box::new(file::open(&parse(cfg)?, dir)?)),
            "scim" => Ok(Box::new(scim::open(&parse(cfg)?, dir)?)),
            "graph" => Ok(Box::new(graph::open(&parse(cfg)?, job, dir)?)),
            "ldap" => Ok(Box::new(ldap::open(&parse(cfg)?, job, dir)?)),
            other => Err(EngineError::Config(unknown(other))),
        }
    }

    async fn environment(&self, cfg: &SourceConfig, dir: &Path) -> Result<Option<SourceBatch>, Vec<String>> {
        let one = |e: EngineError| vec![config_message(e)];
        match cfg.kind.as_str() {
            "file" => file::environment(&parse(cfg).map_err(one)?, dir).await.map(Some),
            "scim" => scim::environment(&parse(cfg).map_err(one)?, dir).map(|()| None),
            "graph" => graph::environment(&parse(cfg).map_err(one)?, dir).map(|()| None),
            "ldap" => ldap::environment(&parse(cfg).map_err(one)?, dir).map(|()| None),
            other => Err(vec![unknown(other)]),
        }
    }
}
