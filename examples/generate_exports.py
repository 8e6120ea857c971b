#!/usr/bin/env python3
"""Writes the sample exports of examples/exports/ (deterministic: a fixed seed).

Each file is generated, not exported from a real account, but written in the
shape the tool exports (the fields nextneck reads and some it does not, as the
real exports carry them):

* jira-issues.csv: Jira's "Export issues → CSV (all fields)", default English
  locale (`12/Mar/24 3:41 PM` times), one row per issue;
* jira-search.json: Jira's REST search with the changelog,
  `GET /rest/api/2/search?jql=project=SUP&expand=changelog`;
* trello-board.json: Trello's board export (Menu → Print, export and share →
  Export as JSON), newest action first;
* wide.csv: ActionableAgile's layout (one row per item, a column per stage
  holding the date it entered it, left to right in flow order).

Run from anywhere: python3 examples/generate_exports.py.
"""
import csv, json, os, random
from datetime import datetime, timedelta, timezone

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "exports")
START = datetime(2024, 3, 4, 9, 0, tzinfo=timezone.utc)
END = START + timedelta(days=50)


def walk(rng, n, stages, gaps, done_share=0.8):
    """Items arriving over 45 days, each walking `stages` with gaps (hours)."""
    items = []
    for i in range(1, n + 1):
        t = START + timedelta(days=rng.uniform(0, 45), hours=rng.uniform(0, 8))
        path = []
        for s in stages:
            if t > END:
                break
            path.append((s, t))
            lo, hi = gaps.get(s, (1, 24))
            t = t + timedelta(hours=rng.uniform(lo, hi))
        items.append(path)
    return items


def jira_time(t):
    return t.strftime("%d/%b/%y ") + str(int(t.strftime("%I"))) + t.strftime(":%M %p")


def rest_time(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def jira_csv(rng):
    stages = ["To Do", "In Progress", "In Review", "Done"]
    gaps = {"To Do": (4, 120), "In Progress": (8, 72), "In Review": (24, 160)}
    items = walk(rng, 48, stages, gaps)
    header = ["Summary", "Issue key", "Issue id", "Issue Type", "Status", "Project key",
              "Priority", "Resolution", "Assignee", "Reporter", "Created", "Updated",
              "Last Viewed", "Resolved", "Labels", "Labels"]
    with open(os.path.join(HERE, "jira-issues.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for i, path in enumerate(items, 1):
            status, last = path[-1]
            created = path[0][1]
            done = status == "Done"
            w.writerow([
                f"Customer request {i}: {rng.choice(['export fails', 'slow page', 'new field', 'login loop'])}",
                f"WEB-{100 + i}", str(10000 + i), rng.choice(["Bug", "Story", "Task"]), status, "WEB",
                rng.choice(["Medium", "High", "Low"]), "Done" if done else "",
                rng.choice(["Ana Ruiz", "Tom Berg", ""]), "Lea Roy", jira_time(created),
                jira_time(last), "", jira_time(last) if done else "",
                rng.choice(["web", "api", ""]), "",
            ])


def jira_search(rng):
    stages = ["Open", "In Progress", "Waiting for supplier", "In Progress", "Closed"]
    gaps = {"Open": (2, 30), "In Progress": (4, 40), "Waiting for supplier": (24, 200)}
    items = walk(rng, 40, stages, gaps)
    issues = []
    for i, path in enumerate(items, 1):
        histories = []
        for k in range(1, len(path)):
            (a, _), (b, t) = path[k - 1], path[k]
            histories.append({
                "id": str(50000 + i * 10 + k),
                "author": {"displayName": "Sam Diaz", "active": True},
                "created": rest_time(t),
                "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status",
                           "from": str(k), "fromString": a, "to": str(k + 1), "toString": b}]
                + ([{"field": "assignee", "fieldtype": "jira", "fieldId": "assignee",
                     "from": None, "fromString": None, "to": "sam", "toString": "Sam Diaz"}]
                   if k == 1 else []),
            })
        histories.reverse()  # Jira lists the newest change first.
        issues.append({
            "expand": "operations,changelog",
            "id": str(20000 + i),
            "self": f"https://example.atlassian.net/rest/api/2/issue/{20000 + i}",
            "key": f"SUP-{i}",
            "fields": {
                "summary": f"Supplier ticket {i}",
                "issuetype": {"name": rng.choice(["Incident", "Service request"])},
                "status": {"name": path[-1][0]},
                "created": rest_time(path[0][1]),
                "updated": rest_time(path[-1][1]),
            },
            "changelog": {"startAt": 0, "maxResults": len(histories), "total": len(histories),
                          "histories": histories},
        })
    doc = {"expand": "names,schema", "startAt": 0, "maxResults": 50, "total": len(issues),
           "issues": issues}
    with open(os.path.join(HERE, "jira-search.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def trello(rng):
    lists = ["Ideas", "Writing", "Editing", "Published"]
    gaps = {"Ideas": (12, 200), "Writing": (24, 96), "Editing": (12, 160)}
    items = walk(rng, 36, lists, gaps)
    list_ids = {name: f"65f0a1{k:018x}" for k, name in enumerate(lists)}
    actions, cards = [], []
    for i, path in enumerate(items, 1):
        cid = f"65f1b2{i:018x}"
        ref = {"id": cid, "name": f"Article {i}", "idShort": i, "shortLink": f"aB{i:04d}"}
        cards.append({"id": cid, "idShort": i, "name": ref["name"], "closed": False,
                      "idList": list_ids[path[-1][0]], "shortLink": ref["shortLink"]})
        first, t0 = path[0]
        actions.append({"id": f"a{i:03d}00", "idMemberCreator": "m1", "type": "createCard",
                        "date": t0.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                        "data": {"card": ref, "list": {"id": list_ids[first], "name": first},
                                 "board": {"id": "b1", "name": "Blog"}}})
        for k in range(1, len(path)):
            (a, _), (b, t) = path[k - 1], path[k]
            actions.append({"id": f"a{i:03d}{k:02d}", "idMemberCreator": "m1", "type": "updateCard",
                            "date": t.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                            "data": {"card": dict(ref, idList=list_ids[b]),
                                     "old": {"idList": list_ids[a]},
                                     "listBefore": {"id": list_ids[a], "name": a},
                                     "listAfter": {"id": list_ids[b], "name": b},
                                     "board": {"id": "b1", "name": "Blog"}}})
        if rng.random() < 0.3:
            actions.append({"id": f"a{i:03d}99", "idMemberCreator": "m1", "type": "commentCard",
                            "date": (path[0][1] + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                            "data": {"card": ref, "text": "Looks good",
                                     "list": {"id": list_ids[first], "name": first}}})
    actions.sort(key=lambda a: a["date"], reverse=True)
    board = {"id": "b1", "name": "Blog", "closed": False,
             "lists": [{"id": list_ids[n], "name": n, "closed": False, "pos": 16384 * (k + 1)}
                       for k, n in enumerate(lists)],
             "cards": cards, "actions": actions}
    with open(os.path.join(HERE, "trello-board.json"), "w") as f:
        json.dump(board, f, separators=(",", ":"))
        f.write("\n")


def wide(rng):
    stages = ["Backlog", "Analysis", "Development", "Testing", "Done"]
    gaps = {"Backlog": (24, 400), "Analysis": (8, 72), "Development": (24, 200), "Testing": (8, 120)}
    items = walk(rng, 60, stages, gaps)
    with open(os.path.join(HERE, "wide.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ID", "Link", "Name"] + stages + ["Type", "Blocked"])
        for i, path in enumerate(items, 1):
            dates = {s: t.strftime("%Y-%m-%d") for s, t in path}
            w.writerow([f"F-{i}", f"https://tracker.example/F-{i}", f"Feature {i}"]
                       + [dates.get(s, "") for s in stages]
                       + [rng.choice(["Feature", "Defect"]), rng.choice(["", "", "Yes"])])


if __name__ == "__main__":
    os.makedirs(HERE, exist_ok=True)
    rng = random.Random(16)
    jira_csv(rng)
    jira_search(rng)
    trello(rng)
    wide(rng)
