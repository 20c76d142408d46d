//! The file source: users and groups in Microsoft Graph's shape.
//!
//! - `.json`: an array of objects, `{"users": [...], "groups": [...]}`, or a Graph list
//!   response `{"value": [...]}`;
//! - `.jsonl` / `.ndjson`: one object per line (blank lines are skipped);
//! - `.csv`: users only; the header row names the attributes, empty cells are absent,
//!   `accountEnabled` is `true`/`false`, `appRoleAssignments` is a `;`-separated list of
//!   role values, `manager` is the manager's id.
//!
//! Records: users have `id`, `userPrincipalName`, `mail`, …, `accountEnabled`, `manager`
//! (`{"id": …}` or an id) and `appRoleAssignments` (`[{"id", "value", "displayName"}]`, our
//! convention: Graph's own objects carry no `value`, so `displayName` or the all-zero
//! `appRoleId` of "Default Access" stand in). Groups have `id`, `displayName`, `members`
//! (ids or `{"id": …}`). The kind comes from `@odata.type`, the `users`/`groups` list, or
//! the keys (`members` → group, `userPrincipalName` → user). A Graph delta tombstone
//! (`@removed`) is a hard delete, except `"reason": "changed"` on a user, which Graph uses
//! for a soft delete (the user is in the recycle bin): that user is read as disabled.
//! Other `@…` annotations are dropped; every other key is kept as an attribute.
//!
//! A file is a complete snapshot and has no watermark.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use sync_engine::source::{PageRx, Source};

use sync_engine::EngineError;
use sync_engine::model::{AppRoleAssignment, DEFAULT_ACCESS, ObjectKind, SourceBatch, SourceObject};

mod stream;
#[cfg(test)]
mod tests;

pub use stream::{PAGE, PAGE_WEIGHT};

/// Files larger than this are refused.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// The app role id Graph gives the "Default Access" role.
const DEFAULT_ACCESS_ROLE_ID: &str = "00000000-0000-0000-0000-000000000000";

/// `[source] type = "file"`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// Relative to the job file's folder.
    pub path: PathBuf,
    /// `json`, `jsonl`, `ndjson` or `csv`; default: from the extension.
    #[serde(default)]
    pub format: Option<String>,
}

pub(crate) fn check(spec: &FileSpec, checks: &mut sync_engine::validate::Checks) {
    if spec.path.as_os_str().is_empty() {
        checks.err("source.path is empty");
    } else if let Err(e) = FileSource::new(&spec.path, spec.format.as_deref()) {
        checks.err(crate::config_message(e));
    }
}

pub(crate) fn open(spec: &FileSpec, dir: &Path) -> Result<FileSource, EngineError> {
    FileSource::new(dir.join(&spec.path), spec.format.as_deref())
}

/// The file is there and parses: its objects, for the attribute check.
pub(crate) async fn environment(spec: &FileSpec, dir: &Path) -> Result<SourceBatch, Vec<String>> {
    let full = dir.join(&spec.path);
    if !full.is_file() {
        return Err(vec![format!(
            "source.path: {} does not exist or is not a file",
            full.display()
        )]);
    }
    let read = async { open(spec, dir)?.read_all().await };
    read.await.map_err(|e| vec![format!("source.path: {e}")])
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Json,
    JsonLines,
    Csv,
}

impl FileFormat {
    /// `json`, `jsonl`, `ndjson` or `csv` (case-insensitive, a leading dot is allowed).
    pub fn from_name(name: &str) -> Option<FileFormat> {
        match name.trim().trim_start_matches('.').to_ascii_lowercase().as_str() {
            "json" => Some(FileFormat::Json),
            "jsonl" | "ndjson" | "jsonlines" => Some(FileFormat::JsonLines),
            "csv" => Some(FileFormat::Csv),
            _ => None,
        }
    }

    /// The format a path's extension names.
    pub fn from_path(path: &Path) -> Option<FileFormat> {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(FileFormat::from_name)
    }
}

#[derive(Debug, Clone)]
pub struct FileSource {
    path: PathBuf,
    format: FileFormat,
    max_bytes: u64,
}

fn src_err(name: &str, msg: impl std::fmt::Display) -> EngineError {
    EngineError::Source(format!("{name}: {msg}"))
}

impl FileSource {
    /// A file source; `format` overrides the extension.
    pub fn new(path: impl Into<PathBuf>, format: Option<&str>) -> Result<FileSource, EngineError> {
        let path = path.into();
        let format = match format {
            Some(f) => FileFormat::from_name(f).ok_or_else(|| {
                EngineError::Config(format!("source.format {f:?} is not one of json, jsonl, ndjson, csv"))
            })?,
            None => FileFormat::from_path(&path).ok_or_else(|| {
                EngineError::Config(format!(
                    "source.path {}: cannot tell the format from the extension; use .json, .jsonl, .ndjson or \
                     .csv, or set source.format",
                    path.display()
                ))
            })?,
        };
        Ok(FileSource {
            path,
            format,
            max_bytes: MAX_FILE_BYTES,
        })
    }

    /// Lowers the size limit (tests, or a deployment that wants a tighter one).
    pub fn with_max_bytes(mut self, max_bytes: u64) -> FileSource {
        self.max_bytes = max_bytes;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn format(&self) -> FileFormat {
        self.format
    }

    fn check_size(&self, name: &str) -> Result<(), EngineError> {
        let meta = std::fs::metadata(&self.path).map_err(|e| src_err(name, format!("cannot read: {e}")))?;
        if meta.len() > self.max_bytes {
            return Err(src_err(
                name,
                format!(
                    "is {} bytes, more than the limit of {} bytes",
                    meta.len(),
                    self.max_bytes
                ),
            ));
        }
        Ok(())
    }

    /// Reads and parses the whole file (blocking).
    pub fn read(&self) -> Result<Vec<SourceObject>, EngineError> {
        let name = self.path.display().to_string();
        self.check_size(&name)?;
        let file = std::fs::File::open(&self.path).map_err(|e| src_err(&name, format!("cannot read: {e}")))?;
        let mut out = Vec::new();
        stream::read_pages(file, self.format, &name, &mut |page| {
            out.extend(page);
            Ok(())
        })?;
        Ok(out)
    }

    /// Parses the file page by page on a blocking thread; the pages arrive on the channel,
    /// at most two ahead of the reader, so memory holds a few pages, not the file.
    pub fn stream(&self) -> PageRx {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let name = me.path.display().to_string();
            let result = me.check_size(&name).and_then(|()| {
                let file = std::fs::File::open(&me.path).map_err(|e| src_err(&name, format!("cannot read: {e}")))?;
                stream::read_pages(file, me.format, &name, &mut |page| {
                    // The cycle stopped reading (it failed or ended): stop parsing.
                    tx.blocking_send(Ok(page))
                        .map_err(|_| src_err(&name, "the reader went away"))
                })
            });
            if let Err(e) = result {
                let _ = tx.blocking_send(Err(e));
            }
        });
        rx
    }
}

#[async_trait]
impl Source for FileSource {
    fn describe(&self) -> String {
        format!("file:{}", self.path.display())
    }

    fn stream(&self) -> Option<PageRx> {
        Some(FileSource::stream(self))
    }

    async fn read_all(&self) -> Result<SourceBatch, EngineError> {
        let me = self.clone();
        let objects = tokio::task::spawn_blocking(move || me.read())
            .await
            .map_err(|e| src_err(&self.path.display().to_string(), format!("reader failed: {e}")))??;
        Ok(SourceBatch {
            objects,
            complete: true,
            watermark: None,
        })
    }
}

/// Parses a file's text. `name` is used in error messages.
pub fn parse_text(text: &str, format: FileFormat, name: &str) -> Result<Vec<SourceObject>, EngineError> {
    let mut out = Vec::new();
    stream::read_pages(text.as_bytes(), format, name, &mut |page| {
        out.extend(page);
        Ok(())
    })?;
    Ok(out)
}

fn record(value: Value, hint: Option<ObjectKind>, name: &str, at: &str) -> Result<SourceObject, EngineError> {
    match value {
        Value::Object(map) => object_from_graph(map, hint).map_err(|e| src_err(name, format!("{at}: {e}"))),
        other => Err(src_err(
            name,
            format!("{at}: expected an object, found {}", type_name(&other)),
        )),
    }
}

fn parse_csv(text: &str, name: &str) -> Result<Vec<SourceObject>, EngineError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| src_err(name, format!("line 1: {e}")))?
        .iter()
        .map(String::from)
        .collect();
    for (i, h) in headers.iter().enumerate() {
        if h.is_empty() {
            return Err(src_err(name, format!("line 1: column {} has no name", i + 1)));
        }
        if headers[..i].iter().any(|o| o.eq_ignore_ascii_case(h)) {
            return Err(src_err(name, format!("line 1: column {h:?} appears twice")));
        }
    }
    if !headers.iter().any(|h| h == "id") {
        return Err(src_err(name, "line 1: there is no \"id\" column"));
    }
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or_default();
            src_err(name, format!("line {line}: {e}"))
        })?;
        let at = format!("line {}", row.position().map(|p| p.line()).unwrap_or_default());
        let mut map = Map::new();
        for (h, cell) in headers.iter().zip(row.iter()) {
            if cell.is_empty() {
                continue;
            }
            let value = match h.as_str() {
                "accountEnabled" => match cell.to_ascii_lowercase().as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    _ => {
                        return Err(src_err(
                            name,
                            format!("{at}: accountEnabled must be true or false, not {cell:?}"),
                        ));
                    }
                },
                "appRoleAssignments" => cell
                    .split(';')
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(|r| Value::String(r.into()))
                    .collect(),
                _ => Value::String(cell.into()),
            };
            map.insert(h.clone(), value);
        }
        out.push(record(Value::Object(map), Some(ObjectKind::User), name, &at)?);
    }
    Ok(out)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn kind_name(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::User => "users",
        ObjectKind::Group => "groups",
    }
}

/// Whether a string can be an id (anything but blank).
fn is_id_text(s: &str) -> bool {
    !s.trim().is_empty()
}

fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if is_id_text(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(m) => m.get("id").and_then(id_of),
        _ => None,
    }
}

fn detect_kind(map: &Map<String, Value>, hint: Option<ObjectKind>) -> Result<ObjectKind, String> {
    let from_type = match map.get("@odata.type") {
        None => None,
        Some(Value::String(t)) => match t.trim_start_matches('#').to_ascii_lowercase().as_str() {
            "microsoft.graph.user" => Some(ObjectKind::User),
            "microsoft.graph.group" => Some(ObjectKind::Group),
            _ => {
                return Err(format!(
                    "unsupported @odata.type {t:?} (expected #microsoft.graph.user or .group)"
                ));
            }
        },
        Some(other) => return Err(format!("@odata.type must be a string, found {}", type_name(other))),
    };
    match (from_type, hint) {
        (Some(k), Some(h)) if k != h => Err(format!(
            "@odata.type says {} but the record is in {}",
            k.as_str(),
            kind_name(h)
        )),
        (Some(k), _) | (None, Some(k)) => Ok(k),
        (None, None) => {
            let has = |keys: &[&str]| keys.iter().any(|k| map.contains_key(*k));
            if has(&["members", "groupTypes", "securityEnabled", "mailEnabled"]) {
                Ok(ObjectKind::Group)
            } else if has(&["userPrincipalName", "accountEnabled", "givenName", "surname"]) {
                Ok(ObjectKind::User)
            } else {
                Err("cannot tell whether this is a user or a group; add \"@odata.type\" or put it in \"users\"/\"groups\""
                    .into())
            }
        }
    }
}

fn app_role(i: usize, v: Value) -> Result<AppRoleAssignment, String> {
    let at = format!("appRoleAssignments[{i}]");
    let str_of = |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_str).map(String::from);
    match v {
        Value::String(s) if !s.trim().is_empty() => Ok(AppRoleAssignment {
            id: s.clone(),
            value: s,
            display_name: String::new(),
        }),
        Value::Object(m) => {
            let role_id = str_of(&m, "appRoleId");
            let display_name = str_of(&m, "displayName").unwrap_or_default();
            let value = str_of(&m, "value")
                .filter(|v| !v.is_empty())
                .or_else(|| (!display_name.is_empty()).then(|| display_name.clone()))
                .or_else(|| (role_id.as_deref() == Some(DEFAULT_ACCESS_ROLE_ID)).then(|| DEFAULT_ACCESS.to_string()))
                .ok_or_else(|| format!("{at} has no \"value\""))?;
            let id = str_of(&m, "id").or(role_id).unwrap_or_else(|| value.clone());
            Ok(AppRoleAssignment {
                id,
                value,
                display_name,
            })
        }
        other => Err(format!(
            "{at}: expected an object or a role value, found {}",
            type_name(&other)
        )),
    }
}

/// Turns one Graph-shaped record into a [`SourceObject`]. `hint` is the list it came from.
pub fn object_from_graph(mut map: Map<String, Value>, hint: Option<ObjectKind>) -> Result<SourceObject, String> {
    let kind = detect_kind(&map, hint)?;
    let id = match map.remove("id") {
        None | Some(Value::Null) => return Err("record has no \"id\"".into()),
        Some(v) => id_of(&v)
            .filter(|_| !v.is_object())
            .ok_or_else(|| format!("id must be a non-empty string, found {v}"))?,
    };
    let removed = map.remove("@removed");
    let members = match map.remove("members") {
        None | Some(Value::Null) => Vec::new(),
        Some(_) if kind == ObjectKind::User => {
            return Err(format!("user {id} has \"members\"; only groups have members"));
        }
        // Member ids move out of the parsed record: a group of a million members is not
        // held twice.
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, m)| match m {
                Value::String(s) if is_id_text(&s) => Ok(s),
                m => id_of(&m).ok_or_else(|| format!("members[{i}]: expected an id or {{\"id\": ...}}, found {m}")),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(other) => return Err(format!("members must be an array, found {}", type_name(&other))),
    };
    let app_roles = match map.remove("appRoleAssignments") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| app_role(i, v))
            .collect::<Result<Vec<_>, _>>()?,
        Some(other) => {
            return Err(format!(
                "appRoleAssignments must be an array, found {}",
                type_name(&other)
            ));
        }
    };
    match map.remove("manager") {
        None | Some(Value::Null) => {}
        Some(v) => {
            let manager = id_of(&v).ok_or_else(|| format!("manager must be an id or {{\"id\": ...}}, found {v}"))?;
            map.insert("manager".into(), Value::String(manager));
        }
    }
    if let Some(Value::String(s)) = map.get("accountEnabled")
        && let Ok(b) = s.to_ascii_lowercase().parse::<bool>()
    {
        map.insert("accountEnabled".into(), Value::Bool(b));
    }
    map.retain(|k, _| !k.contains('@'));
    let soft = kind == ObjectKind::User
        && removed.as_ref().and_then(|r| r.get("reason")).and_then(Value::as_str) == Some("changed");
    if soft {
        map.insert("accountEnabled".into(), Value::Bool(false));
    }
    Ok(SourceObject {
        kind,
        id,
        attrs: map,
        members,
        app_roles,
        deleted: removed.is_some() && !soft,
    })
}

/// The inverse of reading a `.json` file: `{"users": [...], "groups": [...]}` in Graph's
/// shape (what `scimd demo` writes and the file source reads back unchanged).
pub fn to_graph_json(objects: &[SourceObject]) -> Value {
    let (mut users, mut groups) = (Vec::new(), Vec::new());
    for o in objects {
        let mut m = Map::new();
        m.insert("id".into(), Value::String(o.id.clone()));
        m.extend(o.attrs.iter().map(|(k, v)| (k.clone(), v.clone())));
        if o.kind == ObjectKind::Group {
            m.insert(
                "members".into(),
                o.members.iter().map(|id| Value::String(id.clone())).collect(),
            );
        }
        if !o.app_roles.is_empty() {
            let roles = o
                .app_roles
                .iter()
                .map(|r| json!({"id": r.id, "value": r.value, "displayName": r.display_name}));
            m.insert("appRoleAssignments".into(), roles.collect());
        }
        if o.deleted {
            m.insert("@removed".into(), json!({ "reason": "deleted" }));
        }
        match o.kind {
            ObjectKind::User => users.push(Value::Object(m)),
            ObjectKind::Group => groups.push(Value::Object(m)),
        }
    }
    json!({ "users": users, "groups": groups })
}
