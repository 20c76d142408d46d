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
    pub tls_cert: Option<std::path::PathBuf>,
    pub tls_key: Option<std::path::PathBuf>,
    #[serde(default)]
    pub limits: LimitsFile,
}

/// The `[limits]` table: rate limits, load shedding and connection limits (docs/operations.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    /// The default tenant rate, `100/200` (requests per second / burst).
    pub tenant_rate: Option<String>,
    pub max_in_flight: Option<usize>,
    pub max_connections: Option<usize>,
    pub auth_failures_per_minute: Option<u32>,
    pub header_timeout: Option<String>,
    pub body_timeout: Option<String>,
    pub max_header_bytes: Option<usize>,
    pub client_ip_header: Option<String>,
}

/// Applies the `[limits]` table, then the flags that override it.
pub fn limits(limits: &mut scim_server::Limits, file: &LimitsFile, args: &crate::cli::ServeArgs) -> anyhow::Result<()> {
    if let Some(r) = args.tenant_rate.as_ref().or(file.tenant_rate.as_ref()) {
        limits.tenant_rate = r.parse().map_err(|e: String| anyhow::anyhow!("tenant rate: {e}"))?;
    }
    let positive = |what: &str, n: usize| {
        if n == 0 {
            anyhow::bail!("{what} must be at least 1");
        }
        Ok(n)
    };
    if let Some(n) = args.max_in_flight.or(file.max_in_flight) {
        limits.max_in_flight = positive("max_in_flight", n)?;
    }
    if let Some(n) = args.max_connections.or(file.max_connections) {
        limits.max_connections = positive("max_connections", n)?;
    }
    if let Some(n) = file.auth_failures_per_minute {
        limits.auth_failures_per_minute = positive("auth_failures_per_minute", n as usize)? as u32;
    }
    if let Some(n) = file.max_header_bytes {
        limits.max_header_bytes = n.max(8192);
    }
    for (what, given, slot) in [
        ("header_timeout", &file.header_timeout, &mut limits.header_timeout),
        ("body_timeout", &file.body_timeout, &mut limits.body_timeout),
    ] {
        if let Some(text) = given {
            let d = humantime::parse_duration(text)
                .map_err(|e| anyhow::anyhow!("limits.{what} {text:?}: {e}; use e.g. 30s"))?;
            if d.is_zero() {
                anyhow::bail!("limits.{what} must be longer than 0s");
            }
            *slot = d;
        }
    }
    if let Some(h) = &file.client_ip_header {
        if h.is_empty() || !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            anyhow::bail!("limits.client_ip_header {h:?} is not a header name (like X-Forwarded-For)");
        }
        limits.client_ip_header = Some(h.clone());
    }
    Ok(())
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

/// The change feed's retention: a duration such as "30d", at least one hour.
pub fn retention(s: &str) -> anyhow::Result<std::time::Duration> {
    let d = humantime::parse_duration(s)
        .map_err(|e| anyhow::anyhow!("event retention {s:?}: {e}; use a duration such as 30d or 72h"))?;
    if d < std::time::Duration::from_secs(3600) {
        anyhow::bail!("event retention {s:?} is too short: keep events for at least 1h");
    }
    Ok(d)
}

/// The webhook lease: from 2 seconds to 10 minutes.
pub fn lease(s: &str) -> anyhow::Result<std::time::Duration> {
    let d = humantime::parse_duration(s).map_err(|e| anyhow::anyhow!("webhook lease {s:?}: {e}; use e.g. 30s"))?;
    if !(std::time::Duration::from_secs(2)..=std::time::Duration::from_secs(600)).contains(&d) {
        anyhow::bail!("webhook lease {s:?}: use 2s to 10m");
    }
    Ok(d)
}

/// The request log's flags onto its defaults.
pub fn request_log(log: &mut scim_server::RequestLogConfig, args: &crate::cli::ServeArgs) -> anyhow::Result<()> {
    if let Some(n) = args.request_log_keep {
        log.enabled = n > 0;
        log.keep = n;
    }
    if let Some(a) = &args.request_log_max_age {
        log.max_age = humantime::parse_duration(a)
            .map_err(|e| anyhow::anyhow!("request log max age {a:?}: {e}; use a duration such as 7d"))?;
    }
    if let Some(b) = &args.request_log_bodies {
        log.bodies = scim_server::RequestLogBodies::parse(b)
            .ok_or_else(|| anyhow::anyhow!("request log bodies {b:?}: use failed, all or off"))?;
    }
    for m in &args.request_log_mask {
        let m = m.trim().to_ascii_lowercase();
        if !m.is_empty() && !log.mask.contains(&m) {
            log.mask.push(m);
        }
    }
    Ok(())
}
