//! NDJSON: one JSON object per line. The first object's keys decide which
//! key holds each role; values may be strings or numbers (epoch times, case
//! numbers). Blank lines are skipped.

use std::io::{BufRead, Read};

use nextneck_model::flow::{EventLog, SourceFile};
use serde_json::{Map, Value};

use crate::{Batch, Ctx, Error, FieldNames, Layout, Role, Row};

pub(crate) fn read(
    mut input: Box<dyn BufRead + Send>,
    ctx: &Ctx<'_>,
    log: &mut EventLog,
    source: &mut SourceFile,
) -> Result<(), Error> {
    let mut layout: Option<Layout> = None;
    let mut batch = Batch::default();
    let mut line_no = 0u64;
    let mut buf = String::new();
    loop {
        buf.clear();
        let limit = crate::MAX_RECORD_BYTES as u64 + 1;
        let n = (&mut input)
            .take(limit)
            .read_line(&mut buf)
            .map_err(|e| Error::Io {
                path: ctx.path.to_owned(),
                source: e,
            })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if n as u64 == limit && !buf.ends_with('\n') {
            return Err(ctx.line(
                line_no,
                format!(
                    "the line is longer than {} MiB, the limit; write one event per line",
                    crate::MAX_RECORD_BYTES >> 20
                ),
            ));
        }
        let text = buf.trim();
        if text.is_empty() {
            continue;
        }
        let object: Map<String, Value> = serde_json::from_str(text).map_err(|e| {
            ctx.line(
                line_no,
                format!("not a JSON object ({e}); write one object per line"),
            )
        })?;
        if layout.is_none() {
            let keys: Vec<String> = object.keys().cloned().collect();
            let found = Layout::find(&keys, ctx, line_no, true)?;
            if found.get(Role::Lifecycle).is_some() {
                log.shape.lifecycle = true;
            }
            if found.get(Role::Start).is_some() {
                log.shape.start_times = true;
            }
            layout = Some(found);
        }
        let Some(layout) = &layout else { continue };
        let value = |role: Role| -> Result<Option<String>, Error> {
            let Some(i) = layout.get(role) else {
                return Ok(None);
            };
            let key = &layout.names[i];
            match object.get(key) {
                None | Some(Value::Null) => Ok(Some(String::new())),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(Value::Bool(b)) => Ok(Some(b.to_string())),
                Some(_) => Err(ctx.field(
                    line_no,
                    key,
                    "is an array or object; use a string or a number",
                )),
            }
        };
        let case = value(Role::Case)?.unwrap_or_default();
        let stage = value(Role::Stage)?.unwrap_or_default();
        let time = value(Role::Time)?.unwrap_or_default();
        let lifecycle = value(Role::Lifecycle)?;
        let start = value(Role::Start)?;
        let item_type = value(Role::Type)?;
        let row = Row {
            case: case.as_bytes(),
            stage: stage.as_bytes(),
            time: time.as_bytes(),
            lifecycle: lifecycle.as_deref().map(str::as_bytes),
            start: start.as_deref().map(str::as_bytes),
            item_type: item_type.as_deref().map(str::as_bytes),
        };
        let names = FieldNames {
            case: layout.name(Role::Case),
            stage: layout.name(Role::Stage),
            time: layout.name(Role::Time),
            start: layout.name(Role::Start),
            item_type: layout.name(Role::Type),
        };
        batch.push(&row, &names, line_no, ctx)?;
    }
    if layout.is_none() {
        return Err(ctx.line(
            1,
            "the file has no JSON object; write one event per line such as {\"case_id\": \"A-1\", \"stage\": \"open\", \"timestamp\": \"2024-03-01T12:00:00Z\"}",
        ));
    }
    batch.merge_into(log, source);
    Ok(())
}
