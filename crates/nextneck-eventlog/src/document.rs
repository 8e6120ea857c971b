//! JSON files: NDJSON event logs (one event per line), or whole exports
//! that are one JSON document (or one per line, such as pages): Jira's REST
//! search with the changelog (an object with `issues`) and Trello's board
//! export (an object with `actions` and `lists` or `cards`).
//!
//! The first non-blank line decides: an object with such keys is an
//! export; any other object is an event; a line that is not a whole object
//! but starts one is the start of a document spread over lines, which is
//! read whole (at most [`MAX_DOCUMENT`] bytes) and must be an export.

use std::io::{BufRead, Cursor, Read};

use nextneck_model::flow::{EventLog, SourceFile};
use serde_json::{Map, Value};

use crate::{Ctx, Error};

/// The largest export read as one document.
pub(crate) const MAX_DOCUMENT: u64 = 1 << 30;

/// What a JSON document is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Export {
    Jira,
    Trello,
}

fn export(object: &Map<String, Value>) -> Option<Export> {
    let array = |k: &str| object.get(k).is_some_and(Value::is_array);
    if array("issues") {
        Some(Export::Jira)
    } else if array("actions") && (array("lists") || array("cards")) {
        Some(Export::Trello)
    } else {
        None
    }
}

pub(crate) fn read(
    mut input: Box<dyn BufRead + Send>,
    ctx: &Ctx<'_>,
    log: &mut EventLog,
    source: &mut SourceFile,
) -> Result<(), Error> {
    let io_err = |source| Error::Io {
        path: ctx.path.to_owned(),
        source,
    };
    // Everything read so far, handed on to whichever reader it is for.
    let mut consumed = Vec::new();
    let first = loop {
        let start = consumed.len();
        let n = input.read_until(b'\n', &mut consumed).map_err(io_err)?;
        let line = consumed[start..].trim_ascii();
        if n == 0 || !line.is_empty() {
            break start;
        }
    };
    let line = consumed[first..].trim_ascii();
    let kind = match serde_json::from_slice::<Value>(line) {
        Ok(Value::Object(o)) => export(&o),
        Ok(_) => None,
        Err(_) if line.first().is_some_and(|b| matches!(b, b'{' | b'[')) => {
            read_rest(&mut input, &mut consumed, ctx)?;
            let mut docs = serde_json::Deserializer::from_slice(&consumed).into_iter::<Value>();
            match docs.next() {
                Some(Ok(Value::Object(o))) => export(&o),
                _ => None,
            }
        }
        Err(_) => None,
    };
    match kind {
        None => {
            let rest: Box<dyn BufRead + Send> = Box::new(Cursor::new(consumed).chain(input));
            crate::ndjson::read(rest, ctx, log, source)
        }
        Some(kind) => {
            read_rest(&mut input, &mut consumed, ctx)?;
            match kind {
                Export::Jira => crate::jira::read(&consumed, ctx, log),
                Export::Trello => crate::trello::read(&consumed, ctx, log),
            }
        }
    }
}

/// Reads the rest of the input into `consumed`, up to [`MAX_DOCUMENT`].
fn read_rest(
    input: &mut Box<dyn BufRead + Send>,
    consumed: &mut Vec<u8>,
    ctx: &Ctx<'_>,
) -> Result<(), Error> {
    let room = MAX_DOCUMENT.saturating_sub(consumed.len() as u64);
    input
        .take(room + 1)
        .read_to_end(consumed)
        .map_err(|source| Error::Io {
            path: ctx.path.to_owned(),
            source,
        })?;
    if consumed.len() as u64 > MAX_DOCUMENT {
        return Err(ctx.line(
            1,
            format!(
                "a JSON document larger than {} MiB; split the export into pages (one document per line)",
                MAX_DOCUMENT >> 20
            ),
        ));
    }
    Ok(())
}

/// The error of a JSON export that does not have the export's shape: its
/// line, and serde's message without the position it appends. Messages of
/// the readers' own checks start with `field "NAME": `.
pub(crate) fn shape_error(e: &serde_json::Error, what: &str, ctx: &Ctx<'_>) -> Error {
    let message = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = message.strip_suffix(&suffix).unwrap_or(&message);
    let message = match message.strip_prefix("field \"") {
        Some(rest) => format!("field \"{rest}"),
        None => format!("{message} (column {}); is this {what}?", e.column()),
    };
    ctx.line(e.line().max(1) as u64, message)
}

/// A serde deserializer for a time field: the time in seconds, or an error
/// naming the field.
pub(crate) fn time_field<'de, D: serde::Deserializer<'de>>(
    d: D,
    field: &str,
) -> Result<i64, D::Error> {
    let s: String = serde::Deserialize::deserialize(d)?;
    crate::time::parse(&s, &jiff::tz::TimeZone::UTC).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "field \"{field}\": \"{s}\" is not a time; the export writes RFC 3339 times such as 2024-03-12T15:41:00.000+0000"
        ))
    })
}
