#!/usr/bin/env python3
"""Writes a generated delivery history in nextneck's generic NDJSON format.

Deterministic (a fixed seed), so two runs with the same options give the
same bytes, split or not. The shape is an organisation's, scaled by --events
(the total is close to it: 1,000,000 gives 998,550 lines):

- R repositories (--repos, default 50), each its own service, deploying to
  `production`;
- per change: one `change` line (opened, ready, first review, merged, with
  a merge SHA; 3 % are closed unmerged) and four `ci.run` lines
  (queued/started/finished, 7 % failing);
- every fifth merged change of a repository, a `deployment` of its merge SHA
  (8 % failing with `failure`);
- one incident per 25 deployments (half naming the deployment, half only the
  service), resolved after 20 minutes to 30 hours; three in four get a
  `postmortem.published` one to ten days after resolution.

Times span the --years years (default 2, 365 days each) before --end
(default 2026-12-01T00:00:00Z), a repository's changes evenly spread over
them, in time order per repository; lines are written grouped per
repository, as an export would be. The rate of work is --events / --years:
to grow a store while keeping the organisation (the same work in any 90-day
window), grow both, e.g. `--events 1000000 --years 2` and `--events
10000000 --years 20` (about 500,000 lines a year).

Output goes to stdout, or with --split-lines N to files PREFIX-000.ndjson,
PREFIX-001.ndjson, ... (--output PREFIX) of at most N whole lines each,
whose concatenation is byte for byte the unsplit output (so each file stays
under `nextneck import`'s per-file limit: 1,000,000 lines are about 300 MB).

Usage:
  python3 scripts/gen_delivery_events.py --events 100000 > events.ndjson
  python3 scripts/gen_delivery_events.py --events 10000000 --years 20 \
      --split-lines 1000000 --output target/scale-data/events
"""
import argparse
import hashlib
import json
import random
import sys
from datetime import datetime, timedelta, timezone

LINES_PER_CHANGE = 1 + 4 + 1 / 5 + 1 / 125 * 1.75


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def sha(*parts):
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()


def minutes(rng, lo, hi):
    return timedelta(minutes=rng.uniform(lo, hi))


def change_lines(rng, repo, n, opened):
    """One change and its CI runs; returns (lines, merged_at or None, merge_sha)."""
    ready = opened + minutes(rng, 0, 600)
    review = ready + minutes(rng, 5, 2880)
    merged = review + minutes(rng, 10, 1440)
    merge_sha = sha(repo, n, "merge")
    change = {"type": "change", "id": f"{repo}#{n}", "repository": repo, "number": n,
              "title": f"Change {n} of {repo}", "author": f"dev{rng.randrange(40)}",
              "opened_at": iso(opened), "ready_at": iso(ready), "first_review_at": iso(review)}
    closed_unmerged = rng.random() < 0.03
    if closed_unmerged:
        change["closed_at"] = iso(merged)
    else:
        change["merged_at"] = iso(merged)
        change["merge_sha"] = merge_sha
    lines = [change]
    for k in range(4):
        queued = opened + minutes(rng, 0, 600) * (k + 1)
        started = queued + minutes(rng, 0, 10)
        finished = started + minutes(rng, 2, 40)
        lines.append({"type": "ci.run", "id": f"{repo}/run/{n}/{k}", "workflow": "ci",
                      "repository": repo, "sha": sha(repo, n, k), "branch": f"change-{n}",
                      "queued_at": iso(queued), "started_at": iso(started),
                      "finished_at": iso(finished),
                      "conclusion": "failure" if rng.random() < 0.07 else "success"})
    return lines, (None if closed_unmerged else merged), merge_sha


def deployment_lines(rng, repo, d, at, deployed_sha):
    """A deployment and, one time in 25, an incident and its postmortem."""
    status = "failure" if rng.random() < 0.08 else "success"
    dep_id = f"{repo}/deploy/{d}"
    lines = [{"type": "deployment", "id": dep_id, "status": status, "service": repo,
              "environment": "production", "repository": repo, "sha": deployed_sha,
              "started_at": iso(at), "finished_at": iso(at + minutes(rng, 2, 20))}]
    if status == "success" and rng.random() < 0.04:
        opened = at + minutes(rng, 30, 2880)
        resolved = opened + minutes(rng, 20, 1800)
        incident = {"type": "incident", "id": f"{repo}/inc/{d}", "service": repo,
                    "title": f"Incident after deployment {d} of {repo}",
                    "opened_at": iso(opened), "acknowledged_at": iso(opened + minutes(rng, 1, 30)),
                    "resolved_at": iso(resolved)}
        if rng.random() < 0.5:
            incident["deployment_id"] = dep_id
        lines.append(incident)
        if rng.random() < 0.75:
            lines.append({"type": "postmortem.published", "id": f"{repo}/pm/{d}",
                          "incident_id": incident["id"],
                          "published_at": iso(resolved + timedelta(days=rng.uniform(1, 10)))})
    return lines


def repository_lines(rng, repo, changes, start, span):
    """Every line of one repository, in time order of its changes (a
    generator: a repository of a 10-million-line history is 200,000 lines)."""
    since_deploy, d = 0, 0
    gap = span / max(changes, 1)
    for n in range(1, changes + 1):
        opened = start + gap * n + minutes(rng, 0, 60)
        more, merged, merge_sha = change_lines(rng, repo, n, opened)
        yield from more
        if merged is None:
            continue
        since_deploy += 1
        if since_deploy == 5:
            since_deploy, d = 0, d + 1
            yield from deployment_lines(rng, repo, d, merged + minutes(rng, 5, 600), merge_sha)


class SplitWriter:
    """Writes whole lines to PREFIX-000.ndjson, PREFIX-001.ndjson, ..., at
    most `limit` lines a file."""

    def __init__(self, prefix, limit):
        self.prefix, self.limit, self.index, self.count, self.file = prefix, limit, 0, 0, None

    def write_line(self, text):
        if self.file is None or self.count == self.limit:
            self.close()
            self.file = open(f"{self.prefix}-{self.index:03}.ndjson", "w", encoding="utf-8", newline="\n")
            self.index, self.count = self.index + 1, 0
        self.file.write(text)
        self.count += 1

    def close(self):
        if self.file is not None:
            self.file.close()
            self.file = None


class StdoutWriter:
    def write_line(self, text):
        sys.stdout.write(text)

    def close(self):
        sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--end", default="2026-12-01T00:00:00Z")
    parser.add_argument("--years", type=float, default=2.0,
                        help="the span of the history before --end, in years of 365 days (default 2)")
    parser.add_argument("--split-lines", type=int, metavar="N",
                        help="write files of at most N lines, PREFIX-000.ndjson, ... (needs --output)")
    parser.add_argument("--output", metavar="PREFIX", help="the files' prefix with --split-lines")
    args = parser.parse_args()
    if (args.split_lines is None) != (args.output is None):
        parser.error("--split-lines and --output go together")
    if args.split_lines is not None and args.split_lines < 1:
        parser.error("--split-lines must be at least 1")
    if args.years <= 0:
        parser.error("--years must be above 0")
    end = datetime.strptime(args.end, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    span = timedelta(days=365 * args.years)
    start = end - span - timedelta(days=3)
    per_repo = max(1, round(args.events / LINES_PER_CHANGE / args.repos))
    rng = random.Random(args.seed)
    out = SplitWriter(args.output, args.split_lines) if args.split_lines else StdoutWriter()
    for r in range(args.repos):
        repo = f"org/service-{r:03}"
        for line in repository_lines(rng, repo, per_repo, start, span):
            out.write_line(json.dumps(line, separators=(",", ":")) + "\n")
    out.close()


if __name__ == "__main__":
    main()
