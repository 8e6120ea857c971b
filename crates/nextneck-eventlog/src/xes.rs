//! XES (IEEE 1849): `<log>` of `<trace>`s of `<event>`s, each with typed
//! attributes (`<string key=".." value=".."/>`, `<date .../>`, ...).
//!
//! Lenient with real files: the `xes.version` attribute, extensions,
//! globals and classifiers are not required and are ignored; unknown
//! elements are skipped. The case id is the trace's `concept:name` (or
//! `trace N` when it has none); an event's keys are looked up like CSV
//! columns (`concept:name`, `time:timestamp`, `lifecycle:transition`,
//! `start_timestamp`, ...), and the same flags override them. A file that
//! ends inside an element is an error naming the line.

use std::io::{BufRead, Read};

use nextneck_model::flow::{EventLog, SourceFile};
use quick_xml::events::{BytesStart, Event as Xml};

use crate::{Batch, Ctx, Error, FieldNames, Layout, Role, Row};

/// Counts the newlines that pass through, so errors can name a line.
struct Lines<R> {
    inner: R,
    newlines: u64,
}

impl<R: Read> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.newlines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Lines<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let amt = amt.min(buf.len());
            self.newlines += memchr::memchr_iter(b'\n', &buf[..amt]).count() as u64;
        }
        self.inner.consume(amt);
    }
}

/// Attributes of one event: (key, value).
type Attrs = Vec<(String, String, u64)>;

pub(crate) fn read(
    input: Box<dyn BufRead + Send>,
    ctx: &Ctx<'_>,
    log: &mut EventLog,
    source: &mut SourceFile,
) -> Result<(), Error> {
    let mut reader = quick_xml::Reader::from_reader(Lines {
        inner: input,
        newlines: 0,
    });
    reader.config_mut().trim_text(true);
    let mut buf = Vec::new();
    let mut batch = Batch::default();
    // Element names from the root down to the current element.
    let mut stack: Vec<(Vec<u8>, u64)> = Vec::new();
    let mut saw_log = false;
    let mut traces = 0usize;
    // The current trace: its name and its events with their lines.
    let mut trace_name: Option<String> = None;
    let mut trace_events: Vec<(u64, Attrs)> = Vec::new();
    let mut event: Option<(u64, Attrs)> = None;
    loop {
        let line_of =
            |r: &quick_xml::Reader<Lines<Box<dyn BufRead + Send>>>| r.get_ref().newlines + 1;
        let xml = match reader.read_event_into(&mut buf) {
            Ok(x) => x,
            Err(e) => {
                return Err(ctx.line(
                    line_of(&reader),
                    format!("not valid XES: {e}; check that the file is complete"),
                ));
            }
        };
        let line = line_of(&reader);
        match xml {
            Xml::Start(ref e) | Xml::Empty(ref e) => {
                let empty = matches!(xml, Xml::Empty(_));
                let name = local(e);
                let parent = stack.last().map(|(n, _)| n.as_slice());
                match (name.as_slice(), parent) {
                    (b"log", None) => saw_log = true,
                    (b"trace", Some(b"log")) => {
                        traces += 1;
                        trace_name = None;
                        trace_events.clear();
                        if empty {
                            traces_done(
                                &mut batch,
                                ctx,
                                traces,
                                &mut trace_name,
                                &mut trace_events,
                            )?;
                        }
                    }
                    (b"event", Some(b"trace")) => {
                        event = Some((line, Vec::new()));
                        if empty && let Some(ev) = event.take() {
                            trace_events.push(ev);
                        }
                    }
                    (_, Some(b"event")) => {
                        if let Some((key, value)) = attribute(e, ctx, line)?
                            && let Some((_, attrs)) = event.as_mut()
                        {
                            attrs.push((key, value, line));
                        }
                    }
                    (_, Some(b"trace")) => {
                        if let Some((key, value)) = attribute(e, ctx, line)?
                            && key == "concept:name"
                        {
                            trace_name = Some(value);
                        }
                    }
                    _ => {}
                }
                if !empty {
                    if stack.len() >= crate::MAX_XES_DEPTH {
                        return Err(ctx.line(
                            line,
                            format!(
                                "elements are nested deeper than {} levels, the limit: this is not an XES log",
                                crate::MAX_XES_DEPTH
                            ),
                        ));
                    }
                    stack.push((name, line));
                }
            }
            Xml::End(_) => {
                let Some((name, _)) = stack.pop() else {
                    return Err(ctx.line(line, "a closing tag without an opening one"));
                };
                let parent = stack.last().map(|(n, _)| n.as_slice());
                match (name.as_slice(), parent) {
                    (b"event", Some(b"trace")) => {
                        if let Some(ev) = event.take() {
                            trace_events.push(ev);
                        }
                    }
                    (b"trace", Some(b"log")) => {
                        traces_done(&mut batch, ctx, traces, &mut trace_name, &mut trace_events)?;
                    }
                    _ => {}
                }
            }
            Xml::Eof => {
                if let Some((open, opened)) = stack.last() {
                    return Err(ctx.line(
                        line,
                        format!(
                            "the file ends inside <{}> (opened on line {opened}): it is truncated; export it again",
                            String::from_utf8_lossy(open)
                        ),
                    ));
                }
                if !saw_log {
                    return Err(ctx.line(
                        line,
                        "no <log> element: this is not an XES file; XES files start with <log> and hold <trace> elements",
                    ));
                }
                break;
            }
            _ => {}
        }
        buf.clear();
    }
    batch.merge_into(log, source);
    Ok(())
}

/// The element's name without a namespace prefix.
fn local(e: &BytesStart<'_>) -> Vec<u8> {
    e.local_name().as_ref().as_bytes().to_vec()
}

/// `(key, value)` of an attribute element such as
/// `<string key="concept:name" value="Register"/>`.
fn attribute(
    e: &BytesStart<'_>,
    ctx: &Ctx<'_>,
    line: u64,
) -> Result<Option<(String, String)>, Error> {
    let mut key = None;
    let mut value = None;
    for a in e.attributes() {
        let a = a.map_err(|err| ctx.line(line, format!("not valid XES: {err}")))?;
        let v = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| ctx.line(line, format!("not valid XES: {err}")))?;
        match a.key.local_name().as_ref() {
            "key" => key = Some(v.into_owned()),
            "value" => value = Some(v.into_owned()),
            _ => {}
        }
    }
    Ok(key.zip(value))
}

/// Turns a finished trace's events into rows.
fn traces_done(
    batch: &mut Batch,
    ctx: &Ctx<'_>,
    index: usize,
    trace_name: &mut Option<String>,
    events: &mut Vec<(u64, Attrs)>,
) -> Result<(), Error> {
    let case = trace_name
        .take()
        .unwrap_or_else(|| format!("trace {index}"));
    for (line, attrs) in events.drain(..) {
        let keys: Vec<String> = attrs.iter().map(|(k, _, _)| k.clone()).collect();
        let layout = Layout::find(&keys, ctx, line, false).map_err(|e| match e {
            Error::Line {
                path,
                line,
                problem,
            } => Error::Line {
                path,
                line,
                problem: format!("in an <event>: {problem}"),
            },
            other => other,
        })?;
        let value = |role: Role| layout.get(role).map(|i| attrs[i].1.as_str());
        // Field errors are mostly about the time: name its line.
        let line = layout.get(Role::Time).map_or(line, |i| attrs[i].2);
        let bytes = |role: Role| value(role).map(str::as_bytes);
        let row = Row {
            case: case.as_bytes(),
            stage: bytes(Role::Stage).unwrap_or_default(),
            time: bytes(Role::Time).unwrap_or_default(),
            lifecycle: bytes(Role::Lifecycle),
            start: bytes(Role::Start),
            item_type: bytes(Role::Type),
        };
        let names = FieldNames {
            case: "concept:name",
            stage: layout.name(Role::Stage),
            time: layout.name(Role::Time),
            start: layout.name(Role::Start),
            item_type: layout.name(Role::Type),
        };
        batch.push(&row, &names, line, ctx)?;
    }
    Ok(())
}
