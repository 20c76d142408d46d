//! `scimd sync import-entra`: an Entra provisioning job's schema (Graph's
//! `synchronizationSchema`, as `GET …/synchronization/jobs/{id}/schema` returns it) turned
//! into a job file.
//!
//! Converted: the first synchronization rule's object mappings for `User` and `Group`
//! (`enabled`, `flowTypes`), each attribute mapping (`targetAttributeName`; a `source` tree of
//! `Attribute`, `Constant` and `Function` nodes, or its `expression` text;
//! `matchingPriority`; `flowType` `Always` or `ObjectAddOnly`; `defaultValue`), and the users'
//! scoping filter groups and their clauses. Everything else that carries meaning is reported
//! by name in [`Imported::unconverted`]: nothing is dropped silently.

use serde_json::Value;
use sync_engine::EngineError;

/// The job file, and what could not be carried over.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub toml: String,
    /// Things kept with a caveat (`groups.members`: the engine syncs membership itself).
    pub notes: Vec<String>,
    /// Things left out, each naming where it was and why.
    pub unconverted: Vec<String>,
}

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// A source tree as expression text: `[attr]`, `"constant"`, `Func(arg, …)`.
fn expression(node: &Value) -> Result<String, String> {
    match s(node, "type") {
        "Attribute" => Ok(format!("[{}]", s(node, "name"))),
        "Constant" => Ok(format!(
            "\"{}\"",
            s(node, "name").replace('\\', "\\\\").replace('"', "\\\"")
        )),
        "Function" => {
            let args = node
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| expression(p.get("value").unwrap_or(&Value::Null)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(format!("{}({})", s(node, "name"), args.join(", ")))
        }
        other => Err(format!("a source node of type {other:?}")),
    }
}

/// One attribute mapping as a `[[users.mappings]]` table.
fn mapping(kind: &str, m: &Value, out: &mut Imported) -> Option<String> {
    let target = s(m, "targetAttributeName");
    let at = format!("{kind}.mappings (target {target:?})");
    if kind == "groups" && target.eq_ignore_ascii_case("members") {
        out.notes.push(format!(
            "{at}: not a mapping here; the engine syncs group membership itself"
        ));
        return None;
    }
    let src = m.get("source").unwrap_or(&Value::Null);
    let params = src.get("parameters").and_then(Value::as_array).map_or(0, Vec::len);
    let mut t = format!("\n[[{kind}.mappings]]\ntarget = {}\n", q(target));
    match s(src, "type") {
        "Attribute" if params == 0 => t += &format!("source = {}\n", q(s(src, "name"))),
        "Constant" => t += &format!("type = \"constant\"\nvalue = {}\n", q(s(src, "name"))),
        "Attribute" | "Function" => {
            let text = match s(src, "expression") {
                "" => expression(src),
                e => Ok(e.to_string()),
            };
            match text.and_then(|e| sync_expr::parse(&e).map(|_| e).map_err(|err| err.to_string())) {
                Ok(e) => t += &format!("type = \"expression\"\nexpression = {}\n", q(&e)),
                Err(e) => {
                    out.unconverted
                        .push(format!("{at}: the expression cannot be converted: {e}"));
                    return None;
                }
            }
        }
        other => {
            out.unconverted.push(format!("{at}: a source of type {other:?}"));
            return None;
        }
    }
    match s(m, "flowType") {
        "" | "Always" => {}
        "ObjectAddOnly" => t += "apply = \"create\"\n",
        other => out.unconverted.push(format!(
            "{at}: flowType {other:?} is not supported; the mapping applies always"
        )),
    }
    if s(m, "flowBehavior") == "FlowAlways" {
        out.unconverted.push(format!(
            "{at}: flowBehavior FlowAlways (send even when unchanged) is not supported; it flows when changed"
        ));
    }
    if let Some(d) = m.get("defaultValue").and_then(Value::as_str).filter(|d| !d.is_empty()) {
        t += &format!("default = {}\n", q(d));
    }
    if let Some(p) = m.get("matchingPriority").and_then(Value::as_u64).filter(|p| *p > 0) {
        t += &format!("matching = {p}\n");
    }
    Some(t)
}

/// Graph's operator names (`EQUALS`, `NOT_EQUALS`, `IS_TRUE`, …) in the job's spelling.
fn operator(name: &str) -> Option<&'static str> {
    let op: sync_engine::scope::Operator = match name.to_ascii_uppercase().as_str() {
        "IN" => "&".parse().ok()?,
        "NOT_IN" | "NOTIN" => "!&".parse().ok()?,
        other => other.parse().ok()?,
    };
    Some(op.as_str())
}

/// The users' scoping filter groups as `[[scope.filters]]`.
fn filters(scope: &Value, out: &mut Imported) -> String {
    let mut t = String::new();
    for (key, v) in scope.as_object().into_iter().flatten() {
        if key != "groups" && v.as_array().is_some_and(|a| !a.is_empty()) {
            out.unconverted.push(format!("users scope: {key} (not supported)"));
        }
    }
    for (i, g) in scope
        .get("groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = s(g, "name");
        let mut clauses = Vec::new();
        for c in g.get("clauses").and_then(Value::as_array).into_iter().flatten() {
            let attr = s(c, "sourceOperandName");
            let op_name = s(c, "operatorName");
            let values: Vec<&str> = c
                .pointer("/targetOperand/values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let Some(op) = operator(op_name) else {
                out.unconverted
                    .push(format!("scope filter {i} ({name}): operator {op_name:?} on {attr}"));
                continue;
            };
            let value = match (values.as_slice(), op) {
                ([], _) => None,
                ([one], _) => Some(one.to_string()),
                (many, "&" | "!&") => Some(many.join(",")),
                (many, _) => {
                    out.unconverted.push(format!(
                        "scope filter {i} ({name}): {attr} {op_name} with {} values",
                        many.len()
                    ));
                    continue;
                }
            };
            let v = value.map(|v| format!(", value = {}", q(&v))).unwrap_or_default();
            clauses.push(format!("  {{ attribute = {}, operator = {}{v} }},\n", q(attr), q(op)));
        }
        t += "[[scope.filters]]\n";
        if !name.is_empty() {
            t += &format!("name = {}\n", q(name));
        }
        t += &format!("clauses = [\n{}]\n", clauses.concat());
    }
    t
}

/// One object mapping (`User` or `Group`) as `[users]`/`[groups]` and its mappings.
fn object(kind: &str, om: &Value, scope: &mut String, out: &mut Imported) -> String {
    let mut t = format!("\n[{kind}]\n");
    if om.get("enabled").and_then(Value::as_bool) == Some(false) {
        t += "enabled = false\n";
    }
    if let Some(flows) = om.get("flowTypes").and_then(Value::as_str) {
        let has = |f: &str| flows.split(',').any(|x| x.trim().eq_ignore_ascii_case(f));
        if !(has("Add") && has("Update") && has("Delete")) {
            t += &format!(
                "[{kind}.actions]\ncreate = {}\nupdate = {}\ndelete = {}\n",
                has("Add"),
                has("Update"),
                has("Delete")
            );
        }
    }
    if let Some(sc) = om.get("scope").filter(|v| !v.is_null()) {
        if kind == "users" {
            *scope += &filters(sc, out);
        } else if sc
            .get("groups")
            .and_then(Value::as_array)
            .is_some_and(|g| !g.is_empty())
        {
            out.unconverted.push(format!(
                "{kind} scope: scoping filters on groups (the engine filters users only)"
            ));
        }
    }
    for m in om
        .get("attributeMappings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(m) = mapping(kind, m, out) {
            t += &m;
        }
    }
    t
}

/// Converts a schema export. `name` becomes `job.name`.
pub fn import(schema: &Value, name: &str) -> Result<Imported, EngineError> {
    let bad = |m: &str| EngineError::Config(format!("not a synchronizationSchema: {m}"));
    let rules = schema
        .get("synchronizationRules")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no synchronizationRules list"))?;
    let rule = rules.first().ok_or_else(|| bad("synchronizationRules is empty"))?;
    let mut out = Imported {
        toml: String::new(),
        notes: Vec::new(),
        unconverted: Vec::new(),
    };
    for (i, r) in rules.iter().enumerate().skip(1) {
        out.unconverted.push(format!(
            "synchronizationRules[{i}] ({}): only the first rule is converted",
            s(r, "name")
        ));
    }
    let (mut users, mut groups, mut scope) = (None, None, String::new());
    for om in rule
        .get("objectMappings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match s(om, "sourceObjectName") {
            "User" if users.is_none() => users = Some(object("users", om, &mut scope, &mut out)),
            "Group" if groups.is_none() => groups = Some(object("groups", om, &mut scope, &mut out)),
            other => out.unconverted.push(format!(
                "objectMappings {:?} ({other} → {}): only one User and one Group mapping are converted",
                s(om, "name"),
                s(om, "targetObjectName")
            )),
        }
    }
    let users = users.ok_or_else(|| bad("no object mapping with sourceObjectName \"User\""))?;
    out.toml = format!(
        "# Converted by `scimd sync import-entra` from an Entra provisioning schema.\n\
         # Fill in [source] and [target], then: scimd sync validate THIS-FILE\n\
         version = 1\n\n[job]\nname = {}\ninterval = \"40m\"\n\n\
         [source]\ntype = \"graph\"\ntenant_id = \"YOUR-TENANT-ID\"\nclient_id = \"YOUR-APP-CLIENT-ID\"\n\
         client_secret_env = \"GRAPH_CLIENT_SECRET\"\nservice_principal_id = \"YOUR-ENTERPRISE-APP-OBJECT-ID\"\n\n\
         [target]\nurl = \"https://YOUR-APP.example/scim/v2\"\ntoken_env = \"SCIM_TOKEN\"\n\n\
         [scope]\n# Entra's \"Sync only assigned users and groups\".\nmode = \"assigned\"\n{scope}{users}{}",
        q(name),
        groups.unwrap_or_default()
    );
    Ok(out)
}
