#!/usr/bin/env python3
"""Tags & segments benchmark driver (run by bench/segment_bench.sh; see its header for the knobs).

On one generated data set (events + one profile per user), loaded into Sextant and into
ClickHouse 18.16 on the same machine:
  (i)   full recompute (POST /segments/{id}/refresh) of the 50 segments of definitions.json;
  (ii)  set algebra between materialised segments (POST /segments/estimate, segment leaves);
  (iii) ingest-ack → membership latency of a realtime segment (one BuyFund per sample, then
        polling GET /users/{distinct_id}/segments);
  (iv)  computation of the 20 tags (POST /tags/{id}/run);
  (v)   behaviour segments as ClickHouse queries on the same data (absolute date windows): sizes
        compared ("same" / "DIFFERENT") and the time ratio Sextant / ClickHouse;
plus the sextant server's peak RSS. Every run works on a fresh copy of the loaded Sextant store
(so segments, tags and the latency test's extra events never leak into the next run).
"""
import datetime
import http.client
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from bench_lib import alive, ch_time, du, proc_cpu_seconds, proc_status, read_json, wait_idle, write_json  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ENV = os.environ
TZ = datetime.timezone(datetime.timedelta(hours=8))  # Asia/Shanghai (no DST), the project zone


def env_int(name, default):
    return int(ENV.get(name, default))


EVENTS = env_int("EVENTS", 100_000_000)
USERS = env_int("USERS", 10_000_000)
DAYS = env_int("DAYS", 90)
SEED = env_int("SEED", 42)
TODAY = datetime.datetime.now(TZ).date()
START = ENV.get("START") or (TODAY - datetime.timedelta(days=DAYS - 1)).isoformat()
RUNS = env_int("RUNS", 3)                    # refreshes per segment / runs per tag
ESTIMATE_RUNS = env_int("ESTIMATE_RUNS", 20)  # per set-algebra rule
LATENCY_SAMPLES = env_int("LATENCY_SAMPLES", 250)
LATENCY_TIMEOUT = float(ENV.get("LATENCY_TIMEOUT", "5"))
LATENCY_MAX_TIMEOUTS = env_int("LATENCY_MAX_TIMEOUTS", 10)  # stop the test after this many
HOT_RUNS = env_int("HOT_RUNS", 3)            # ClickHouse comparison: best of
DATA_ROOT = ENV.get("DATA_ROOT", "/work/bench-data/segments")
RELOAD = ENV.get("RELOAD", "")  # "", "sextant", "clickhouse", "all"
SYSTEMS = ENV.get("SYSTEMS", "sextant,clickhouse").split(",")
CONNECTIONS = env_int("CONNECTIONS", 8)
BATCH = env_int("BATCH", 2000)
SEXTANT = ENV.get("SEXTANT", os.path.join(ROOT, "build-segbench/src/cli/sextant"))
TOOLS = ENV.get("TOOLS", os.path.join(DATA_ROOT, "build-tools"))
DEFINITIONS = ENV.get("DEFINITIONS", os.path.join(HERE, "definitions.json"))
DOCS = ENV.get("DOCS", "1" if EVENTS >= 100_000_000 else "0") == "1"
KEEP_WORK = ENV.get("KEEP_WORK", "0") == "1"
COMMAND = ENV.get("BENCH_COMMAND", "bench/segment_bench.sh")
TOKEN = "bench-token"
PROJECT = "default"
API = f"/api/v1/projects/{PROJECT}"
TIER1 = ["Beijing", "Shanghai", "Guangzhou", "Shenzhen"]

SEXTANT_ORIGIN = SEXTANT
KEY = f"e{EVENTS}-u{USERS}-d{DAYS}-s{SEED}-{START}"
DIR = os.path.join(DATA_ROOT, KEY)
WORK = os.path.join(DIR, "run")


def log(msg):
    print(f"[segment-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def die(msg):
    log("error: " + msg)
    sys.exit(1)


def day(d):
    return datetime.date.fromisoformat(START) + datetime.timedelta(days=d)


def epoch(date):  # local midnight of a date, epoch seconds
    return int(datetime.datetime(date.year, date.month, date.day, tzinfo=TZ).timestamp())


START_EPOCH = epoch(day(0))
END = day(DAYS - 1)



def pct(values, p):
    """Nearest-rank percentile."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def fmt_bytes(n):
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


class Conn:
    """One keep-alive HTTP/1.1 connection (reopened after an error). Wall times are measured
    around request + complete answer."""

    def __init__(self, base, token=None, timeout=3600):
        u = urllib.parse.urlparse(base)
        self.host, self.port, self.timeout = u.hostname, u.port, timeout
        self.headers = {"Authorization": "Bearer " + token} if token else {}
        self.conn = None

    def request(self, method, path, body=None, content_type="application/json"):
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if isinstance(data, str):
                data = data.encode()
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = content_type
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                self.conn.connect()
                self.conn.sock.setsockopt(6, 1, 1)  # TCP_NODELAY
            try:
                t0 = time.perf_counter()
                self.conn.request(method, path, body=data, headers=headers)
                res = self.conn.getresponse()
                text = res.read().decode()
                wall = time.perf_counter() - t0
                if res.getheader("Connection", "").lower() == "close":
                    self.close()
                return res.status, text, wall
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt:
                    raise
        raise RuntimeError("unreachable")

    def json(self, method, path, body=None):
        status, text, wall = self.request(method, path, body)
        try:
            obj = json.loads(text) if text else None
        except ValueError:
            obj = None
        return status, obj, text, wall

    def close(self):
        if self.conn:
            self.conn.close()
        self.conn = None


# ---- servers ------------------------------------------------------------------------------------

class Sextant:
    def __init__(self, data_dir, durability="strict"):
        self.data_dir, self.durability = data_dir, durability
        self.proc = None
        self.url = None

    def start(self):
        os.makedirs(WORK, exist_ok=True)
        self.log_path = os.path.join(WORK, "sextant-serve.log")
        logf = open(self.log_path, "a")
        start_at = logf.tell()
        t0 = time.time()
        self.proc = subprocess.Popen(
            [SEXTANT, "serve", "--data-dir", self.data_dir, "--listen", "127.0.0.1:0",
             "--admin-token", TOKEN, "--durability", self.durability],
            stdout=logf, stderr=subprocess.STDOUT)
        while time.time() - t0 < 900:
            with open(self.log_path) as f:
                f.seek(start_at)
                m = re.search(r"listening on (http://[0-9.:]+)", f.read())
            if m:
                self.url = m.group(1)
                break
            if self.proc.poll() is not None:
                with open(self.log_path) as f:
                    f.seek(start_at)
                    die("sextant did not start:\n" + f.read()[-3000:])
            time.sleep(0.05)
        else:
            die("sextant did not start within 900 s")
        self.listen_seconds = time.time() - t0
        return self

    @property
    def pid(self):
        return self.proc.pid

    def crashed(self):
        return self.proc is not None and self.proc.poll() is not None

    def log_tail(self, n=3000):
        with open(self.log_path) as f:
            return f.read()[-n:]

    def metrics(self):
        status, text, _ = Conn(self.url).request("GET", "/metrics")
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


class ClickHouse:
    """A private clickhouse-server started through bench/clickhouse_env.sh (ch_start)."""

    def __init__(self, ch_dir):
        self.dir = ch_dir
        self.pid = None
        self.url = None

    def start(self):
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
        self.conn = Conn(url)
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
        while time.time() - t0 < 120 and alive(self.pid):
            time.sleep(0.2)
        if alive(self.pid):
            os.kill(self.pid, 9)
        self.pid = None

    def query(self, sql):
        return self.conn.request("POST", "/", sql, "text/plain")

    def q(self, sql):
        status, text, _ = self.query(sql)
        if status != 200:
            die(f"clickhouse: {sql[:300]}: {text[:500]}")
        return text


# ---- data ---------------------------------------------------------------------------------------

def ensure_dataset():
    tsv = os.path.join(DIR, "events.tsv")
    profiles = os.path.join(DIR, "profiles.tsv")
    meta_path = os.path.join(DIR, "dataset.json")
    meta = read_json(meta_path)
    if meta and os.path.exists(tsv) and os.path.getsize(tsv) == meta.get("bytes") and \
            os.path.exists(profiles) and os.path.getsize(profiles) == meta.get("profile_bytes"):
        log(f"dataset: reusing {DIR} ({meta['bytes']:,} + {meta['profile_bytes']:,} bytes)")
        return tsv, profiles, meta
    os.makedirs(DIR, exist_ok=True)
    free = shutil.disk_usage(DIR).free
    need = EVENTS * 110 + USERS * 400
    if free < need:
        die(f"not enough disk under {DIR}: {free:,} bytes free, want ~{need:,}")
    log(f"dataset: generating {EVENTS:,} events, {USERS:,} users, {DAYS} days from {START}")
    t0 = time.time()
    subprocess.run([os.path.join(TOOLS, "segment_gen"), "--events", str(EVENTS), "--users",
                    str(USERS), "--days", str(DAYS), "--start-epoch", str(START_EPOCH), "--seed",
                    str(SEED), "--out", tsv + ".tmp", "--profiles", profiles + ".tmp",
                    "--stats", os.path.join(DIR, "gen-stats.json")], check=True)
    os.replace(tsv + ".tmp", tsv)
    os.replace(profiles + ".tmp", profiles)
    meta = {"seconds": round(time.time() - t0, 1), "bytes": os.path.getsize(tsv),
            "profile_bytes": os.path.getsize(profiles),
            "generated_at": time.strftime("%Y-%m-%d %H:%M:%S"),
            "stats": read_json(os.path.join(DIR, "gen-stats.json"))}
    write_json(meta_path, meta)
    log(f"dataset: {meta['bytes']:,} + {meta['profile_bytes']:,} bytes in {meta['seconds']} s")
    return tsv, profiles, meta


def run_loader(sx, path, kind):
    out = subprocess.run([os.path.join(TOOLS, "segment_load"), "--url",
                          f"{sx.url}{API}/records", "--token", TOKEN, "--input", path,
                          "--kind", kind, "--batch", str(BATCH), "--connections",
                          str(CONNECTIONS)], stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        die(f"sextant {kind} load failed: {out.stdout}")
    return json.loads(out.stdout)


def ensure_sextant(tsv, profiles):
    data_dir = os.path.join(DIR, "sextant")
    meta_path = os.path.join(DIR, "sextant-load.json")
    meta = read_json(meta_path)
    if meta and meta.get("stored") == EVENTS and RELOAD not in ("sextant", "all"):
        log(f"sextant: reusing {data_dir} (loaded {meta['loaded_at']})")
        return data_dir, meta
    shutil.rmtree(data_dir, ignore_errors=True)
    if os.path.exists(meta_path):
        os.remove(meta_path)
    log(f"sextant: loading {EVENTS:,} events + {USERS:,} profiles (durability relaxed, "
        f"{CONNECTIONS} connections x {BATCH})")
    sx = Sextant(data_dir, "relaxed").start()
    try:
        load = run_loader(sx, tsv, "events")
        log(f"sextant: events {load['accepted']:,} in {load['seconds']:.1f} s "
            f"({load['events_per_s']:,.0f}/s)")
        pload = run_loader(sx, profiles, "profiles")
        log(f"sextant: profiles {pload['accepted']:,} in {pload['seconds']:.1f} s "
            f"({pload['events_per_s']:,.0f}/s)")
        hwm_load = proc_status(sx.pid, "VmHWM")
    finally:
        stop_s = sx.stop()
    log(f"sextant: stop (flush to parts) {stop_s:.1f} s")
    sx = Sextant(data_dir).start()
    try:
        idle = wait_idle(sx.pid, log, limit=900)
        m = sx.metrics()
        c = Conn(sx.url, TOKEN)
        st, prof, text, _ = c.json("GET", f"{API}/users/u1")
        if st != 200:
            die(f"sextant: GET {API}/users/u1: {st} {text[:300]}")
        with open(profiles) as f:
            first = f.readline().rstrip("\n").split("\t")
        p = prof.get("profile", {})
        want = {"aum": float(first[1]), "risk_level": first[2], "city": first[3],
                "age": float(first[4]), "is_vip": first[5] == "1"}
        got = {k: (float(p[k]) if k in ("aum", "age") and k in p else p.get(k)) for k in want}
        if got != want:
            die(f"sextant: profile of u1 is {p}, expected {want}")
    finally:
        sx.stop()
    stored = int(m.get("sextant_store_rows", -1))
    meta = {"load": load, "profile_load": pload, "stop_seconds": round(stop_s, 1),
            "restart_idle_seconds": round(idle, 1), "stored": stored,
            "parts": int(m.get("sextant_store_parts", -1)),
            "part_bytes": int(m.get("sextant_store_part_bytes", -1)),
            "state_bytes": int(m.get("sextant_state_bytes", -1)),
            "dir_bytes": du(data_dir), "load_peak_rss": hwm_load,
            "loaded_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    if stored != EVENTS:
        die(f"sextant stores {stored:,} rows, expected {EVENTS:,}")
    write_json(meta_path, meta)
    log(f"sextant: verified {stored:,} rows, profile of u1; {meta['dir_bytes']:,} bytes")
    return data_dir, meta


CH_EVENTS = ("CREATE TABLE bench.events (user_id UInt64, event String, "
             "t DateTime('Asia/Shanghai'), amount Float64, fund_type String) "
             "ENGINE = MergeTree PARTITION BY toYYYYMM(t) ORDER BY (event, t)")
CH_USERS = ("CREATE TABLE bench.users (user_id UInt64, aum Float64, risk_level String, "
            "city String, age Float64, is_vip UInt8) ENGINE = MergeTree ORDER BY user_id")


def ch_optimize(ch, table):
    t0 = time.time()
    for _ in range(3):
        rows = ch.q("SELECT partition, count() FROM system.parts WHERE database = 'bench' "
                    f"AND table = '{table}' AND active GROUP BY partition FORMAT TSV").split("\n")
        parts = {r.split("\t")[0]: int(r.split("\t")[1]) for r in rows if r}
        unmerged = [p for p, n in parts.items() if n > 1]
        if not unmerged:
            break
        for p in sorted(unmerged):
            ch.q(f"OPTIMIZE TABLE bench.{table} PARTITION {p} FINAL" if p != "tuple()"
                 else f"OPTIMIZE TABLE bench.{table} FINAL")
    return time.time() - t0


def ensure_clickhouse(tsv, profiles):
    ch_dir = os.path.join(DIR, "clickhouse")
    meta_path = os.path.join(DIR, "clickhouse-load.json")
    meta = read_json(meta_path)
    if meta and meta.get("stored") == EVENTS and meta.get("users") == USERS and \
            RELOAD not in ("clickhouse", "all"):
        log(f"clickhouse: reusing {ch_dir} (loaded {meta['loaded_at']})")
        return ch_dir, meta
    shutil.rmtree(ch_dir, ignore_errors=True)
    if os.path.exists(meta_path):
        os.remove(meta_path)
    ch = ClickHouse(ch_dir).start()
    try:
        ch.q("CREATE DATABASE bench")
        ch.q(CH_EVENTS)
        ch.q(CH_USERS)
        log(f"clickhouse: inserting {EVENTS:,} events + {USERS:,} users (clickhouse-client, TSV)")
        t0 = time.time()
        for path, table in ((tsv, "events"), (profiles, "users")):
            with open(path, "rb") as f:
                subprocess.run(["clickhouse-client", "--host", "127.0.0.1", "--port", ch.tcp_port,
                                "--query", f"INSERT INTO bench.{table} FORMAT TSV"], stdin=f,
                               check=True)
        insert_s = time.time() - t0
        optimize_s = ch_optimize(ch, "events") + ch_optimize(ch, "users")
        count = int(ch.q("SELECT count() FROM bench.events"))
        users = int(ch.q("SELECT count() FROM bench.users"))
        part_bytes = int(ch.q("SELECT sum(bytes_on_disk) FROM system.parts "
                              "WHERE database = 'bench' AND active"))
    finally:
        ch.stop()
    meta = {"insert_seconds": round(insert_s, 1), "optimize_seconds": round(optimize_s, 1),
            "stored": count, "users": users, "part_bytes": part_bytes, "dir_bytes": du(ch_dir),
            "loaded_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    if count != EVENTS or users != USERS:
        die(f"clickhouse stores {count:,} events / {users:,} users, expected {EVENTS:,} / {USERS:,}")
    write_json(meta_path, meta)
    log(f"clickhouse: insert {insert_s:.1f} s, OPTIMIZE FINAL {optimize_s:.1f} s, "
        f"{part_bytes:,} bytes")
    return ch_dir, meta


# ---- definitions --------------------------------------------------------------------------------

def resolve(obj, ids):
    """'$END' / '$END-N' → dates; {"segment": "@name"} → the id of that segment."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k == "segment" and isinstance(v, str) and v.startswith("@"):
                if v[1:] not in ids:
                    raise KeyError(f"segment {v} not created")
                out[k] = ids[v[1:]]
            else:
                out[k] = resolve(v, ids)
        return out
    if isinstance(obj, list):
        return [resolve(v, ids) for v in obj]
    if isinstance(obj, str):
        m = re.fullmatch(r"\$END(?:-(\d+))?", obj)
        if m:
            return (END - datetime.timedelta(days=int(m.group(1) or 0))).isoformat()
    return obj



def checks():
    """Segments with absolute windows, each as a Sextant rule and ClickHouse SQL that counts the
    same users. The first is measurement (v)."""
    f30, f90, end = END - datetime.timedelta(days=29), END - datetime.timedelta(days=89), END
    lo30, lo90, hi = ch_time(f30), ch_time(f90), ch_time(end + datetime.timedelta(days=1))
    w30 = {"from": f30.isoformat(), "to": end.isoformat()}
    w90 = {"from": f90.isoformat(), "to": end.isoformat()}
    tier1 = ", ".join(f"'{c}'" for c in TIER1)
    return [
        {"name": "≥2 BuyFund with amount > 10000 in 30 days AND aum ≥ 500000",
         "rule": {"all": [{"did": "BuyFund", "where": [{"property": "amount", "op": ">", "value": 10000}],
                           "count": {"op": ">=", "value": 2}, "within": w30},
                          {"profile": "aum", "op": ">=", "value": 500000}]},
         "sql": ("SELECT count() FROM (SELECT user_id FROM bench.events WHERE event = 'BuyFund' "
                 f"AND amount > 10000 AND t >= {lo30} AND t < {hi} GROUP BY user_id "
                 "HAVING count() >= 2) ANY INNER JOIN (SELECT user_id FROM bench.users "
                 "WHERE aum >= 500000) USING user_id FORMAT TSV")},
        {"name": "sum(BuyFund.amount) ≥ 50000 in 30 days AND risk_level in (C4, C5)",
         "rule": {"all": [{"did": "BuyFund", "sum": {"property": "amount", "op": ">=", "value": 50000},
                           "within": w30},
                          {"profile": "risk_level", "op": "in", "value": ["C4", "C5"]}]},
         "sql": ("SELECT count() FROM (SELECT user_id FROM bench.events WHERE event = 'BuyFund' "
                 f"AND t >= {lo30} AND t < {hi} GROUP BY user_id HAVING sum(amount) >= 50000) "
                 "ANY INNER JOIN (SELECT user_id FROM bench.users WHERE risk_level IN ('C4', 'C5')) "
                 "USING user_id FORMAT TSV")},
        {"name": "Deposit in 90 days AND NOT Deposit in the last 30 of them",
         "rule": {"all": [{"did": "Deposit", "within": w90},
                          {"not": {"did": "Deposit", "within": w30}}]},
         "sql": ("SELECT count() FROM (SELECT user_id, countIf(t >= " + lo30 + ") AS c30 "
                 f"FROM bench.events WHERE event = 'Deposit' AND t >= {lo90} AND t < {hi} "
                 "GROUP BY user_id) WHERE c30 = 0 FORMAT TSV")},
        {"name": "NOT AppStart in 30 days (all users minus the active)",
         "rule": {"not": {"did": "AppStart", "within": w30}},
         "sql": (f"SELECT (SELECT count() FROM bench.users) - uniqExact(user_id) FROM bench.events "
                 f"WHERE event = 'AppStart' AND t >= {lo30} AND t < {hi} FORMAT TSV")},
        {"name": "profile only: is_vip AND city in tier-1 AND age between [30, 50]",
         "rule": {"all": [{"profile": "is_vip", "op": "=", "value": True},
                          {"profile": "city", "op": "in", "value": TIER1},
                          {"profile": "age", "op": "between", "value": [30, 50]}]},
         "sql": (f"SELECT count() FROM bench.users WHERE is_vip = 1 AND city IN ({tier1}) "
                 "AND age >= 30 AND age <= 50 FORMAT TSV")},
        {"name": "sequence ViewFund → BuyFund within 1 day, both in 30 days",
         "rule": {"sequence": [{"event": "ViewFund"}, {"event": "BuyFund"}], "window": "1d",
                  "within": w30},
         "sql": ("SELECT count() FROM (SELECT user_id, windowFunnel(86400)(t, event = 'ViewFund', "
                 "event = 'BuyFund') AS level FROM bench.events WHERE event IN ('ViewFund', 'BuyFund') "
                 f"AND t >= {lo30} AND t < {hi} GROUP BY user_id) WHERE level = 2 FORMAT TSV"),
         "note": "windowFunnel: BuyFund at most 86400 s after the ViewFund (inclusive), both inside the range"},
    ]


# ---- benchmark ----------------------------------------------------------------------------------

class ApiMissing(Exception):
    pass


class EngineError(Exception):
    pass


def bench_sextant(src_dir, defs, ch_checks):
    res = {"available": False, "bugs": []}
    work_dir = os.path.join(WORK, "sextant-work")
    shutil.rmtree(work_dir, ignore_errors=True)
    t0 = time.time()
    subprocess.run(["cp", "-a", "--reflink=auto", src_dir, work_dir], check=True)
    res["copy_seconds"] = round(time.time() - t0, 1)
    sx = Sextant(work_dir).start()
    try:
        res["startup_idle_seconds"] = round(wait_idle(sx.pid, log, limit=900), 1)
        res["rss_before"] = proc_status(sx.pid, "VmRSS")
        api = Conn(sx.url, TOKEN)

        def call(method, path, body=None, ok=(200, 201), what=""):
            try:
                status, obj, text, wall = api.json(method, path, body)
            except (ConnectionError, http.client.HTTPException, OSError) as e:
                status, obj, text, wall = -1, None, repr(e), 0
            if sx.crashed():
                bug = {"request": f"{method} {path}", "body": body,
                       "error": "server crashed: exit " + str(sx.proc.returncode),
                       "log": sx.log_tail()}
                res["bugs"].append(bug)
                raise EngineError(bug["error"])
            if status not in ok or obj is None:
                raise EngineError(f"{what} {method} {path} → {status}: {text[:400]}")
            return obj, wall

        # Is the API there?
        status, obj, text, _ = api.json("POST", f"{API}/segments/estimate",
                                        {"rule": {"profile": "aum", "op": ">=", "value": 0}})
        if status in (404, 405, 501):
            log(f"sextant: no segments API yet ({status}: {text[:200]})")
            raise ApiMissing()
        res["available"] = True
        rss = res["rss_phases"] = [("started", proc_status(sx.pid, "VmRSS"))]

        # (iv) tags: create, then run RUNS times.
        tags = res["tags"] = []
        for t in defs["tags"]:
            body = resolve(t, {})
            c0 = time.perf_counter()
            obj, wall = call("POST", f"{API}/tags", body, what=f"tag {t['name']}")
            entry = {"name": t["name"], "kind": t["kind"], "id": obj["id"], "create_wall": wall}
            runs = []
            for _ in range(RUNS):
                r, wall = call("POST", f"{API}/tags/{obj['id']}/run", what=f"tag {t['name']} run")
                runs.append({"elapsed_ms": r.get("elapsed_ms"), "wall": wall,
                             "coverage": r.get("coverage")})
            entry["runs"] = runs
            entry["elapsed_ms"] = statistics.median(x["elapsed_ms"] for x in runs)
            entry["wall"] = statistics.median(x["wall"] for x in runs)
            entry["coverage"] = runs[-1]["coverage"]
            tags.append(entry)
            log(f"tag {t['name']:24s} {t['kind']:10s} run {entry['elapsed_ms']:9.1f} ms "
                f"(wall {entry['wall'] * 1e3:8.1f} ms) coverage {entry['coverage']}")

        rss.append(("after 20 tags", proc_status(sx.pid, "VmRSS")))

        # (i) segments: create (computed at creation), then refresh RUNS times.
        ids = {}
        segs = res["segments"] = []
        for s in defs["segments"]:
            body = {"name": s["name"], "rule": resolve(s["rule"], ids), "realtime": s["realtime"]}
            obj, cwall = call("POST", f"{API}/segments", body, what=f"segment {s['name']}")
            ids[s["name"]] = obj["id"]
            runs = []
            for _ in range(RUNS):
                r, wall = call("POST", f"{API}/segments/{obj['id']}/refresh",
                               what=f"segment {s['name']} refresh")
                runs.append({"elapsed_ms": r.get("elapsed_ms"), "wall": wall, "size": r.get("size"),
                             "entered": r.get("entered"), "exited": r.get("exited")})
                if r.get("size") != obj.get("size") or r.get("entered") or r.get("exited"):
                    log(f"segment {s['name']}: refresh changed it: created size {obj.get('size')}, "
                        f"refresh {r}")
            entry = {"name": s["name"], "kind": s["kind"], "id": obj["id"],
                     "realtime": s["realtime"], "create_wall": cwall, "size": obj.get("size"),
                     "runs": runs,
                     "elapsed_ms": statistics.median(x["elapsed_ms"] for x in runs),
                     "wall": statistics.median(x["wall"] for x in runs)}
            segs.append(entry)
            log(f"segment {s['name']:26s} {s['kind']:9s} size {entry['size']!s:>9} refresh "
                f"{entry['elapsed_ms']:8.1f} ms (wall {entry['wall'] * 1e3:8.1f} ms)")

        rss.append(("after 50 segments", proc_status(sx.pid, "VmRSS")))

        # (ii) set algebra.
        alg = res["algebra"] = []
        for a in defs["algebra"]:
            rule = resolve(a["rule"], ids)
            runs = []
            for _ in range(ESTIMATE_RUNS):
                r, wall = call("POST", f"{API}/segments/estimate", {"rule": rule},
                               what=f"estimate {a['name']}")
                runs.append({"elapsed_ms": r.get("elapsed_ms"), "wall": wall, "size": r.get("size")})
            entry = {"name": a["name"], "rule": rule, "size": runs[-1]["size"],
                     "elapsed_ms": [x["elapsed_ms"] for x in runs], "wall": [x["wall"] for x in runs]}
            alg.append(entry)
            log(f"estimate {a['name']:60s} size {entry['size']!s:>9} p50 "
                f"{statistics.median(entry['elapsed_ms']):.3f} ms (wall "
                f"{statistics.median(entry['wall']) * 1e3:.3f} ms)")

        # (v) ClickHouse comparison rules (absolute windows), as segments refreshed HOT_RUNS times.
        cmp_ = res["checks"] = []
        for i, c in enumerate(ch_checks):
            obj, cwall = call("POST", f"{API}/segments",
                              {"name": f"ch_check_{i + 1}", "rule": c["rule"], "realtime": False},
                              what=f"check {i + 1}")
            runs = []
            for _ in range(HOT_RUNS):
                r, wall = call("POST", f"{API}/segments/{obj['id']}/refresh", what=f"check {i + 1}")
                runs.append({"elapsed_ms": r.get("elapsed_ms"), "wall": wall, "size": r.get("size")})
            est, ewall = call("POST", f"{API}/segments/estimate", {"rule": c["rule"]})
            cmp_.append({"size": obj.get("size"), "refresh_size": runs[-1]["size"],
                         "estimate_size": est.get("size"), "estimate_ms": est.get("elapsed_ms"),
                         "best_wall": min(x["wall"] for x in runs),
                         "best_elapsed_ms": min(x["elapsed_ms"] for x in runs), "runs": runs})
            log(f"check {i + 1}: size {obj.get('size')} refresh best {cmp_[-1]['best_elapsed_ms']} ms "
                f"(wall {cmp_[-1]['best_wall'] * 1e3:.1f} ms)")

        rss.append(("after the ClickHouse-check segments", proc_status(sx.pid, "VmRSS")))

        # (iii) ingest-ack → membership latency.
        res["latency"] = latency_test(sx, api, ids[defs["latency_segment"]],
                                      defs["latency_segment"], res)
        rss.append(("after the latency test", proc_status(sx.pid, "VmRSS")))
        res["peak_rss"] = proc_status(sx.pid, "VmHWM")
        res["rss_end"] = proc_status(sx.pid, "VmRSS")
    except ApiMissing:
        pass
    except EngineError as e:
        res["error"] = str(e)
        log(f"sextant: {e}")
        res["peak_rss"] = proc_status(sx.pid, "VmHWM") if not sx.crashed() else None
    finally:
        sx.stop()
        if not KEEP_WORK:
            shutil.rmtree(work_dir, ignore_errors=True)
    return res


def latency_candidates(tsv):
    """distinct ids with exactly 2 BuyFund in the server's "last 30d" (today and the 29 days before,
    in Asia/Shanghai; today is the real date, which is END unless START was set)."""
    lo = epoch(TODAY - datetime.timedelta(days=29))
    hi = epoch(TODAY + datetime.timedelta(days=1))
    counts = {}
    p = subprocess.Popen(["grep", "-F", "\tBuyFund\t", tsv], stdout=subprocess.PIPE, text=True)
    for line in p.stdout:
        u, _, t, _ = line.split("\t", 3)
        if lo <= int(t) < hi:
            counts[u] = counts.get(u, 0) + 1
    p.wait()
    users = sorted(int(u) for u, n in counts.items() if n == 2)
    random.Random(SEED).shuffle(users)
    return users


def latency_test(sx, api, seg_id, seg_name, res):
    tsv = os.path.join(DIR, "events.tsv")
    cands = latency_candidates(tsv)
    log(f"latency: {len(cands):,} users with exactly 2 BuyFund in the last 30 days; "
        f"sampling {min(len(cands), LATENCY_SAMPLES)}")
    ingest = Conn(sx.url, TOKEN)
    poll = Conn(sx.url, TOKEN)
    out = {"segment": seg_name, "candidates": len(cands), "samples": [], "already_member": [],
           "timeouts": [], "poll_rtt": []}
    for u in cands:
        if len(out["samples"]) + len(out["timeouts"]) >= LATENCY_SAMPLES:
            break
        did = f"u{u}"
        path = f"{API}/users/{did}/segments"
        status, obj, text, _ = poll.json("GET", path)
        if status != 200:
            raise EngineError(f"GET {path} → {status}: {text[:300]}")
        if any(s.get("id") == seg_id for s in obj.get("segments", [])):
            out["already_member"].append(did)
            continue
        rec = {"type": "track", "event": "BuyFund", "distinct_id": did,
               "time": int(time.time() * 1000), "properties": {"amount": 1000, "fund_type": "money"}}
        t_send = time.perf_counter()
        status, text, _ = ingest.request("POST", f"{API}/records", json.dumps(rec) + "\n",
                                         "application/x-ndjson")
        t_ack = time.perf_counter()
        if status != 200 or '"accepted":1' not in text.replace(" ", ""):
            raise EngineError(f"ingest of {rec} → {status}: {text[:300]}")
        polls = 0
        while True:
            p0 = time.perf_counter()
            status, obj, text, _ = poll.json("GET", path)
            t_seen = time.perf_counter()
            polls += 1
            out["poll_rtt"].append(t_seen - p0)
            if status != 200:
                raise EngineError(f"GET {path} → {status}: {text[:300]}")
            if any(s.get("id") == seg_id for s in obj.get("segments", [])):
                out["samples"].append({"user": did, "ack": t_ack - t_send,
                                       "ack_to_seen": t_seen - t_ack, "send_to_seen": t_seen - t_send,
                                       "polls": polls})
                break
            if t_seen - t_ack > LATENCY_TIMEOUT:
                out["timeouts"].append(did)
                log(f"latency: {did} not in {seg_name} {LATENCY_TIMEOUT} s after the ack")
                break
        if len(out["timeouts"]) >= LATENCY_MAX_TIMEOUTS:
            log(f"latency: stopping after {len(out['timeouts'])} timeouts")
            out["stopped_early"] = True
            break
    # Diagnostic: did the timed-out users enter later (e.g. once later ingests were applied)?
    out["timeouts_member_at_end"] = []
    for did in out["timeouts"]:
        status, obj, text, _ = poll.json("GET", f"{API}/users/{did}/segments")
        if status == 200 and any(s.get("id") == seg_id for s in obj.get("segments", [])):
            out["timeouts_member_at_end"].append(did)
    if out["already_member"]:
        log(f"latency: {len(out['already_member'])} candidates were already members: "
            f"{out['already_member'][:5]}")
    if out["timeouts"]:
        res["bugs"].append({"request": f"POST {API}/records (one BuyFund) then GET {API}/users/ID/segments",
                            "error": f"{len(out['timeouts'])} users with exactly 2 BuyFund in the "
                                     f"last 30 days did not enter {seg_name} (BuyFund count ≥ 3, "
                                     f"last 30d, realtime) within {LATENCY_TIMEOUT} s of the ack; "
                                     f"{len(out['timeouts_member_at_end'])} of them were members at "
                                     "the end of the test (after later ingests)",
                            "users": out["timeouts"][:10]})
    xs = [s["ack_to_seen"] for s in out["samples"]]
    if xs:
        log(f"latency: ack→seen p50 {pct(xs, 50) * 1e3:.2f} ms p99 {pct(xs, 99) * 1e3:.2f} ms "
            f"over {len(xs)} samples")
    return out


def bench_clickhouse(ch_dir, ch_checks):
    res = []
    ch = ClickHouse(ch_dir).start()
    try:
        wait_idle(ch.pid, log, limit=120)
        for c in ch_checks:
            status, text, _ = ch.query(c["sql"])  # warm-up
            if status != 200:
                die(f"clickhouse: {c['sql'][:300]}: {text[:500]}")
            times = []
            for _ in range(HOT_RUNS):
                status, text2, secs = ch.query(c["sql"])
                times.append(secs)
            res.append({"count": int(text.strip()), "best": min(times), "times": times})
            log(f"clickhouse: {c['name']}: {text.strip()} users, best {min(times) * 1e3:.1f} ms")
        res_hwm = proc_status(ch.pid, "VmHWM")
    finally:
        ch.stop()
    return {"checks": res, "peak_rss": res_hwm}


# ---- report -------------------------------------------------------------------------------------

def ms(x, digits=1):
    return "–" if x is None else f"{x:,.{digits}f}"


def report(dataset, defs, ch_checks, sx_load, ch_load, sx, ch, load_avg0):
    lines = []
    P = lines.append
    st = dataset["stats"]
    pe = st["per_event"]
    P(f"Data: {EVENTS:,} events, {USERS:,} users (one profile each), {DAYS} days "
      f"{START} – {END.isoformat()} (Asia/Shanghai), seed {SEED}; BuyFund {pe['BuyFund']:,}, "
      f"ViewFund {pe['ViewFund']:,}, Deposit {pe['Deposit']:,}, ReadArticle {pe['ReadArticle']:,}, "
      f"AppStart {pe['AppStart']:,}; is_vip {st['vip']:,}, aum ≥ 500 K {st['aum_ge_500k']:,}. "
      f"Relative windows (\"last\") end on the real today, {TODAY.isoformat()}.")
    P("")
    if not sx or not sx.get("available"):
        P("**Sextant: the segments API is not available in this build** "
          f"({SEXTANT_ORIGIN}); only the data, the loads and the ClickHouse side ran.")
        P("")
    if sx and sx.get("error"):
        P(f"**Sextant stopped with an error:** `{sx['error']}`")
        P("")
    rows = []  # | measurement | result | target | met |
    segs = sx.get("segments", []) if sx else []
    if segs:
        el = [s["elapsed_ms"] for s in segs]
        wl = [s["wall"] * 1e3 for s in segs]
        avg = statistics.mean(el)
        rows.append((f"(i) full recompute of {len(segs)} segments (POST /segments/{{id}}/refresh, "
                     f"median of {RUNS} per segment)",
                     f"elapsed_ms avg {avg:,.1f}, p50 {statistics.median(el):,.1f}, max {max(el):,.1f} "
                     f"({segs[el.index(max(el))]['name']}); HTTP wall avg {statistics.mean(wl):,.1f}, "
                     f"max {max(wl):,.1f} ms",
                     "avg ≤ 100 ms", "yes" if avg <= 100 else "no"))
    alg = sx.get("algebra", []) if sx else []
    if alg:
        el = [x for a in alg for x in a["elapsed_ms"]]
        wl = [x * 1e3 for a in alg for x in a["wall"]]
        rows.append((f"(ii) set algebra, {len(alg)} rules × {ESTIMATE_RUNS} (POST /segments/estimate, "
                     "segment leaves)",
                     f"elapsed_ms p50 {pct(el, 50):.3f}, p99 {pct(el, 99):.3f}, max {max(el):.3f}; "
                     f"HTTP wall p50 {pct(wl, 50):.3f}, p99 {pct(wl, 99):.3f} ms",
                     "≤ 5 ms", "yes" if pct(el, 99) <= 5 else ("p50 only" if pct(el, 50) <= 5 else "no")))
    lat = sx.get("latency") if sx else None
    if lat and (lat["samples"] or lat["timeouts"]):
        # Timeouts count as "> LATENCY_TIMEOUT" in the percentiles.
        xs = [s["ack_to_seen"] * 1e3 for s in lat["samples"]] + [float("inf")] * len(lat["timeouts"])
        acks = [s["ack"] * 1e3 for s in lat["samples"]] or [float("nan")]
        sends = [s["send_to_seen"] * 1e3 for s in lat["samples"]] + [float("inf")] * len(lat["timeouts"])
        rtt = [x * 1e3 for x in lat["poll_rtt"]]
        lf = lambda v: f"> {LATENCY_TIMEOUT * 1e3:,.0f} (timeout)" if v == float("inf") else f"{v:.2f}"  # noqa: E731
        rows.append((f"(iii) ingest ack → membership, realtime `{lat['segment']}`, "
                     + ("stopped early, " if lat.get("stopped_early") else "") +
                     f"{len(lat['samples'])} samples + {len(lat['timeouts'])} timeouts",
                     f"p50 {lf(pct(xs, 50))}, p99 {lf(pct(xs, 99))}, max {lf(max(xs))} ms "
                     f"(send → seen p50 {lf(pct(sends, 50))} / p99 {lf(pct(sends, 99))} ms; "
                     f"the ingest ack itself p50 {pct(acks, 50):.2f} / p99 {pct(acks, 99):.2f} / "
                     f"max {max(acks):,.1f} ms; "
                     f"one poll round trip p50 {pct(rtt, 50):.2f} ms, included)",
                     "p99 ≤ 5 ms", "yes" if pct(xs, 99) <= 5 else "no"))
    tags = sx.get("tags", []) if sx else []
    if tags:
        el = [t["elapsed_ms"] for t in tags]
        rows.append((f"(iv) computation of {len(tags)} tags (POST /tags/{{id}}/run, median of {RUNS})",
                     f"elapsed_ms avg {statistics.mean(el):,.1f}, max {max(el):,.1f} "
                     f"({tags[el.index(max(el))]['name']}); total {sum(el):,.0f} ms",
                     "–", ""))
    chk = sx.get("checks", []) if sx else []
    chr_ = ch["checks"] if ch else []
    if chr_:
        c0 = chr_[0]
        s0 = chk[0] if chk else None
        result = f"ClickHouse {c0['best'] * 1e3:,.1f} ms, {c0['count']:,} users"
        met = "–"
        if s0:
            ratio = s0["best_wall"] / c0["best"]
            result = (f"Sextant {s0['best_wall'] * 1e3:,.1f} ms wall ({s0['best_elapsed_ms']:,.1f} ms "
                      f"elapsed_ms), {s0['size']:,} users; " + result + f"; ratio {ratio:.2f}×")
            met = "same" if s0["size"] == c0["count"] else "DIFFERENT"
        rows.append((f"(v) `{ch_checks[0]['name']}`: Sextant refresh vs ClickHouse query "
                     f"(best of {HOT_RUNS})", result, "sizes equal", met))
    if sx and sx.get("peak_rss"):
        phases = ", ".join(f"{n} {fmt_bytes(v)}" for n, v in sx.get("rss_phases", []))
        rows.append(("sextant server peak RSS (VmHWM, whole run)",
                     fmt_bytes(sx["peak_rss"]) + (f" (VmRSS: {phases})" if phases else ""), "", ""))
    P("| measurement | result | target | met |")
    P("|---|---|---|---|")
    for r in rows:
        P("| " + " | ".join(r) + " |")
    P("")
    if chr_:
        P("Same segments in both systems (absolute windows; ClickHouse SQL under *Definitions*):")
        P("")
        P("| # | segment | Sextant users | ClickHouse users | sizes | Sextant refresh ms (elapsed / wall) | ClickHouse ms | ratio |")
        P("|---|---|---:|---:|---|---:|---:|---:|")
        for i, (c, r) in enumerate(zip(ch_checks, chr_)):
            s = chk[i] if i < len(chk) else None
            P(f"| {i + 1} | {c['name']} | {s['size']:,} | {r['count']:,} | "
              f"{'same' if s['size'] == r['count'] else 'DIFFERENT'} | "
              f"{s['best_elapsed_ms']:,.1f} / {s['best_wall'] * 1e3:,.1f} | {r['best'] * 1e3:,.1f} | "
              f"{s['best_wall'] / r['best']:.2f}× |" if s else
              f"| {i + 1} | {c['name']} | – | {r['count']:,} | – | – | {r['best'] * 1e3:,.1f} | – |")
        P("")
    if segs:
        P("<details><summary>Per segment (size, refresh elapsed_ms median, HTTP wall median)</summary>")
        P("")
        P("| segment | kind | realtime | size | refresh ms | wall ms | create wall ms |")
        P("|---|---|---|---:|---:|---:|---:|")
        for s in segs:
            P(f"| {s['name']} | {s['kind']} | {'yes' if s['realtime'] else ''} | {s['size']:,} | "
              f"{s['elapsed_ms']:,.1f} | {s['wall'] * 1e3:,.1f} | {s['create_wall'] * 1e3:,.1f} |")
        by_kind = {}
        for s in segs:
            by_kind.setdefault(s["kind"], []).append(s["elapsed_ms"])
        P("")
        P("By kind (avg / max refresh ms): " + "; ".join(
            f"{k} ({len(v)}) {statistics.mean(v):,.1f} / {max(v):,.1f}" for k, v in by_kind.items()))
        P("")
        P("</details>")
        P("")
    if tags:
        P("<details><summary>Per tag</summary>")
        P("")
        P("| tag | kind | run ms | wall ms | coverage |")
        P("|---|---|---:|---:|---:|")
        for t in tags:
            P(f"| {t['name']} | {t['kind']} | {t['elapsed_ms']:,.1f} | {t['wall'] * 1e3:,.1f} | {t['coverage']} |")
        P("")
        P("</details>")
        P("")
    if alg:
        P("<details><summary>Set algebra rules</summary>")
        P("")
        P("| rule | size | p50 ms | max ms | wall p50 ms |")
        P("|---|---:|---:|---:|---:|")
        for a in alg:
            P(f"| {a['name']} | {a['size']:,} | {statistics.median(a['elapsed_ms']):.3f} | "
              f"{max(a['elapsed_ms']):.3f} | {statistics.median(a['wall']) * 1e3:.3f} |")
        P("")
        P("</details>")
        P("")
    if lat:
        P(f"Latency method: users with exactly 2 BuyFund in the last 30 days ({lat['candidates']:,} "
          f"candidates, seeded shuffle); for each, GET `/users/{{id}}/segments` first (must not list "
          f"the segment; {len(lat['already_member'])} did and were skipped), then one NDJSON `track` "
          "BuyFund (time = now) on a keep-alive connection to `POST /records` (`--durability strict`: "
          "acknowledged after the WAL fsync), then `GET /users/{id}/segments` in a tight loop on a "
          "second keep-alive connection until the segment is listed. The figure is ack → end of the "
          "first answer that lists it, so it includes at least one poll round trip (the p50 above) "
          "and can overstate the engine's own delay by up to one more; it cannot understate it.")
        P("")
    if sx and sx.get("bugs"):
        P("Engine problems found:")
        P("")
        for b in sx["bugs"]:
            P(f"- {b['error']} — `{b['request']}`" + (f" body `{json.dumps(b.get('body'))}`" if b.get("body") else ""))
        P("")
    P("Load:")
    P("")
    P("| what | time | rate | on disk |")
    P("|---|---:|---:|---:|")
    P(f"| generate (`segment_gen`) | {dataset['seconds']:.0f} s | "
      f"{EVENTS / max(dataset['seconds'], 1e-9) / 1e6:.1f} M events/s | "
      f"{fmt_bytes(dataset['bytes'])} events TSV + {fmt_bytes(dataset['profile_bytes'])} profiles TSV |")
    if sx_load:
        ld, pl = sx_load["load"], sx_load["profile_load"]
        P(f"| Sextant: native API, `--durability relaxed`, {ld['connections']} × {ld['batch']} | "
          f"events {ld['seconds']:.0f} s + profiles {pl['seconds']:.0f} s (+ {sx_load['stop_seconds']:.0f} s stop) | "
          f"{ld['events_per_s'] / 1e3:,.0f} K events/s, {pl['events_per_s'] / 1e3:,.0f} K profile_set/s | "
          f"{fmt_bytes(sx_load['dir_bytes'])} data dir (event parts {fmt_bytes(sx_load['part_bytes'])}) |")
    if ch_load:
        P(f"| ClickHouse: `clickhouse-client` INSERT FORMAT TSV (events + users) + OPTIMIZE FINAL | "
          f"{ch_load['insert_seconds']:.0f} s + {ch_load['optimize_seconds']:.0f} s | "
          f"{(EVENTS + USERS) / max(ch_load['insert_seconds'], 1e-9) / 1e3:,.0f} K rows/s | "
          f"{fmt_bytes(ch_load['part_bytes'])} parts |")
    P("")
    P(f"Machine: {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
      f"{os.uname().release}; load average at start {load_avg0}, at end "
      f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}. Sextant: {SEXTANT_ORIGIN}; ClickHouse 18.16 "
      f"(events `ORDER BY (event, t)`, users `ORDER BY user_id`); run {time.strftime('%Y-%m-%d %H:%M')}.")
    return "\n".join(lines)


def write_docs(section, ch_checks):
    doc = os.path.join(ROOT, "docs/benchmarks.md")
    begin, end = "<!-- segment-bench -->", "<!-- /segment-bench -->"
    text = open(doc).read()
    if begin not in text:
        text = text.rstrip("\n") + "\n\n## Segments\n\n" + begin + "\n" + end + "\n"
    pre, rest = text.split(begin, 1)
    _, post = rest.split(end, 1)
    sql = "\n".join(f"-- {c['name']}\n{c['sql']}" for c in ch_checks)
    body = (f"Command: `{COMMAND}` (same machine, same run; release build). Definitions: "
            f"`bench/segments/definitions.json` (20 tags, 50 segments, 10 set-algebra rules).\n\n"
            f"{section}\n\n<details><summary>ClickHouse comparison: rules and SQL</summary>\n\n"
            "```json\n" + "\n".join(json.dumps(c["rule"]) for c in ch_checks) +
            "\n```\n\n```sql\n" + sql + f"\n```\n\nTables: `{CH_EVENTS}`; `{CH_USERS}`\n\n</details>\n")
    open(doc, "w").write(pre + begin + "\n" + body + end + post)
    log("wrote docs/benchmarks.md")


def main():
    global SEXTANT, SEXTANT_ORIGIN
    load_avg0 = " ".join(f"{x:.2f}" for x in os.getloadavg())
    os.makedirs(WORK, exist_ok=True)
    defs = read_json(DEFINITIONS)
    if not defs:
        die(f"cannot read {DEFINITIONS}")
    if "sextant" in SYSTEMS:
        SEXTANT_ORIGIN = (f"{SEXTANT} (built "
                          f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(os.path.getmtime(SEXTANT)))})")
        shutil.copy2(SEXTANT, os.path.join(WORK, "sextant"))
        SEXTANT = os.path.join(WORK, "sextant")
    tsv, profiles, dataset = ensure_dataset()
    sx_dir = sx_load = ch_dir = ch_load = None
    if "sextant" in SYSTEMS:
        sx_dir, sx_load = ensure_sextant(tsv, profiles)
    if "clickhouse" in SYSTEMS:
        ch_dir, ch_load = ensure_clickhouse(tsv, profiles)
    ch_checks = checks()
    ch = bench_clickhouse(ch_dir, ch_checks) if ch_dir else None
    sx = bench_sextant(sx_dir, defs, ch_checks) if sx_dir else None
    write_json(os.path.join(WORK, "results.json"), {"sextant": sx, "clickhouse": ch,
                                                    "checks": ch_checks})
    section = report(dataset, defs, ch_checks, sx_load, ch_load, sx, ch, load_avg0)
    print(section)
    if DOCS and sx and sx.get("available"):
        write_docs(section, ch_checks)
    if sx and (sx.get("bugs") or sx.get("error")):
        sys.exit(3)


if __name__ == "__main__":
    main()
