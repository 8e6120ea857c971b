#!/usr/bin/env python3
"""The soak of `nextneck serve` (run it through scripts/soak.sh).

For a given time, on a fresh SQLite file or PostgreSQL schema, it runs the
server and, all on 127.0.0.1:
  * writers: steady signed deliveries to POST /hooks/events, one
    stage.transition each with a unique id, each resent until acknowledged
    (202, or 200 for a redelivery), so nothing is given up;
  * a poison sender: every few seconds a deeply nested JUnit report or an
    event whose id holds a NUL; their answers are counted (4xx expected);
  * readers on the dashboard, the API and /metrics;
  * a killer: kill -9 of the server every minute, restarted at once; a
    server that exits by itself is counted and restarted too.
Every few seconds it records the server's memory (RSS) and the latency of
writes and reads. At the end it lets the queue drain, stops the server and
checks in the database that every acknowledged delivery is stored once and
processed, with exactly one event per acknowledged id ("lost": acknowledged
but not stored; "acknowledged_without_event": stored but never processed).

Standard library only; every request is bounded by the duration and rate.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

TOKEN = "soak-token"
STAGES = ["new", "doing", "review", "done"]


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


class Server:
    """The server process, restarted on the same port after each kill."""

    def __init__(self, binary, url, port, workdir, log):
        self.binary, self.url, self.port = binary, url, port
        self.workdir, self.log = workdir, log
        self.proc = None
        self.lock = threading.Lock()
        self.kills = 0
        self.unexpected_exits = []
        self.started = 0

    def start(self):
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("NEXTNECK_"):
                del env[k]
        env["NEXTNECK_EVENTS_TOKEN"] = TOKEN
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--db", self.url, "--listen", f"127.0.0.1:{self.port}"],
            cwd=self.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        first = self.proc.stdout.readline()
        if not first.startswith("listening on"):
            raise SystemExit(f"the server did not start: {first!r} (see {self.log.name})")
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        self.started += 1

    def kill9(self):
        with self.lock:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.kills += 1
            self.start()

    def check_alive(self):
        with self.lock:
            code = self.proc.poll()
            if code is not None:
                self.unexpected_exits.append({"at": time.time(), "exit": code})
                self.start()

    def stop(self):
        with self.lock:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()

    def rss_kib(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None


def request(port, method, path, body=None, headers=None, timeout=30):
    """(status, body bytes), or (None, error text) when the connection failed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    except (OSError, http.client.HTTPException) as e:
        return None, str(e)
    finally:
        conn.close()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.write_lat, self.read_lat = [], []
        self.interval_write, self.interval_read = [], []
        self.acked = {}  # id -> delivery id
        self.answers = {}  # "write 202" -> n
        self.poison = {}
        self.retries = 0

    def count(self, table, key):
        with self.lock:
            table[key] = table.get(key, 0) + 1


def writer(port, stats, next_id, stop_at, rate, base):
    interval = 1.0 / rate
    while time.time() < stop_at:
        with next_id["lock"]:
            n = next_id["n"]
            next_id["n"] += 1
        event_id = f"soak-{n}"
        body = json.dumps({
            "type": "stage.transition",
            "id": event_id,
            "stream": "soak",
            "item": f"item-{n // len(STAGES)}",
            "stage": STAGES[n % len(STAGES)],
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + n)),
        }).encode()
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"}
        started = time.time()
        # Resent until acknowledged; the run's end does not abandon it.
        while True:
            t0 = time.time()
            status, reply = request(port, "POST", "/hooks/events", body, headers)
            stats.count(stats.answers, f"write {status}")
            if status in (200, 202):
                lat = time.time() - t0
                with stats.lock:
                    stats.acked[event_id] = json.loads(reply)["delivery_id"]
                    stats.write_lat.append(lat)
                    stats.interval_write.append(lat)
                break
            stats.count(stats.answers, "write retried")
            time.sleep(0.2)
            if time.time() > stop_at + 120:
                break
        time.sleep(max(0.0, interval - (time.time() - started)))


def deep_junit(depth):
    return (b"<testsuites>" + b'<testsuite name="s">' * depth
            + b'<testcase classname="c" name="t"/>' + b"</testsuite>" * depth + b"</testsuites>")


POISON = {
    "badjson": ("events not json", "/hooks/events", b'{"type": "deployment", "id": '),
    "oversize": ("events 2 MiB", "/hooks/events", b"{" + b" " * (2 << 20) + b"}"),
    "junit": ("junit deep 2100", "/hooks/junit", deep_junit(2100)),
    "nul": ("events nul id", "/hooks/events",
            b'{"type":"deployment","id":"dep\\u0000x","status":"success","finished_at":"2024-03-01T12:00:00Z"}'),
}


def poisoner(port, stats, stop_at, every, names):
    kinds = [POISON[n] for n in names]
    i = 0
    while kinds and time.time() < stop_at:
        name, path, body = kinds[i % len(kinds)]
        status, _ = request(port, "POST", path, body, {"Authorization": f"Bearer {TOKEN}"})
        stats.count(stats.poison, f"{name} -> {status}")
        i += 1
        time.sleep(every)


def reader(port, stats, stop_at):
    paths = ["/", "/api/v1/report", "/api/v1/streams/soak", "/streams/soak", "/metrics", "/healthz"]
    i = 0
    while time.time() < stop_at:
        path = paths[i % len(paths)]
        t0 = time.time()
        status, _ = request(port, "GET", path, timeout=60)
        stats.count(stats.answers, f"read {status}")
        if status == 200:
            lat = time.time() - t0
            with stats.lock:
                stats.read_lat.append(lat)
                stats.interval_read.append(lat)
        i += 1
        time.sleep(0.5)


class Database:
    """Read-only checks on the store, through sqlite3 or psql."""

    def __init__(self, backend, url, path=None, base=None, schema=None):
        self.backend, self.url, self.path, self.base, self.schema = backend, url, path, base, schema

    def query(self, sql):
        if self.backend == "sqlite":
            with sqlite3.connect(self.path, timeout=30) as db:
                return [tuple(str(v) for v in row) for row in db.execute(sql)]
        env = dict(os.environ, PGOPTIONS=f"-c search_path={self.schema}")
        out = subprocess.run(["psql", self.base, "-At", "-F", "\t", "-c", sql],
                             env=env, capture_output=True, text=True, check=True).stdout
        return [tuple(line.split("\t")) for line in out.splitlines() if line]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/test")
    ap.add_argument("--seconds", type=int, default=120)
    ap.add_argument("--rate", type=float, default=40.0, help="deliveries per second, all writers")
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--readers", type=int, default=2)
    ap.add_argument("--kill-every", type=float, default=60.0)
    ap.add_argument("--poison-every", type=float, default=3.0)
    ap.add_argument("--poison", default="junit,nul,badjson,oversize",
                    help="poison deliveries sent in turn: junit (2,100 nested suites), nul (a NUL in an id), "
                         "badjson (cut-off JSON), oversize (2 MiB); none for none")
    ap.add_argument("--sample-every", type=float, default=5.0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="nextneck-soak-")
    if args.backend == "sqlite":
        path = os.path.join(workdir, "soak.db")
        url = f"sqlite:{path}"
        db = Database("sqlite", url, path=path)
    else:
        schema = f"soak_{os.getpid()}_{int(time.time())}"
        subprocess.run(["psql", args.postgres, "-q", "-c", f"CREATE SCHEMA {schema}"], check=True)
        sep = "&" if "?" in args.postgres else "?"
        url = f"{args.postgres}{sep}options=-c%20search_path%3D{schema}"
        db = Database("postgres", url, base=args.postgres, schema=schema)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(os.path.join(args.out, f"server-{args.backend}.log"), "w")
    server = Server(args.binary, url, port, workdir, log)
    server.start()

    stats = Stats()
    started = time.time()
    stop_at = started + args.seconds
    base = 1_700_000_000
    next_id = {"n": 0, "lock": threading.Lock()}
    threads = [threading.Thread(target=writer, args=(port, stats, next_id, stop_at,
                                                     args.rate / args.writers, base))
               for _ in range(args.writers)]
    threads += [threading.Thread(target=reader, args=(port, stats, stop_at)) for _ in range(args.readers)]
    threads.append(threading.Thread(target=poisoner, args=(port, stats, stop_at, args.poison_every,
                                                       [p for p in args.poison.split(",") if p in POISON])))
    for t in threads:
        t.start()

    timeline_path = os.path.join(args.out, f"timeline-{args.backend}.csv")
    timeline = open(timeline_path, "w")
    timeline.write("seconds,rss_kib,acked,write_p50_ms,write_p99_ms,read_p50_ms,read_p99_ms,kills,unexpected_exits\n")
    next_kill = started + args.kill_every
    next_sample = started + args.sample_every
    max_rss = 0
    while time.time() < stop_at:
        time.sleep(0.2)
        server.check_alive()
        now = time.time()
        if now >= next_kill:
            server.kill9()
            next_kill += args.kill_every
        if now >= next_sample:
            next_sample += args.sample_every
            rss = server.rss_kib() or 0
            max_rss = max(max_rss, rss)
            with stats.lock:
                w, r = stats.interval_write, stats.interval_read
                stats.interval_write, stats.interval_read = [], []
                acked = len(stats.acked)
            ms = lambda v: "" if v is None else f"{v * 1000:.1f}"
            timeline.write(f"{now - started:.0f},{rss},{acked},{ms(percentile(w, 50))},{ms(percentile(w, 99))},"
                           f"{ms(percentile(r, 50))},{ms(percentile(r, 99))},{server.kills},"
                           f"{len(server.unexpected_exits)}\n")
            timeline.flush()
    # Writers finish the delivery in hand (resent until acknowledged).
    while any(t.is_alive() for t in threads):
        server.check_alive()
        time.sleep(0.2)

    # Let the queue drain, then stop.
    drained = False
    drain_until = time.time() + 60
    while time.time() < drain_until:
        server.check_alive()
        if db.query("SELECT count(*) FROM queue")[0][0] == "0":
            drained = True
            break
        time.sleep(0.5)
    server.stop()

    acked = stats.acked
    events = {}
    for entity, n in db.query("SELECT entity_id, count(*) FROM events WHERE kind = 'stage_transition' "
                              "AND entity_id LIKE 'soak-%' GROUP BY entity_id"):
        events[entity] = int(n)
    stored = {row[0] for row in db.query("SELECT id FROM deliveries")}
    lost = sorted(i for i, d in acked.items() if str(d) not in stored)
    without_event = sorted(i for i in acked if events.get(i, 0) == 0)
    doubled = sorted(i for i, n in events.items() if n > 1)
    processed = {row[0] for row in db.query("SELECT delivery_id FROM outcomes")}
    unprocessed = sorted(d for d in acked.values() if str(d) not in processed)
    deliveries = int(db.query("SELECT count(*) FROM deliveries WHERE provider = 'events'")[0][0])
    summary = {
        "backend": args.backend,
        "seconds": args.seconds,
        "binary": args.binary,
        "poison_sent": args.poison,
        "acknowledged": len(acked),
        "stored_events_of_soak_ids": sum(events.values()),
        "events_deliveries_stored": deliveries,
        "lost": len(lost),
        "acknowledged_without_event": len(without_event),
        "counted_twice": len(doubled),
        "acknowledged_but_unprocessed": len(unprocessed),
        "queue_drained": drained,
        "kills": server.kills,
        "unexpected_exits": len(server.unexpected_exits),
        "answers": dict(sorted(stats.answers.items(), key=lambda kv: str(kv[0]))),
        "poison": dict(sorted(stats.poison.items())),
        "max_rss_mib": round(max_rss / 1024, 1),
        "write_latency_ms": {"p50": round(1000 * (percentile(stats.write_lat, 50) or 0), 1),
                             "p99": round(1000 * (percentile(stats.write_lat, 99) or 0), 1)},
        "read_latency_ms": {"p50": round(1000 * (percentile(stats.read_lat, 50) or 0), 1),
                            "p99": round(1000 * (percentile(stats.read_lat, 99) or 0), 1)},
        "timeline": timeline_path,
        "examples": {"lost": lost[:5], "without_event": without_event[:5], "counted_twice": doubled[:5],
                     "unprocessed": unprocessed[:5]},
    }
    with open(os.path.join(args.out, f"summary-{args.backend}.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(json.dumps(summary, indent=2))
    if not os.environ.get("SOAK_KEEP"):
        shutil.rmtree(workdir, ignore_errors=True)
        if args.backend == "postgres":
            subprocess.run(["psql", args.postgres, "-q", "-c", f"DROP SCHEMA {db.schema} CASCADE"], check=False)
    ok = not lost and not without_event and not doubled and not unprocessed and drained
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
