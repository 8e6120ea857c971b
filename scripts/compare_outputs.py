#!/usr/bin/env python3
"""Compares what two nextneck binaries print, byte for byte.

A refactor must not change a figure: run the binary built before it and the
one built after it over the same inputs and diff every output.

    python3 scripts/compare_outputs.py OLD_BINARY NEW_BINARY [--repo PATH ...]
        [--allow-new FIELD ...] [--events N] [--work DIR]

The inputs:
- the six example streams of examples/ (`flow` per stream and all streams,
  JSON and Markdown; `forecast` of billing) and the four exports of
  examples/exports;
- each --repo (a clone or bare mirror, e.g. ripgrep's and cargo's):
  `report --all --explain` as JSON, Markdown and HTML, and `code --all` as
  JSON;
- a generated delivery history (scripts/gen_delivery_events.py, --events
  lines, 100,000 by default) imported into a SQLite store by each binary:
  `report --db --all --explain` as JSON, Markdown and HTML, and the default
  window as JSON.

Outputs are compared byte for byte. When two JSON outputs differ, they are
compared as trees and the difference is printed by path; an object key the
new output adds is accepted when its name is given with --allow-new (a field
that carries a figure a renderer used to compute), anything else fails.
Exit 0 when everything is the same, 1 when something differs.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STREAMS = ["hiring", "sales-leads", "supplier-tickets", "contract-review", "billing", "delivery"]
EXPORTS = ["jira-issues.csv", "jira-search.json", "trello-board.json", "wide.csv"]


def run(binary, args, cwd, cache):
    """Runs one command with its own cache folder; its stdout, or a line
    saying how it failed."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    proc = subprocess.run([binary, *args], cwd=cwd, capture_output=True, env=env)
    if proc.returncode != 0:
        return b"exit %d: %s" % (proc.returncode, proc.stderr[-2000:])
    return proc.stdout


def example_commands():
    """(name, args, cwd-relative-to-examples) of the example streams and exports."""
    out = [("flow-all.json", ["flow", "--format", "json"]), ("flow-all.md", ["flow", "--format", "markdown"])]
    for s in STREAMS:
        out.append((f"flow-{s}.json", ["flow", "--stream", s, "--format", "json"]))
        out.append((f"flow-{s}.md", ["flow", "--stream", s, "--format", "markdown"]))
    out.append(("forecast-billing.json", ["forecast", "--stream", "billing", "--items", "20", "--format", "json"]))
    for e in EXPORTS:
        out.append((f"export-{e}.json", ["flow", f"exports/{e}", "--format", "json"]))
    return out


def repo_commands(repo):
    """The git report and code analysis of one repository."""
    name = Path(repo).resolve().parent.name if Path(repo).name == "repo" else Path(repo).name
    # `code` first: it fills the cache the report reads the failed
    # deployments' files from, so every report sees the same cache.
    out = [(f"code-{name}.json", ["code", str(repo), "--all", "--format", "json"])]
    for fmt, ext in (("json", "json"), ("markdown", "md"), ("html", "html")):
        out.append((f"report-{name}.{ext}", ["report", str(repo), "--all", "--explain", "--format", fmt]))
    return out


def store_commands(db):
    """The events report of one store."""
    out = []
    for fmt, ext in (("json", "json"), ("markdown", "md"), ("html", "html")):
        out.append((f"store.{ext}", ["report", "--db", db, "--all", "--explain", "--format", fmt]))
    out.append(("store-window.json", ["report", "--db", db, "--format", "json"]))
    return out


def json_diff(old, new, allow, path, found):
    """Appends (path, what) for every difference of two JSON trees."""
    if isinstance(old, dict) and isinstance(new, dict):
        for k in old:
            if k not in new:
                found.append((f"{path}/{k}", "removed"))
            else:
                json_diff(old[k], new[k], allow, f"{path}/{k}", found)
        for k in new:
            if k not in old and k not in allow:
                found.append((f"{path}/{k}", "added"))
    elif isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            found.append((path, f"length {len(old)} -> {len(new)}"))
        for i, (a, b) in enumerate(zip(old, new)):
            json_diff(a, b, allow, f"{path}/{i}", found)
    elif old != new:
        found.append((path, f"{json.dumps(old)[:120]} -> {json.dumps(new)[:120]}"))


def compare(name, old, new, allow):
    """None when the same (or differing only by allowed new fields), else a report."""
    if old == new:
        return None
    if name.endswith(".json"):
        try:
            a, b = json.loads(old), json.loads(new)
        except ValueError:
            return f"{name}: differs and is not JSON on both sides"
        found = []
        json_diff(a, b, set(allow), "", found)
        if not found:
            return None
        shown = "\n".join(f"  {p}: {w}" for p, w in found[:20])
        return f"{name}: {len(found)} differences\n{shown}"
    lines_a, lines_b = old.splitlines(), new.splitlines()
    for i, (a, b) in enumerate(zip(lines_a, lines_b)):
        if a != b:
            return f"{name}: line {i + 1} differs\n  old: {a[:200]!r}\n  new: {b[:200]!r}"
    return f"{name}: {len(lines_a)} lines -> {len(lines_b)} lines"


def outputs(label, binary, work, repos, events_file):
    """Every output of one binary, by name."""
    examples = work / "examples"
    own = work / label
    shutil.rmtree(own, ignore_errors=True)
    cache = own / "cache"
    cache.mkdir(parents=True)
    got = {}
    for name, args in example_commands():
        got[name] = run(binary, args, examples, cache)
    for repo in repos:
        for name, args in repo_commands(repo):
            got[name] = run(binary, args, work, cache)
    # The same relative path for both, so that messages naming it agree.
    db = "sqlite:store.db"
    got["import"] = run(binary, ["import", "events", str(events_file), "--db", db], own, cache)
    for name, args in store_commands(db):
        got[name] = run(binary, args, own, cache)
    return got


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--repo", action="append", default=[])
    parser.add_argument("--allow-new", action="append", default=[])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--work", help="a folder for the copies and stores (default: a temporary one)")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="nextneck-compare-"))
    shutil.rmtree(work / "examples", ignore_errors=True)
    shutil.copytree(ROOT / "examples", work / "examples")
    events_file = work / "events.ndjson"
    with open(events_file, "w") as f:
        subprocess.run([sys.executable, str(ROOT / "scripts/gen_delivery_events.py"), "--events",
                        str(args.events)], stdout=f, check=True)
    old = outputs("old", str(Path(args.old).resolve()), work, args.repo, events_file)
    new = outputs("new", str(Path(args.new).resolve()), work, args.repo, events_file)
    failures = [r for name in old if (r := compare(name, old[name], new[name], args.allow_new))]
    for name in old:
        status = "differs" if any(f.startswith(name + ":") for f in failures) else "same"
        if new[name].startswith(b"exit "):
            status = "FAILED"
            failures.append(f"{name}: the command failed: {new[name][:300]!r}")
        print(f"{status:8} {name} ({len(new[name])} bytes)")
    for f in failures:
        print(f, file=sys.stderr)
    print(f"{len(old) - len(failures)} of {len(old)} outputs the same", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
