//! Settings: command-line flags win over `SCIMD_*` environment variables (both handled by
//! clap), which win over the TOML config file, which wins over the defaults.

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE: &str = "sqlite://scimd.db";

/// The config file (`--config FILE` or `SCIMD_CONFIG`). Unknown keys are an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub database: Option<String>,
    pub public_url: Option<String>,
    pub durability: Option<String>,
    pub max_body_bytes: Option<usize>,
    pub log_format: Option<String>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> anyhow::Result<FileConfig> {
        let Some(path) = path else {
            return Ok(FileConfig::default());
        };
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
    }
}

pub fn durability(s: Option<&str>) -> anyhow::Result<scim_store::Durability> {
    match s.map(str::to_ascii_lowercase).as_deref() {
        None | Some("full") => Ok(scim_store::Durability::Full),
        Some("normal") => Ok(scim_store::Durability::Normal),
        Some(other) => anyhow::bail!("durability must be \"full\" or \"normal\", not {other:?}"),
    }
}
