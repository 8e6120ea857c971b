//! Markdown that survives GitHub: escaped text, code spans with the right
//! fence, and documents cut to fit a comment.
//!
//! Text a report prints is plain text in which `` `…` `` marks code (a
//! regex, a path, a command, an id). [`text`] and [`cell`] turn it into
//! CommonMark whose rendering shows exactly that text, with the marked
//! parts as code spans; [`code`] and [`code_cell`] make a code span of any
//! string. In a GitHub table a `|` must be escaped even inside a code span
//! (the table is split into cells first), and outside a table it must not
//! be inside one (the backslash would show): hence the two forms.

/// GitHub's limit on a comment's length, in characters.
pub const COMMENT_LIMIT: usize = 65_536;

/// Room kept under the limit for the line that says what was cut.
const FOOTER_ROOM: usize = 400;

/// Plain text with `` `code` `` marks, for a paragraph or heading.
pub fn text(s: &str) -> String {
    marked(s, false)
}

/// Plain text with `` `code` `` marks, for a table cell.
pub fn cell(s: &str) -> String {
    marked(s, true)
}

/// `s` as a code span, for a paragraph or heading.
pub fn code(s: &str) -> String {
    span(s, false)
}

/// `s` as a code span, for a table cell.
pub fn code_cell(s: &str) -> String {
    span(s, true)
}

/// Where [`text_with_code`] finds code: `s` between two private-use
/// characters, which real text does not hold (they are removed from `s`).
pub fn mark(s: &str) -> String {
    let clean: String = s.chars().filter(|&c| c != OPEN && c != CLOSE).collect();
    format!("{OPEN}{clean}{CLOSE}")
}

const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';

/// Text for a paragraph in which the parts made by [`mark`] are code spans
/// (whatever they hold, backticks included) and the rest is escaped text
/// (with its own `` `code` `` marks).
pub fn text_with_code(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(open) = rest.find(OPEN) {
        out.push_str(&text(&rest[..open]));
        let after = &rest[open + OPEN.len_utf8()..];
        let close = after.find(CLOSE).unwrap_or(after.len());
        out.push_str(&code(&after[..close]));
        rest = after.get(close + CLOSE.len_utf8()..).unwrap_or("");
    }
    out.push_str(&text(rest));
    out
}

fn marked(s: &str, in_cell: bool) -> String {
    let s = s.replace(['\r', '\n'], " ");
    let parts: Vec<&str> = s.split('`').collect();
    // An odd number of parts means the marks pair up; otherwise the last
    // mark has no partner and, with what follows it, is text.
    let paired = if !parts.len().is_multiple_of(2) {
        parts.len()
    } else {
        parts.len() - 1
    };
    let mut out = String::with_capacity(s.len() + 8);
    for (i, part) in parts[..paired].iter().enumerate() {
        if i % 2 == 0 {
            escape_into(&mut out, part, i == 0);
        } else if part.is_empty() {
            // "``" is no code span: two literal backticks.
            out.push_str("\\`\\`");
        } else {
            out.push_str(&span(part, in_cell));
        }
    }
    if paired < parts.len() {
        let rest = parts[paired..].join("`");
        out.push_str("\\`");
        escape_into(&mut out, &rest, false);
    }
    out
}

/// Appends `s` with every character that could be read as Markdown
/// escaped; `at_start` when `s` may begin a line (where `#`, `-`, `+`,
/// `=` and `1.` would start a block).
fn escape_into(out: &mut String, s: &str, at_start: bool) {
    let bytes = s.as_bytes();
    // A block marker is followed by a space or ends the line.
    let marker_end = |i: usize| bytes.get(i + 1).is_none_or(|&b| b == b' ');
    for (i, ch) in s.char_indices() {
        let escape = match ch {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' => true,
            '#' | '-' | '+' => at_start && i == 0 && marker_end(i),
            '.' | ')' => {
                at_start && i > 0 && bytes[..i].iter().all(u8::is_ascii_digit) && marker_end(i)
            }
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(ch);
    }
}

fn span(s: &str, in_cell: bool) -> String {
    let s = s.replace(['\r', '\n'], " ");
    if s.is_empty() {
        return String::new();
    }
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    // A code span loses one space at each end when both are there, and a
    // backtick at an end would join the fence: pad with a space.
    let pad = s.starts_with('`')
        || s.ends_with('`')
        || (s.starts_with(' ') && s.ends_with(' ') && !s.trim().is_empty());
    let body = if in_cell { s.replace('|', "\\|") } else { s };
    if pad {
        format!("{fence} {body} {fence}")
    } else {
        format!("{fence}{body}{fence}")
    }
}

/// `doc` cut to fit under `limit` characters: when it is longer, its lines
/// are kept in order while they fit, and everything from the first line
/// that does not is replaced by a line saying how many rows (table rows
/// and list items) were left out and how to get them all (`how`).
pub fn cap(doc: &str, limit: usize, how: &str) -> String {
    if doc.chars().count() <= limit {
        return doc.to_owned();
    }
    let lines: Vec<&str> = doc.lines().collect();
    // A row is a table row (not a header or its delimiter) or a list item.
    let is_row = |i: usize| {
        let l = lines[i];
        l.starts_with("- ")
            || (l.starts_with('|')
                && !l.starts_with("|--")
                && !lines.get(i + 1).is_some_and(|n| n.starts_with("|--")))
    };
    let budget = limit.saturating_sub(FOOTER_ROOM);
    let mut out = String::new();
    let mut used = 0;
    let mut cut = None;
    for (i, line) in lines.iter().enumerate() {
        let n = line.chars().count() + 1;
        if used + n > budget {
            cut = Some(i);
            break;
        }
        out.push_str(line);
        out.push('\n');
        used += n;
    }
    let Some(cut) = cut else { return out };
    let left_out = (cut..lines.len()).filter(|&i| is_row(i)).count();
    // Close an open table before the note.
    if out.lines().last().is_some_and(|l| l.starts_with('|')) {
        out.push('\n');
    }
    out.push_str(&format!(
        "> {} of the detail left out to stay under GitHub's {} character comment limit; {how} for all of them.\n",
        crate::count(left_out, "row", "rows"),
        thousands(limit)
    ));
    out
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(f: fn(&str) -> String, input: &str, expected: &str) {
        assert_eq!(f(input), expected, "{input:?}");
    }

    #[test]
    fn text_and_code_are_escaped_for_their_place() {
        check(text, "plain words", "plain words");
        check(
            text,
            "a *b* _c_ [d](e) <f> a|b ~x~ &amp;",
            "a \\*b\\* \\_c\\_ \\[d\\](e) \\<f\\> a\\|b \\~x\\~ \\&amp;",
        );
        check(text, "# not a heading", "\\# not a heading");
        check(text, "1. not a list", "1\\. not a list");
        check(text, "2.92/week", "2.92/week");
        check(text, "- not an item", "\\- not an item");
        check(text, "-0.5 stays", "-0.5 stays");
        check(text, "path C:\\dir", "path C:\\\\dir");
        check(
            text,
            "pass `--deploy-tags '^v(\\.[0-9]+)$'` now",
            "pass `--deploy-tags '^v(\\.[0-9]+)$'` now",
        );
        check(
            text,
            "regex `(prod|production)`",
            "regex `(prod|production)`",
        );
        check(
            cell,
            "regex `(prod|production)`",
            "regex `(prod\\|production)`",
        );
        check(text, "odd ` mark", "odd \\` mark");
        check(text, "empty `` marks", "empty \\`\\` marks");
        check(code, "a`b", "``a`b``");
        check(code, "`a", "`` `a ``");
        check(code, " a ", "`  a  `");
        check(code, "", "");
        check(code_cell, "x|y", "`x\\|y`");
        check(code, "two\nlines", "`two lines`");
    }

    #[test]
    fn marked_code_may_hold_anything() {
        let line = format!("tags matching {} (3 tags)", mark("^v`x`|[0-9]+$"));
        assert_eq!(
            text_with_code(&line),
            "tags matching ``^v`x`|[0-9]+$`` (3 tags)"
        );
    }

    #[test]
    fn a_long_document_is_cut_at_a_row() {
        let mut doc = String::from("# head\n\n| a |\n|---|\n");
        for i in 0..100 {
            doc.push_str(&format!("| row {i} |\n"));
        }
        doc.push_str("\nafter\n");
        assert_eq!(cap(&doc, 10_000, "run it"), doc);
        let cut = cap(&doc, 400 + 60, "run it with `--format json`");
        assert_eq!(
            cut,
            "# head\n\n| a |\n|---|\n| row 0 |\n| row 1 |\n| row 2 |\n| row 3 |\n\n> 96 rows of the detail left out to stay under GitHub's 460 character comment limit; run it with `--format json` for all of them.\n"
        );
        assert_eq!(thousands(65_536), "65,536");
    }
}
