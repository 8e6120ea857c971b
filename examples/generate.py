#!/usr/bin/env python3
"""Writes the example event logs of examples/ (deterministic: a fixed seed).

Run from anywhere: python3 examples/generate.py. Each stream is a small,
made-up but plausible log of about 60 days ending in June 2024; the bottleneck
of each is built in on purpose (interviews, the first response to a lead,
the supplier, legal review, payment, code review) so the reports have
something to find.
"""
import gzip, json, os, random
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
START = datetime(2024, 4, 29, 9, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)


def hours(rng, lo, hi):
    return timedelta(hours=rng.uniform(lo, hi))


def walk(rng, n, path_of, gap_of, spread_days=50):
    """Items arriving over `spread_days`; each walks its path with gaps."""
    rows = []
    for i in range(1, n + 1):
        t = START + timedelta(days=rng.uniform(0, spread_days))
        for stage in path_of(rng, i):
            rows.append((i, stage, t))
            t = t + gap_of(rng, stage)
    return rows


def cut(rows, end):
    return sorted((r for r in rows if r[2] <= end), key=lambda r: (r[2], r[0]))


END = START + timedelta(days=60)


def hiring(rng):
    def path(rng, i):
        p = ["applied", "screen"]
        if rng.random() < 0.35:
            return p + ["rejected"]
        p.append("interview")
        if rng.random() < 0.4:
            return p + ["rejected"]
        return p + ["offer", "hired" if rng.random() < 0.8 else "rejected"]
    gaps = {"applied": (4, 48), "screen": (24, 96), "interview": (72, 360), "offer": (24, 120)}
    rows = cut(walk(rng, 70, path, lambda rng, s: hours(rng, *gaps.get(s, (1, 2)))), END)
    with open(os.path.join(HERE, "hiring", "events.csv"), "w") as f:
        f.write("candidate,stage,timestamp,type\n")
        for i, s, t in rows:
            f.write(f"C-{i:03},{s},{t.strftime('%Y-%m-%dT%H:%M:%SZ')},{'engineer' if i % 3 else 'sales'}\n")


def sales(rng):
    def path(rng, i):
        p = ["new", "contacted"]
        if rng.random() < 0.3:
            return p + ["lost"]
        p.append("qualified")
        if rng.random() < 0.3:
            return p + ["lost"]
        return p + ["proposal", "won" if rng.random() < 0.5 else "lost"]
    gaps = {"new": (2, 60), "contacted": (12, 72), "qualified": (24, 96), "proposal": (24, 200)}
    rows = cut(walk(rng, 90, path, lambda rng, s: hours(rng, *gaps.get(s, (1, 2)))), END)
    with open(os.path.join(HERE, "sales-leads", "events.ndjson"), "w") as f:
        for i, s, t in rows:
            f.write(json.dumps({"id": f"L{i:04}", "status": s, "timestamp": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "resource": rng.choice(["ana", "ben", "chen"])}) + "\n")


def supplier(rng):
    def path(rng, i):
        p = ["opened"]
        for _ in range(1 + (rng.random() < 0.4) + (rng.random() < 0.15)):
            p += ["waiting on supplier", "answered"]
        return p + ["resolved"]
    gaps = {"opened": (1, 8), "waiting on supplier": (24, 168), "answered": (2, 24)}
    rows = cut(walk(rng, 60, path, lambda rng, s: hours(rng, *gaps.get(s, (1, 2)))), END)
    with open(os.path.join(HERE, "supplier-tickets", "events.csv"), "w") as f:
        f.write("key;status;date\n")
        for i, s, t in rows:
            # Jira's export format: milliseconds and a +0000 offset.
            f.write(f"SUP-{i};{s};{t.strftime('%Y-%m-%dT%H:%M:%S')}.000+0000\n")


def contracts(rng):
    out = []
    for i in range(1, 41):
        t = START + timedelta(days=rng.uniform(0, 50))
        events = []
        for act, (wlo, whi), (slo, shi) in [
            ("Draft contract", (0, 0), (2, 24)),
            ("Legal review", (24, 240), (2, 8)),
            ("Negotiation", (4, 48), (4, 72)),
            ("Sign", (4, 72), (0.1, 1)),
        ]:
            t = t + hours(rng, wlo, whi)
            if t > END:
                break
            events.append((act, "start", t))
            t = t + hours(rng, slo, shi)
            if t > END:
                break
            events.append((act, "complete", t))
        if events:
            out.append((f"K-{i:03}", events))
    xes = ['<?xml version="1.0" encoding="UTF-8"?>', '<log xes.version="1.0" xmlns="http://www.xes-standard.org/">',
           '  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>']
    for case, events in out:
        xes.append("  <trace>")
        xes.append(f'    <string key="concept:name" value="{case}"/>')
        for act, lc, t in events:
            xes.append("    <event>")
            xes.append(f'      <string key="concept:name" value="{act}"/>')
            xes.append(f'      <string key="lifecycle:transition" value="{lc}"/>')
            xes.append(f'      <date key="time:timestamp" value="{t.strftime("%Y-%m-%dT%H:%M:%S.000+00:00")}"/>')
            xes.append("    </event>")
        xes.append("  </trace>")
    xes.append("</log>")
    with gzip.GzipFile(os.path.join(HERE, "contract-review", "events.xes.gz"), "wb", mtime=0) as f:
        f.write(("\n".join(xes) + "\n").encode())


def billing(rng):
    def path(rng, i):
        return ["drafted", "sent", "paid"]
    gaps = {"drafted": (2, 120), "sent": (48, 720)}
    rows = cut(walk(rng, 80, path, lambda rng, s: hours(rng, *gaps.get(s, (1, 2)))), END)
    with open(os.path.join(HERE, "billing", "events.csv"), "w") as f:
        f.write("invoice,state,time\n")
        for i, s, t in rows:
            f.write(f"INV-{i:04},{s},{int(t.timestamp())}\n")


def delivery(rng):
    rows = []
    for i in range(1, 61):
        t = START + timedelta(days=rng.uniform(0, 55))
        for act, (wlo, whi), (slo, shi) in [
            ("code", (0, 0), (4, 40)),
            ("code review", (2, 72), (0.2, 2)),
            ("deploy", (1, 30), (0.1, 0.5)),
        ]:
            t = t + hours(rng, wlo, whi)
            s = t
            t = t + hours(rng, slo, shi)
            if s > END:
                break
            rows.append((f"PR-{i}", act, s, t if t <= END else None))
            if t > END:
                break
    rows.sort(key=lambda r: r[2])
    with open(os.path.join(HERE, "delivery", "events.csv"), "w") as f:
        f.write("case:concept:name,concept:name,start_timestamp,time:timestamp\n")
        for c, a, s, t in rows:
            f.write(f"{c},{a},{s.strftime('%Y-%m-%d %H:%M:%S')},{t.strftime('%Y-%m-%d %H:%M:%S') if t else ''}\n")


if __name__ == "__main__":
    for name, fn in [("hiring", hiring), ("sales-leads", sales), ("supplier-tickets", supplier),
                     ("contract-review", contracts), ("billing", billing), ("delivery", delivery)]:
        os.makedirs(os.path.join(HERE, name), exist_ok=True)
        fn(random.Random(name))
