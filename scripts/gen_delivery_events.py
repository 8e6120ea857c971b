#!/usr/bin/env python3
"""Writes a generated delivery history in nextneck's generic NDJSON format.

Deterministic (a fixed seed), so two runs give the same bytes. The shape is
an organisation's, scaled by --events (the total is close to it):

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

Times span the two years before --end (default 2026-12-01T00:00:00Z), in
time order per repository; lines are written grouped per repository, as an
export would be.

Usage: python3 scripts/gen_delivery_events.py --events 100000 > events.ndjson
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
    """Every line of one repository, in time order of its changes."""
    lines, since_deploy, d = [], 0, 0
    gap = span / max(changes, 1)
    for n in range(1, changes + 1):
        opened = start + gap * n + minutes(rng, 0, 60)
        more, merged, merge_sha = change_lines(rng, repo, n, opened)
        lines.extend(more)
        if merged is None:
            continue
        since_deploy += 1
        if since_deploy == 5:
            since_deploy, d = 0, d + 1
            lines.extend(deployment_lines(rng, repo, d, merged + minutes(rng, 5, 600), merge_sha))
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--end", default="2026-12-01T00:00:00Z")
    args = parser.parse_args()
    end = datetime.strptime(args.end, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    span = timedelta(days=730)
    start = end - span - timedelta(days=3)
    per_repo = max(1, round(args.events / LINES_PER_CHANGE / args.repos))
    rng = random.Random(args.seed)
    out = sys.stdout
    for r in range(args.repos):
        repo = f"org/service-{r:03}"
        for line in repository_lines(rng, repo, per_repo, start, span):
            out.write(json.dumps(line, separators=(",", ":")))
            out.write("\n")


if __name__ == "__main__":
    main()
