//! A JSON reader that knows where it is: every accessor returns a typed
//! value or an error naming the JSON path (`pull_request.merged_at`,
//! `[3].head.sha`), so a bad export points at the field to fix.

use nextneck_model::Timestamp;
use serde_json::Value;

use crate::IngestError;

/// A JSON value and its path from the document's root.
#[derive(Clone)]
pub(crate) struct J<'a> {
    pub v: &'a Value,
    pub path: String,
}

static NULL: Value = Value::Null;

impl<'a> J<'a> {
    pub fn root(v: &'a Value) -> J<'a> {
        J {
            v,
            path: String::new(),
        }
    }

    fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub fn err(&self, message: impl Into<String>) -> IngestError {
        IngestError::Field {
            path: if self.path.is_empty() {
                "(the document)".to_owned()
            } else {
                escape_control(&self.path)
            },
            message: message.into(),
        }
    }

    /// The member `key`; JSON `null` when absent.
    pub fn get(&self, key: &str) -> J<'a> {
        J {
            v: self.v.get(key).unwrap_or(&NULL),
            path: self.child_path(key),
        }
    }

    /// The member `key` unless absent or null.
    pub fn opt(&self, key: &str) -> Option<J<'a>> {
        let j = self.get(key);
        (!j.v.is_null()).then_some(j)
    }

    /// The member `key`, which must be present and not null.
    pub fn req(&self, key: &str) -> Result<J<'a>, IngestError> {
        self.opt(key)
            .ok_or_else(|| self.get(key).err("missing; it is required"))
    }

    pub fn has(&self, key: &str) -> bool {
        self.v.get(key).is_some()
    }

    pub fn is_object(&self) -> bool {
        self.v.is_object()
    }

    /// An object, or an error.
    pub fn object(self) -> Result<J<'a>, IngestError> {
        if self.v.is_object() {
            Ok(self)
        } else {
            Err(self.err(format!("expected an object, found {}", kind(self.v))))
        }
    }

    /// This value as a string.
    pub fn string(&self) -> Result<String, IngestError> {
        match self.v {
            Value::String(s) => Ok(s.clone()),
            other => Err(self.err(format!("expected a string, found {}", kind(other)))),
        }
    }

    /// This value as an id: a string or an integer, as text.
    pub fn id(&self) -> Result<String, IngestError> {
        match self.v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
            other => Err(self.err(format!(
                "expected an id (a string or an integer), found {}",
                kind(other)
            ))),
        }
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<String>, IngestError> {
        self.opt(key).map(|j| j.string()).transpose()
    }

    /// A string member, with empty strings read as absent.
    pub fn opt_text(&self, key: &str) -> Result<Option<String>, IngestError> {
        Ok(self.opt_str(key)?.filter(|s| !s.is_empty()))
    }

    pub fn req_str(&self, key: &str) -> Result<String, IngestError> {
        self.req(key)?.string()
    }

    pub fn opt_id(&self, key: &str) -> Result<Option<String>, IngestError> {
        self.opt(key).map(|j| j.id()).transpose()
    }

    pub fn req_id(&self, key: &str) -> Result<String, IngestError> {
        self.req(key)?.id()
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, IngestError> {
        self.opt(key)
            .map(|j| match j.v {
                Value::Bool(b) => Ok(*b),
                other => Err(j.err(format!("expected true or false, found {}", kind(other)))),
            })
            .transpose()
    }

    pub fn opt_u64(&self, key: &str) -> Result<Option<u64>, IngestError> {
        self.opt(key)
            .map(|j| {
                j.v.as_u64()
                    .ok_or_else(|| j.err(format!("expected a whole number, found {}", kind(j.v))))
            })
            .transpose()
    }

    /// A time: an RFC 3339 / ISO 8601 string (GitLab's `2016-09-28 20:04:55
    /// UTC` and Jira's `+0000` offsets included) or a number of seconds,
    /// milliseconds, microseconds or nanoseconds since the epoch.
    pub fn time(&self) -> Result<Timestamp, IngestError> {
        match self.v {
            Value::String(s) => parse_time(s).ok_or_else(|| {
                self.err(format!(
                    "{s:?} is not a time; use RFC 3339 such as 2024-03-01T12:00:00Z"
                ))
            }),
            Value::Number(n) => n
                .as_i64()
                .map(epoch_seconds)
                .ok_or_else(|| self.err(format!("{n} is not a time"))),
            other => Err(self.err(format!("expected a time, found {}", kind(other)))),
        }
    }

    /// A time that must be a string (the generic format's schema says
    /// so): a number is refused rather than read as an epoch.
    pub fn time_text(&self) -> Result<Timestamp, IngestError> {
        match self.v {
            Value::String(_) => self.time(),
            other => Err(self.err(format!(
                "expected a time as an RFC 3339 string such as \"2024-03-01T12:00:00Z\", found {}",
                kind(other)
            ))),
        }
    }

    pub fn opt_time_text(&self, key: &str) -> Result<Option<Timestamp>, IngestError> {
        self.opt(key).map(|j| j.time_text()).transpose()
    }

    pub fn req_time_text(&self, key: &str) -> Result<Timestamp, IngestError> {
        self.req(key)?.time_text()
    }

    pub fn opt_time(&self, key: &str) -> Result<Option<Timestamp>, IngestError> {
        self.opt(key).map(|j| j.time()).transpose()
    }

    pub fn req_time(&self, key: &str) -> Result<Timestamp, IngestError> {
        self.req(key)?.time()
    }

    /// The elements of an array member; empty when absent or null.
    pub fn arr(&self, key: &str) -> Result<Vec<J<'a>>, IngestError> {
        match self.opt(key) {
            None => Ok(Vec::new()),
            Some(j) => j.elements(),
        }
    }

    /// The elements of this array.
    pub fn elements(&self) -> Result<Vec<J<'a>>, IngestError> {
        match self.v {
            Value::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, v)| J {
                    v,
                    path: format!("{}[{i}]", self.path),
                })
                .collect()),
            other => Err(self.err(format!("expected an array, found {}", kind(other)))),
        }
    }

    /// Strings of an array member (labels and the like), reading objects'
    /// `field` member (`{"name": "bug"}`).
    pub fn names(&self, key: &str, field: &str) -> Result<Vec<String>, IngestError> {
        self.arr(key)?
            .iter()
            .map(|j| match j.v {
                Value::String(s) => Ok(s.clone()),
                _ => j.req_str(field),
            })
            .collect()
    }
}

/// Text with its control characters (NUL, escape sequences, newlines)
/// written as escapes, so that an error quoting input never prints them raw.
pub fn escape_control(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The deepest nesting of arrays and objects serde_json reads (its
/// recursion limit), named in the error.
pub(crate) const MAX_JSON_DEPTH: usize = 128;

/// The error for a document serde_json could not read, naming the nesting
/// limit when that is what stopped it.
pub(crate) fn json_error(e: &serde_json::Error) -> IngestError {
    let text = e.to_string();
    if text.starts_with("recursion limit exceeded") {
        IngestError::Json(format!(
            "arrays and objects are nested deeper than {MAX_JSON_DEPTH} levels, the limit (line {}, column {})",
            e.line(),
            e.column()
        ))
    } else {
        IngestError::Json(escape_control(&text))
    }
}

/// Refuses text nextneck cannot store the same way on every backend: a NUL
/// character (`\u0000`) in any key or string (PostgreSQL's text cannot
/// hold it). The error names the first such field.
pub(crate) fn refuse_nul(v: &Value) -> Result<(), IngestError> {
    fn walk(v: &Value, path: &mut String) -> Result<(), IngestError> {
        let nul = |path: &str| IngestError::Field {
            path: if path.is_empty() {
                "(the document)".to_owned()
            } else {
                escape_control(path)
            },
            message: "contains a NUL character (\\u0000), which nextneck does not store; remove it"
                .to_owned(),
        };
        match v {
            Value::String(s) if s.contains('\0') => Err(nul(path)),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(item, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            Value::Object(map) => {
                for (k, item) in map {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                    if k.contains('\0') {
                        return Err(nul(path));
                    }
                    walk(item, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    walk(v, &mut String::new())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Seconds from a number of seconds, ms, µs or ns since the epoch, told
/// apart by magnitude (Opsgenie sends `createdAt` in ms and `updatedAt` in
/// ns).
pub(crate) fn epoch_seconds(n: i64) -> Timestamp {
    let a = n.unsigned_abs();
    if a >= 100_000_000_000_000_000 {
        n / 1_000_000_000
    } else if a >= 100_000_000_000_000 {
        n / 1_000_000
    } else if a >= 100_000_000_000 {
        n / 1_000
    } else {
        n
    }
}

/// Parses the time formats providers send; whole seconds, rounded down.
pub fn parse_time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Some(ts.as_second());
    }
    // `2016-09-28 20:04:55 UTC` (GitLab).
    if let Some(rest) = s.strip_suffix(" UTC")
        && let Ok(dt) = rest.parse::<jiff::civil::DateTime>()
    {
        return jiff::tz::TimeZone::UTC
            .to_timestamp(dt)
            .ok()
            .map(|t| t.as_second());
    }
    // `2025-05-02 12:30:19 +0000` (GitLab), `...T16:53:58.301+0000` (Jira).
    for fmt in [
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%z",
    ] {
        if let Ok(ts) = jiff::Timestamp::strptime(fmt, s) {
            return Some(ts.as_second());
        }
    }
    // No offset at all (JUnit `timestamp`): UTC.
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return jiff::tz::TimeZone::UTC
            .to_timestamp(dt)
            .ok()
            .map(|t| t.as_second());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, want: Option<i64>) {
        assert_eq!(parse_time(input), want, "{input}");
    }

    #[test]
    fn provider_time_formats() {
        // 2024-03-01T00:00:00Z = 1709251200.
        check("2024-03-01T00:00:00Z", Some(1_709_251_200));
        check("2024-03-01T01:00:00+01:00", Some(1_709_251_200));
        check("2024-03-01T00:00:00.999Z", Some(1_709_251_200));
        check("2024-03-01 00:00:00 UTC", Some(1_709_251_200));
        check("2024-03-01 01:00:00 +0100", Some(1_709_251_200));
        check("2024-03-01T01:00:00.301+0100", Some(1_709_251_200));
        check("2024-02-29T19:00:00-0500", Some(1_709_251_200));
        check("2024-03-01T00:00:00.226119", Some(1_709_251_200));
        check("yesterday", None);
        check("", None);
    }

    #[test]
    fn epochs_of_any_unit() {
        assert_eq!(epoch_seconds(1_502_709_956), 1_502_709_956);
        assert_eq!(epoch_seconds(1_502_709_956_288), 1_502_709_956);
        assert_eq!(epoch_seconds(1_502_709_956_288_000), 1_502_709_956);
        assert_eq!(epoch_seconds(1_502_709_956_288_000_110), 1_502_709_956);
    }

    #[test]
    fn errors_name_the_path() {
        let v: Value = serde_json::json!({"a": [{"b": 1}, {"b": "x"}]});
        let root = J::root(&v);
        let items = root.arr("a").expect("array");
        let e = items[1].req_time("b").expect_err("not a time");
        assert_eq!(
            e.to_string(),
            "field a[1].b: \"x\" is not a time; use RFC 3339 such as 2024-03-01T12:00:00Z"
        );
        let e = items[0].req_str("c").expect_err("missing");
        assert_eq!(e.to_string(), "field a[0].c: missing; it is required");
    }
}
