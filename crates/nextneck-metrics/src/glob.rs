//! The one glob matcher, in the three syntaxes nextneck reads: `--path`
//! and `--exclude` pathspecs ([`PATHSPEC`]), `.gitattributes` patterns
//! ([`ATTRIBUTES`]) and the case-insensitive names of repositories and
//! services in the delivery settings ([`glob_match`]).

/// How a pattern reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Syntax {
    /// `[abc]`, `[a-z]`, `[!abc]` are classes; without, `[` is literal.
    pub classes: bool,
    /// `*` and `?` stop at `/`, `**` crosses it (git attributes); without,
    /// `*` crosses `/`.
    pub segments: bool,
}

/// Pathspecs: classes, `*` crosses `/`.
pub(crate) const PATHSPEC: Syntax = Syntax {
    classes: true,
    segments: false,
};

/// Git attribute patterns: classes, `*` and `?` stay within a segment,
/// `**` crosses `/`.
pub(crate) const ATTRIBUTES: Syntax = Syntax {
    classes: true,
    segments: true,
};

/// Names: `*` and `?` only, everything else literal.
const NAMES: Syntax = Syntax {
    classes: false,
    segments: false,
};

/// Case-insensitive glob: `*` is any run of characters (`/` included), `?`
/// one character; everything else is literal.
pub fn glob_match(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let v: Vec<char> = value.to_lowercase().chars().collect();
    matches(NAMES, &p, &v)
}

/// Whether the pattern `p` matches the whole of `s`.
pub(crate) fn matches(syntax: Syntax, p: &[char], s: &[char]) -> bool {
    let rest = |p: &[char], s: &[char]| matches(syntax, p, s);
    match p.first() {
        None => s.is_empty(),
        Some('*') if syntax.segments && p.get(1) == Some(&'*') => {
            if p.get(2) == Some(&'/') {
                (0..=s.len())
                    .filter(|&i| i == 0 || s[i - 1] == '/')
                    .any(|i| rest(&p[3..], &s[i..]))
            } else {
                (0..=s.len()).any(|i| rest(&p[2..], &s[i..]))
            }
        }
        Some('*') if syntax.segments => (0..=s.len())
            .take_while(|&i| i == 0 || s[i - 1] != '/')
            .any(|i| rest(&p[1..], &s[i..])),
        Some('*') => {
            // A run of stars matches what one star does.
            let p = &p[p.iter().take_while(|&&c| c == '*').count()..];
            (0..=s.len()).any(|i| rest(p, &s[i..]))
        }
        Some('?') if syntax.segments => {
            s.first().is_some_and(|&c| c != '/') && rest(&p[1..], &s[1..])
        }
        Some('?') => !s.is_empty() && rest(&p[1..], &s[1..]),
        Some('[') if syntax.classes => match class_match(&p[1..], s.first().copied()) {
            Some((true, after)) => rest(after, &s[1..]),
            Some((false, _)) => false,
            // No closing bracket: a literal `[`.
            None => s.first() == Some(&'[') && rest(&p[1..], &s[1..]),
        },
        Some(&c) => s.first() == Some(&c) && rest(&p[1..], &s[1..]),
    }
}

/// Matches one character against a class whose `[` is already consumed;
/// returns whether it matched and the pattern after the `]`, or `None`
/// when the class is not closed.
fn class_match(p: &[char], c: Option<char>) -> Option<(bool, &[char])> {
    let (negated, body) = match p.first() {
        Some('!' | '^') => (true, &p[1..]),
        _ => (false, p),
    };
    let mut i = 0;
    let mut hit = false;
    while i < body.len() {
        if body[i] == ']' && i > 0 {
            let matched = c.is_some() && (hit != negated);
            return Some((matched, &body[i + 1..]));
        }
        if i + 2 < body.len() && body[i + 1] == '-' && body[i + 2] != ']' {
            hit |= c.is_some_and(|c| (body[i]..=body[i + 2]).contains(&c));
            i += 3;
        } else {
            hit |= c == Some(body[i]);
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn the_three_syntaxes() {
        let check = |syntax: Syntax, p: &str, s: &str, want: bool| {
            assert_eq!(matches(syntax, &chars(p), &chars(s)), want, "{p} {s}");
        };
        check(PATHSPEC, "*.rs", "src/a.rs", true);
        check(PATHSPEC, "src/[a-c].rs", "src/b.rs", true);
        check(PATHSPEC, "src/[!a-c].rs", "src/b.rs", false);
        check(PATHSPEC, "a[", "a[", true);
        check(ATTRIBUTES, "*.rs", "src/a.rs", false);
        check(ATTRIBUTES, "**/*.rs", "src/a.rs", true);
        check(ATTRIBUTES, "src/?", "src/a", true);
        check(ATTRIBUTES, "src?a", "src/a", false);
        check(NAMES, "acme/[ab]", "acme/[ab]", true);
        check(NAMES, "acme/[ab]", "acme/a", false);
        check(NAMES, "a**b", "a/x/b", true);
        assert!(glob_match("ACME/*-api", "acme/shop-API"));
    }
}
