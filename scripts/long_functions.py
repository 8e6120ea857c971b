#!/usr/bin/env python3
"""Lists the functions longer than N lines in some crates, and whether each
has its reason written next to it.

    python3 scripts/long_functions.py [-n N] [--check] [CRATE ...]

CRATE is a crate's name (`nextneck-metrics`) or folder (`crates/nextneck-metrics`);
none means every crate under crates/. Every `fn` item under a crate's `src/`
is measured, from the line of `fn` to the line of its closing brace
(braces counted outside strings, characters and comments); modules under
`#[cfg(test)]` (inline or in their own file) are left out, as is `tests/`.

A function is long for a reason when the comment block right above it (or
above its doc comment and attributes) has a line starting with `// Long:`,
the reason in one line, e.g.

    // Long: the hot loop over every event; its state would otherwise be
    /// Reads ...
    fn run(...)

N is 100 by default. With --check, exits 1 when a function over N lines
has no reason (CONTRIBUTING.md, "Long functions").
"""
import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REASON = "// Long:"


def blank(text):
    """`text` with comments, strings and character literals replaced by
    spaces (newlines kept), so that braces and keywords can be counted."""
    out = []
    i, n = 0, len(text)

    def keep_lines(s):
        return "".join("\n" if c == "\n" else " " for c in s)

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(keep_lines(text[i:j]))
            i = j
        elif (m := re.match(r'b?r(#*)"', text[i:i + 300])) and (
            i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")
        ):
            close = '"' + m.group(1)
            j = text.find(close, i + m.end())
            j = n if j < 0 else j + len(close)
            out.append(keep_lines(text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(keep_lines(text[i:j + 1]))
            i = j + 1
        elif c == "'":
            # A character literal ('x', '\n', '\u{1F600}') or a lifetime ('a).
            if i + 1 < n and text[i + 1] == "\\":
                j = text.find("'", i + 2 + (text[i + 2] == "'" if i + 2 < n else 0))
                j = n if j < 0 else j
                out.append(" " * (j + 1 - i))
                i = j + 1
            elif i + 2 < n and text[i + 2] == "'":
                out.append("   ")
                i += 3
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def test_module_files(path, code):
    """The files of `#[cfg(test)] mod name;` declared in `path`."""
    files = []
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", code):
        name = m.group(1)
        folder = path.parent if path.name in ("mod.rs", "lib.rs", "main.rs") else path.parent / path.stem
        files += [folder / f"{name}.rs", folder / name / "mod.rs"]
    return files


def test_module_spans(code):
    """(start, end) offsets of inline `#[cfg(test)] mod name { ... }`."""
    spans = []
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{", code):
        end = matching_brace(code, m.end() - 1)
        spans.append((m.start(), end))
    return spans


def matching_brace(code, open_at):
    depth = 0
    for j in range(open_at, len(code)):
        if code[j] == "{":
            depth += 1
        elif code[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(code) - 1


def body_start(code, at):
    """The offset of the `{` opening the body of the item whose signature
    starts at `at`, or None for a declaration without a body (`;`)."""
    depth = 0
    for j in range(at, len(code)):
        c = code[j]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0 and c == "{":
            return j
        elif depth == 0 and c == ";":
            return None
    return None


def self_type(signature):
    """`Scan` of `impl<'a> Scan<'a>`, `Part` of `impl Add for Part`."""
    sig = re.sub(r"^impl\s*", "", signature.strip())
    # Drop the impl's own generics.
    if sig.startswith("<"):
        depth = 0
        for k, c in enumerate(sig):
            depth += {"<": 1, ">": -1}.get(c, 0)
            if depth == 0:
                sig = sig[k + 1:]
                break
    sig = re.split(r"\bwhere\b", sig)[0]
    if re.search(r"\bfor\b", sig):
        sig = re.split(r"\bfor\b", sig, maxsplit=1)[1]
    sig = re.sub(r"<.*", "", sig.strip())
    return sig.strip().split("::")[-1] or "?"


def has_reason(lines, fn_line):
    """True when the comment and attribute block right above line
    `fn_line` (0-based) has a line starting with `// Long:`."""
    k = fn_line - 1
    while k >= 0:
        s = lines[k].strip()
        if s.startswith(REASON):
            return True
        if s.startswith("//") or s.startswith("#[") or s.startswith("#!["):
            k -= 1
            continue
        # An attribute over several lines ends with `)]`.
        if s.endswith(")]") or s.endswith("]"):
            k -= 1
            continue
        return False
    return False


def functions(path):
    """(line, name, lines, reason) of every fn item with a body in `path`."""
    text = path.read_text(encoding="utf-8")
    code = blank(text)
    lines = text.split("\n")
    skip = test_module_spans(code)
    line_of = lambda off: code.count("\n", 0, off)
    impls = []  # (end offset, type name)
    # `impl` blocks: at the start of a line (not `impl Trait` in a type).
    for m in re.finditer(r"^[ \t]*(?:unsafe\s+)?impl\b", code, re.M):
        if any(a <= m.start() <= b for a, b in skip):
            continue
        open_at = body_start(code, m.start())
        if open_at is not None:
            signature = code[m.start():open_at].strip()
            impls.append((m.start(), matching_brace(code, open_at), self_type(signature.removeprefix("unsafe").strip())))
    found = []
    for m in re.finditer(r"\bfn\s+([A-Za-z_]\w*)", code):
        if any(a <= m.start() <= b for a, b in skip):
            continue
        open_at = body_start(code, m.end())
        if open_at is None:
            continue
        close = matching_brace(code, open_at)
        first, last = line_of(m.start()), line_of(close)
        owner = [t for a, b, t in impls if a <= m.start() <= b]
        name = f"{owner[-1]}::{m.group(1)}" if owner else m.group(1)
        found.append((first + 1, name, last - first + 1, has_reason(lines, first)))
    return found, test_module_files(path, code)


def crate_folder(arg):
    p = Path(arg)
    if (p / "Cargo.toml").exists():
        return p
    p = ROOT / "crates" / arg
    if (p / "Cargo.toml").exists():
        return p
    sys.exit(f"long_functions: no crate {arg!r} (a name under crates/ or a folder)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("crates", nargs="*", help="crate names or folders (default: every crate)")
    ap.add_argument("-n", "--lines", type=int, default=100, help="list functions over this many lines (100)")
    ap.add_argument("--check", action="store_true", help="exit 1 when one has no `// Long:` reason")
    args = ap.parse_args()
    crates = [crate_folder(c) for c in args.crates] or sorted(
        p.parent for p in (ROOT / "crates").glob("*/Cargo.toml")
    )
    missing = total = 0
    for crate in crates:
        src = crate / "src"
        files = sorted(src.rglob("*.rs"))
        test_files = set()
        rows = []
        for f in files:
            found, tests = functions(f)
            test_files.update(t.resolve() for t in tests)
            rows += [(f, *r) for r in found]
        rows = [r for r in rows if r[0].resolve() not in test_files and r[3] > args.lines]
        for f, line, name, length, reason in rows:
            rel = f.resolve().relative_to(ROOT) if f.resolve().is_relative_to(ROOT) else f
            print(f"{rel}:{line}  {name}  {length} lines  {'reason' if reason else 'NO REASON'}")
        total += len(rows)
        missing += sum(1 for r in rows if not r[4])
    print(f"{total} functions over {args.lines} lines, {missing} without a `// Long:` reason")
    return 1 if args.check and missing else 0


if __name__ == "__main__":
    sys.exit(main())
