//! Renderers of the code report (`nextneck code`): a terminal table, JSON
//! or Markdown. Like every renderer, they compute nothing.

use std::io::{self, Write};

use nextneck_metrics::code::{CodeReport, DirectoryKnowledge};
use nextneck_metrics::time::{date, rfc3339};

use crate::table::{Style, Table};
use crate::{Format, count, md, md_escape, percent, trim_float};

/// Writes `report` in `format`. `color` only affects [`Format::Table`].
pub fn render_code(
    report: &CodeReport,
    format: Format,
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => table(report, color, out),
        Format::Json => json(report, out),
        Format::Markdown => markdown(report, out),
        Format::Html => crate::views::code_page(report, out),
    }
}

/// Pretty-printed JSON followed by a newline.
pub fn json(report: &CodeReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::from)?;
    writeln!(out)
}

fn source_line(r: &CodeReport) -> String {
    source_line_with(r, &str::to_owned)
}

/// The source line with the path passed through `q` (Markdown: a code span).
fn source_line_with(r: &CodeReport, q: &dyn Fn(&str) -> String) -> String {
    let s = &r.source;
    let snapshot = s.snapshot.as_ref().map_or_else(String::new, |snap| {
        format!("; files as of {}", &snap.commit[..12])
    });
    format!(
        "{} ({}, {} analysed{}{}{})",
        q(&s.path),
        count(s.commits, "commit", "commits"),
        s.analysed_commits,
        if s.renames { ", renames followed" } else { "" },
        if s.shallow { ", shallow" } else { "" },
        snapshot
    )
}

fn window_line(r: &CodeReport) -> String {
    let w = &r.window;
    format!(
        "{} to {} ({} days, {})",
        rfc3339(w.since),
        rfc3339(w.until),
        trim_float(w.days),
        w.selection
    )
}

fn scope_line(r: &CodeReport) -> String {
    scope_line_with(r, &str::to_owned)
}

/// The scope line with each glob passed through `q`.
fn scope_line_with(r: &CodeReport, q: &dyn Fn(&str) -> String) -> String {
    let s = &r.scope;
    let globs = |g: &[String]| g.iter().map(|x| q(x)).collect::<Vec<_>>().join(", ");
    let mut line = count(s.files, "file", "files");
    if !s.include.is_empty() {
        line.push_str(&format!(" under {}", globs(&s.include)));
    }
    if !s.exclude.is_empty() {
        line.push_str(&format!(", excluding {}", globs(&s.exclude)));
    }
    let left_out: usize = s.left_out.iter().map(|l| l.files).sum();
    if left_out > 0 {
        line.push_str(&format!(
            "; {} left out as lockfiles, generated, vendored or translations",
            count(left_out, "file", "files")
        ));
    }
    line
}

/// `100% of 81 lines`: a share with the lines it rests on.
fn share_of_lines(share: f64, lines: u64) -> String {
    format!(
        "{} of {}",
        percent(Some(share)),
        count(lines as usize, "line", "lines")
    )
}

fn hotspot_summary(r: &CodeReport) -> String {
    let h = &r.hotspots;
    if h.changes == 0 {
        return "no file in scope changed in the window".to_owned();
    }
    format!(
        "the top {} {} {} of changes and {} of lines changed ({} to {} in {})",
        h.top.files,
        if h.top.files == 1 {
            "file holds"
        } else {
            "files hold"
        },
        percent(h.top.change_share),
        percent(h.top.lines_share),
        count(h.changes, "change", "changes"),
        count(h.files_changed, "file", "files"),
        count(h.commits, "commit", "commits"),
    )
}

fn coupling_summary(r: &CodeReport) -> String {
    let c = &r.coupling;
    let mut line = format!(
        "degree at least {}, files with at least {} commits, at least {} shared",
        percent(Some(c.min_degree)),
        c.min_revisions,
        c.min_shared
    );
    if c.large_commits_ignored > 0 {
        line.push_str(&format!(
            "; {} touching more than {} files ignored",
            count(c.large_commits_ignored, "commit", "commits"),
            c.max_changeset_files
        ));
    }
    line
}

fn opt_lines(v: Option<u32>) -> String {
    v.map_or_else(|| "binary".to_owned(), |n| n.to_string())
}

/// The short name of `Name <email>` for tables.
fn name_of(author: &str) -> &str {
    author.split(" <").next().unwrap_or(author).trim()
}

/// The report's top directories, in its order.
fn top_directories(r: &CodeReport) -> Vec<&DirectoryKnowledge> {
    let k = &r.knowledge;
    k.top_directories
        .iter()
        .filter_map(|path| k.directories.iter().find(|d| &d.path == path))
        .collect()
}

fn truck_line(r: &CodeReport) -> String {
    match &r.knowledge.truck_factor {
        None => "n/a (no file with lines added)".to_owned(),
        Some(t) => {
            let names: Vec<&str> = t.removed.iter().map(|a| a.name.as_str()).collect();
            let last = t.removed.last();
            format!(
                "{} ({}: {} of {} orphaned)",
                t.value,
                if names.is_empty() {
                    "nobody".to_owned()
                } else {
                    names.join(", ")
                },
                last.map_or_else(|| "0%".to_owned(), |l| percent(Some(l.orphaned_share))),
                count(t.files, "file", "files")
            )
        }
    }
}

fn islands_heading(r: &CodeReport) -> String {
    format!(
        "knowledge islands: {} (a main author with at least {} of the lines and no commit since {})",
        r.knowledge.islands.len(),
        percent(Some(r.knowledge.island_min_share)),
        date(r.window.until - r.knowledge.island_inactive_days * 86_400)
    )
}

fn table(r: &CodeReport, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let bold = |s: &str| Style::Bold.paint(s, color);
    writeln!(out, "{} {}", bold("nextneck code"), source_line(r))?;
    writeln!(out, "window  {}", window_line(r))?;
    writeln!(out, "scope   {}", scope_line(r))?;
    writeln!(out)?;

    writeln!(out, "{} {}", bold("hotspots:"), hotspot_summary(r))?;
    if !r.hotspots.files.is_empty() {
        let mut t = Table::new(&["#", "file", "changes", "lines +/-", "size", "authors"]);
        for h in &r.hotspots.files {
            let lines = if h.binary_changes > 0 && h.lines_changed == 0 {
                "binary".to_owned()
            } else {
                format!("+{} -{}", h.lines_added, h.lines_deleted)
            };
            t.row(vec![
                (h.rank.to_string(), Style::Plain),
                (
                    h.path.clone(),
                    if h.rank == 1 {
                        Style::Red
                    } else {
                        Style::Plain
                    },
                ),
                (h.changes.to_string(), Style::Plain),
                (lines, Style::Plain),
                (opt_lines(h.size_lines), Style::Plain),
                (h.authors.to_string(), Style::Plain),
            ]);
        }
        t.write(out, color)?;
    }
    writeln!(out)?;

    let c = &r.coupling;
    writeln!(
        out,
        "{} {} ({})",
        bold("change coupling:"),
        count(c.pairs.len(), "pair", "pairs"),
        coupling_summary(r)
    )?;
    if !c.pairs.is_empty() {
        let mut t = Table::new(&["degree", "shared", "file", "changes with"]);
        for p in c.pairs.iter().take(r.hotspots.limit) {
            t.row(vec![
                (percent(Some(p.degree)), Style::Plain),
                (p.shared.to_string(), Style::Plain),
                (format!("{} ({})", p.a, p.a_commits), Style::Plain),
                (format!("{} ({})", p.b, p.b_commits), Style::Plain),
            ]);
        }
        t.write(out, color)?;
    }
    writeln!(out)?;

    let k = &r.knowledge;
    writeln!(
        out,
        "{} {} added up to the window's end by {}",
        bold("knowledge:"),
        count(k.lines_added as usize, "line", "lines"),
        count(k.authors, "author", "authors")
    )?;
    let dirs = top_directories(r);
    if !dirs.is_empty() {
        let mut t = Table::new(&[
            "directory",
            "files",
            "lines added",
            "main author",
            "share",
            "authors",
        ]);
        for d in dirs {
            t.row(vec![
                (d.path.clone(), Style::Plain),
                (d.files.to_string(), Style::Plain),
                (d.lines_added.to_string(), Style::Plain),
                (
                    d.main_author.as_deref().map_or("", name_of).to_owned(),
                    Style::Plain,
                ),
                (percent(d.main_share), Style::Plain),
                (d.author_count.to_string(), Style::Plain),
            ]);
        }
        t.write(out, color)?;
    }
    writeln!(out)?;
    writeln!(out, "{}", bold(&islands_heading(r)))?;
    if !k.islands.is_empty() {
        let mut t = Table::new(&["file", "size", "main author", "share", "last commit"]);
        for i in k.islands.iter().take(r.hotspots.limit) {
            t.row(vec![
                (i.path.clone(), Style::Yellow),
                (opt_lines(i.size_lines), Style::Plain),
                (name_of(&i.main_author).to_owned(), Style::Plain),
                (share_of_lines(i.main_share, i.lines_added), Style::Plain),
                (date(i.last_commit), Style::Plain),
            ]);
        }
        t.write(out, color)?;
        if k.islands.len() > r.hotspots.limit {
            writeln!(
                out,
                "  ... and {} more (--format json lists them all)",
                k.islands.len() - r.hotspots.limit
            )?;
        }
    }
    writeln!(out)?;
    writeln!(out, "{} {}", bold("truck factor:"), truck_line(r))?;
    if !r.split_identities.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            bold(
                "one name, several e-mail addresses (not merged; these .mailmap lines would merge them):"
            )
        )?;
        let lines: Vec<&String> = r.split_identities.iter().flat_map(|s| &s.mailmap).collect();
        for line in lines.iter().take(r.hotspots.limit) {
            writeln!(out, "  {line}")?;
        }
        if lines.len() > r.hotspots.limit {
            writeln!(
                out,
                "  ... and {} more (--format json lists them all)",
                lines.len() - r.hotspots.limit
            )?;
        }
    }

    if !r.notices.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", bold("notes"))?;
        for n in &r.notices {
            writeln!(out, "  - {}", n.message)?;
        }
    }
    Ok(())
}

fn markdown(r: &CodeReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "## nextneck code: {}",
        md::text_with_code(&source_line_with(r, &md::mark))
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "Window: {}. Scope: {}.",
        window_line(r),
        md::text_with_code(&scope_line_with(r, &md::mark))
    )?;
    writeln!(out)?;
    writeln!(out, "### Hotspots")?;
    writeln!(out)?;
    writeln!(out, "{}.", md::text(&capitalize(&hotspot_summary(r))))?;
    if !r.hotspots.files.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "| # | file | changes | lines added | lines deleted | size | authors |"
        )?;
        writeln!(out, "|---:|---|---:|---:|---:|---:|---:|")?;
        for h in &r.hotspots.files {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                h.rank,
                md::code_cell(&h.path),
                h.changes,
                h.lines_added,
                h.lines_deleted,
                opt_lines(h.size_lines),
                h.authors
            )?;
        }
    }
    writeln!(out)?;
    writeln!(out, "### Change coupling")?;
    writeln!(out)?;
    writeln!(
        out,
        "{} ({}).",
        capitalize(&count(r.coupling.pairs.len(), "pair", "pairs")),
        md::text(&coupling_summary(r))
    )?;
    if !r.coupling.pairs.is_empty() {
        writeln!(out)?;
        writeln!(out, "| degree | shared | file | changes with |")?;
        writeln!(out, "|---:|---:|---|---|")?;
        for p in r.coupling.pairs.iter().take(r.hotspots.limit) {
            writeln!(
                out,
                "| {} | {} | {} ({}) | {} ({}) |",
                percent(Some(p.degree)),
                p.shared,
                md::code_cell(&p.a),
                p.a_commits,
                md::code_cell(&p.b),
                p.b_commits
            )?;
        }
    }
    writeln!(out)?;
    writeln!(out, "### Knowledge")?;
    writeln!(out)?;
    let k = &r.knowledge;
    writeln!(
        out,
        "{} added up to the window's end by {}. **Truck factor:** {}.",
        capitalize(&count(k.lines_added as usize, "line", "lines")),
        count(k.authors, "author", "authors"),
        md::text(&truck_line(r))
    )?;
    let dirs = top_directories(r);
    if !dirs.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "| directory | files | lines added | main author | share | authors |"
        )?;
        writeln!(out, "|---|---:|---:|---|---:|---:|")?;
        for d in dirs {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                md::code_cell(&d.path),
                d.files,
                d.lines_added,
                md_escape(d.main_author.as_deref().map_or("", name_of)),
                percent(d.main_share),
                d.author_count
            )?;
        }
    }
    writeln!(out)?;
    writeln!(out, "**{}**", md::text(&capitalize(&islands_heading(r))))?;
    if !k.islands.is_empty() {
        writeln!(out)?;
        writeln!(out, "| file | size | main author | share | last commit |")?;
        writeln!(out, "|---|---:|---|---:|---|")?;
        for i in k.islands.iter().take(r.hotspots.limit) {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                md::code_cell(&i.path),
                opt_lines(i.size_lines),
                md_escape(name_of(&i.main_author)),
                share_of_lines(i.main_share, i.lines_added),
                date(i.last_commit)
            )?;
        }
    }
    if !r.split_identities.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "**One name, several e-mail addresses** (not merged; these `.mailmap` lines would merge them):"
        )?;
        writeln!(out)?;
        writeln!(out, "```")?;
        for line in r.split_identities.iter().flat_map(|s| &s.mailmap) {
            writeln!(out, "{line}")?;
        }
        writeln!(out, "```")?;
    }
    if !r.notices.is_empty() {
        writeln!(out)?;
        for n in &r.notices {
            writeln!(out, "> {}", md::text(&n.message))?;
            writeln!(out)?;
        }
    }
    Ok(())
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
