//! Reads event logs of any value stream (CSV, NDJSON, XES and `.gz` of
//! each) into nextneck's flow model ([`nextneck_model::flow::EventLog`]),
//! and the exports teams already have: the wide layout of one row per item
//! with a date column per stage (ActionableAgile, spreadsheets), Jira's
//! issue CSV and its REST search export with the changelog, and Trello's
//! board JSON export.
//!
//! This is the only crate that knows those formats. Columns are found by
//! their usual names ([`Role::candidates`]) unless named explicitly;
//! timestamps are read as [`time`] describes. Reading is all-or-nothing: the
//! first bad row stops it with an [`Error`] naming the file, the line and the
//! field, and saying what to do.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;
use nextneck_model::flow::{Event, EventLog, NO_NAME, NO_TIME, Names, SourceFile};

mod csv;
mod document;
mod items;
mod jira;
mod ndjson;

/// The longest record read: a CSV record or an NDJSON line, in bytes. Real
/// events are a few hundred bytes; the bound keeps a file without newlines
/// (or with an unclosed quote) from being read whole into memory as one
/// record.
pub const MAX_RECORD_BYTES: usize = 4 << 20;

/// The deepest element nesting read in an XES file (a log, traces, events
/// and their attribute lists need a handful of levels).
pub const MAX_XES_DEPTH: usize = 256;
pub mod time;
mod trello;
mod xes;

/// What a column means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The item (case) id.
    Case,
    /// The stage, status or activity.
    Stage,
    /// When it happened (entered the stage; completed the activity).
    Time,
    /// `start` or `complete`.
    Lifecycle,
    /// When an activity occurrence started (a row with start and complete).
    Start,
    /// Who did it (recognised so it is not mistaken for another column; no
    /// figure uses it yet).
    Resource,
    /// The item's type.
    Type,
}

impl Role {
    /// Every role, in the order columns are looked up.
    pub const ALL: [Role; 7] = [
        Role::Case,
        Role::Stage,
        Role::Time,
        Role::Lifecycle,
        Role::Start,
        Role::Resource,
        Role::Type,
    ];

    /// The usual column names, most specific first (compared without case).
    pub fn candidates(self) -> &'static [&'static str] {
        match self {
            Role::Case => &[
                "case_id",
                "case:concept:name",
                "case",
                "caseid",
                "id",
                "key",
                "issue key",
            ],
            Role::Stage => &["stage", "status", "state", "activity", "concept:name"],
            Role::Time => &["timestamp", "time:timestamp", "time", "date"],
            Role::Lifecycle => &["lifecycle:transition", "lifecycle"],
            Role::Start => &["start_timestamp", "start"],
            Role::Resource => &["resource", "org:resource", "assignee"],
            Role::Type => &["item_type", "type", "issue type"],
        }
    }

    /// What the role is, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Role::Case => "case id",
            Role::Stage => "stage",
            Role::Time => "time",
            Role::Lifecycle => "lifecycle",
            Role::Start => "start time",
            Role::Resource => "resource",
            Role::Type => "item type",
        }
    }

    /// The command-line flag that names its column.
    pub fn flag(self) -> &'static str {
        match self {
            Role::Case => "--case-column",
            Role::Stage => "--stage-column",
            Role::Time => "--time-column",
            Role::Lifecycle => "--lifecycle-column",
            Role::Start => "--start-column",
            Role::Resource => "--resource-column",
            Role::Type => "--type-column",
        }
    }

    fn required(self) -> bool {
        matches!(self, Role::Case | Role::Stage | Role::Time)
    }
}

/// Explicit column names; `None` means "find it by its usual names".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Columns {
    /// The case id column.
    pub case: Option<String>,
    /// The stage column.
    pub stage: Option<String>,
    /// The time column.
    pub time: Option<String>,
    /// The lifecycle column.
    pub lifecycle: Option<String>,
    /// The start-time column.
    pub start: Option<String>,
    /// The resource column.
    pub resource: Option<String>,
    /// The item type column.
    pub item_type: Option<String>,
}

impl Columns {
    /// The explicit name for `role`.
    pub fn get(&self, role: Role) -> Option<&str> {
        match role {
            Role::Case => self.case.as_deref(),
            Role::Stage => self.stage.as_deref(),
            Role::Time => self.time.as_deref(),
            Role::Lifecycle => self.lifecycle.as_deref(),
            Role::Start => self.start.as_deref(),
            Role::Resource => self.resource.as_deref(),
            Role::Type => self.item_type.as_deref(),
        }
    }
}

/// How to read.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Explicit column names.
    pub columns: Columns,
    /// The zone of times written without an offset.
    pub tz: TimeZone,
    /// Threads for parsing CSV (at least 1).
    pub threads: usize,
    /// The strftime format of the times (`jiff::fmt::strtime`), for logs
    /// whose times are in a local format such as `%d/%m/%Y %H:%M`; `None`:
    /// the forms [`time`] reads.
    pub time_format: Option<String>,
    /// How a CSV file's rows are laid out.
    pub layout: RowLayout,
}

/// How a CSV file's rows are laid out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RowLayout {
    /// Long when the header has case, stage and time columns; else Jira's
    /// issue CSV when it has `Issue key` and `Created`; else wide when
    /// several columns hold dates.
    #[default]
    Auto,
    /// One row per event (case, stage, time).
    Long,
    /// One row per item, a column per stage holding when the item entered
    /// it.
    Wide,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            columns: Columns::default(),
            tz: TimeZone::UTC,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            time_format: None,
            layout: RowLayout::Auto,
        }
    }
}

/// Why a log could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: io::Error,
    },
    /// A field's value is wrong.
    #[error("{path}:{line}: field \"{field}\": {problem}")]
    Field {
        /// The file.
        path: String,
        /// 1-based line.
        line: u64,
        /// The column or XES key.
        field: String,
        /// What is wrong and what to do.
        problem: String,
    },
    /// A line is wrong as a whole (a missing column, bad XML, a truncated
    /// file).
    #[error("{path}:{line}: {problem}")]
    Line {
        /// The file.
        path: String,
        /// 1-based line.
        line: u64,
        /// What is wrong and what to do.
        problem: String,
    },
}

/// The file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// Comma-, semicolon- or tab-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Ndjson,
    /// IEEE 1849 eXtensible Event Stream.
    Xes,
}

/// The format by extension (after any `.gz`): `.xes`, `.ndjson`/`.jsonl`/
/// `.json`, `.csv`/`.tsv`/`.txt`; `None` otherwise.
pub fn format_of(path: &Path) -> Option<FileFormat> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    let ext = name.rsplit_once('.')?.1;
    match ext {
        "xes" => Some(FileFormat::Xes),
        "ndjson" | "jsonl" | "json" => Some(FileFormat::Ndjson),
        "csv" | "tsv" | "txt" => Some(FileFormat::Csv),
        _ => None,
    }
}

/// Reads `paths` in order into one log.
pub fn read(paths: &[PathBuf], options: &ReadOptions) -> Result<EventLog, Error> {
    let mut log = EventLog::default();
    for path in paths {
        read_into(&mut log, path, options)?;
    }
    Ok(log)
}

/// Reads one file and appends its events to `log`. On error `log` may hold
/// part of the file: callers that keep going must discard it.
pub fn read_into(log: &mut EventLog, path: &Path, options: &ReadOptions) -> Result<(), Error> {
    let name = path.display().to_string();
    let io_err = |source| Error::Io {
        path: name.clone(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let gz = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let mut input: Box<dyn BufRead + Send> = if gz {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::read::MultiGzDecoder::new(BufReader::new(file)),
        ))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, file))
    };
    let format = match format_of(path) {
        Some(f) => f,
        None => sniff(&mut input).map_err(io_err)?,
    };
    let before = log.events.len();
    let mut source = SourceFile {
        path: name.clone(),
        events: 0,
        skipped_lifecycle: 0,
    };
    let ctx = Ctx {
        path: &name,
        options,
    };
    match format {
        FileFormat::Csv => csv::read(input, if gz { 0 } else { size }, &ctx, log, &mut source)?,
        FileFormat::Ndjson => document::read(input, &ctx, log, &mut source)?,
        FileFormat::Xes => {
            log.shape.xes = true;
            xes::read(input, &ctx, log, &mut source)?
        }
    }
    source.events = log.events.len() - before;
    log.sources.push(source);
    Ok(())
}

/// Guesses the format from the first non-blank byte: `<` XES, `{` NDJSON,
/// else CSV.
fn sniff(input: &mut Box<dyn BufRead + Send>) -> io::Result<FileFormat> {
    let buf = input.fill_buf()?;
    let first = buf
        .iter()
        .copied()
        .find(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF);
    Ok(match first {
        Some(b'<') => FileFormat::Xes,
        Some(b'{') => FileFormat::Ndjson,
        _ => FileFormat::Csv,
    })
}

/// What every reader needs to know.
pub(crate) struct Ctx<'a> {
    pub path: &'a str,
    pub options: &'a ReadOptions,
}

/// Text with its control characters written as escapes (`\u{0}`): errors
/// quote the file's bytes, which must never reach a terminal raw.
fn printable(text: String) -> String {
    if !text.chars().any(char::is_control) {
        return text;
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

impl Ctx<'_> {
    pub fn field(&self, line: u64, field: &str, problem: impl Into<String>) -> Error {
        Error::Field {
            path: self.path.to_owned(),
            line,
            field: printable(field.to_owned()),
            problem: printable(problem.into()),
        }
    }

    pub fn line(&self, line: u64, problem: impl Into<String>) -> Error {
        Error::Line {
            path: self.path.to_owned(),
            line,
            problem: printable(problem.into()),
        }
    }
}

/// Which field holds each role, found in a header (or an NDJSON object's
/// keys).
#[derive(Clone, Debug, Default)]
pub(crate) struct Layout {
    /// Index per role (in [`Role::ALL`] order), or `None`.
    pub index: [Option<usize>; 7],
    /// The header names.
    pub names: Vec<String>,
}

impl Layout {
    /// Finds the columns among `header`; errors on line `line` name what is
    /// missing.
    /// `with_case`: whether the case id is a column (not in XES, where the
    /// trace names the case).
    pub fn find(
        header: &[String],
        ctx: &Ctx<'_>,
        line: u64,
        with_case: bool,
    ) -> Result<Layout, Error> {
        let lower: Vec<String> = header
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_lowercase())
            .collect();
        let mut index = [None; 7];
        for (slot, role) in index.iter_mut().zip(Role::ALL) {
            if role == Role::Case && !with_case {
                continue;
            }
            if let Some(explicit) = ctx.options.columns.get(role) {
                let want = explicit.to_lowercase();
                match lower.iter().position(|h| *h == want) {
                    Some(i) => *slot = Some(i),
                    None => {
                        return Err(ctx.line(
                            line,
                            format!(
                                "no column named \"{explicit}\" (from {}); the columns are {}",
                                role.flag(),
                                list(header)
                            ),
                        ));
                    }
                }
                continue;
            }
            *slot = role
                .candidates()
                .iter()
                .find_map(|c| lower.iter().position(|h| h == c));
        }
        // An explicit column is not also found by its usual name elsewhere.
        for role in Role::ALL {
            let i = role_index(role);
            if ctx.options.columns.get(role).is_some() {
                continue;
            }
            if let Some(col) = index[i]
                && Role::ALL.iter().any(|&r| {
                    r != role
                        && ctx.options.columns.get(r).is_some()
                        && index[role_index(r)] == Some(col)
                })
            {
                index[i] = role
                    .candidates()
                    .iter()
                    .filter_map(|c| lower.iter().position(|h| h == c))
                    .find(|&p| p != col);
            }
        }
        for role in Role::ALL {
            if role.required()
                && (with_case || role != Role::Case)
                && index[role_index(role)].is_none()
            {
                return Err(ctx.line(
                    line,
                    format!(
                        "no {} column: looked for {} and found {}; name it with {} NAME",
                        role.describe(),
                        role.candidates().join(", "),
                        list(header),
                        role.flag()
                    ),
                ));
            }
        }
        Ok(Layout {
            index,
            names: header.to_vec(),
        })
    }

    pub fn get(&self, role: Role) -> Option<usize> {
        self.index[role_index(role)]
    }

    pub fn name(&self, role: Role) -> &str {
        self.get(role).map_or("", |i| self.names[i].as_str())
    }
}

fn role_index(role: Role) -> usize {
    Role::ALL.iter().position(|&r| r == role).unwrap_or(0)
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        return "no columns".to_owned();
    }
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One row's fields by role (`None`: no such column), as bytes: only new
/// names are checked to be UTF-8.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Row<'a> {
    pub case: &'a [u8],
    pub stage: &'a [u8],
    pub time: &'a [u8],
    pub lifecycle: Option<&'a [u8]>,
    pub start: Option<&'a [u8]>,
    pub item_type: Option<&'a [u8]>,
}

/// Field names for error messages.
pub(crate) struct FieldNames<'a> {
    pub case: &'a str,
    pub stage: &'a str,
    pub time: &'a str,
    pub start: &'a str,
    pub item_type: &'a str,
}

/// Interned rows of part of a file, with their own name tables (merged into
/// the log in order).
pub(crate) struct Batch {
    pub cases: Names,
    pub stages: Names,
    pub types: Names,
    pub case_types: Vec<u32>,
    pub events: Vec<Event>,
    pub skipped_lifecycle: usize,
    /// The case of the row before ([`NO_NAME`]: none): one item's rows
    /// are usually together, and comparing is cheaper than hashing.
    last_case: u32,
    recent_stages: Recent,
    recent_types: Recent,
    last_day: time::LastDay,
}

/// The ids of names seen lately, by a cheap key of their bytes, in front
/// of a [`Names`] table: a few stage names repeat on every row, and one
/// comparison is cheaper than hashing and a table lookup.
pub(crate) struct Recent {
    slots: [u32; 64],
}

impl Default for Recent {
    fn default() -> Self {
        Recent {
            slots: [NO_NAME; 64],
        }
    }
}

impl Recent {
    /// [`Names::intern_bytes`] of a non-empty name.
    fn intern(&mut self, names: &mut Names, name: &[u8]) -> Option<u32> {
        let (first, last) = (name.first()?, name.last()?);
        let slot =
            &mut self.slots[(name.len() + 3 * usize::from(*first) + 5 * usize::from(*last)) & 63];
        if *slot != NO_NAME && names.is_at(*slot, name) {
            return Some(*slot);
        }
        let id = names.intern_bytes(name)?;
        *slot = id;
        Some(id)
    }
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            cases: Names::default(),
            stages: Names::default(),
            types: Names::default(),
            case_types: Vec::new(),
            events: Vec::new(),
            skipped_lifecycle: 0,
            last_case: NO_NAME,
            recent_stages: Recent::default(),
            recent_types: Recent::default(),
            last_day: time::LastDay::default(),
        }
    }
}

/// What a row turned into.
pub(crate) enum Parsed {
    Event(Event),
    /// A lifecycle other than start or complete.
    Skipped,
}

/// Turns a row into an event with ids from the given tables; `last_case`
/// is the case of the row before (or [`NO_NAME`]), and becomes this row's.
#[allow(clippy::too_many_arguments)]
pub(crate) fn parse_row(
    row: &Row<'_>,
    names: &FieldNames<'_>,
    tz: &TimeZone,
    line: u64,
    ctx: &Ctx<'_>,
    cases: &mut Names,
    last_case: &mut u32,
    stages: &mut Names,
    recent_stages: &mut Recent,
    last_day: &mut time::LastDay,
) -> Result<Parsed, Error> {
    let not_utf8 = |field: &str| ctx.field(line, field, "is not UTF-8; save the file as UTF-8");
    let case = row.case.trim_ascii();
    if case.is_empty() {
        return Err(ctx.field(line, names.case, "is empty; every row needs a case id"));
    }
    let stage = row.stage.trim_ascii();
    if stage.is_empty() {
        return Err(ctx.field(
            line,
            names.stage,
            "is empty; every row needs a stage or activity",
        ));
    }
    let mut start_only = false;
    if let Some(lc) = row.lifecycle {
        let lc = lc.trim_ascii();
        if lc.eq_ignore_ascii_case(b"start") {
            start_only = true;
        } else if !(lc.is_empty()
            || lc.eq_ignore_ascii_case(b"complete")
            || lc.eq_ignore_ascii_case(b"completed"))
        {
            return Ok(Parsed::Skipped);
        }
    }
    let mut time_of = |value: &[u8], field: &str| {
        let parsed = match &ctx.options.time_format {
            Some(format) => time::parse_format(value, format, tz),
            None => time::parse_with(value, tz, last_day),
        };
        parsed.ok_or_else(|| ctx.field(line, field, not_a_time(value, ctx.options)))
    };
    let start = match row.start {
        Some(s) if !s.trim_ascii().is_empty() => time_of(s, names.start)?,
        _ => NO_TIME,
    };
    let time = if row.time.trim_ascii().is_empty() && start != NO_TIME {
        // A started occurrence that has not completed.
        NO_TIME
    } else if row.time.trim_ascii().is_empty() {
        return Err(ctx.field(line, names.time, "is empty; every row needs a time"));
    } else {
        time_of(row.time, names.time)?
    };
    let case = if *last_case != NO_NAME && cases.is_at(*last_case, case) {
        *last_case
    } else {
        let c = cases
            .intern_bytes(case)
            .ok_or_else(|| not_utf8(names.case))?;
        *last_case = c;
        c
    };
    let stage = recent_stages
        .intern(stages, stage)
        .ok_or_else(|| not_utf8(names.stage))?;
    let (start, time) = if start_only {
        (time, NO_TIME)
    } else {
        (start, time)
    };
    Ok(Parsed::Event(Event {
        start,
        time,
        case,
        stage,
    }))
}

/// What is wrong with a value that is not a time, and what to do.
pub(crate) fn not_a_time(value: &[u8], options: &ReadOptions) -> String {
    let value = String::from_utf8_lossy(value.trim_ascii());
    match &options.time_format {
        Some(format) => format!(
            "\"{value}\" does not match --time-format \"{format}\"; fix the value or the format (strftime, such as %d/%m/%Y %H:%M)"
        ),
        None => format!(
            "\"{value}\" is not a time; use RFC 3339 such as 2024-03-01T12:00:00Z, or epoch seconds, or give the format with --time-format (such as --time-format \"%d/%m/%Y %H:%M\")"
        ),
    }
}

/// Reads a time as the options say: with `--time-format` when given, else
/// the forms [`time`] reads.
pub(crate) fn read_time(value: &[u8], options: &ReadOptions) -> Option<i64> {
    match &options.time_format {
        Some(format) => time::parse_format(value, format, &options.tz),
        None => time::parse_bytes(value, &options.tz),
    }
}

/// Appends an event (an entry of `case` into `stage` at `time`) to `log`,
/// for readers that build events from whole items rather than rows.
pub(crate) fn push_entry(
    log: &mut EventLog,
    case: &str,
    stage: &str,
    time: nextneck_model::Timestamp,
    item_type: Option<&str>,
) {
    let case = log.cases.intern(case);
    let stage = log.stages.intern(stage);
    if let Some(ty) = item_type.map(str::trim).filter(|t| !t.is_empty()) {
        let ty = log.types.intern(ty);
        log.set_case_type(case, ty);
    }
    log.events.push(Event {
        start: NO_TIME,
        time,
        case,
        stage,
    });
}

impl Batch {
    /// Adds a row of just a case, a stage and a time, when all is well and
    /// the time is `YYYY-MM-DDTHH:MM:SSZ` (the common row, read directly);
    /// `false` when the row needs [`Batch::push`], which reads every other
    /// form and says what is wrong.
    pub fn push_plain(&mut self, case: &[u8], stage: &[u8], time: &[u8]) -> bool {
        let (case, stage) = (case.trim_ascii(), stage.trim_ascii());
        if case.is_empty() || stage.is_empty() {
            return false;
        }
        let Some(time) = time::utc_with(time, &mut self.last_day) else {
            return false;
        };
        let case = if self.last_case != NO_NAME && self.cases.is_at(self.last_case, case) {
            self.last_case
        } else {
            let Some(c) = self.cases.intern_bytes(case) else {
                return false;
            };
            self.last_case = c;
            c
        };
        let Some(stage) = self.recent_stages.intern(&mut self.stages, stage) else {
            return false;
        };
        self.events.push(Event {
            start: NO_TIME,
            time,
            case,
            stage,
        });
        true
    }

    /// Parses and adds a row.
    pub fn push(
        &mut self,
        row: &Row<'_>,
        names: &FieldNames<'_>,
        line: u64,
        ctx: &Ctx<'_>,
    ) -> Result<(), Error> {
        match parse_row(
            row,
            names,
            &ctx.options.tz,
            line,
            ctx,
            &mut self.cases,
            &mut self.last_case,
            &mut self.stages,
            &mut self.recent_stages,
            &mut self.last_day,
        )? {
            Parsed::Event(e) => {
                if let Some(ty) = row
                    .item_type
                    .map(<[u8]>::trim_ascii)
                    .filter(|t| !t.is_empty())
                {
                    let Some(t) = self.recent_types.intern(&mut self.types, ty) else {
                        return Err(ctx.field(
                            line,
                            names.item_type,
                            "is not UTF-8; save the file as UTF-8",
                        ));
                    };
                    let i = e.case as usize;
                    if self.case_types.len() <= i {
                        self.case_types.resize(i + 1, NO_NAME);
                    }
                    if self.case_types[i] == NO_NAME {
                        self.case_types[i] = t;
                    }
                }
                self.events.push(e);
            }
            Parsed::Skipped => self.skipped_lifecycle += 1,
        }
        Ok(())
    }

    /// Empties the batch, keeping its memory for the next.
    pub fn clear(&mut self) {
        self.cases.clear();
        self.stages.clear();
        self.types.clear();
        self.case_types.clear();
        self.events.clear();
        self.skipped_lifecycle = 0;
        self.last_case = NO_NAME;
        self.recent_stages = Recent::default();
        self.recent_types = Recent::default();
    }

    /// Appends this batch to `log`, translating its ids, and empties it.
    pub fn merge_into(&mut self, log: &mut EventLog, source: &mut SourceFile) {
        let case_map = log.cases.intern_all_from(&self.cases);
        let stage_map = log.stages.intern_all_from(&self.stages);
        let type_map = log.types.intern_all_from(&self.types);
        for (local, &ty) in self.case_types.iter().enumerate() {
            if ty != NO_NAME {
                log.set_case_type(case_map[local], type_map[ty as usize]);
            }
        }
        log.events.extend(self.events.iter().map(|e| Event {
            case: case_map[e.case as usize],
            stage: stage_map[e.stage as usize],
            ..*e
        }));
        source.skipped_lifecycle += self.skipped_lifecycle;
        self.clear();
    }
}
