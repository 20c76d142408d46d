//! The file source read incrementally: records are parsed one at a time from a buffered
//! reader and handed on in pages, so a cycle never holds the whole file or its JSON tree.
//! `read` (whole batches, provisioning on demand) collects the same pages, so both paths
//! accept and refuse exactly the same files.

use std::collections::HashSet;
use std::fmt;
use std::io::{BufRead, BufReader, Read};

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{FileFormat, parse_csv, record, src_err};
use sync_engine::EngineError;
use sync_engine::model::{ObjectKind, SourceObject};

/// Objects per page. The reader keeps two pages ahead of the cycle, and a parsed user
/// takes about 4.5 KB: 250 keep that near 2 MB (1,000 held 9 MB).
pub const PAGE: usize = 250;

/// A page also ends once its objects and their members number this many, so the pages a
/// reader keeps ahead hold a bounded number of member ids however large the groups.
pub const PAGE_WEIGHT: usize = 20_000;

/// Receives each parsed record; an error stops the read.
pub(super) struct Emit<'f> {
    name: &'f str,
    page: Vec<SourceObject>,
    /// Objects and members in `page`.
    weight: usize,
    /// Hashes of the ids seen so far, to refuse duplicates without keeping the ids (16
    /// bytes an object: 36 MB for a million).
    seen: HashSet<u128>,
    sink: &'f mut dyn FnMut(Vec<SourceObject>) -> Result<(), EngineError>,
    /// The first error a record raised (serde's own errors carry no context of ours).
    failed: Option<EngineError>,
}

impl Emit<'_> {
    fn push(&mut self, value: Value, hint: Option<ObjectKind>, at: &str) -> Result<(), EngineError> {
        let obj = record(value, hint, self.name, at)?;
        self.push_object(obj)
    }

    fn push_object(&mut self, obj: SourceObject) -> Result<(), EngineError> {
        let n = self.seen.len() + 1;
        if !self.seen.insert(sync_engine::model::hash128(&obj.id.as_str())) {
            return Err(src_err(
                self.name,
                format!("id {:?} appears twice (again in record {n})", obj.id),
            ));
        }
        self.weight += 1 + obj.members.len();
        self.page.push(obj);
        if self.page.len() >= PAGE || self.weight >= PAGE_WEIGHT {
            self.weight = 0;
            let page = std::mem::take(&mut self.page);
            (self.sink)(page)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), EngineError> {
        let page = std::mem::take(&mut self.page);
        if page.is_empty() { Ok(()) } else { (self.sink)(page) }
    }
}

/// Reads `reader` in `format`, handing pages to `sink`.
pub(super) fn read_pages(
    reader: impl Read,
    format: FileFormat,
    name: &str,
    sink: &mut dyn FnMut(Vec<SourceObject>) -> Result<(), EngineError>,
) -> Result<(), EngineError> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    skip_bom(&mut reader).map_err(|e| src_err(name, format!("cannot read: {e}")))?;
    let mut emit = Emit {
        name,
        page: Vec::with_capacity(PAGE),
        weight: 0,
        seen: HashSet::new(),
        sink,
        failed: None,
    };
    match format {
        FileFormat::Json => json(reader, &mut emit)?,
        FileFormat::JsonLines => json_lines(reader, &mut emit)?,
        FileFormat::Csv => {
            let mut text = String::new();
            reader.read_to_string(&mut text).map_err(|e| not_utf8(name, e))?;
            // CSV files are users only and small next to JSON exports: parsed whole.
            for obj in parse_csv(&text, name)? {
                emit.push_object(obj)?;
            }
        }
    }
    emit.flush()
}

fn not_utf8(name: &str, e: std::io::Error) -> EngineError {
    if e.kind() == std::io::ErrorKind::InvalidData {
        src_err(name, "is not UTF-8")
    } else {
        src_err(name, format!("cannot read: {e}"))
    }
}

fn skip_bom(reader: &mut impl BufRead) -> std::io::Result<()> {
    let buf = reader.fill_buf()?;
    if buf.starts_with("\u{feff}".as_bytes()) {
        reader.consume(3);
    }
    Ok(())
}

fn json(reader: impl Read, emit: &mut Emit<'_>) -> Result<(), EngineError> {
    let name = emit.name;
    let mut de = serde_json::Deserializer::from_reader(reader);
    let found = match (Top { emit: &mut *emit }).deserialize(&mut de) {
        Ok(found) => found,
        Err(e) => return Err(emit.failed.take().unwrap_or_else(|| json_err(name, &e))),
    };
    de.end().map_err(|e| json_err(name, &e))?;
    match found {
        Ok(()) => Ok(()),
        Err(what) => Err(src_err(
            name,
            format!("expected an array of users and groups or an object with \"users\"/\"groups\", found {what}"),
        )),
    }
}

fn json_err(name: &str, e: &serde_json::Error) -> EngineError {
    if e.to_string().contains("unicode") || e.to_string().contains("UTF-8") {
        src_err(name, format!("is not UTF-8 ({e})"))
    } else {
        src_err(name, format!("invalid JSON: {e}"))
    }
}

fn json_lines(reader: impl BufRead, emit: &mut Emit<'_>) -> Result<(), EngineError> {
    let name = emit.name;
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| not_utf8(name, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("line {}", i + 1);
        let value: Value =
            serde_json::from_str(&line).map_err(|e| src_err(name, format!("{at}: invalid JSON: {e}")))?;
        emit.push(value, None, &at)?;
    }
    Ok(())
}

/// The top of a `.json` file: an array of records, or an object with `users`/`groups` (or
/// Graph's `value`) lists. Yields `Err(type)` when it is neither.
struct Top<'e, 'f> {
    emit: &'e mut Emit<'f>,
}

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = Result<(), &'static str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = Result<(), &'static str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array or an object")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        records(seq, self.emit, "", None).map(Ok)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut lists = false;
        while let Some(key) = map.next_key::<String>()? {
            let hint = match key.as_str() {
                "users" => Some(ObjectKind::User),
                "groups" => Some(ObjectKind::Group),
                "value" => None,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            lists = true;
            map.next_value_seed(List {
                emit: &mut *self.emit,
                key: &key,
                hint,
            })?;
        }
        Ok(if lists { Ok(()) } else { Err("an object") })
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Err("a string"))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Err("a boolean"))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Err("null"))
    }
}

/// One `users`/`groups`/`value` list.
struct List<'e, 'f, 'k> {
    emit: &'e mut Emit<'f>,
    key: &'k str,
    hint: Option<ObjectKind>,
}

impl<'de> DeserializeSeed<'de> for List<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for List<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{} to be an array", self.key)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        records(seq, self.emit, self.key, self.hint)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.wrong("an object"))
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        Err(self.wrong("a string"))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        Err(self.wrong("a boolean"))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        Err(self.wrong("a number"))
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        Err(self.wrong("a number"))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        Err(self.wrong("a number"))
    }
}

impl List<'_, '_, '_> {
    fn wrong<E: serde::de::Error>(self, what: &str) -> E {
        let e = src_err(self.emit.name, format!("{} must be an array, found {what}", self.key));
        self.emit.failed = Some(e);
        E::custom("stopped")
    }
}

fn records<'de, A: SeqAccess<'de>>(
    mut seq: A,
    emit: &mut Emit<'_>,
    key: &str,
    hint: Option<ObjectKind>,
) -> Result<(), A::Error> {
    let mut i = 0usize;
    while let Some(value) = seq.next_element::<Value>()? {
        if let Err(e) = emit.push(value, hint, &format!("{key}[{i}]")) {
            emit.failed = Some(e);
            return Err(serde::de::Error::custom("stopped"));
        }
        i += 1;
    }
    Ok(())
}
