//! `scimd sync validate`: the semantic checks on a parsed job file.
//!
//! [`validate`] collects every problem rather than stopping at the first: the error lists
//! them one per line, each naming the key (`users.mappings[2] (target "active")`). Warnings
//! are for configurations that work but probably do not do what was meant (Entra's
//! documented gotchas among them).

use std::collections::HashMap;

use sync_expr::Func;

use crate::config::{Apply, JobConfig, MappingKind, ObjectMapping, ScopeMode, SecretRef, duration};
use crate::error::EngineError;
use crate::scope::CompiledScope;
use crate::source::SourceCatalog;

mod environment;
#[cfg(test)]
mod tests;

pub use environment::{check_environment, missing_attributes, source_attributes};

/// The most requests in flight a job may ask for.
pub const MAX_CONCURRENCY: usize = 64;

impl JobConfig {
    /// See [`validate`].
    pub fn validate(&self) -> Result<Vec<String>, EngineError> {
        validate(self)
    }
}

/// Checks a job: `Ok(warnings)`, or `Err(EngineError::Config)` listing every problem. The
/// `[source]` keys are the catalog's to check: see [`validate_with`].
pub fn validate(cfg: &JobConfig) -> Result<Vec<String>, EngineError> {
    check(cfg, Checks::default())
}

/// [`validate`], with the `[source]` section checked by `catalog`.
pub fn validate_with(cfg: &JobConfig, catalog: &dyn SourceCatalog) -> Result<Vec<String>, EngineError> {
    let mut v = Checks::default();
    catalog.check(cfg, &mut v);
    check(cfg, v)
}

fn check(cfg: &JobConfig, mut v: Checks) -> Result<Vec<String>, EngineError> {
    v.job(cfg);
    v.target(cfg);
    v.mappings("users", &cfg.users);
    if let Some(groups) = &cfg.groups {
        v.mappings("groups", groups);
    }
    v.scope(cfg);
    v.safety(cfg);
    v.notify(cfg);
    if v.errors.is_empty() {
        Ok(v.warnings)
    } else if v.errors.len() == 1 {
        Err(EngineError::Config(v.errors.remove(0)))
    } else {
        Err(EngineError::Config(format!(
            "{} problems:\n{}",
            v.errors.len(),
            v.errors.iter().map(|e| format!("- {e}")).collect::<Vec<_>>().join("\n")
        )))
    }
}

/// The problems found so far: errors (the job cannot run) and warnings.
#[derive(Default)]
pub struct Checks {
    errors: Vec<String>,
    warnings: Vec<String>,
}

/// An error as a line of a problem list: a config error's message without its `config: `.
pub fn config_message(e: EngineError) -> String {
    match e {
        EngineError::Config(m) => m,
        other => other.to_string(),
    }
}

/// `http(s)://host…`; `Ok(true)` when it is plain http to a host that is not loopback.
fn http_url(url: &str) -> Result<bool, String> {
    let lower = url.to_ascii_lowercase();
    let (rest, plain) = if let Some(r) = lower.strip_prefix("https://") {
        (r, false)
    } else if let Some(r) = lower.strip_prefix("http://") {
        (r, true)
    } else {
        return Err(format!("{url:?} is not an http:// or https:// URL"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split_inclusive(']').next().unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default()
    };
    if host.is_empty() || url.chars().any(char::is_whitespace) {
        return Err(format!("{url:?} is not a valid URL (no host, or whitespace)"));
    }
    let local = host == "localhost" || host.starts_with("127.") || host == "[::1]";
    Ok(plain && !local)
}

/// The text around a byte offset with a caret under it.
/// An expression whose root is `SelectUniqueValue`.
fn is_select_unique(m: &crate::config::AttributeMapping) -> bool {
    m.kind == MappingKind::Expression
        && m.expression
            .as_deref()
            .and_then(|e| sync_expr::parse(e).ok())
            .is_some_and(|e| {
                matches!(
                    e.kind,
                    sync_expr::ExprKind::Call {
                        func: Func::SelectUniqueValue,
                        ..
                    }
                )
            })
}

/// `localhost`, `127.0.0.0/8` or `::1`.
fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn caret(src: &str, pos: usize) -> String {
    let pos = pos.min(src.len());
    let start = src[..pos].rfind('\n').map_or(0, |i| i + 1);
    let end = src[pos..].find('\n').map_or(src.len(), |i| pos + i);
    let col = src[start..pos].chars().count();
    format!("\n    {}\n    {}^", &src[start..end], " ".repeat(col))
}

impl Checks {
    pub fn err(&mut self, msg: impl Into<String>) {
        self.errors.push(msg.into());
    }

    pub fn warn(&mut self, msg: impl Into<String>) {
        self.warnings.push(msg.into());
    }

    pub fn url(&mut self, what: &str, url: &str) {
        match http_url(url) {
            Err(e) => self.err(format!("{what}: {e}")),
            Ok(true) => self.warn(format!("{what}: {url} is plain http; the token travels unencrypted")),
            Ok(false) => {}
        }
    }

    pub fn secret(&mut self, what: &str, s: &SecretRef) {
        if s.is_oauth() {
            return self.client_credentials(what, s);
        }
        let set = [s.token.is_some(), s.token_env.is_some(), s.token_file.is_some()];
        match set.iter().filter(|b| **b).count() {
            1 => {}
            0 => self.err(format!("{what}: set one of token, token_env, token_file")),
            _ => self.err(format!(
                "{what}: set exactly one of token, token_env, token_file, not several"
            )),
        }
        if s.token_env.as_deref().is_some_and(|e| e.trim().is_empty()) {
            self.err(format!("{what}.token_env is empty"));
        }
        if s.token_file.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            self.err(format!("{what}.token_file is empty"));
        }
    }

    fn client_credentials(&mut self, what: &str, s: &SecretRef) {
        if s.token.is_some() || s.token_env.is_some() || s.token_file.is_some() {
            self.err(format!(
                "{what}: set a token or client credentials (token_url, client_id), not both"
            ));
        }
        match (&s.token_url, &s.client_id) {
            (Some(url), Some(id)) => {
                self.url(&format!("{what}.token_url"), url);
                if id.trim().is_empty() {
                    self.err(format!("{what}.client_id is empty"));
                }
            }
            _ => self.err(format!("{what}: client credentials need both token_url and client_id")),
        }
        let set = [
            s.client_secret.is_some(),
            s.client_secret_env.is_some(),
            s.client_secret_file.is_some(),
        ];
        if set.iter().filter(|b| **b).count() != 1 {
            self.err(format!(
                "{what}: set exactly one of client_secret, client_secret_env, client_secret_file"
            ));
        }
        if s.client_secret_env.as_deref().is_some_and(|e| e.trim().is_empty()) {
            self.err(format!("{what}.client_secret_env is empty"));
        }
    }

    fn job(&mut self, cfg: &JobConfig) {
        if cfg.version != 1 {
            self.err(format!("version = {}: this scimd reads version = 1", cfg.version));
        }
        let name = &cfg.job.name;
        if name.is_empty() || name.len() > 64 {
            self.err("job.name must be 1 to 64 characters");
        } else if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        {
            self.err(format!(
                "job.name {name:?}: {c:?} is not allowed (use letters, digits, '_', '.', '-')"
            ));
        }
        match duration("job.interval", &cfg.job.interval) {
            Ok(d) if d.is_zero() => self.err("job.interval must be more than zero"),
            Ok(_) => {}
            Err(e) => self.err(config_message(e)),
        }
        if let Some(n) = cfg.job.chunk_size
            && !(1..=100_000).contains(&n)
        {
            self.err(format!("job.chunk_size = {n}: must be 1 to 100000"));
        }
        let c = cfg.job.concurrency;
        if !(1..=MAX_CONCURRENCY).contains(&c) {
            self.err(format!("job.concurrency = {c}: must be 1 to {MAX_CONCURRENCY}"));
        }
    }

    fn target(&mut self, cfg: &JobConfig) {
        self.url("target.url", &cfg.target.url);
        self.secret("target", &cfg.target.secret);
        if let Some(t) = &cfg.target.timeout {
            match duration("target.timeout", t) {
                Ok(d) if d.is_zero() => self.err("target.timeout must be more than zero"),
                Ok(_) => {}
                Err(e) => self.err(config_message(e)),
            }
        }
    }

    fn mappings(&mut self, what: &str, om: &ObjectMapping) {
        if om.enabled && om.mappings.is_empty() {
            self.err(format!(
                "{what}.mappings: an enabled object mapping needs at least one mapping"
            ));
        }
        let mut targets: HashMap<String, usize> = HashMap::new();
        let mut precedences: HashMap<u32, usize> = HashMap::new();
        for (i, m) in om.mappings.iter().enumerate() {
            let at = format!("{what}.mappings[{i}] (target {:?})", m.target);
            match scim_proto::parse_patch_path(&m.target) {
                Err(e) => self.err(format!(
                    "{at}: not a SCIM attribute path: {e}{}",
                    caret(&m.target, e.offset)
                )),
                Ok(path) => {
                    if path.attr.urn.is_none() && path.attr.name.eq_ignore_ascii_case("id") {
                        self.err(format!("{at}: the target assigns id; map externalId instead"));
                    }
                    let key = path.to_string().to_ascii_lowercase();
                    if let Some(first) = targets.insert(key, i) {
                        self.err(format!("{at}: the same target as {what}.mappings[{first}]"));
                    }
                }
            }
            self.fields(&at, m.kind, m);
            if let Some(p) = m.matching {
                if p == 0 {
                    self.err(format!("{at}: matching precedence starts at 1"));
                } else if let Some(first) = precedences.insert(p, i) {
                    self.err(format!("{at}: matching = {p} is also used by {what}.mappings[{first}]"));
                }
                if m.kind == MappingKind::Constant {
                    self.err(format!(
                        "{at}: a constant cannot be a matching attribute (every object would match)"
                    ));
                }
                if is_select_unique(m) {
                    self.err(format!(
                        "{at}: a SelectUniqueValue mapping cannot be a matching attribute: its value is generated \
                         at creation; match on a source attribute such as employeeId"
                    ));
                }
            }
            if m.default.is_some() {
                match (m.kind, m.apply) {
                    (MappingKind::Constant, _) => {
                        self.warn(format!("{at}: default is never used: a constant is never null"))
                    }
                    (MappingKind::None, _) => {}
                    (_, Apply::Create) => self.warn(format!(
                        "{at}: default with apply = \"create\": an object created with the default keeps it, \
                         later source values never flow"
                    )),
                    (_, Apply::Always) => self.warn(format!(
                        "{at}: default is used only when the object is created; on updates a null source sends nothing"
                    )),
                }
            }
        }
        if om.enabled && !om.mappings.is_empty() && precedences.is_empty() {
            self.err(format!(
                "{what}.mappings: no mapping sets matching (e.g. matching = 1 on userName); one is needed to find \
                 existing target objects"
            ));
        }
    }

    /// Each kind takes exactly its own field.
    fn fields(&mut self, at: &str, kind: MappingKind, m: &crate::config::AttributeMapping) {
        let present = [
            ("source", m.source.is_some()),
            ("value", m.value.is_some()),
            ("expression", m.expression.is_some()),
        ];
        let (kind_name, needs) = match kind {
            MappingKind::Direct => ("direct", Some("source")),
            MappingKind::Constant => ("constant", Some("value")),
            MappingKind::Expression => ("expression", Some("expression")),
            MappingKind::None => ("none", None),
        };
        for (field, set) in present {
            if set && Some(field) != needs {
                self.err(format!("{at}: type = \"{kind_name}\" takes no {field}"));
            }
            if !set && Some(field) == needs {
                self.err(format!("{at}: type = \"{kind_name}\" needs {field}"));
            }
        }
        if kind == MappingKind::None && m.default.is_none() {
            self.err(format!(
                "{at}: type = \"none\" needs default (it only fills an empty target)"
            ));
        }
        if let Some(src) = m.source.as_deref().filter(|_| kind == MappingKind::Direct) {
            if src.trim().is_empty() {
                self.err(format!("{at}: source is empty"));
            } else if src.contains(['[', ']']) {
                self.err(format!(
                    "{at}: source {src:?}: write the attribute name without brackets"
                ));
            }
        }
        if let Some(text) = m.expression.as_deref().filter(|_| kind == MappingKind::Expression) {
            match sync_expr::parse(text) {
                Err(e) => self.err(format!("{at}: expression does not parse: {e}{}", caret(text, e.pos))),
                Ok(expr) => {
                    let funcs = expr.functions();
                    if funcs.contains(&Func::Switch) {
                        self.warn(format!(
                            "{at}: Switch evaluates to null when its source did not change but another mapped \
                             attribute did, which can clear the target (Entra's documented gotcha); IIF avoids it"
                        ));
                    }
                    if funcs.contains(&Func::SelectUniqueValue) && m.apply == Apply::Always {
                        self.warn(format!(
                            "{at}: SelectUniqueValue runs only when the object is created; set apply = \"create\""
                        ));
                    }
                }
            }
        }
    }

    fn scope(&mut self, cfg: &JobConfig) {
        if let Err(e) = CompiledScope::compile(&cfg.scope) {
            self.err(config_message(e));
        }
        let s = &cfg.scope;
        if s.mode == ScopeMode::Assigned && s.groups.is_empty() && s.app_roles.is_empty() {
            self.warn(
                "scope: mode = \"assigned\" lists no groups and no app_roles: only users with an app role other \
                 than Default Access are in scope",
            );
        }
        if s.mode == ScopeMode::All && !(s.groups.is_empty() && s.app_roles.is_empty()) {
            self.warn("scope: mode = \"all\" ignores scope.groups and scope.app_roles");
        }
    }

    fn safety(&mut self, cfg: &JobConfig) {
        let s = &cfg.safety;
        if s.deletion_threshold == Some(0) {
            self.err("safety.deletion_threshold = 0 would stop every cycle that deletes; leave it out to disable it");
        }
        if let Some(p) = s.deletion_threshold_percent
            && !(p > 0.0 && p <= 100.0)
        {
            self.err(format!(
                "safety.deletion_threshold_percent = {p}: must be more than 0 and at most 100"
            ));
        }
        if s.deletion_threshold.is_none() && s.deletion_threshold_percent.is_none() {
            self.warn("safety: no deletion threshold; a cycle may disable or delete any number of objects");
        }
    }

    fn notify(&mut self, cfg: &JobConfig) {
        let n = &cfg.notify;
        if let Some(share) = n.failure_share
            && !(share > 0.0 && share <= 1.0)
        {
            self.err(format!(
                "notify.failure_share = {share}: must be more than 0 and at most 1"
            ));
        }
        if let Some(t) = &n.throttle
            && let Err(e) = duration("notify.throttle", t)
        {
            self.err(config_message(e));
        }
        if let Some(e) = &n.email {
            self.email(e);
        }
        self.webhook(cfg);
    }

    fn email(&mut self, e: &crate::config::EmailConfig) {
        if e.to.is_empty() {
            self.err("notify.email.to: list at least one address");
        }
        for a in e.to.iter().chain(std::iter::once(&e.from)) {
            if let Err(err) = crate::notify::email::mailbox("address", a) {
                self.err(config_message(err));
            }
        }
        if e.smtp_host.trim().is_empty() {
            self.err("notify.email.smtp_host is empty");
        } else if e.tls == crate::config::EmailTls::None && !is_loopback(&e.smtp_host) {
            self.err(format!(
                "notify.email: tls = \"none\" sends the password and the message unencrypted; it is allowed only \
                 for a relay on loopback, not {:?} (use \"starttls\" or \"implicit\")",
                e.smtp_host
            ));
        }
        match (&e.username, &e.password_env, &e.password_file) {
            (Some(_), Some(_), Some(_)) => self.err("notify.email: set one of password_env, password_file"),
            (Some(_), None, None) => self.err("notify.email: username needs password_env or password_file"),
            (None, Some(_), _) | (None, _, Some(_)) => self.err("notify.email: a password needs a username"),
            _ => {}
        }
    }

    fn webhook(&mut self, cfg: &JobConfig) {
        let Some(w) = &cfg.notify.webhook else { return };
        if let Some(secret) = &w.secret
            && let Err(e) = crate::notify::check_secret(secret)
        {
            self.err(format!("notify.webhook.secret: {e}"));
        }
        match http_url(&w.url) {
            Err(e) => self.err(format!("notify.webhook.url: {e}")),
            Ok(true) => self.warn(format!("notify.webhook.url: {} is plain http", w.url)),
            Ok(false) => {}
        }
        let n = [w.secret.is_some(), w.secret_env.is_some(), w.secret_file.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if n > 1 {
            self.err("notify.webhook: set at most one of secret, secret_env, secret_file");
        } else if n == 0 {
            self.warn("notify.webhook: no secret, so the POSTs are not signed");
        }
    }
}
