//! `--format markdown` as GitHub shows it: the real report of real
//! repositories rendered by a CommonMark/GFM renderer (comrak), and the
//! text a reader sees compared with what the report means to say.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::io::Write;
use std::process::Stdio;

use common::{BASE, HOUR, Repo, at, git_command, run};

/// `nextneck ARGS`, asserting success; stdout.
fn output(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "nextneck {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The HTML GitHub-flavoured Markdown gives for `md`.
fn gfm_html(md: &str) -> String {
    let mut options = comrak::Options::default();
    options.extension.table = true;
    options.extension.strikethrough = true;
    options.extension.autolink = true;
    comrak::markdown_to_html(md, &options)
}

/// The text a reader sees in `html`: tags dropped, entities decoded, one
/// line per block or table cell.
fn seen(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let close = rest[open..].find('>').map_or(rest.len(), |c| open + c + 1);
        let tag = &rest[open..close];
        if tag.starts_with("</td") || tag.starts_with("</th") {
            text.push_str(" ¦ ");
        }
        rest = &rest[close..];
    }
    text.push_str(rest);
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Every `<code>` element's text.
fn code_spans(html: &str) -> Vec<String> {
    html.split("<code>")
        .skip(1)
        .filter_map(|s| s.split_once("</code>").map(|(c, _)| seen(c)))
        .collect()
}

#[test]
fn regexes_paths_and_punctuation_survive_github() {
    let mut repo = Repo::new();
    let c1 = repo.commit("first", at(0, 0), at(0, 0));
    repo.tag("v1.0", &c1);
    let subject = r"fix *all* the `things` | pipes <b>html</b> & [a](b) _u_ \back ~s~";
    repo.commit(subject, at(1, 0), at(1, 0));
    let c3 = repo.commit("# not a heading", at(2, 0), at(2, 0));
    repo.tag("v1.1", &c3);
    // A component tag: the report suggests a pattern with a backslash.
    repo.tag("tool-v1.0", &c3);
    let path = repo.path().to_str().unwrap().to_owned();
    let md = output(&[
        "report",
        &path,
        "--all",
        "--explain",
        "--format",
        "markdown",
        "--deploy-tags",
        r"^v[0-9]+(\.[0-9]+)+$",
    ]);
    let html = gfm_html(&md);
    let text = seen(&html);
    let codes = code_spans(&html);
    // The subject reads as written, its backticks marking code.
    assert!(
        text.contains(r"fix *all* the things | pipes <b>html</b> & [a](b) _u_ \back ~s~"),
        "{text}"
    );
    assert!(codes.contains(&"things".to_owned()), "{codes:?}");
    assert!(text.contains("# not a heading"), "{text}");
    // Regexes, paths and commands are code, backslashes included.
    for expected in [
        r"^v[0-9]+(\.[0-9]+)+$".to_owned(),
        path.clone(),
        r"--deploy-tags '^tool-v?[0-9]+(\.[0-9]+){1,2}$'".to_owned(),
    ] {
        assert!(codes.contains(&expected), "{expected} not in {codes:?}");
    }
    // Nothing turned into markup the report did not write.
    for tag in ["<em>", "<strong>html", "<b>", "<a href", "<del>", "<h1>"] {
        assert!(!html.contains(tag), "{tag} in {html}");
    }
}

/// Writes `n` commits on `main`, one an hour, each touching one file, with
/// `git fast-import` (fast for thousands).
fn many_commits(repo: &Repo, n: usize) {
    let mut stream = String::new();
    for i in 0..n {
        let t = BASE + i as i64 * HOUR;
        let msg = format!("change number {i} with a subject long enough to matter");
        stream.push_str(&format!(
            "commit refs/heads/main\nmark :{}\nauthor Ada <ada@example.com> {t} +0000\ncommitter Ada <ada@example.com> {t} +0000\ndata {}\n{msg}\n",
            i + 1,
            msg.len()
        ));
        if i > 0 {
            stream.push_str(&format!("from :{i}\n"));
        }
        stream.push_str(&format!(
            "M 644 inline f{}.txt\ndata 2\n{}\n\n",
            i % 50,
            i % 10
        ));
    }
    let mut child = git_command(repo.path())
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    repo.git(&["reset", "-q", "--hard", "main"], None, None);
}

/// Table rows (not headers or delimiters) and list items of a Markdown
/// document.
fn rows(md: &str) -> usize {
    let lines: Vec<&str> = md.lines().collect();
    (0..lines.len())
        .filter(|&i| {
            let l = lines[i];
            l.starts_with("- ")
                || (l.starts_with('|')
                    && !l.starts_with("|--")
                    && !lines.get(i + 1).is_some_and(|n| n.starts_with("|--")))
        })
        .count()
}

#[test]
fn long_markdown_is_cut_under_the_comment_limit_with_a_count() {
    let repo = Repo::new();
    let n = 1500;
    many_commits(&repo, n);
    let path = repo.path().to_str().unwrap().to_owned();
    let args = [
        "report",
        &path,
        "--all",
        "--explain",
        "--deploy-branch",
        "main",
    ];
    let md = output(&[&args[..], &["--format", "markdown"]].concat());
    assert!(md.chars().count() <= 65_536, "{} characters", md.len());
    let last = md.lines().last().unwrap();
    let left_out: usize = last
        .strip_prefix("> ")
        .and_then(|l| l.split_once(' '))
        .map(|(n, _)| n.parse().unwrap())
        .unwrap();
    assert_eq!(
        last,
        format!(
            "> {left_out} rows of the detail left out to stay under GitHub's 65,536 character comment limit; run the same command with `--format json` or `--format table` for all of them."
        )
    );
    // Every change's row is either shown or counted: 5 DORA rows, 2 stage
    // rows and one row per change (the first commit is the baseline's).
    assert_eq!(rows(&md) + left_out, 5 + 2 + n);
    // The table output has them all.
    let table = output(&args);
    assert!(table.contains(&format!("change number {} with", n - 1)));
    assert!(!md.contains(&format!("change number {} with", n - 1)));
    // The cut document is still valid Markdown whose last block is the note.
    assert!(
        gfm_html(&md)
            .trim_end()
            .ends_with("for all of them.</p>\n</blockquote>")
    );
}
