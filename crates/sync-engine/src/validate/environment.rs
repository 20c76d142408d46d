//! The checks `scimd sync validate` makes beyond the job file itself: that every secret it
//! names can be read here (environment variables set, files readable and non-empty), the
//! source's own checks (its catalog's: a file source exists and parses), and that every source attribute the mappings and scoping
//! filters name is present on at least one object of the directory (a typo otherwise).

use std::collections::HashSet;
use std::path::Path;

use crate::config::{JobConfig, MappingKind, ObjectMapping, SecretRef};
use crate::model::{ObjectKind, SourceBatch};
use crate::source::SourceCatalog;

/// Attributes the engine computes or reads outside `attrs`: never "missing".
const COMPUTED: &[&str] = &[crate::mapping::IS_SOFT_DELETED, "objectId", "id", "appRoleAssignments"];

/// Every problem found, one line each (empty: the job can run here).
pub async fn check_environment(cfg: &JobConfig, dir: &Path, catalog: &dyn SourceCatalog) -> Vec<String> {
    let mut errors = Vec::new();
    secret(&mut errors, "target", &cfg.target.secret, dir);
    if let Some(w) = &cfg.notify.webhook {
        let r = SecretRef {
            token: w.secret.clone(),
            token_env: w.secret_env.clone(),
            token_file: w.secret_file.clone(),
            ..Default::default()
        };
        if r.is_set() {
            match r.resolve("notify.webhook secret", dir) {
                Ok(s) => {
                    if let Err(e) = crate::notify::check_secret(&s) {
                        errors.push(format!("notify.webhook secret: {e}"));
                    }
                }
                Err(e) => errors.push(super::config_message(e)),
            }
        }
    }
    if let Some(e) = &cfg.notify.email
        && let Err(err) = e.password(dir)
    {
        errors.push(super::config_message(err));
    }
    match catalog.environment(&cfg.source, dir).await {
        Ok(Some(batch)) => errors.extend(missing_attributes(cfg, &batch)),
        Ok(None) => {}
        Err(problems) => errors.extend(problems),
    }
    errors
}

fn secret(errors: &mut Vec<String>, what: &str, s: &SecretRef, dir: &Path) {
    if let Err(e) = s.credentials(what, dir) {
        errors.push(super::config_message(e));
    }
}

/// Source attributes named by mappings or scoping filters that no object of the kind has.
pub fn missing_attributes(cfg: &JobConfig, batch: &SourceBatch) -> Vec<String> {
    let mut out = Vec::new();
    let mut kinds = vec![(ObjectKind::User, "users", &cfg.users)];
    if let Some(g) = cfg.groups.as_ref().filter(|g| g.enabled) {
        kinds.push((ObjectKind::Group, "groups", g));
    }
    for (kind, what, om) in kinds {
        let present = present_attributes(batch, kind);
        if present.is_empty() {
            continue; // no objects of the kind: nothing to compare against
        }
        for (at, name) in used_attributes(what, om) {
            if !present.contains(&name.to_lowercase()) {
                out.push(format!(
                    "{at}: no {} in the source has the attribute {name:?} (a typo? attribute names are the \
                     source's, e.g. userPrincipalName, givenName, surname)",
                    kind.as_str()
                ));
            }
        }
    }
    let users = present_attributes(batch, ObjectKind::User);
    for (i, f) in cfg.scope.filters.iter().enumerate() {
        for (j, c) in f.clauses.iter().enumerate() {
            let name = c.attribute.to_lowercase();
            if !users.is_empty() && !users.contains(&name) && !is_computed(&c.attribute) {
                out.push(format!(
                    "scope.filters[{i}].clauses[{j}]: no user in the source has the attribute {:?}",
                    c.attribute
                ));
            }
        }
    }
    out
}

/// The source attributes a job reads for `kind`: those its mappings name and, for users,
/// its scoping filters', each once in first-use order; computed ones are left out. A source
/// that can select attributes (Graph's `$select`, LDAP's attribute list) asks for these.
pub fn source_attributes(cfg: &JobConfig, kind: ObjectKind) -> Vec<String> {
    let om = match kind {
        ObjectKind::User => Some(&cfg.users),
        ObjectKind::Group => cfg.groups.as_ref().filter(|g| g.enabled),
    };
    let mut names: Vec<String> = om
        .map(|om| used_attributes("", om).into_iter().map(|(_, n)| n).collect())
        .unwrap_or_default();
    if kind == ObjectKind::User {
        let clauses = cfg.scope.filters.iter().flat_map(|f| &f.clauses);
        names.extend(clauses.map(|c| c.attribute.clone()).filter(|a| !is_computed(a)));
    }
    let mut seen = HashSet::new();
    names.retain(|n| seen.insert(n.to_lowercase()));
    names
}

fn is_computed(name: &str) -> bool {
    COMPUTED.iter().any(|c| c.eq_ignore_ascii_case(name))
}

fn present_attributes(batch: &SourceBatch, kind: ObjectKind) -> HashSet<String> {
    let mut set = HashSet::new();
    for o in batch.objects.iter().filter(|o| o.kind == kind) {
        set.extend(o.attrs.keys().map(|k| k.to_lowercase()));
        if !o.app_roles.is_empty() {
            set.insert("approleassignments".into());
        }
    }
    set
}

/// `(where, attribute)` for every source attribute a mapping reads.
fn used_attributes(what: &str, om: &ObjectMapping) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, m) in om.mappings.iter().enumerate() {
        let at = format!("{what}.mappings[{i}] (target {:?})", m.target);
        let names = match (m.kind, &m.source, &m.expression) {
            (MappingKind::Direct, Some(s), _) => vec![s.clone()],
            (MappingKind::Expression, _, Some(e)) => sync_expr::parse(e).map(|e| e.attributes()).unwrap_or_default(),
            _ => Vec::new(),
        };
        out.extend(names.into_iter().filter(|n| !is_computed(n)).map(|n| (at.clone(), n)));
    }
    out
}
