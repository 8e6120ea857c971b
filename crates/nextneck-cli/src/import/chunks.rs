//! A file of NDJSON lines read as a stream of chunks of whole lines, each
//! with the line number of its first line, so that `nextneck import events`
//! holds one chunk in memory whatever the file's size.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The most bytes a chunk collects before it is cut (at the next line's
/// end): with the default of lines, a chunk of long lines stays this small.
pub const CHUNK_BYTES: usize = 8 << 20;

/// The longest line read, in bytes: a file of one endless line (a missing
/// newline, a binary file) is refused instead of filling memory.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// How much of the file is read ahead at a time.
const READ_AHEAD: usize = 1 << 20;

/// Whole lines of a file, with where they start.
#[derive(Debug, PartialEq, Eq)]
pub struct Chunk {
    /// The file's line number of the chunk's first line (from 1).
    pub first_line: usize,
    /// The lines, each with its newline (the last maybe without).
    pub body: Vec<u8>,
}

/// The chunks of a file in order: up to `lines` lines or [`CHUNK_BYTES`]
/// each. An empty file is one empty chunk, so that every file imported is
/// a delivery.
pub struct Chunks {
    path: PathBuf,
    reader: BufReader<File>,
    lines: usize,
    next_line: usize,
    started: bool,
    finished: bool,
}

impl Chunks {
    /// Opens `path`; chunks of up to `lines` lines.
    pub fn open(path: &Path, lines: NonZeroUsize) -> anyhow::Result<Chunks> {
        let file =
            File::open(path).with_context(|| format!("could not read {}", path.display()))?;
        Ok(Chunks {
            path: path.to_owned(),
            reader: BufReader::with_capacity(READ_AHEAD, file),
            lines: lines.get(),
            next_line: 1,
            started: false,
            finished: false,
        })
    }

    /// Reads the next chunk; `None` at the end of the file.
    fn read_chunk(&mut self) -> anyhow::Result<Option<Chunk>> {
        let first_line = self.next_line;
        let mut body = Vec::new();
        let mut lines = 0;
        while lines < self.lines && body.len() < CHUNK_BYTES {
            if !self.read_line(&mut body)? {
                self.finished = true;
                break;
            }
            lines += 1;
            self.next_line += 1;
        }
        if body.is_empty() && self.started {
            return Ok(None);
        }
        self.started = true;
        Ok(Some(Chunk { first_line, body }))
    }

    /// Appends the next line to `body`; false at the end of the file.
    fn read_line(&mut self, body: &mut Vec<u8>) -> anyhow::Result<bool> {
        let start = body.len();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let read = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', body)
            .with_context(|| format!("could not read {}", self.path.display()))?;
        if read > MAX_LINE_BYTES && body.last() != Some(&b'\n') {
            body.truncate(start);
            anyhow::bail!(
                "{}: line {} is longer than {} MiB, the longest line an import reads; end each event with a newline",
                self.path.display(),
                self.next_line,
                MAX_LINE_BYTES >> 20
            );
        }
        Ok(read > 0)
    }
}

impl Iterator for Chunks {
    type Item = anyhow::Result<Chunk>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        match self.read_chunk() {
            Ok(chunk) => chunk.map(Ok),
            Err(e) => {
                self.finished = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The chunks of `text` at `lines` lines each: first line and body.
    fn chunks(text: &str, lines: usize) -> Vec<(usize, String)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.ndjson");
        std::fs::write(&path, text).unwrap();
        Chunks::open(&path, NonZeroUsize::new(lines).unwrap())
            .unwrap()
            .map(|c| {
                let c = c.unwrap();
                (c.first_line, String::from_utf8(c.body).unwrap())
            })
            .collect()
    }

    /// A file's text, the lines per chunk, and the chunks: first line, body.
    type Case<'a> = (&'a str, usize, &'a [(usize, &'a str)]);

    #[test]
    fn chunks_are_whole_lines_numbered_as_in_the_file() {
        let cases: &[Case<'_>] = &[
            ("", 2, &[(1, "")]),
            ("\n", 2, &[(1, "\n")]),
            ("a\nb\nc\n", 2, &[(1, "a\nb\n"), (3, "c\n")]),
            ("a\nb\nc", 2, &[(1, "a\nb\n"), (3, "c")]),
            ("a\nb\n", 2, &[(1, "a\nb\n")]),
            ("a\r\n\nb\n", 1, &[(1, "a\r\n"), (2, "\n"), (3, "b\n")]),
            ("a\nb\nc\n", 10, &[(1, "a\nb\nc\n")]),
        ];
        for (text, lines, want) in cases {
            let want: Vec<(usize, String)> =
                want.iter().map(|(n, s)| (*n, (*s).to_owned())).collect();
            assert_eq!(chunks(text, *lines), want, "{text:?} by {lines}");
        }
    }

    #[test]
    fn a_line_longer_than_the_limit_is_refused_with_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.ndjson");
        let mut text = b"{}\n".to_vec();
        text.resize(3 + MAX_LINE_BYTES + 1, b' ');
        std::fs::write(&path, &text).unwrap();
        let got: Vec<String> = Chunks::open(&path, NonZeroUsize::new(10).unwrap())
            .unwrap()
            .map(|c| match c {
                Ok(c) => format!("{} {}", c.first_line, c.body.len()),
                Err(e) => e.to_string(),
            })
            .collect();
        assert_eq!(
            got,
            [format!(
                "{}: line 2 is longer than 16 MiB, the longest line an import reads; end each event with a newline",
                path.display()
            )]
        );
    }
}
