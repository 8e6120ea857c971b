#!/usr/bin/env python3
"""Runs `nextneck report` in CI and publishes the Markdown report.

    nextneck_ci.py github   # in a GitHub Actions step (action.yml runs it)
    nextneck_ci.py gitlab   # in a GitLab CI job (ci/gitlab/nextneck.gitlab-ci.yml)

GitHub: appends the report to $GITHUB_STEP_SUMMARY and, on a pull request
($GITHUB_EVENT_PATH holds a `pull_request`), creates or updates ONE comment
on it, found by a hidden marker, through $GITHUB_API_URL with $GITHUB_TOKEN.

GitLab: writes the report to nextneck-report.md (an artifact) and, in a
merge request pipeline ($CI_MERGE_REQUEST_IID), creates or updates ONE note
on it through $CI_API_V4_URL with $NEXTNECK_GITLAB_TOKEN (a project or
personal access token with the `api` scope: the job token cannot write notes).

Settings (environment): NEXTNECK_BIN (default `nextneck`), NEXTNECK_PATH
(the repository, default `.`), NEXTNECK_ARGS (more `report` arguments, split
like a shell would, default `--since 90d`), NEXTNECK_COMMENT (`false` to
skip the comment or note). Python 3 standard library only.
"""

import json
import os
import shlex
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

MARKER = "<!-- nextneck-report -->"
PER_PAGE = 100
MAX_PAGES = 50


class Failure(Exception):
    """A failure to report with exit code 1."""


def env(name, default=None):
    value = os.environ.get(name, "")
    return value if value else default


def report():
    """The Markdown report, from the real nextneck binary."""
    command = [env("NEXTNECK_BIN", "nextneck"), "report", env("NEXTNECK_PATH", ".")]
    command += shlex.split(env("NEXTNECK_ARGS", "--since 90d"))
    command += ["--format", "markdown"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as e:
        raise Failure(f"could not run {command[0]}: {e}; install nextneck or set NEXTNECK_BIN")
    if done.returncode != 0:
        raise Failure(f"nextneck report failed (exit {done.returncode}): {done.stderr.strip()}")
    return done.stdout


def request(method, url, headers, body=None):
    """One JSON request; returns the decoded answer."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    for k, v in headers.items():
        req.add_header(k, v)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as answer:
            text = answer.read().decode() or "null"
            return json.loads(text)
    except urllib.error.HTTPError as e:
        detail = e.read().decode(errors="replace")[:300]
        raise Failure(f"{method} {redact(url)} answered HTTP {e.code}: {detail}") from None
    except urllib.error.URLError as e:
        raise Failure(f"{method} {redact(url)} failed: {e.reason}") from None


def redact(url):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def find_marked(list_url, headers):
    """The first comment or note whose body holds the marker, or None."""
    sep = "&" if "?" in list_url else "?"
    for page in range(1, MAX_PAGES + 1):
        items = request("GET", f"{list_url}{sep}per_page={PER_PAGE}&page={page}", headers)
        for item in items or []:
            if MARKER in (item.get("body") or ""):
                return item
        if not items or len(items) < PER_PAGE:
            return None
    return None


def upsert(list_url, item_url, headers, body, update_method):
    """Updates the marked comment, or creates one; says which on stdout."""
    found = find_marked(list_url, headers)
    if found is None:
        created = request("POST", list_url, headers, {"body": body})
        print(f"nextneck: created comment {created.get('id')}")
    else:
        request(update_method, item_url(found["id"]), headers, {"body": body})
        print(f"nextneck: updated comment {found['id']}")


def comment_body(markdown):
    return f"{MARKER}\n{markdown}"


def github():
    markdown = report()
    summary = env("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(markdown)
            f.write("\n")
    else:
        sys.stdout.write(markdown)
    if env("NEXTNECK_COMMENT", "true") == "false":
        return
    event_path = env("GITHUB_EVENT_PATH")
    event = {}
    if event_path:
        with open(event_path, encoding="utf-8") as f:
            event = json.load(f)
    pull = event.get("pull_request")
    if not pull:
        print("nextneck: not a pull request, no comment")
        return
    number = pull.get("number") or event.get("number")
    token = env("GITHUB_TOKEN")
    if not token:
        raise Failure("GITHUB_TOKEN is not set; pass the workflow's token (the action's `token` input)")
    api = env("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    repo = env("GITHUB_REPOSITORY")
    if not repo:
        raise Failure("GITHUB_REPOSITORY is not set")
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": "nextneck-ci",
    }
    upsert(
        f"{api}/repos/{repo}/issues/{number}/comments",
        lambda i: f"{api}/repos/{repo}/issues/comments/{i}",
        headers,
        comment_body(markdown),
        "PATCH",
    )


def gitlab():
    markdown = report()
    out = env("NEXTNECK_REPORT_FILE", "nextneck-report.md")
    with open(out, "w", encoding="utf-8") as f:
        f.write(markdown)
    print(f"nextneck: wrote {out}")
    iid = env("CI_MERGE_REQUEST_IID")
    if env("NEXTNECK_COMMENT", "true") == "false" or not iid:
        print("nextneck: not a merge request pipeline, no note")
        return
    token = env("NEXTNECK_GITLAB_TOKEN")
    if not token:
        raise Failure(
            "NEXTNECK_GITLAB_TOKEN is not set; add a project access token with the api scope as a masked CI/CD variable"
        )
    api = env("CI_API_V4_URL", "https://gitlab.com/api/v4").rstrip("/")
    project = env("CI_PROJECT_ID")
    if not project:
        raise Failure("CI_PROJECT_ID is not set")
    base = f"{api}/projects/{project}/merge_requests/{iid}/notes"
    upsert(
        base,
        lambda i: f"{base}/{i}",
        {"PRIVATE-TOKEN": token, "User-Agent": "nextneck-ci"},
        comment_body(markdown),
        "PUT",
    )


def main(argv):
    if len(argv) != 2 or argv[1] not in ("github", "gitlab"):
        sys.stderr.write("usage: nextneck_ci.py github|gitlab\n")
        return 2
    try:
        github() if argv[1] == "github" else gitlab()
    except Failure as e:
        sys.stderr.write(f"error: {e}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
