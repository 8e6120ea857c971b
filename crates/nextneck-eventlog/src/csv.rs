//! CSV (or semicolon- or tab-separated) files with a header row.
//!
//! The file is cut into blocks of whole records (a newline outside quotes
//! ends a record); worker threads parse blocks with the `csv` crate into
//! batches with their own name tables, and the reading thread merges the
//! batches in file order, so ids and error lines are the same as a
//! sequential read.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};

use nextneck_model::flow::{EventLog, SourceFile};

use crate::{Batch, Ctx, Error, FieldNames, Layout, Role, Row, RowLayout};

/// Bytes per block handed to a worker.
const BLOCK: usize = 2 << 20;

pub(crate) fn read(
    mut input: Box<dyn BufRead + Send>,
    size: u64,
    ctx: &Ctx<'_>,
    log: &mut EventLog,
    source: &mut SourceFile,
) -> Result<(), Error> {
    let io_err = |source| Error::Io {
        path: ctx.path.to_owned(),
        source,
    };
    // 1. The header.
    let mut header_line = Vec::new();
    input.read_until(b'\n', &mut header_line).map_err(io_err)?;
    if header_line.iter().all(u8::is_ascii_whitespace) {
        return Err(ctx.line(
            1,
            "the file is empty; a CSV event log starts with a header row such as case_id,stage,timestamp",
        ));
    }
    let delimiter = delimiter(&header_line);
    let header = {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(delimiter)
            .from_reader(&header_line[..]);
        let mut rec = csv::StringRecord::new();
        match rdr.read_record(&mut rec) {
            Ok(true) => rec.iter().map(|h| h.trim().to_owned()).collect::<Vec<_>>(),
            Ok(false) => Vec::new(),
            Err(e) => return Err(ctx.line(1, format!("the header row is not valid CSV: {e}"))),
        }
    };
    // One row per item (wide, Jira's issue CSV) when asked, or when the
    // header is not that of one row per event.
    let layout = match (Layout::find(&header, ctx, 1, true), ctx.options.layout) {
        (Ok(layout), RowLayout::Auto | RowLayout::Long) => layout,
        (found, layout) => {
            let long_error = found.err().filter(|_| layout != RowLayout::Wide);
            return crate::items::read(input, &header, delimiter, long_error, ctx, log);
        }
    };
    if layout.get(Role::Lifecycle).is_some() {
        log.shape.lifecycle = true;
    }
    if layout.get(Role::Start).is_some() {
        log.shape.start_times = true;
    }

    // 2. Blocks of whole records, parsed on worker threads, merged in order.
    let threads = ctx.options.threads.max(1);
    let header_bytes = header_line.len();
    let mut merger = Merger {
        next: 0,
        pending: BTreeMap::new(),
        line_offset: 1,
        log,
        source,
        reserved_events: false,
        reserved_cases: false,
        size,
        bytes_seen: header_bytes as u64,
    };
    // Batches and blocks are used again once merged and parsed, so their
    // memory is allocated (and faulted in) once, not for every block.
    let batches: Mutex<Vec<Batch>> = Mutex::new(Vec::new());
    let parse = |chunk: &[u8], maybe_quoted: bool| {
        let batch = batches
            .lock()
            .ok()
            .and_then(|mut b| b.pop())
            .unwrap_or_default();
        parse_block(chunk, maybe_quoted, &layout, delimiter, ctx, batch)
    };
    let recycle = |batch: Batch| {
        if let Ok(mut b) = batches.lock() {
            b.push(batch);
        }
    };
    if threads == 1 {
        let mut blocks = Blocks::new(input, None);
        let mut index = 0;
        while let Some((block, len, maybe_quoted)) = blocks.next().map_err(io_err)? {
            let result = parse(&block[..len], maybe_quoted);
            merger
                .add(index, len, result)?
                .into_iter()
                .for_each(recycle);
            blocks.give_back(block);
            index += 1;
        }
        return Ok(());
    }
    merge_in_parallel(input, threads, &parse, &recycle, &mut merger, &io_err)
}

/// Parses one block (its bytes, whether it may hold quotes).
type ParseBlock<'a> = dyn Fn(&[u8], bool) -> Result<Block, Error> + Sync + 'a;

/// The parallel read of [`read`]: a reading thread cuts blocks, `threads`
/// workers parse them, and this thread merges them in file order. A
/// thread's panic is raised again here.
fn merge_in_parallel(
    input: Box<dyn BufRead + Send>,
    threads: usize,
    parse: &ParseBlock<'_>,
    recycle: &dyn Fn(Batch),
    merger: &mut Merger<'_>,
    io_err: &dyn Fn(std::io::Error) -> Error,
) -> Result<(), Error> {
    // A reading thread cuts blocks, workers parse them, and this thread
    // merges them in file order. On a failure the others are told to stop
    // and drain, so nobody waits on a full channel.
    let (work_tx, work_rx) = mpsc::sync_channel::<(usize, Vec<u8>, usize, bool)>(threads);
    let work_rx = Mutex::new(work_rx);
    let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        // Bounded: workers wait for the merging rather than parse ahead,
        // each into a batch of its own (memory, faulted in afresh).
        let (done_tx, done_rx) =
            mpsc::sync_channel::<(usize, usize, Result<Block, Error>)>(threads);
        let mut workers = Vec::with_capacity(threads);
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            let free_tx = free_tx.clone();
            let (work_rx, parse, stop) = (&work_rx, &parse, &stop);
            workers.push(scope.spawn(move || {
                loop {
                    let job = match work_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok((index, block, len, maybe_quoted)) = job else {
                        return;
                    };
                    if stop.load(Ordering::Relaxed) {
                        continue;
                    }
                    let result = parse(&block[..len], maybe_quoted);
                    // The reader may be gone: then the block is dropped.
                    let _ = free_tx.send(block);
                    if done_tx.send((index, len, result)).is_err() {
                        return;
                    }
                }
            }));
        }
        drop((done_tx, free_tx));
        let stop_reading = &stop;
        let reader = scope.spawn(move || -> std::io::Result<()> {
            let mut blocks = Blocks::new(input, Some(free_rx));
            let mut index = 0;
            while !stop_reading.load(Ordering::Relaxed) {
                let Some((block, len, maybe_quoted)) = blocks.next()? else {
                    break;
                };
                if work_tx.send((index, block, len, maybe_quoted)).is_err() {
                    break;
                }
                index += 1;
            }
            Ok(())
        });
        let mut failure = None;
        for (i, len, result) in done_rx {
            if failure.is_none() {
                match merger.add(i, len, result) {
                    Ok(batch) => batch.into_iter().for_each(recycle),
                    Err(e) => {
                        failure = Some(e);
                        stop.store(true, Ordering::Relaxed);
                    }
                }
            }
        }
        // A thread's panic is a bug, never an input error: raised again
        // here with its own message (every worker has ended: `done_rx` is
        // drained only once they all dropped their sender).
        let read = reader
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        for worker in workers {
            if let Err(payload) = worker.join() {
                std::panic::resume_unwind(payload);
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        read.map_err(io_err)
    })
}

/// The separator: whichever of `,`, `;` and tab occurs most often in the
/// header line (outside quotes); `,` when none does.
fn delimiter(header: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in header {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3)
        .max_by_key(|&i| (counts[i], usize::from(i == 0)))
        .unwrap_or(0);
    [b',', b';', b'\t'][best]
}

/// A parsed block and how many lines it spans.
struct Block {
    batch: Batch,
    lines: u64,
}

/// Splits the input into blocks that end after a newline outside quotes.
struct Blocks {
    input: Box<dyn BufRead + Send>,
    carry: Vec<u8>,
    eof: bool,
    /// Blocks given back, to read into again (their bytes are not zeroed
    /// again).
    free: Option<mpsc::Receiver<Vec<u8>>>,
    spare: Option<Vec<u8>>,
}

impl Blocks {
    fn new(input: Box<dyn BufRead + Send>, free: Option<mpsc::Receiver<Vec<u8>>>) -> Self {
        Blocks {
            input,
            carry: Vec::new(),
            eof: false,
            free,
            spare: None,
        }
    }

    /// A block to read into again.
    fn give_back(&mut self, block: Vec<u8>) {
        self.spare = Some(block);
    }

    /// The next block, how many of its bytes are the input's, and whether
    /// they may hold a quote (false: they do not).
    fn next(&mut self) -> std::io::Result<Option<(Vec<u8>, usize, bool)>> {
        loop {
            if self.eof {
                if self.carry.is_empty() {
                    return Ok(None);
                }
                let block = std::mem::take(&mut self.carry);
                let len = block.len();
                return Ok(Some((block, len, true)));
            }
            let mut buf = self
                .spare
                .take()
                .or_else(|| self.free.as_ref().and_then(|f| f.try_recv().ok()))
                .unwrap_or_default();
            let want = BLOCK.max(self.carry.len() * 2);
            if buf.len() < want {
                buf.resize(want, 0);
            }
            let start = self.carry.len();
            buf[..start].copy_from_slice(&self.carry);
            self.carry.clear();
            let mut filled = start;
            while filled < want {
                let n = self.input.read(&mut buf[filled..want])?;
                if n == 0 {
                    self.eof = true;
                    break;
                }
                filled += n;
            }
            if self.eof {
                return Ok((filled > 0).then_some((buf, filled, true)));
            }
            let quoted = memchr::memchr(b'"', &buf[..filled]).is_some();
            match record_end(&buf[..filled], quoted) {
                Some(end) => {
                    self.carry.extend_from_slice(&buf[end..filled]);
                    return Ok(Some((buf, end, quoted)));
                }
                // One record longer than the buffer: read more, up to the
                // limit.
                None if filled >= crate::MAX_RECORD_BYTES => {
                    return Err(std::io::Error::other(format!(
                        "a record is longer than {} MiB, the limit; check the file for a quote that is never closed",
                        crate::MAX_RECORD_BYTES >> 20
                    )));
                }
                None => self.carry.extend_from_slice(&buf[..filled]),
            }
        }
    }
}

/// The position after the last newline that is outside quotes (the buffer
/// starts outside quotes); `quoted`: whether it holds a quote.
fn record_end(buf: &[u8], quoted: bool) -> Option<usize> {
    if !quoted {
        return memchr::memrchr(b'\n', buf).map(|i| i + 1);
    }
    let mut quoted = false;
    let mut last = None;
    for i in memchr::memchr2_iter(b'"', b'\n', buf) {
        if buf[i] == b'"' {
            quoted = !quoted;
        } else if !quoted {
            last = Some(i + 1);
        }
    }
    last
}

fn parse_block(
    chunk: &[u8],
    maybe_quoted: bool,
    layout: &Layout,
    delimiter: u8,
    ctx: &Ctx<'_>,
    mut batch: Batch,
) -> Result<Block, Error> {
    batch.clear();
    // Rows are rarely shorter than 16 bytes: room for all, without growing
    // (room that is not written to is not faulted in either).
    batch.events.reserve(chunk.len() / 16);
    let names = FieldNames {
        case: layout.name(Role::Case),
        stage: layout.name(Role::Stage),
        time: layout.name(Role::Time),
        start: layout.name(Role::Start),
        item_type: layout.name(Role::Type),
    };
    let idx = |r| layout.get(r);
    let roles = Roles {
        case: idx(Role::Case).unwrap_or(0),
        stage: idx(Role::Stage).unwrap_or(0),
        time: idx(Role::Time).unwrap_or(0),
        lifecycle: idx(Role::Lifecycle),
        start: idx(Role::Start),
        item_type: idx(Role::Type),
    };
    let columns = layout.names.len();
    if !maybe_quoted || memchr::memchr(b'"', chunk).is_none() {
        // No quotes: split lines and fields directly (the common case, and
        // the fast one).
        // Rows of just a case, a stage and a time take the direct way.
        let plain = roles.lifecycle.is_none()
            && roles.start.is_none()
            && roles.item_type.is_none()
            && ctx.options.time_format.is_none();
        // One search for separators and newlines over the whole block.
        let mut fields: Vec<&[u8]> = Vec::with_capacity(columns);
        let mut line = 0u64;
        let (mut line_start, mut from) = (0, 0);
        let unterminated = chunk.last().is_some_and(|&b| b != b'\n');
        let ends = Hits::new(chunk, delimiter).chain(unterminated.then_some(chunk.len()));
        for i in ends {
            if i < chunk.len() && chunk[i] == delimiter {
                fields.push(&chunk[from..i]);
                from = i + 1;
                continue;
            }
            line += 1;
            let mut end = i;
            if end > from && chunk[end - 1] == b'\r' {
                end -= 1;
            }
            let record = &chunk[line_start..end];
            let blank = record.first().is_none_or(u8::is_ascii_whitespace)
                && record.iter().all(u8::is_ascii_whitespace);
            if !blank {
                fields.push(&chunk[from..end]);
                let done = plain
                    && fields.len() == columns
                    && batch.push_plain(
                        fields[roles.case],
                        fields[roles.stage],
                        fields[roles.time],
                    );
                if !done {
                    row(&fields, columns, &roles, &names, line, ctx, &mut batch)?;
                }
            }
            fields.clear();
            (line_start, from) = (i + 1, i + 1);
        }
        // Every record but an unterminated last one ended with a newline.
        let lines = line - u64::from(unterminated);
        return Ok(Block { batch, lines });
    }
    let lines = memchr::memchr_iter(b'\n', chunk).count() as u64;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(chunk);
    let mut rec = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                return Err(ctx.line(line, format!("not valid CSV: {e}")));
            }
        }
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() == 1 && rec[0].iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let fields: Vec<&[u8]> = rec.iter().collect();
        row(&fields, columns, &roles, &names, line, ctx, &mut batch)?;
    }
    Ok(Block { batch, lines })
}

/// The positions of a separator or a newline in a block, in order: 64
/// bytes at a time into a bit mask (eight bytes compared at once, SWAR),
/// then one bit per position. Rows of event logs are short, and a search
/// call per field (memchr2) costs several times more.
struct Hits<'a> {
    chunks: std::slice::Iter<'a, [u8; 64]>,
    rest: &'a [u8],
    /// The separator repeated in every byte.
    delimiter: u64,
    /// Positions left in the current 64 bytes, where they start, and
    /// where the next 64 start.
    mask: u64,
    base: usize,
    next: usize,
    /// Where `rest` starts.
    rest_at: usize,
}

impl<'a> Hits<'a> {
    const ONES: u64 = 0x0101_0101_0101_0101;

    fn new(block: &'a [u8], delimiter: u8) -> Self {
        let (chunks, rest) = block.as_chunks::<64>();
        Hits {
            chunks: chunks.iter(),
            rest,
            delimiter: Self::ONES * u64::from(delimiter),
            mask: 0,
            base: 0,
            next: 0,
            rest_at: chunks.len() * 64,
        }
    }

    /// One bit per byte of `chunk` that is the separator or a newline.
    #[inline]
    fn mask(&self, chunk: &[u8; 64]) -> u64 {
        const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        // The high bit of every zero byte of v (exact: no borrows).
        let zeros = |v: u64| !(((v & LOW7) + LOW7) | v) & HIGH;
        let newline = Self::ONES * u64::from(b'\n');
        let mut mask = 0;
        for (j, word) in chunk.as_chunks::<8>().0.iter().enumerate() {
            let w = u64::from_le_bytes(*word);
            let m = zeros(w ^ self.delimiter) | zeros(w ^ newline);
            // The eight high bits into one byte (bit i from byte i).
            let packed = ((m >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56;
            mask |= packed << (8 * j);
        }
        mask
    }
}

impl Iterator for Hits<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        loop {
            if self.mask != 0 {
                let at = self.base + self.mask.trailing_zeros() as usize;
                self.mask &= self.mask - 1;
                return Some(at);
            }
            match self.chunks.next() {
                Some(chunk) => {
                    self.mask = self.mask(chunk);
                    self.base = self.next;
                    self.next += 64;
                }
                None => {
                    let d = self.delimiter as u8;
                    let i = self.rest.iter().position(|&b| b == d || b == b'\n')?;
                    let at = self.rest_at + i;
                    self.rest = &self.rest[i + 1..];
                    self.rest_at = at + 1;
                    return Some(at);
                }
            }
        }
    }
}

/// Field index of each role.
struct Roles {
    case: usize,
    stage: usize,
    time: usize,
    lifecycle: Option<usize>,
    start: Option<usize>,
    item_type: Option<usize>,
}

#[allow(clippy::too_many_arguments)]
fn row(
    fields: &[&[u8]],
    columns: usize,
    roles: &Roles,
    names: &FieldNames<'_>,
    line: u64,
    ctx: &Ctx<'_>,
    batch: &mut Batch,
) -> Result<(), Error> {
    if fields.len() != columns {
        return Err(ctx.line(
            line,
            format!(
                "has {} fields but the header has {columns}; quote fields that contain the separator",
                fields.len()
            ),
        ));
    }
    let row = Row {
        case: fields[roles.case],
        stage: fields[roles.stage],
        time: fields[roles.time],
        lifecycle: roles.lifecycle.map(|i| fields[i]),
        start: roles.start.map(|i| fields[i]),
        item_type: roles.item_type.map(|i| fields[i]),
    };
    batch.push(&row, names, line, ctx)
}

/// Merges parsed blocks into the log in file order.
struct Merger<'a> {
    next: usize,
    pending: BTreeMap<usize, (usize, Result<Block, Error>)>,
    /// Lines before the next block.
    line_offset: u64,
    log: &'a mut EventLog,
    source: &'a mut SourceFile,
    /// Whether the events, then the cases, have been reserved for.
    reserved_events: bool,
    reserved_cases: bool,
    size: u64,
    bytes_seen: u64,
}

impl Merger<'_> {
    /// Adds block `index` and merges every block now in order; gives back
    /// the emptied batches, to be used again.
    fn add(
        &mut self,
        index: usize,
        len: usize,
        result: Result<Block, Error>,
    ) -> Result<Vec<Batch>, Error> {
        self.pending.insert(index, (len, result));
        let mut emptied = Vec::new();
        while let Some((len, result)) = self.pending.remove(&self.next) {
            let mut block = result.map_err(|e| shift(e, self.line_offset))?;
            self.line_offset += block.lines;
            self.bytes_seen += len as u64;
            self.reserve_events(&block.batch, len);
            block.batch.merge_into(self.log, self.source);
            self.reserve_cases();
            emptied.push(block.batch);
            self.next += 1;
        }
        Ok(emptied)
    }

    /// Reserves the event vector for the whole file once, from the first
    /// block's density, so that it is not doubled (and copied) at the end.
    fn reserve_events(&mut self, batch: &Batch, len: usize) {
        if self.reserved_events || self.size == 0 || self.bytes_seen == 0 {
            return;
        }
        self.reserved_events = true;
        let per_byte = batch.events.len() as f64 / len.max(1) as f64;
        let expected = (self.size as f64 * per_byte * 1.02) as usize;
        let events = &mut self.log.events;
        events.reserve(expected.saturating_sub(events.len()));
    }

    /// Reserves the case names for the whole file once a 64th of it is
    /// merged, from the distinct cases seen per byte so far, so that the
    /// name table is not rebuilt as it grows. Not from the first block: in
    /// a log in time order nearly every row of a block is a case of its
    /// own, and an estimate of one case per row made the table five times
    /// too large, its lookups cache misses.
    fn reserve_cases(&mut self) {
        if self.reserved_cases || self.size == 0 || self.bytes_seen < self.size / 64 {
            return;
        }
        self.reserved_cases = true;
        let cases = &mut self.log.cases;
        let seen = self.bytes_seen.max(1) as f64;
        let per_case = cases.text_len() as f64 / cases.len().max(1) as f64;
        let expected = (self.size as f64 * cases.len() as f64 / seen * 1.02) as usize;
        let more = expected.saturating_sub(cases.len());
        cases.reserve(more, (more as f64 * per_case) as usize);
    }
}

/// Moves a block-relative line number to the file's.
fn shift(e: Error, offset: u64) -> Error {
    match e {
        Error::Field {
            path,
            line,
            field,
            problem,
        } => Error::Field {
            path,
            line: line + offset,
            field,
            problem,
        },
        Error::Line {
            path,
            line,
            problem,
        } => Error::Line {
            path,
            line: line + offset,
            problem,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators() {
        assert_eq!(delimiter(b"case,stage,time\n"), b',');
        assert_eq!(delimiter(b"case;stage;time\n"), b';');
        assert_eq!(delimiter(b"case\tstage\ttime\n"), b'\t');
        assert_eq!(delimiter(b"\"a,b\";stage;time\n"), b';');
        assert_eq!(delimiter(b"case\n"), b',');
    }

    /// The positions found 64 bytes at a time are those of every
    /// separator and newline, at any length and alignment.
    #[test]
    fn hits_are_every_separator_and_newline() {
        let text: Vec<u8> = (0..1000u32)
            .flat_map(|i| {
                format!("c{i},{};x\t\r\n{}", i % 7, "é,".repeat((i % 5) as usize)).into_bytes()
            })
            .collect();
        for delimiter in [b',', b';', b'\t'] {
            for start in [0, 1, 7, 63, 64, 65] {
                for len in [0, 1, 63, 64, 65, 128, 1000, text.len() - start] {
                    let block = &text[start..start + len.min(text.len() - start)];
                    let expected: Vec<usize> = (0..block.len())
                        .filter(|&i| block[i] == delimiter || block[i] == b'\n')
                        .collect();
                    let got: Vec<usize> = Hits::new(block, delimiter).collect();
                    assert_eq!(got, expected, "{delimiter} {start} {len}");
                }
            }
        }
    }

    #[test]
    fn records_end_outside_quotes() {
        assert_eq!(record_end(b"a,b\nc,d\ne", false), Some(8));
        assert_eq!(record_end(b"a,\"b\nc\"\ne", true), Some(8));
        assert_eq!(record_end(b"a,\"b\nc", true), None);
        assert_eq!(record_end(b"abc", false), None);
    }
}
