//! A small aligned-columns writer with optional ANSI colour.

use std::io::{self, Write};

/// How a cell is painted when colour is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// No colour.
    Plain,
    /// Bold.
    Bold,
    /// Green.
    Green,
    /// Cyan.
    Cyan,
    /// Yellow.
    Yellow,
    /// Red.
    Red,
}

impl Style {
    fn code(self) -> Option<&'static str> {
        match self {
            Style::Plain => None,
            Style::Bold => Some("1"),
            Style::Green => Some("32"),
            Style::Cyan => Some("36"),
            Style::Yellow => Some("33"),
            Style::Red => Some("31"),
        }
    }

    /// `text` wrapped in this style's escape codes when `color` is on.
    pub fn paint(self, text: &str, color: bool) -> String {
        match self.code() {
            Some(code) if color && !text.is_empty() => format!("\x1b[{code}m{text}\x1b[0m"),
            _ => text.to_owned(),
        }
    }
}

/// Rows of cells, written with every column padded to its widest cell.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<(String, Style)>>,
}

impl Table {
    /// A table with these column headings.
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<(String, Style)>) {
        self.rows.push(cells);
    }

    /// Writes the table; padding is computed on the text, not the escapes.
    pub fn write(&self, out: &mut dyn Write, color: bool) -> io::Result<()> {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, (text, _)) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(text.chars().count());
            }
        }
        let header: Vec<(String, Style)> = self
            .header
            .iter()
            .map(|h| (h.clone(), Style::Bold))
            .collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, (text, style)) in row.iter().enumerate().take(columns) {
                let last = i + 1 == columns || row[i + 1..].iter().all(|(t, _)| t.is_empty());
                line.push_str(&style.paint(text, color));
                if !last {
                    let pad = widths[i] - text.chars().count() + 2;
                    line.push_str(&" ".repeat(pad));
                } else {
                    break;
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}
