//! CSV files with one row per item rather than one per event.
//!
//! * The wide layout (ActionableAgile's, and many spreadsheets'): an id
//!   column, then a column per stage holding when the item entered it
//!   (empty: it did not, or not yet), left to right in flow order; taken
//!   when asked, or when the header has no stage column. Every
//!   column whose values are mostly times is a stage; the item's entries
//!   are its non-empty stage cells. An item type is read from a `type`
//!   column. Epoch numbers do not make a column a stage (ids and estimates
//!   are numbers too) unless `--time-format` says how times are written.
//! * Jira's issue CSV export (`Issue key`, `Created`, `Resolved`, with
//!   times as `12/Mar/24 3:41 PM` in its default locale): it holds no
//!   status history, so each issue enters `Created` when created and
//!   `Resolved` when resolved (a done name); `Issue Type` is its type.
//!   Its `Status` (the current status only) is not a history and is not
//!   read.
//!
//! `docs/metrics.md` ("Logs of one row per item") is the definition.

use std::io::BufRead;

use nextneck_model::flow::EventLog;

use crate::{Ctx, Error, Role, RowLayout, not_a_time, push_entry, read_time, time};

/// The stages of an issue in Jira's issue CSV.
const JIRA_CREATED: &str = "Created";
const JIRA_RESOLVED: &str = "Resolved";

/// Which columns hold what.
struct Items {
    case: usize,
    item_type: Option<usize>,
    /// Stage name and column, in flow order.
    stages: Vec<(String, usize)>,
    /// Jira's issue CSV: its times may be in Jira's own format.
    jira: bool,
}

pub(crate) fn read(
    input: Box<dyn BufRead + Send>,
    header: &[String],
    delimiter: u8,
    long_error: Option<Error>,
    ctx: &Ctx<'_>,
    log: &mut EventLog,
) -> Result<(), Error> {
    if ctx.options.layout == RowLayout::Long
        && let Some(e) = long_error
    {
        return Err(e);
    }
    let records = records(input, delimiter, ctx)?;
    let lower: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_lowercase())
        .collect();
    let position = |name: &str| lower.iter().position(|h| h == name);
    let items = match (position("issue key"), position("created")) {
        (Some(case), Some(created)) if ctx.options.layout != RowLayout::Wide => {
            let mut stages = vec![(JIRA_CREATED.to_owned(), created)];
            if let Some(resolved) = position("resolved") {
                stages.push((JIRA_RESOLVED.to_owned(), resolved));
            }
            Items {
                case,
                item_type: position("issue type"),
                stages,
                jira: true,
            }
        }
        _ => {
            // Auto: wide only when the header has no stage column (a long
            // log with a misnamed column is not taken for a wide one).
            let long_error = match long_error {
                Some(e) if has_stage_column(&lower, ctx) => return Err(e),
                other => other,
            };
            wide(header, &lower, &records, long_error, ctx)?
        }
    };
    for (line, record) in &records {
        let field = |i: usize| record.get(i).map_or("", |v| v.trim());
        let case = field(items.case);
        if case.is_empty() {
            if record.iter().all(|v| v.trim().is_empty()) {
                continue;
            }
            return Err(ctx.field(
                *line,
                &header[items.case],
                "is empty; every row needs an item id",
            ));
        }
        let item_type = items.item_type.map(field);
        for (stage, column) in &items.stages {
            let value = field(*column);
            if value.is_empty() {
                continue;
            }
            let Some(t) = time_of(value, items.jira, ctx) else {
                return Err(ctx.field(
                    *line,
                    &header[*column],
                    not_a_time(value.as_bytes(), ctx.options),
                ));
            };
            push_entry(log, case, stage, t, item_type);
        }
    }
    Ok(())
}

/// Whether the header has a stage column, named or by its usual names.
fn has_stage_column(lower: &[String], ctx: &Ctx<'_>) -> bool {
    ctx.options.columns.stage.is_some()
        || Role::Stage
            .candidates()
            .iter()
            .any(|c| lower.iter().any(|h| h == c))
}

/// A value as a time; in Jira's CSV also in Jira's own format.
fn time_of(value: &str, jira: bool, ctx: &Ctx<'_>) -> Option<i64> {
    read_time(value.as_bytes(), ctx.options).or_else(|| {
        (jira && ctx.options.time_format.is_none())
            .then(|| time::parse_format(value.as_bytes(), time::JIRA_CSV_FORMAT, &ctx.options.tz))
            .flatten()
    })
}

/// Every record after the header, with its line.
fn records(
    input: Box<dyn BufRead + Send>,
    delimiter: u8,
    ctx: &Ctx<'_>,
) -> Result<Vec<(u64, Vec<String>)>, Error> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(input);
    let mut out = Vec::new();
    let mut rec = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map_or(1, |p| p.line() + 1);
                return Err(ctx.line(line, format!("not valid CSV: {e}")));
            }
        }
        // The header was line 1.
        let line = rec.position().map_or(0, |p| p.line()) + 1;
        let mut fields = Vec::with_capacity(rec.len());
        for (i, v) in rec.iter().enumerate() {
            match std::str::from_utf8(v) {
                Ok(v) => fields.push(v.to_owned()),
                Err(_) => {
                    return Err(ctx.field(
                        line,
                        &format!("column {}", i + 1),
                        "is not UTF-8; save the file as UTF-8",
                    ));
                }
            }
        }
        out.push((line, fields));
    }
    Ok(out)
}

/// The wide layout's columns: the id (by its usual names, else the first
/// column that is not a stage), the type, and every column whose non-empty
/// values are mostly times.
fn wide(
    header: &[String],
    lower: &[String],
    records: &[(u64, Vec<String>)],
    long_error: Option<Error>,
    ctx: &Ctx<'_>,
) -> Result<Items, Error> {
    let find = |role: Role| -> Option<usize> {
        match ctx.options.columns.get(role) {
            Some(explicit) => {
                let want = explicit.to_lowercase();
                lower.iter().position(|h| *h == want)
            }
            None => role
                .candidates()
                .iter()
                .find_map(|c| lower.iter().position(|h| h == c)),
        }
    };
    let explicit_case = ctx.options.columns.get(Role::Case);
    let case = find(Role::Case);
    if let (Some(name), None) = (explicit_case, case) {
        return Err(ctx.line(
            1,
            format!(
                "no column named \"{name}\" (from --case-column); the columns are {}",
                crate::list(header)
            ),
        ));
    }
    let item_type = find(Role::Type);
    let stages: Vec<(String, usize)> = (0..header.len())
        .filter(|&c| Some(c) != case && Some(c) != item_type)
        .filter(|&c| mostly_times(records, c, ctx))
        .map(|c| (header[c].trim().to_owned(), c))
        .collect();
    if stages.len() < 2 {
        if let Some(e) = long_error {
            return Err(e);
        }
        return Err(ctx.line(
            1,
            format!(
                "a wide log has an id column and a column per stage holding when each item entered it, but only {} of the columns {} hold times; give their format with --time-format",
                stages.len(),
                crate::list(header)
            ),
        ));
    }
    let case = match case {
        Some(c) => c,
        None => (0..header.len())
            .find(|c| !stages.iter().any(|s| s.1 == *c) && Some(*c) != item_type)
            .ok_or_else(|| {
                ctx.line(
                    1,
                    "every column holds times: a wide log needs an item id column; add one (such as id)",
                )
            })?,
    };
    Ok(Items {
        case,
        item_type,
        stages,
        jira: false,
    })
}

/// Whether at least one value of column `c` is a time and at least half
/// of its non-empty values are (bare numbers count only with
/// `--time-format`).
fn mostly_times(records: &[(u64, Vec<String>)], c: usize, ctx: &Ctx<'_>) -> bool {
    let (mut values, mut times) = (0usize, 0usize);
    for (_, r) in records {
        let Some(v) = r.get(c).map(|v| v.trim()).filter(|v| !v.is_empty()) else {
            continue;
        };
        values += 1;
        let number = v
            .trim_start_matches(['-', '+'])
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.');
        if (ctx.options.time_format.is_some() || !number)
            && read_time(v.as_bytes(), ctx.options).is_some()
        {
            times += 1;
        }
    }
    times > 0 && times * 2 >= values
}
