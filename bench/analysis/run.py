#!/usr/bin/env python3
"""Analysis benchmark driver (run by bench/analysis_bench.sh; see its header for the knobs).

Sextant's analysis engine (POST /api/v1/projects/{p}/query) against ClickHouse 18.16 on the same
generated events, same machine, same run: events by day, a 4-step funnel, a 30 x 30 retention
table, each hot (fastest of HOT_RUNS after one warm-up run) and cold (server restarted and the
page cache dropped before the single run). Every answer cell is compared.
"""
import datetime
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from bench_lib import alive, ch_time, du, proc_cpu_seconds, proc_status, read_json, wait_idle, write_json  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = os.environ


def env_int(name, default):
    return int(ENV.get(name, default))


EVENTS = env_int("EVENTS", 100_000_000)
USERS = env_int("USERS", 1_000_000)
DAYS = env_int("DAYS", 90)
SEED = env_int("SEED", 42)
START = ENV.get("START", "2026-08-01")
HOT_RUNS = env_int("HOT_RUNS", 3)
DATA_ROOT = ENV.get("DATA_ROOT", "/work/bench-data/analysis")
RELOAD = ENV.get("RELOAD", "")  # "", "sextant", "clickhouse", "all"
SYSTEMS = ENV.get("SYSTEMS", "sextant,clickhouse").split(",")
COLD = ENV.get("COLD", "1") == "1"
CONNECTIONS = env_int("CONNECTIONS", 8)
BATCH = env_int("BATCH", 2000)
SEXTANT = ENV.get("SEXTANT", os.path.join(ROOT, "build-release/src/cli/sextant"))
TOOLS = ENV.get("TOOLS", os.path.join(ROOT, "build-bench/analysis"))
CH_ORDER = ENV.get("CH_ORDER", "event, t")
DOCS = ENV.get("DOCS", "1" if EVENTS >= 100_000_000 else "0") == "1"
COMMAND = ENV.get("BENCH_COMMAND", "bench/analysis_bench.sh")
TOKEN = "bench-token"
PROJECT = "default"
TZ = datetime.timezone(datetime.timedelta(hours=8))  # Asia/Shanghai (no DST)
WINDOW = 7 * 86400

Q1_EVENTS = ["ViewFund", "Search", "BuyFund"]
FUNNEL = ["ViewFund", "AddWatch", "ConfirmOrder", "BuyFund"]
RET_INITIAL, RET_RETURN, RET_PERIODS, RET_COHORTS = "ViewFund", "AppStart", 30, 30

SEXTANT_ORIGIN = SEXTANT
KEY = f"e{EVENTS}-u{USERS}-d{DAYS}-s{SEED}-{START}"
DIR = os.path.join(DATA_ROOT, KEY)
WORK = os.path.join(DIR, "run")


def log(msg):
    print(f"[analysis-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def die(msg):
    log("error: " + msg)
    sys.exit(1)


def day(d):
    return datetime.date.fromisoformat(START) + datetime.timedelta(days=d)


def epoch(date):  # local midnight of a date, epoch seconds
    return int(datetime.datetime(date.year, date.month, date.day, tzinfo=TZ).timestamp())


START_EPOCH = epoch(day(0))
END = day(DAYS - 1)
Q_FROM, Q_TO = END - datetime.timedelta(days=29), END  # events and funnel: the last 30 days
R_FROM = END - datetime.timedelta(days=RET_COHORTS + RET_PERIODS - 1)  # retention cohorts
R_TO = R_FROM + datetime.timedelta(days=RET_COHORTS - 1)



def drop_caches():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")



def proc_read_bytes(pid):
    """Bytes the process made the kernel read from storage (/proc/PID/io read_bytes)."""
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                if line.startswith("read_bytes:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0



def http_post(base, path, body, headers=None, timeout=3600):
    """POST on a fresh connection; returns (status, body text, wall seconds)."""
    u = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    data = body.encode() if isinstance(body, str) else body
    t0 = time.perf_counter()
    conn.request("POST", path, body=data, headers=headers or {})
    res = conn.getresponse()
    text = res.read().decode()
    elapsed = time.perf_counter() - t0
    conn.close()
    return res.status, text, elapsed


def http_get(base, path):
    u = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request("GET", path)
    res = conn.getresponse()
    text = res.read().decode()
    conn.close()
    return res.status, text


# ---- servers ------------------------------------------------------------------------------------

class Sextant:
    def __init__(self, data_dir, durability="strict"):
        self.data_dir, self.durability = data_dir, durability
        self.proc = None
        self.url = None

    def start(self):
        os.makedirs(WORK, exist_ok=True)
        self.log_path = os.path.join(WORK, "sextant-serve.log")
        logf = open(self.log_path, "w")
        t0 = time.time()
        self.proc = subprocess.Popen(
            [SEXTANT, "serve", "--data-dir", self.data_dir, "--listen", "127.0.0.1:0",
             "--admin-token", TOKEN, "--durability", self.durability],
            stdout=logf, stderr=subprocess.STDOUT)
        while time.time() - t0 < 600:
            with open(self.log_path) as f:
                m = re.search(r"listening on (http://[0-9.:]+)", f.read())
            if m:
                self.url = m.group(1)
                break
            if self.proc.poll() is not None:
                die("sextant did not start:\n" + open(self.log_path).read())
            time.sleep(0.05)
        else:
            die("sextant did not start within 600 s")
        self.listen_seconds = time.time() - t0
        return self

    @property
    def pid(self):
        return self.proc.pid

    def metrics(self):
        _, text = http_get(self.url, "/metrics")
        out = {}
        for line in text.splitlines():
            m = re.match(r"^(sextant_[a-z_]+)(\{[^}]*\})?\s+([0-9.eE+-]+)$", line)
            if m:
                out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
        return out

    def stop(self):
        if self.proc and self.proc.poll() is None:
            t0 = time.time()
            self.proc.terminate()
            try:
                self.proc.wait(timeout=900)
            except subprocess.TimeoutExpired:
                log("sextant did not stop in 900 s; killing it")
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            return time.time() - t0
        self.proc = None
        return 0.0

    def query(self, body):
        status, text, secs = http_post(
            self.url, f"/api/v1/projects/{PROJECT}/query", json.dumps(body),
            {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
        return status, text, secs


class ClickHouse:
    """A private clickhouse-server started through bench/clickhouse_env.sh (ch_start/ch_stop)."""

    def __init__(self, ch_dir):
        self.dir = ch_dir
        self.pid = None
        self.url = None

    def start(self):
        t0 = time.time()
        out = subprocess.run(
            ["bash", "-c", f'source "{ROOT}/bench/clickhouse_env.sh" && ch_start "$1" >&2 && '
                           'echo "$CH_PID $CH_HTTP"', "ch", self.dir],
            capture_output=True, text=True)
        if out.returncode != 0:
            die("clickhouse did not start: " + out.stderr[-2000:])
        pid, url = out.stdout.split()
        self.pid, self.url = int(pid), url
        with open(os.path.join(self.dir, "config.xml")) as f:
            self.tcp_port = re.search(r"<tcp_port>(\d+)</tcp_port>", f.read()).group(1)
        self.ready_seconds = time.time() - t0
        return self

    def stop(self):
        if not self.pid:
            return
        t0 = time.time()
        try:
            os.kill(self.pid, 15)
        except ProcessLookupError:
            self.pid = None
            return
        # The server was started by a bash that has exited, so it is not our child: watch /proc
        # (a zombie waiting for its new parent counts as gone).
        while time.time() - t0 < 120 and alive(self.pid):
            time.sleep(0.2)
        if alive(self.pid):
            os.kill(self.pid, 9)
        self.pid = None

    def query(self, sql, query_id=None):
        params = {"log_queries": "1"} if query_id else {}
        if query_id:
            params["query_id"] = query_id
        path = "/?" + urllib.parse.urlencode(params) if params else "/"
        status, text, secs = http_post(self.url, path, sql)
        return status, text, secs

    def q(self, sql):
        status, text, _ = self.query(sql)
        if status != 200:
            die(f"clickhouse: {sql[:200]}: {text[:500]}")
        return text


# ---- data ---------------------------------------------------------------------------------------

def ensure_dataset():
    tsv = os.path.join(DIR, "events.tsv")
    meta_path = os.path.join(DIR, "dataset.json")
    meta = read_json(meta_path)
    if meta and os.path.exists(tsv) and os.path.getsize(tsv) == meta.get("bytes"):
        log(f"dataset: reusing {tsv} ({meta['bytes']:,} bytes)")
        return tsv, meta
    os.makedirs(DIR, exist_ok=True)
    free = shutil.disk_usage(DIR).free
    # Measured at 100 M events: the TSV 31 B/event, ClickHouse 4.9 B/event (twice that while
    # OPTIMIZE rewrites its parts), Sextant 3.7 B/event plus its WAL while loading; 60 leaves
    # room for both stores' temporary files.
    need = EVENTS * 60
    if free < need:
        die(f"not enough disk under {DIR}: {free:,} bytes free, want ~{need:,}")
    log(f"dataset: generating {EVENTS:,} events, {USERS:,} users, {DAYS} days from {START}")
    t0 = time.time()
    subprocess.run([os.path.join(TOOLS, "analysis_gen"), "--events", str(EVENTS), "--users",
                    str(USERS), "--days", str(DAYS), "--start-epoch", str(START_EPOCH), "--seed",
                    str(SEED), "--out", tsv + ".tmp", "--stats", os.path.join(DIR, "gen-stats.json")],
                   check=True)
    os.replace(tsv + ".tmp", tsv)
    meta = {"seconds": round(time.time() - t0, 1), "bytes": os.path.getsize(tsv),
            "generated_at": time.strftime("%Y-%m-%d %H:%M:%S"),
            "stats": read_json(os.path.join(DIR, "gen-stats.json"))}
    write_json(meta_path, meta)
    log(f"dataset: {meta['bytes']:,} bytes in {meta['seconds']} s")
    return tsv, meta


def ensure_sextant(tsv):
    data_dir = os.path.join(DIR, "sextant")
    meta_path = os.path.join(DIR, "sextant-load.json")
    meta = read_json(meta_path)
    if meta and meta.get("stored") == EVENTS and RELOAD not in ("sextant", "all"):
        log(f"sextant: reusing {data_dir} (loaded {meta['loaded_at']})")
        return data_dir, meta
    shutil.rmtree(data_dir, ignore_errors=True)
    if os.path.exists(meta_path):
        os.remove(meta_path)
    log(f"sextant: loading {EVENTS:,} events (durability relaxed, {CONNECTIONS} connections x {BATCH})")
    sx = Sextant(data_dir, "relaxed").start()
    try:
        out = subprocess.run([os.path.join(TOOLS, "analysis_load"), "--url",
                              f"{sx.url}/api/v1/projects/{PROJECT}/records", "--token", TOKEN,
                              "--input", tsv, "--batch", str(BATCH), "--connections",
                              str(CONNECTIONS)], stdout=subprocess.PIPE, text=True)
        if out.returncode != 0:
            die("sextant load failed: " + out.stdout)
        load = json.loads(out.stdout)
        hwm_load = proc_status(sx.pid, "VmHWM")
    finally:
        stop_s = sx.stop()
    log(f"sextant: {load['accepted']:,} accepted in {load['seconds']:.1f} s "
        f"({load['events_per_s']:,.0f}/s); stop (flush to parts) {stop_s:.1f} s")
    # Verify from a restarted server: every row in parts, none left in heads.
    sx = Sextant(data_dir).start()
    try:
        idle = wait_idle(sx.pid, log)
        m = sx.metrics()
    finally:
        sx.stop()
    stored = int(m.get("sextant_store_rows", -1))
    meta = {"load": load, "stop_seconds": round(stop_s, 1), "restart_idle_seconds": round(idle, 1),
            "stored": stored, "parts": int(m.get("sextant_store_parts", -1)),
            "head_rows": int(m.get("sextant_store_head_rows", -1)),
            "part_bytes": int(m.get("sextant_store_part_bytes", -1)),
            "dir_bytes": du(data_dir), "events_dir_bytes": du(os.path.join(data_dir, "events")),
            "load_peak_rss": hwm_load,
            "loaded_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    if stored != EVENTS:
        die(f"sextant stores {stored:,} rows, expected {EVENTS:,} (metrics: {m})")
    write_json(meta_path, meta)
    log(f"sextant: verified {stored:,} rows in {meta['parts']} parts, {meta['dir_bytes']:,} bytes")
    return data_dir, meta


def ch_table_sql():
    return ("CREATE TABLE bench.events (user_id UInt64, event String, "
            "t DateTime('Asia/Shanghai'), amount Float64, fund_type String) "
            f"ENGINE = MergeTree PARTITION BY toYYYYMM(t) ORDER BY ({CH_ORDER})")


def ch_parts(ch):
    rows = ch.q("SELECT partition, count() FROM system.parts WHERE database = 'bench' "
                "AND table = 'events' AND active GROUP BY partition FORMAT TSV").split("\n")
    return {r.split("\t")[0]: int(r.split("\t")[1]) for r in rows if r}


def ch_optimize(ch):
    """Merges every partition into one part (OPTIMIZE TABLE ... FINAL without PARTITION merges
    only one partition in 18.16). Returns the seconds taken."""
    t0 = time.time()
    for _ in range(3):
        parts = ch_parts(ch)
        to_merge = [p for p, n in parts.items() if n > 1]
        if not to_merge:
            break
        for p in sorted(to_merge):
            ch.q(f"OPTIMIZE TABLE bench.events PARTITION {p} FINAL")
    if any(n > 1 for n in ch_parts(ch).values()):
        log(f"clickhouse: partitions still have several parts: {ch_parts(ch)}")
    return time.time() - t0


def ensure_clickhouse(tsv):
    suffix = "" if CH_ORDER == "event, t" else "-" + re.sub(r"[^a-z0-9]+", "_", CH_ORDER.lower())
    ch_dir = os.path.join(DIR, "clickhouse" + suffix)
    meta_path = os.path.join(DIR, f"clickhouse{suffix}-load.json")
    meta = read_json(meta_path)
    if meta and meta.get("stored") == EVENTS and meta.get("order") == CH_ORDER and \
            RELOAD not in ("clickhouse", "all"):
        log(f"clickhouse: reusing {ch_dir} (loaded {meta['loaded_at']})")
        ch = ClickHouse(ch_dir).start()
        try:
            if any(n > 1 for n in ch_parts(ch).values()):
                log(f"clickhouse: merging partitions {ch_parts(ch)}")
                meta["optimize_seconds"] = round(meta["optimize_seconds"] + ch_optimize(ch), 1)
            meta["parts"], meta["part_bytes"] = (int(x) for x in ch.q(
                "SELECT count(), sum(bytes_on_disk) FROM system.parts "
                "WHERE database = 'bench' AND table = 'events' AND active").split())
        finally:
            ch.stop()
        meta["dir_bytes"] = du(ch_dir)
        write_json(meta_path, meta)
        return ch_dir, meta
    shutil.rmtree(ch_dir, ignore_errors=True)
    if os.path.exists(meta_path):
        os.remove(meta_path)
    ch = ClickHouse(ch_dir).start()
    try:
        ch.q("CREATE DATABASE bench")
        ch.q(ch_table_sql())
        log(f"clickhouse: inserting {EVENTS:,} rows (clickhouse-client, FORMAT TSV)")
        t0 = time.time()
        with open(tsv, "rb") as f:
            subprocess.run(["clickhouse-client", "--host", "127.0.0.1", "--port", ch.tcp_port,
                            "--query", "INSERT INTO bench.events FORMAT TSV"], stdin=f, check=True)
        insert_s = time.time() - t0
        optimize_s = ch_optimize(ch)
        count, users = (int(x) for x in ch.q(
            "SELECT count(), uniqExact(user_id) FROM bench.events").split())
        parts, part_bytes = (int(x) for x in ch.q(
            "SELECT count(), sum(bytes_on_disk) FROM system.parts "
            "WHERE database = 'bench' AND table = 'events' AND active").split())
    finally:
        ch.stop()
    meta = {"insert_seconds": round(insert_s, 1), "optimize_seconds": round(optimize_s, 1),
            "rows_per_s": round(EVENTS / insert_s), "stored": count, "users": users,
            "parts": parts, "part_bytes": part_bytes, "dir_bytes": du(ch_dir), "order": CH_ORDER,
            "loaded_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    if count != EVENTS:
        die(f"clickhouse stores {count:,} rows, expected {EVENTS:,}")
    write_json(meta_path, meta)
    log(f"clickhouse: {count:,} rows, {users:,} users; insert {insert_s:.1f} s, "
        f"OPTIMIZE FINAL {optimize_s:.1f} s, {part_bytes:,} bytes in {parts} parts")
    return ch_dir, meta


# ---- queries ------------------------------------------------------------------------------------


def in_list(names):
    return "(" + ", ".join(f"'{n}'" for n in names) + ")"


def queries():
    q_from, q_to_excl = ch_time(Q_FROM), ch_time(Q_TO + datetime.timedelta(days=1))
    q_to_last = f"{q_to_excl} - 1"  # to 23:59:59
    events = {
        "name": f"events: count + uniq users by day, {len(Q1_EVENTS)} events, 30 days",
        "sextant": {"type": "events", "from": Q_FROM.isoformat(), "to": Q_TO.isoformat(),
                    "unit": "day",
                    "measures": [{"event": e, "aggregator": a} for e in Q1_EVENTS
                                 for a in ("count", "uniq_users")]},
        "clickhouse": (
            "SELECT toDate(t) AS day, event, count(), uniqExact(user_id) FROM bench.events "
            f"WHERE event IN {in_list(Q1_EVENTS)} AND t >= {q_from} AND t < {q_to_excl} "
            "GROUP BY day, event ORDER BY day, event FORMAT TSV"),
    }
    conds = [f"event = '{FUNNEL[0]}' AND t <= {q_to_last}"] + [f"event = '{e}'" for e in FUNNEL[1:]]
    funnel = {
        "name": "funnel: 4 steps, 7-day window, 30 days",
        "sextant": {"type": "funnel", "from": Q_FROM.isoformat(), "to": Q_TO.isoformat(),
                    "window_seconds": WINDOW, "steps": [{"event": e} for e in FUNNEL]},
        "clickhouse": (
            "SELECT level, count() FROM (SELECT user_id, "
            f"windowFunnel({WINDOW})(t, {', '.join(conds)}) AS level FROM bench.events "
            f"WHERE event IN {in_list(FUNNEL)} AND t >= {q_from} AND t <= {q_to_last} + {WINDOW} "
            "GROUP BY user_id) WHERE level > 0 GROUP BY level ORDER BY level FORMAT TSV"),
    }
    # Retention cells follow ClickHouse's retention(initial on c, return on c+1, ..., c+N):
    # retained[0] is the cohort size, retained[k] the cohort users with a return event on day
    # c + k (k = 1..N) — Sextant's definition too. In one ClickHouse pass: per user, the cohort days (initial event) as an array and
    # the return days as a bit mask (day offsets from the first cohort day, < 64), then ARRAY JOIN
    # over the cohort days. (18.16 cannot capture a column in a lambda under ARRAY JOIN, hence the
    # unrolled bit tests; retention() needs one query per cohort — see RETENTION_PER_COHORT.)
    r_from, r_ret_excl = ch_time(R_FROM), ch_time(R_TO + datetime.timedelta(days=RET_PERIODS + 1))
    r_init_excl = ch_time(R_TO + datetime.timedelta(days=1))
    off = f"toUInt8(toDate(t) - toDate('{R_FROM.isoformat()}'))"
    bits = ", ".join(f"sum(bitAnd(bitShiftRight(ret, d + {k}), 1))" for k in range(1, RET_PERIODS + 1))
    retention = {
        "name": f"retention: {RET_COHORTS} daily cohorts x {RET_PERIODS} days",
        "sextant": {"type": "retention", "from": R_FROM.isoformat(), "to": R_TO.isoformat(),
                    "unit": "day", "periods": RET_PERIODS, "initial": {"event": RET_INITIAL},
                    "return": {"event": RET_RETURN}, "first_time": False},
        "clickhouse": (
            f"SELECT d, count(), {bits} FROM (SELECT user_id, "
            f"groupUniqArrayIf({off}, event = '{RET_INITIAL}' AND t < {r_init_excl}) AS init, "
            f"groupBitOrIf(bitShiftLeft(toUInt64(1), {off}), event = '{RET_RETURN}') AS ret "
            f"FROM bench.events WHERE event IN {in_list(sorted({RET_INITIAL, RET_RETURN}))} "
            f"AND t >= {r_from} AND t < {r_ret_excl} GROUP BY user_id HAVING notEmpty(init)) "
            "ARRAY JOIN init AS d GROUP BY d ORDER BY d FORMAT TSV"),
    }
    return {"events": events, "funnel": funnel, "retention": retention}


def retention_per_cohort_sql():
    """The textbook formulation: retention() per cohort, one query per cohort day."""
    out = []
    for c in range(RET_COHORTS):
        cd = R_FROM + datetime.timedelta(days=c)
        conds = [f"toDate(t) = toDate('{cd.isoformat()}') AND event = '{RET_INITIAL}'"] + [
            f"toDate(t) = toDate('{(cd + datetime.timedelta(days=k)).isoformat()}') "
            f"AND event = '{RET_RETURN}'" for k in range(1, RET_PERIODS + 1)]
        out.append(
            f"SELECT sumForEach(r) FROM (SELECT user_id, retention({', '.join(conds)}) AS r "
            f"FROM bench.events WHERE event IN {in_list(sorted({RET_INITIAL, RET_RETURN}))} "
            f"AND t >= {ch_time(cd)} AND t < {ch_time(cd + datetime.timedelta(days=RET_PERIODS + 1))} "
            "GROUP BY user_id) FORMAT TSV")
    return out


# canonical answers: {"cells": {key: value}} so that every cell can be compared

def canon_sextant(kind, text):
    a = json.loads(text)
    cells = {}
    if kind == "events":
        cols = a["columns"]
        measures = [(e, g) for e in Q1_EVENTS for g in ("count", "uniq_users")]
        for row in a["rows"]:
            d = str(row[0])[:10]
            for i, (e, g) in enumerate(measures):
                cells[(d, e, g)] = int(row[cols.index(f"m{i}")] if f"m{i}" in cols else row[1 + i])
    elif kind == "funnel":
        for k, s in enumerate(a["steps"]):
            cells[("step", k + 1)] = int(s["users"])
    else:
        for c in a["cohorts"]:
            d = str(c["period"])[:10]
            cells[(d, "users")] = int(c["users"])
            for k, n in enumerate(c["retained"]):
                cells[(d, k)] = int(n)
    return cells


def canon_clickhouse(kind, text):
    cells = {}
    rows = [line.split("\t") for line in text.strip().splitlines() if line]
    if kind == "events":
        for d, e, n, u in rows:
            cells[(d, e, "count")] = int(n)
            cells[(d, e, "uniq_users")] = int(u)
    elif kind == "funnel":
        levels = {int(l): int(n) for l, n in rows}
        for k in range(1, len(FUNNEL) + 1):
            cells[("step", k)] = sum(n for l, n in levels.items() if l >= k)
    else:
        for r in rows:  # d, users, day 1 .. day N
            d = (R_FROM + datetime.timedelta(days=int(r[0]))).isoformat()
            cells[(d, "users")] = cells[(d, 0)] = int(r[1])
            for k, n in enumerate(r[2:], start=1):
                cells[(d, k)] = int(n)
    return cells


def expected_keys(kind):
    keys = set()
    if kind == "events":
        for i in range(30):
            d = (Q_FROM + datetime.timedelta(days=i)).isoformat()
            for e in Q1_EVENTS:
                keys |= {(d, e, "count"), (d, e, "uniq_users")}
    elif kind == "funnel":
        keys = {("step", k) for k in range(1, len(FUNNEL) + 1)}
    else:
        for i in range(RET_COHORTS):
            d = (R_FROM + datetime.timedelta(days=i)).isoformat()
            keys |= {(d, "users")} | {(d, k) for k in range(RET_PERIODS + 1)}
    return keys


def compare(kind, sx, ch):
    """Every cell of the full table (absent = 0 on both sides). Returns (identical, n, diffs)."""
    keys = expected_keys(kind) | set(sx) | set(ch)
    diffs = [(k, sx.get(k, 0), ch.get(k, 0)) for k in sorted(keys, key=str)
             if sx.get(k, 0) != ch.get(k, 0)]
    extra = [k for k in set(sx) - expected_keys(kind)]
    return not diffs and not extra, len(keys), diffs[:20], extra[:10]


# ---- benchmark ----------------------------------------------------------------------------------

def strip_meta(text):
    try:
        a = json.loads(text)
    except ValueError:
        return text
    if isinstance(a, dict):
        a.pop("meta", None)
    return a


def bench_sextant(data_dir, qs):
    res = {"available": False}
    sx = Sextant(data_dir).start()
    try:
        res["listen_seconds"] = round(sx.listen_seconds, 2)
        res["startup_idle_seconds"] = round(wait_idle(sx.pid, log), 1)
        res["rss_before_queries"] = proc_status(sx.pid, "VmRSS")
        res["hwm_before_queries"] = proc_status(sx.pid, "VmHWM")
        status, text, _ = sx.query(qs["events"]["sextant"])
        if status in (404, 405, 501):
            log(f"sextant: no query API ({status}: {text[:200]})")
            return res
        res["available"] = True
        for kind, q in qs.items():
            r = res[kind] = {}
            status, text, secs = sx.query(q["sextant"])  # warm-up
            if status != 200:
                r["error"] = f"HTTP {status}: {text[:300]}"
                log(f"sextant {kind}: {r['error']}")
                continue
            times, cpu, answer = [], 0.0, text
            for _ in range(HOT_RUNS):
                c0 = proc_cpu_seconds(sx.pid)
                status, text, secs = sx.query(q["sextant"])
                cpu += proc_cpu_seconds(sx.pid) - c0
                times.append(secs)
                if strip_meta(text) != strip_meta(answer):
                    log(f"sextant {kind}: answers differ between runs")
            a = json.loads(answer)
            meta = a.get("meta", {})
            r.update(hot=min(times), hot_median=statistics.median(times), hot_all=times,
                     cpu_per_run=cpu / HOT_RUNS, rows_scanned=meta.get("rows_scanned"),
                     rows_in_range=meta.get("rows_in_range"),
                     elapsed_ms=meta.get("elapsed_ms"), answer=answer)
            log(f"sextant {kind}: hot {min(times):.3f} s (runs {', '.join(f'{t:.3f}' for t in times)}), "
                f"cpu {cpu / HOT_RUNS:.3f} s/run, rows_scanned {meta.get('rows_scanned')}")
        res["peak_rss_hot"] = proc_status(sx.pid, "VmHWM")
    finally:
        sx.stop()
    if not COLD:
        return res
    res["peak_rss_cold"] = 0
    for kind, q in qs.items():
        if "hot" not in res.get(kind, {}):
            continue
        drop_caches()
        sx = Sextant(data_dir).start()
        try:
            wait_idle(sx.pid, log)
            io0 = proc_read_bytes(sx.pid)
            status, text, secs = sx.query(q["sextant"])
            res[kind]["cold_read_bytes"] = proc_read_bytes(sx.pid) - io0
            res[kind]["cold"] = secs if status == 200 else None
            res[kind]["cold_same_answer"] = strip_meta(text) == strip_meta(res[kind]["answer"])
            res["peak_rss_cold"] = max(res["peak_rss_cold"], proc_status(sx.pid, "VmHWM"))
            log(f"sextant {kind}: cold {secs:.3f} s")
        finally:
            sx.stop()
    return res


def bench_clickhouse(ch_dir, qs):
    res = {}
    ch = ClickHouse(ch_dir).start()
    ids = []
    try:
        wait_idle(ch.pid, log)
        for kind, q in qs.items():
            r = res[kind] = {}
            status, answer, _ = ch.query(q["clickhouse"])  # warm-up
            if status != 200:
                die(f"clickhouse {kind}: {answer[:500]}")
            times, cpu = [], 0.0
            for i in range(HOT_RUNS):
                qid = f"{kind}-hot-{i}-{int(time.time())}"
                ids.append((kind, qid))
                c0 = proc_cpu_seconds(ch.pid)
                status, text, secs = ch.query(q["clickhouse"], qid)
                cpu += proc_cpu_seconds(ch.pid) - c0
                times.append(secs)
            r.update(hot=min(times), hot_median=statistics.median(times), hot_all=times,
                     cpu_per_run=cpu / HOT_RUNS, answer=answer)
            log(f"clickhouse {kind}: hot {min(times):.3f} s (runs {', '.join(f'{t:.3f}' for t in times)})")
        if ENV.get("RETENTION_PER_COHORT", "1") == "1":
            sqls = retention_per_cohort_sql()
            best, rows = None, []
            for _ in range(2):
                total, rows = 0.0, []
                for sql in sqls:
                    status, text, secs = ch.query(sql)
                    if status != 200:
                        die("clickhouse retention(): " + text[:500])
                    total += secs
                    rows.append(text.strip().strip("[]").split(","))
                best = total if best is None else min(best, total)
            res["retention_per_cohort_hot"] = best
            # Same cells as the single-pass query? (retention() gives [users, day 1, ..., day 30].)
            single = canon_clickhouse("retention", res["retention"]["answer"])
            per = {}
            for c, r in enumerate(rows):
                d = (R_FROM + datetime.timedelta(days=c)).isoformat()
                per[(d, "users")] = int(r[0])
                for k, n in enumerate(r):
                    per[(d, k)] = int(n)
            res["retention_per_cohort_same"] = compare("retention", per, single)[0]
            log(f"clickhouse retention() per cohort, {len(sqls)} queries: hot {best:.3f} s")
        ch.q("SYSTEM FLUSH LOGS")
        for kind, qid in ids:
            row = ch.q(f"SELECT read_rows, memory_usage FROM system.query_log WHERE query_id = '{qid}' "
                       "AND type = 2 FORMAT TSV").split()
            if row:
                res[kind]["read_rows"] = int(row[0])
                res[kind]["memory_usage"] = max(res[kind].get("memory_usage", 0), int(row[1]))
        res["peak_rss_hot"] = proc_status(ch.pid, "VmHWM")
    finally:
        ch.stop()
    if not COLD:
        return res
    for kind, q in qs.items():
        drop_caches()
        ch = ClickHouse(ch_dir).start()
        try:
            wait_idle(ch.pid, log)
            io0 = proc_read_bytes(ch.pid)
            status, text, secs = ch.query(q["clickhouse"])
            res[kind]["cold_read_bytes"] = proc_read_bytes(ch.pid) - io0
            res[kind]["cold"] = secs if status == 200 else None
            res[kind]["cold_same_answer"] = text == res[kind]["answer"]
            log(f"clickhouse {kind}: cold {secs:.3f} s")
        finally:
            ch.stop()
    return res


# ---- report -------------------------------------------------------------------------------------

def fmt_s(x):
    return "–" if x is None else f"{x:.3f}"


def fmt_bytes(n):
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def reference_check(tsv, sx, ch):
    """Small data sets: both systems' answers against bench/analysis/reference.py."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import reference
    t0 = time.time()
    ref = reference.answers(tsv, {
        "q_from": Q_FROM, "q_to": Q_TO, "events": Q1_EVENTS, "funnel": FUNNEL, "window": WINDOW,
        "r_from": R_FROM, "r_to": R_TO, "periods": RET_PERIODS, "initial": RET_INITIAL,
        "return": RET_RETURN})
    out = []
    for name, res, canon in (("ClickHouse", ch, canon_clickhouse), ("Sextant", sx, canon_sextant)):
        for kind in ref:
            a = (res or {}).get(kind, {}).get("answer")
            if not a:
                continue
            try:
                same, n, diffs, extra = compare(kind, canon(kind, a), ref[kind])
            except (KeyError, ValueError, TypeError, IndexError) as e:
                same, n, diffs, extra = False, 0, [], [str(e)]
            out.append(f"{name} {kind}: " + ("matches" if same else
                       f"DIFFERS ({diffs[:5]}{' extra ' + str(extra) if extra else ''})"))
    log(f"reference check ({time.time() - t0:.1f} s): " + "; ".join(out))
    return out


def report(dataset, sx_load, ch_load, qs, sx, ch, load_avg0, ref_check=None):
    lines = []
    P = lines.append
    P(f"Data: {EVENTS:,} events, {USERS:,} users, {DAYS} days from {START} (Asia/Shanghai), "
      f"seed {SEED}; {len(dataset['stats']['per_event']) if dataset.get('stats') else '?'} event names. "
      f"Queries: events and funnel over {Q_FROM} – {Q_TO}; retention cohorts {R_FROM} – {R_TO}, "
      f"returns through {R_TO + datetime.timedelta(days=RET_PERIODS)}.")
    P("")
    P("| query | Sextant hot s | Sextant cold s | ClickHouse hot s | ClickHouse cold s | "
      "ratio hot (Sextant / CH) | ratio cold | results identical | events in range | "
      "Sextant rows walked | Sextant events/s (hot) | Sextant events per CPU-s |")
    P("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    verdicts = {}
    for kind, q in qs.items():
        s, c = sx.get(kind, {}) if sx else {}, ch.get(kind, {}) if ch else {}
        ratio_hot = s["hot"] / c["hot"] if s.get("hot") and c.get("hot") else None
        ratio_cold = s["cold"] / c["cold"] if s.get("cold") and c.get("cold") else None
        ident = "–"
        if s.get("answer") and c.get("answer"):
            try:
                same, n, diffs, extra = compare(kind, canon_sextant(kind, s["answer"]),
                                                canon_clickhouse(kind, c["answer"]))
                ident = f"yes ({n} cells)" if same else f"**no** ({len(diffs)}+ of {n} cells differ)"
                verdicts[kind] = (same, n, diffs, extra)
            except (KeyError, ValueError, TypeError, IndexError) as e:
                ident = f"**no** (answer not readable: {e})"
                verdicts[kind] = (False, 0, [], [str(e)])
        # Throughput is over the events in the query's range (what ClickHouse's engine would
        # have to consider), whatever the engine skipped; the rows walked are shown beside it.
        rows = s.get("rows_in_range") or s.get("rows_scanned")
        walked = s.get("rows_scanned")
        eps = f"{rows / s['hot'] / 1e6:,.0f} M" if rows and s.get("hot") else "–"
        epc = f"{rows / s['cpu_per_run'] / 1e6:,.0f} M" if rows and s.get("cpu_per_run") else "–"
        P(f"| {q['name']} | {fmt_s(s.get('hot'))} | {fmt_s(s.get('cold'))} | {fmt_s(c.get('hot'))} | "
          f"{fmt_s(c.get('cold'))} | {'–' if ratio_hot is None else f'{ratio_hot:.2f}×'} | "
          f"{'–' if ratio_cold is None else f'{ratio_cold:.2f}×'} | {ident} | "
          f"{'–' if rows is None else f'{rows:,}'} | {'–' if walked is None else f'{walked:,}'} | "
          f"{eps} | {epc} |")
    P("")
    if sx and sx.get("available") is False:
        P("Sextant: the query API did not answer (`POST /api/v1/projects/default/query`), so only "
          "ClickHouse was measured.")
        P("")
    targets = []
    for kind, limit in (("events", 0.5), ("funnel", 0.3), ("retention", 0.5)):
        s, c = (sx or {}).get(kind, {}), (ch or {}).get(kind, {})
        if s.get("hot") and c.get("hot"):
            r = s["hot"] / c["hot"]
            targets.append(f"{kind} ≤ {limit}× ClickHouse (hot): {r:.2f}× — "
                           f"{'met' if r <= limit else 'not met'}")
            if s.get("cold") and c.get("cold"):
                rc = s["cold"] / c["cold"]
                targets[-1] += f"; cold {rc:.2f}× — {'met' if rc <= limit else 'not met'}"
    f = (sx or {}).get("funnel", {})
    f_rows = f.get("rows_in_range") or f.get("rows_scanned")
    if f_rows and f.get("cpu_per_run"):
        v = f_rows / f["cpu_per_run"]
        targets.append(f"funnel ≥ 250 M events/s per core: {v / 1e6:,.0f} M events per CPU-second "
                       f"({f_rows / f['hot'] / 1e6:,.0f} M/s wall) — "
                       f"{'met' if v >= 250e6 else 'not met'}")
    if verdicts:
        ok = all(v[0] for v in verdicts.values())
        targets.append(f"results identical: {'yes, every cell of all three' if ok else 'no'}")
    if targets:
        P("Targets (issue): " + "; ".join(targets) + ".")
        P("")
    for kind, (same, n, diffs, extra) in verdicts.items():
        if not same:
            P(f"- {kind}: first differing cells (key, Sextant, ClickHouse): "
              + ", ".join(f"{k}: {a} vs {b}" for k, a, b in diffs[:8])
              + (f"; cells only Sextant has: {extra}" if extra else ""))
    if ref_check:
        P("- Plain-Python reference answers computed from the TSV (bench/analysis/reference.py): "
          + "; ".join(ref_check) + ".")
    if sx and sx.get("available"):
        P(f"- Sextant server peak RSS (VmHWM): {fmt_bytes(sx.get('peak_rss_hot', 0))} after start + "
          f"hot runs (RSS {fmt_bytes(sx.get('rss_before_queries', 0))} before the first query); "
          f"cold runs (fresh server each): {fmt_bytes(sx.get('peak_rss_cold', 0))}. Started in "
          f"{sx.get('listen_seconds')} s (listening), idle after {sx.get('startup_idle_seconds')} s.")
    if COLD and sx and ch:
        P("- Read from storage during the cold run (server's /proc/PID/io read_bytes): " + ", ".join(
            f"{k} Sextant {fmt_bytes(sx.get(k, {}).get('cold_read_bytes', 0))} / ClickHouse "
            f"{fmt_bytes(ch.get(k, {}).get('cold_read_bytes', 0))}" for k in qs) + ".")
    if ch:
        mem = ", ".join(f"{k} {fmt_bytes(ch[k]['memory_usage'])}" for k in qs if ch[k].get("memory_usage"))
        rr = ", ".join(f"{k} {ch[k]['read_rows']:,}" for k in qs if ch[k].get("read_rows"))
        P(f"- ClickHouse server peak RSS (VmHWM) after hot runs: {fmt_bytes(ch.get('peak_rss_hot', 0))}; "
          f"query memory (query_log): {mem}; rows read after index analysis: {rr}; server CPU per "
          "hot run: " + ", ".join(f"{k} {ch[k]['cpu_per_run']:.2f} s" for k in qs if 'cpu_per_run' in ch[k])
          + (" (Sextant: " + ", ".join(f"{k} {sx[k]['cpu_per_run']:.2f} s" for k in qs
                                        if 'cpu_per_run' in sx.get(k, {})) + ")."
             if sx and sx.get("available") else "."))
        if ch.get("retention_per_cohort_hot"):
            P(f"- ClickHouse retention written the textbook way — `retention()` over 31 conditions, "
              f"one query per cohort day, {RET_COHORTS} queries — takes "
              f"{ch['retention_per_cohort_hot']:.3f} s hot in total (vs {ch['retention']['hot']:.3f} s "
              "for the single-pass query used in the table); same cells: "
              f"{'yes' if ch.get('retention_per_cohort_same') else 'NO'}.")
    P("")
    P("Load and size:")
    P("")
    P("| what | time | rate | on disk |")
    P("|---|---:|---:|---:|")
    P(f"| generate TSV (`analysis_gen`) | {dataset['seconds']:.0f} s | "
      f"{EVENTS / max(dataset['seconds'], 1e-9) / 1e6:.1f} M events/s | {fmt_bytes(dataset['bytes'])} TSV |")
    if sx_load:
        ld = sx_load["load"]
        P(f"| Sextant: native API, `--durability relaxed`, {ld['connections']} connections × "
          f"{ld['batch']} records | {ld['seconds']:.0f} s (+ {sx_load['stop_seconds']:.0f} s stop/flush) | "
          f"{ld['events_per_s'] / 1e3:,.0f} K events/s | {fmt_bytes(sx_load['dir_bytes'])} data dir "
          f"({sx_load['dir_bytes'] / EVENTS:.1f} B/event; event parts {fmt_bytes(sx_load['part_bytes'])}, "
          f"{sx_load['parts']} parts) |")
    if ch_load:
        P(f"| ClickHouse: `clickhouse-client` INSERT FORMAT TSV + OPTIMIZE FINAL | "
          f"{ch_load['insert_seconds']:.0f} s + {ch_load['optimize_seconds']:.0f} s | "
          f"{ch_load['rows_per_s'] / 1e3:,.0f} K rows/s | {fmt_bytes(ch_load['part_bytes'])} parts "
          f"({ch_load['part_bytes'] / EVENTS:.1f} B/event, active parts after the merge) |")
    P("")
    P(f"Machine: {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
      f"{os.uname().release}; load average at start {load_avg0}, at end "
      f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (the machine is shared with other jobs). "
      f"Sextant: {SEXTANT_ORIGIN}. Data loaded: Sextant {sx_load.get('loaded_at') if sx_load else '–'}, "
      f"ClickHouse {ch_load.get('loaded_at') if ch_load else '–'}; run {time.strftime('%Y-%m-%d %H:%M')}.")
    return "\n".join(lines)


def write_docs(section, qs):
    doc = os.path.join(ROOT, "docs/benchmarks.md")
    begin, end = "<!-- analysis-bench -->", "<!-- /analysis-bench -->"
    text = open(doc).read()
    if begin not in text:
        text += "\n## Analysis queries\n\n" + begin + "\n" + end + "\n"
    pre, rest = text.split(begin, 1)
    _, post = rest.split(end, 1)
    sql = "\n".join(f"-- {q['name']}\n{q['clickhouse']}" for q in qs.values())
    body = (f"Command: `{COMMAND}` (same machine, same run; release build).\n\n{section}\n\n"
            "<details><summary>Queries as sent</summary>\n\n```json\n"
            + "\n".join(json.dumps(q["sextant"]) for q in qs.values())
            + "\n```\n\n```sql\n" + sql + f"\n```\n\nClickHouse table: `{ch_table_sql()}`\n\n</details>\n")
    open(doc, "w").write(pre + begin + "\n" + body + end + post)
    log("wrote docs/benchmarks.md")


def main():
    if DAYS < RET_COHORTS + RET_PERIODS:
        die(f"DAYS must be at least {RET_COHORTS + RET_PERIODS} (retention needs that many days)")
    global SEXTANT
    load_avg0 = " ".join(f"{x:.2f}" for x in os.getloadavg())
    os.makedirs(WORK, exist_ok=True)
    if "sextant" in SYSTEMS:
        # Run a private copy, so that a rebuild during the run cannot swap the binary.
        global SEXTANT_ORIGIN
        SEXTANT_ORIGIN = f"{SEXTANT} (built {time.strftime('%Y-%m-%d %H:%M', time.localtime(os.path.getmtime(SEXTANT)))})"
        shutil.copy2(SEXTANT, os.path.join(WORK, "sextant"))
        SEXTANT = os.path.join(WORK, "sextant")
    tsv, dataset = ensure_dataset()
    sx_dir = sx_load = ch_dir = ch_load = None
    if "sextant" in SYSTEMS:
        sx_dir, sx_load = ensure_sextant(tsv)
    if "clickhouse" in SYSTEMS:
        ch_dir, ch_load = ensure_clickhouse(tsv)
    qs = queries()
    with open(os.path.join(WORK, "queries.json"), "w") as f:
        json.dump(qs, f, indent=1)
    sx = bench_sextant(sx_dir, qs) if sx_dir else None
    ch = bench_clickhouse(ch_dir, qs) if ch_dir else None
    write_json(os.path.join(WORK, "results.json"), {"sextant": sx, "clickhouse": ch})
    ref_check = None
    if EVENTS <= env_int("REFERENCE_MAX_EVENTS", 3_000_000):
        ref_check = reference_check(tsv, sx, ch)
    section = report(dataset, sx_load, ch_load, qs, sx, ch, load_avg0, ref_check)
    print(section)
    if DOCS:
        write_docs(section, qs)


if __name__ == "__main__":
    main()
