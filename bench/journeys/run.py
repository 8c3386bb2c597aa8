#!/usr/bin/env python3
"""Journey runtime benchmark driver (run by bench/journey_bench.sh; knobs in its header).

Three parts, each on a fresh data directory and a fresh server:
  trigger  1,000 running journeys with `event` entries (wait 30d → exit) over ~200 event names
           with `where` conditions; generated events streamed through POST /records from several
           connections, with the journeys live and, as the control, with none. Events/s, the ratio,
           and ingest commit → decision p50/p99 from the delta of the histogram
           `sextant_journey_decision_seconds` on /metrics. Per durability (relaxed, strict).
  timers   N users in a rule segment; a journey with a `once` entry on it whose first node waits
           30 days (--clock simulated; POST /admin/clock fires the entry). Entries/s, server
           RSS / VmHWM and the state store's disk growth per waiting customer (live and after a
           restart), then the clock moved past the wait (N timers fire).
  send     N users in a segment; a `once` journey whose nodes are two `send`s on a webhook channel
           (a loopback receiver, measured alone first) under a project cap of 1 touch per day, so
           every customer gets one cap-checked touch sent and one suppressed. Cap-checked
           decisions/s and delivered/s at the receiver.
Sizes that are likely to exceed the time bound (PART_SECONDS) or memory (MEM_LIMIT_GB), judged
from the previous size of the ladder, are skipped and reported as skipped.
"""
import http.client
import json
import math
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from bench_lib import du, proc_cpu_seconds, proc_status, read_json, wait_idle, write_json  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ENV = os.environ


def env_int(name, default):
    return int(float(ENV.get(name, default)))


def env_list(name, default):
    return [int(float(x)) for x in ENV.get(name, default).split(",") if x.strip()]


SMOKE = ENV.get("SMOKE", "0") == "1"
PARTS = ENV.get("PARTS", "trigger,timers,send").split(",")
DURABILITY = ENV.get("DURABILITY", "relaxed,strict").split(",")
JOURNEYS = env_int("JOURNEYS", 1000)
JOURNEY_NAMES = env_int("JOURNEY_NAMES", 200)
OTHER_NAMES = env_int("OTHER_NAMES", 200)
JOURNEY_SHARE = float(ENV.get("JOURNEY_SHARE", "0.5"))
EVENTS = env_int("EVENTS", 300_000 if SMOKE else 6_000_000)
STREAM_USERS = env_int("STREAM_USERS", 100_000 if SMOKE else 1_000_000)
CONNECTIONS = env_int("CONNECTIONS", 4)
BATCH = env_int("BATCH", 1000)
STREAM_SECONDS = env_int("STREAM_SECONDS", 120)
# Part 1's latency target holds at the throughput target: a third run offers this many events/s
# steadily (stream --rate) and reads the decision latency there (0: no paced run).
PACED_RATE = env_int("PACED_RATE", 20_000 if SMOKE else 200_000)
# Which of part 1's runs to make (all three for the table; fewer to compare binaries quickly).
TRIGGER_RUNS = ENV.get("TRIGGER_RUNS", "none,live,paced").split(",")
TIMER_USERS = env_list("TIMER_USERS", "50000" if SMOKE else "1000000,2000000,4000000,10000000")
SEND_USERS = env_list("SEND_USERS", "10000" if SMOKE else "500000,1000000,5000000")
FIRE_TIMERS = ENV.get("FIRE_TIMERS", "1") == "1"
PART_SECONDS = env_int("PART_SECONDS", 900)
MEM_LIMIT_GB = float(ENV.get("MEM_LIMIT_GB", "18"))
QUIET_WAIT = env_int("QUIET_WAIT", 600)
ATTEMPTS = env_int("ATTEMPTS", 3)
PROFILE = ENV.get("PROFILE", "0") == "1"
TRIM = ENV.get("TRIM", "1") == "1"  # perf record + gdb stacks + per-thread CPU
SEED = env_int("SEED", 42)
DATA_ROOT = ENV.get("DATA_ROOT", "/work/bench-data/journeys")
SEXTANT = ENV.get("SEXTANT", os.path.join(ROOT, "build-jbench/src/cli/sextant"))
TOOLS = ENV.get("TOOLS", os.path.join(DATA_ROOT, "build-tools"))
COMMAND = ENV.get("BENCH_COMMAND", "bench/journey_bench.sh")
FULL = (not SMOKE and set(PARTS) >= {"trigger", "timers", "send"} and JOURNEYS >= 1000 and EVENTS >= 5_000_000 and
        max(TIMER_USERS or [0]) >= 10_000_000 and max(SEND_USERS or [0]) >= 5_000_000)
DOCS = ENV.get("DOCS", "auto")
TOKEN = "bench-token"
PROJECT = "default"
API = f"/api/v1/projects/{PROJECT}"
WORK = os.path.join(DATA_ROOT, "run")
T_START = time.time()


def log(msg):
    print(f"[journey-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def die(msg):
    log("error: " + msg)
    sys.exit(1)


def fmt_bytes(n):
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:.0f} B"


def fmt_rate(x):
    if x is None:
        return "–"
    return f"{x / 1e3:,.1f} K/s" if x >= 1000 else f"{x:,.0f}/s"


# ---- HTTP ---------------------------------------------------------------------------------------

class Conn:
    """One keep-alive HTTP/1.1 connection (reopened after an error)."""

    def __init__(self, base, token=TOKEN, timeout=600):
        u = urllib.parse.urlparse(base)
        self.host, self.port, self.timeout = u.hostname, u.port, timeout
        self.token = token
        self.conn = None

    def request(self, method, path, body=None, headers=None, content_type="application/json",
                timeout=None):
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if isinstance(data, str):
                data = data.encode()
        h = {"Authorization": "Bearer " + self.token} if self.token else {}
        h.update(headers or {})
        if data is not None:
            h["Content-Type"] = content_type
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port,
                                                       timeout=timeout or self.timeout)
                self.conn.connect()
                self.conn.sock.setsockopt(6, 1, 1)  # TCP_NODELAY
            elif timeout:
                self.conn.sock.settimeout(timeout)
            try:
                t0 = time.perf_counter()
                self.conn.request(method, path, body=data, headers=h)
                res = self.conn.getresponse()
                text = res.read().decode()
                wall = time.perf_counter() - t0
                if res.getheader("Connection", "").lower() == "close":
                    self.close()
                elif timeout:
                    self.conn.sock.settimeout(self.timeout)
                return res.status, text, wall
            except (http.client.RemoteDisconnected, http.client.CannotSendRequest,
                    ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt:
                    raise
            except Exception:
                # A timeout leaves the connection in the middle of a request: the next request
                # needs a new one (the 5 M send's report poll timed out, and the final report
                # then failed with CannotSendRequest).
                self.close()
                raise
        raise RuntimeError("unreachable")

    def json(self, method, path, body=None, operator=None, timeout=None, expect=None):
        headers = {"X-Sextant-Operator": operator} if operator else None
        status, text, wall = self.request(method, path, body, headers=headers, timeout=timeout)
        try:
            obj = json.loads(text) if text else None
        except ValueError:
            obj = None
        if expect is not None and status not in (expect if isinstance(expect, tuple) else (expect,)):
            die(f"{method} {path}: HTTP {status}: {text[:500]}")
        return status, obj, wall

    def close(self):
        if self.conn:
            self.conn.close()
        self.conn = None


# ---- processes ----------------------------------------------------------------------------------

class Sextant:
    def __init__(self, name, durability="relaxed", simulated=False):
        self.name, self.durability, self.simulated = name, durability, simulated
        self.data_dir = os.path.join(WORK, name)
        self.proc = None

    def fresh(self):
        shutil.rmtree(self.data_dir, ignore_errors=True)
        os.makedirs(self.data_dir)
        return self

    def start(self):
        self.log_path = os.path.join(WORK, self.name + ".log")
        logf = open(self.log_path, "a")
        at = logf.tell()
        args = [SEXTANT, "serve", "--data-dir", self.data_dir, "--listen", "127.0.0.1:0",
                "--admin-token", TOKEN, "--durability", self.durability]
        if self.simulated:
            args += ["--clock", "simulated"]
            if getattr(self, "clock_ms", None):
                args += ["--clock-start-ms", str(self.clock_ms)]
        t0 = time.time()
        self.proc = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT)
        while time.time() - t0 < 900:
            with open(self.log_path) as f:
                f.seek(at)
                m = re.search(r"listening on (http://[0-9.:]+)", f.read())
            if m:
                self.url = m.group(1)
                break
            if self.proc.poll() is not None:
                with open(self.log_path) as f:
                    f.seek(at)
                    die(f"sextant did not start:\n{f.read()[-3000:]}")
            time.sleep(0.05)
        else:
            die("sextant did not start within 900 s")
        self.start_seconds = time.time() - t0
        self.c = Conn(self.url)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def metrics(self):
        status, text, _ = Conn(self.url, None).request("GET", "/metrics")
        out, hist = {}, {}
        for line in text.splitlines():
            m = re.match(r'^(sextant_[a-z_]+)_bucket\{le="([^"]+)"\}\s+(\d+)$', line)
            if m:
                le = math.inf if m.group(2) == "+Inf" else float(m.group(2))
                hist.setdefault(m.group(1), []).append((le, int(m.group(3))))
                continue
            m = re.match(r"^(sextant_[a-z_]+)(\{[^}]*\})?\s+([0-9.eE+-]+)$", line)
            if m:
                out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
        out["_hist"] = hist
        return out

    def rss(self):
        return proc_status(self.pid, "VmRSS"), proc_status(self.pid, "VmHWM")

    def stop(self, kill=False):
        if not self.alive():
            self.proc = None
            return 0.0
        t0 = time.time()
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=900)
        except subprocess.TimeoutExpired:
            log(f"{self.name}: did not stop in 900 s; killing it")
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        return time.time() - t0


class Receiver:
    def start(self):
        self.log_path = os.path.join(WORK, "receiver.log")
        self.logf = open(self.log_path, "w")
        self.proc = subprocess.Popen([os.path.join(TOOLS, "journey_receiver"), "serve"],
                                     stdout=subprocess.PIPE, stderr=self.logf, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on (http://[0-9.:]+)", line)
        if not m:
            die(f"receiver did not start: {line}")
        self.url = m.group(1)
        self.c = Conn(self.url, None)
        return self

    def stats(self):
        status, text, _ = self.c.request("GET", "/stats")
        return json.loads(text)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def thread_cpu(pid):
    """{"name:tid": cpu seconds} of every thread (names as the server sets them)."""
    out = {}
    tck = os.sysconf("SC_CLK_TCK")
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    head, tail = f.read().rsplit(")", 1)
                fields = tail.split()
                name = head.split("(", 1)[1]
                out[f"{name}:{tid}"] = (int(fields[11]) + int(fields[12])) / tck
            except OSError:
                pass
    except OSError:
        pass
    return out


def thread_cpu_delta(before, after, seconds):
    rows = [(tid, after[tid] - before.get(tid, 0.0)) for tid in after]
    rows.sort(key=lambda r: -r[1])
    return [(tid, round(d, 2), round(100 * d / max(seconds, 1e-9))) for tid, d in rows if d > 0.05][:8]


def gdb_stacks(pid, label):
    """One `thread apply all bt` snapshot, saved; returns {lwp: first sextant frames}."""
    if not shutil.which("gdb"):
        return {}
    out = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "thread apply all bt 30"],
                         capture_output=True, text=True, timeout=120).stdout
    path = os.path.join(WORK, f"gdb-{label}-{int(time.time())}.txt")
    with open(path, "w") as f:
        f.write(out)
    stacks = {}
    for block in re.split(r"\n(?=Thread \d+ )", out):
        m = re.match(r"Thread \d+ \(Thread 0x[0-9a-f]+ \(LWP (\d+)\)", block)
        if not m:
            continue
        frames = re.findall(r"#\d+\s+(?:0x[0-9a-f]+ in )?([^\s(]+)", block)
        interesting = [f for f in frames if "sextant" in f or "rocksdb" in f][:4]
        stacks[int(m.group(1))] = " < ".join(interesting or frames[:3])
    return stacks


class Profiler:
    """PROFILE=1: perf record of the server for a window, per-thread CPU and gdb stacks."""

    def __init__(self, pid, label):
        self.pid, self.label = pid, label
        self.perf = None
        self.cpu0 = thread_cpu(pid)
        self.t0 = time.time()
        self.samples = []
        if PROFILE and shutil.which("perf"):
            self.perf_data = os.path.join(WORK, f"perf-{label}.data")
            self.perf = subprocess.Popen(["perf", "record", "-F", "299", "-g", "-p", str(pid),
                                          "-o", self.perf_data], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)

    def sample_stacks(self):
        if PROFILE:
            try:
                self.samples.append(gdb_stacks(self.pid, self.label))
            except (subprocess.TimeoutExpired, OSError) as e:
                log(f"gdb: {e}")

    def finish(self):
        seconds = time.time() - self.t0
        hot = thread_cpu_delta(self.cpu0, thread_cpu(self.pid), seconds)
        out = {"hot_threads": hot, "seconds": round(seconds, 1)}
        if self.samples:
            out["stacks"] = [{str(tid): s.get(tid, "") for tid, _, _ in hot[:4]} for s in self.samples]
        if self.perf:
            self.perf.send_signal(signal.SIGINT)
            try:
                self.perf.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.perf.kill()
            rep = subprocess.run(["perf", "report", "-i", self.perf_data, "--stdio", "--no-children",
                                  "--sort", "sym", "-g", "none", "--percent-limit", "1.5"],
                                 capture_output=True, text=True, timeout=600).stdout
            top = [ln.strip() for ln in rep.splitlines() if re.match(r"^\s+\d+\.\d+%", ln)][:25]
            out["perf_top"] = top
            with open(os.path.join(WORK, f"perf-{self.label}.txt"), "w") as f:
                f.write(rep)
        return out


# ---- helpers --------------------------------------------------------------------------------------

def hist_delta(before, after, name):
    b = dict(before["_hist"].get(name, []))
    return [(le, c - b.get(le, 0)) for le, c in after["_hist"].get(name, [])]


def hist_quantile(buckets, q):
    """Prometheus histogram_quantile: linear inside the bucket; the +Inf bucket reports its
    lower bound. Returns (value_seconds, upper_bound_seconds)."""
    total = buckets[-1][1] if buckets else 0
    if total == 0:
        return None, None
    rank = q * total
    prev_le, prev_c = 0.0, 0
    for le, c in buckets:
        if c >= rank:
            if le == math.inf:
                return prev_le, math.inf
            frac = (rank - prev_c) / max(c - prev_c, 1)
            return prev_le + (le - prev_le) * frac, le
        prev_le, prev_c = le, c
    return prev_le, math.inf


def setup_operators(sx):
    sx.c.json("PUT", "/api/v1/admin/operators", {"alice": ["maker"], "bob": ["approver"]}, expect=200)


def launch(sx, definition):
    _, obj, _ = sx.c.json("POST", f"{API}/journeys", definition, operator="alice", expect=201)
    jid = obj["id"]
    for action, who in (("submit", "alice"), ("approve", "bob"), ("start", "alice")):
        sx.c.json("POST", f"{API}/journeys/{jid}/{action}", None, operator=who, expect=200)
    return jid


def report(sx, jid, timeout=None):
    _, obj, _ = sx.c.json("GET", f"{API}/journeys/{jid}/report", timeout=timeout, expect=200)
    return obj


def clock_now(sx):
    return sx.c.json("GET", "/api/v1/admin/clock", expect=200)[1]["now_ms"]


def advance_clock(sx, seconds, bound):
    """POST /admin/clock in a thread, bounded; returns (wall seconds or None if it timed out)."""
    result = {}

    def go():
        try:
            c = Conn(sx.url, timeout=bound + 60)
            st, text, wall = c.request("POST", "/api/v1/admin/clock",
                                       {"advance_seconds": int(seconds)})
            result.update(status=st, text=text, wall=wall)
        except Exception as e:  # noqa: BLE001 - reported below
            result.update(error=repr(e))
    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t, result


def users_tsv(n):
    """One `bench_seen` event per user: the loader's TSV (user_id, event, time s, amount, fund)."""
    path = os.path.join(DATA_ROOT, f"users-{n}.tsv")
    if os.path.exists(path) and os.path.getsize(path) > 0:
        return path
    t = int(time.time()) - 3600
    with open(path + ".tmp", "w") as f:
        chunk = []
        for k in range(1, n + 1):
            chunk.append(f"{k}\tbench_seen\t{t}\t0\t\n")
            if len(chunk) == 100_000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))
    os.replace(path + ".tmp", path)
    return path


def load_users(sx, n):
    t0 = time.time()
    out = subprocess.run([os.path.join(TOOLS, "journey_load"), "--url", f"{sx.url}{API}/records",
                          "--token", TOKEN, "--input", users_tsv(n), "--kind", "events",
                          "--batch", "5000", "--connections", "4"],
                         stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        die(f"user load failed: {out.stdout}")
    res = json.loads(out.stdout)
    log(f"  loaded {res['accepted']:,} users in {time.time() - t0:.1f} s ({res['events_per_s']:,.0f}/s)")
    return res


def touch_identities(sx):
    """One event for an existing user: makes the server load its identity map (held in memory
    for the whole project, loaded at first use), so RSS before and after compare like for like."""
    sx.c.json("POST", f"{API}/records", '{"type":"track","event":"bench_seen","distinct_id":"u1"}\n',
              expect=200)


def trimmed_rss(pid):
    """RSS after `malloc_trim(0)` called in the server through gdb (TRIM=1): the live heap,
    without freed memory that glibc keeps (the server sets M_TRIM_THRESHOLD to 256 MiB and has
    one arena per thread). None without gdb or with TRIM=0."""
    if not TRIM or not shutil.which("gdb"):
        return None
    subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "call (int) malloc_trim(0)"],
                   capture_output=True, text=True, timeout=300)
    time.sleep(0.5)
    return proc_status(pid, "VmRSS")


def make_segment(sx, n):
    _, obj, wall = sx.c.json("POST", f"{API}/segments",
                             {"name": "everyone", "rule": {"did": "bench_seen"}, "realtime": False,
                              "refresh": "manual"}, timeout=PART_SECONDS, expect=201)
    size = obj.get("size")
    log(f"  segment {obj.get('id')}: {size:,} members in {wall:.1f} s")
    if size != n:
        die(f"segment has {size} members, expected {n}")
    return obj["id"]


class RssSampler:
    """Samples VmRSS once a second in a thread (the peak between samples is VmHWM)."""

    def __init__(self, pid):
        self.pid, self.peak, self.stop_ = pid, 0, False
        self.series = []
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        t0 = time.time()
        while not self.stop_:
            r = proc_status(self.pid, "VmRSS")
            self.peak = max(self.peak, r)
            self.series.append((round(time.time() - t0), r))
            time.sleep(1)

    def stop(self):
        self.stop_ = True
        self.t.join()


# ---- part 1: trigger evaluation -----------------------------------------------------------------

def journey_definitions():
    """JOURNEYS definitions: journey k enters on ev<k mod JOURNEY_NAMES> with one of five
    condition shapes (k // JOURNEY_NAMES mod 5). Match probabilities under the stream's model
    (amount uniform [0, 100000), 8 fund types, 4 channels) are given per shape."""
    shapes = [
        ([{"property": "amount", "op": ">=", "value": 98000}], 0.02),
        ({"all": [{"property": "fund_type", "op": "=", "value": "F3"},
                  {"property": "amount", "op": ">=", "value": 90000}]}, 0.125 * 0.10),
        ([{"property": "channel", "op": "in", "value": ["app", "wechat"]},
          {"property": "amount", "op": "between", "value": [50000, 50999]}], 0.5 * 0.01),
        ({"all": [{"any": [{"property": "fund_type", "op": "=", "value": "F7"},
                           {"property": "channel", "op": "=", "value": "sms"}]},
                  {"property": "amount", "op": "<", "value": 3000}]}, (1 / 8 + 1 / 4 - 1 / 32) * 0.03),
        ([{"property": "amount", "op": "<", "value": 1000},
          {"property": "fund_type", "op": "!=", "value": "F0"}], 0.01 * 7 / 8),
    ]
    defs, probs = [], []
    for k in range(JOURNEYS):
        where, p = shapes[(k // max(JOURNEY_NAMES, 1)) % len(shapes)]
        defs.append({"name": f"trigger-{k}", "entry": {"type": "event", "event": f"ev{k % JOURNEY_NAMES:03d}",
                                                        "where": where},
                     "start": "w", "nodes": {"w": {"type": "wait", "duration": "30d", "next": "e"},
                                             "e": {"type": "exit"}}})
        probs.append(p)
    # Expected share of events that match at least one journey (ignoring re-entry refusals).
    per_name = {}
    for k, p in enumerate(probs):
        per_name.setdefault(k % JOURNEY_NAMES, []).append(p)
    miss = [math.prod(1 - p for p in ps) for ps in per_name.values()]
    expected = JOURNEY_SHARE * (sum(1 - m for m in miss) / max(JOURNEY_NAMES, 1)) if JOURNEYS else 0
    return defs, expected


def seed_schema(sx):
    """One event of every name first, so the journeys' names resolve (a live system has seen its
    events before; an unknown name makes the journey engine ask for every event)."""
    body = "".join(json.dumps({"type": "track", "event": f"ev{n:03d}", "distinct_id": "seed",
                               "properties": {"amount": 1, "fund_type": "F0", "channel": "app"}}) + "\n"
                   for n in range(JOURNEY_NAMES + OTHER_NAMES))
    sx.c.json("POST", f"{API}/records", body, expect=200)


def run_stream(sx, rate=0):
    out = subprocess.run([os.path.join(TOOLS, "journey_stream"), "--url", f"{sx.url}{API}/records",
                          "--rate", str(rate),
                          "--token", TOKEN, "--events", str(EVENTS), "--users", str(STREAM_USERS),
                          "--journey-names", str(JOURNEY_NAMES), "--other-names", str(OTHER_NAMES),
                          "--journey-share", str(JOURNEY_SHARE), "--seed", str(SEED),
                          "--batch", str(BATCH), "--connections", str(CONNECTIONS),
                          "--max-seconds", str(STREAM_SECONDS)],
                         stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        die(f"stream failed: {out.stdout}")
    return json.loads(out.stdout)


def wait_decisions(sx, limit=600):
    """Waits until the journey worker has caught up: the decision histogram's count has not
    changed for 3 s and the server is idle. Returns seconds from the call to the last change."""
    t0 = time.time()
    last, last_change = -1, t0
    while time.time() - t0 < limit:
        c = sx.metrics().get("sextant_journey_decision_seconds_count", 0)
        if c != last:
            last, last_change = c, time.time()
        elif time.time() - last_change >= 3:
            break
        time.sleep(0.1)
    wait_idle(sx.pid, log, limit=max(10, limit - (time.time() - t0)))
    return last_change - t0


def wait_machine_quiet(pid=None, limit=None):
    """Another engineer may be compiling on this 2-core machine: before a measured step, waits
    (up to QUIET_WAIT seconds) until processes other than the server use < 0.25 cores for 3 s
    in a row. Returns the other processes' cores at the end (logged with the result)."""
    limit = QUIET_WAIT if limit is None else limit
    t0 = time.time()
    calm, other = 0, 0.0
    while True:
        b0, c0 = machine_busy(), proc_cpu_seconds(pid) if pid else 0.0
        time.sleep(1)
        other = (machine_busy() - b0) - ((proc_cpu_seconds(pid) - c0) if pid else 0.0)
        calm = calm + 1 if other < 0.25 else 0
        if calm >= 3 or time.time() - t0 > limit:
            break
    if calm < 3:
        log(f"  machine not quiet after {limit} s (other processes {other:.2f} cores); measuring anyway")
    elif time.time() - t0 > 5:
        log(f"  waited {time.time() - t0:.0f} s for other processes to finish")
    return round(other, 2)


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class Contention:
    """CPU used by processes other than the server, this driver and its tools during a window:
    another engineer may be compiling on the same 2-core machine."""

    def __init__(self, pid, extra_pids=()):
        self.pid, self.extra = pid, list(extra_pids)
        self.t0, self.m0, self.s0 = time.time(), machine_busy(), proc_cpu_seconds(pid)
        self.c0 = children_cpu() + resource.getrusage(resource.RUSAGE_SELF).ru_utime
        self.e0 = {p: proc_cpu_seconds(p) for p in self.extra}

    def other_cores(self):
        secs = max(time.time() - self.t0, 1e-9)
        ours = proc_cpu_seconds(self.pid) - self.s0
        ours += children_cpu() + resource.getrusage(resource.RUSAGE_SELF).ru_utime - self.c0
        for p, c in self.e0.items():
            try:
                ours += proc_cpu_seconds(p) - c
            except OSError:
                pass
        return round(max(0.0, (machine_busy() - self.m0) - ours) / secs, 2)


def machine_busy():
    """Busy CPU seconds of the whole machine (all processes) from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def trigger_run(durability, with_journeys, rate=0):
    label = f"trigger-{durability}-{'journeys' if with_journeys else 'none'}" + (f"-paced{rate}" if rate else "")
    log(f"[trigger] {label}: {EVENTS:,} events, {CONNECTIONS} connections x {BATCH}"
        + (f", offered at {rate:,} events/s" if rate else ""))
    sx = Sextant(label, durability).fresh().start()
    res = {"durability": durability, "journeys": JOURNEYS if with_journeys else 0}
    try:
        setup_operators(sx)
        seed_schema(sx)
        if with_journeys:
            defs, expected = journey_definitions()
            t0 = time.time()
            ids = [launch(sx, d) for d in defs]
            res["launch_seconds"] = round(time.time() - t0, 1)
            res["expected_entry_share"] = expected
            log(f"  {len(ids)} journeys running ({res['launch_seconds']} s to create and launch)")
        wait_idle(sx.pid, log, limit=120)
        res["other_cores_before"] = wait_machine_quiet(sx.pid)
        m0 = sx.metrics()
        cpu0 = proc_cpu_seconds(sx.pid)
        busy0 = machine_busy()
        contention = Contention(sx.pid)
        prof = Profiler(sx.pid, label)
        stream_holder = {}
        th = threading.Thread(target=lambda: stream_holder.update(run_stream(sx, rate)))
        th.start()
        time.sleep(min(8, STREAM_SECONDS / 4))
        prof.sample_stacks()
        th.join()
        stream = stream_holder
        res["stream"] = stream
        cpu_stream = proc_cpu_seconds(sx.pid) - cpu0
        res["machine_cores"] = (machine_busy() - busy0) / max(stream["seconds"], 1e-9)
        res["other_cores"] = contention.other_cores()
        res["loadavg"] = os.getloadavg()[0]
        res["cpu_per_event_us"] = cpu_stream / max(stream["accepted"], 1) * 1e6
        res["cpu_utilisation"] = cpu_stream / max(stream["seconds"], 1e-9)
        res["catch_up_seconds"] = round(wait_decisions(sx), 1)
        res["profile"] = prof.finish()
        m1 = sx.metrics()
        delta = hist_delta(m0, m1, "sextant_journey_decision_seconds")
        res["decisions"] = delta[-1][1] if delta else 0
        res["decision_buckets"] = [(str(le), c) for le, c in delta]
        for q in (50, 99):
            v, ub = hist_quantile(delta, q / 100)
            res[f"p{q}"] = v
            res[f"p{q}_bucket"] = ub
        res["decision_mean"] = ((m1.get("sextant_journey_decision_seconds_sum", 0) -
                                 m0.get("sextant_journey_decision_seconds_sum", 0)) /
                                max(res["decisions"], 1))
        # The latency's two parts: waiting for the worker, and the worker's steps.
        for name, key in (("sextant_journey_decision_queue_seconds", "queue"),
                          ("sextant_journey_step_seconds", "step")):
            part = hist_delta(m0, m1, name)
            res[f"{key}_count"] = part[-1][1] if part else 0
            for q in (50, 99):
                res[f"{key}_p{q}"] = hist_quantile(part, q / 100)[0] if part else None
        hd = hist_delta(m0, m1, "sextant_http_request_duration_seconds")
        res["http_p99"] = hist_quantile(hd, 0.99)[0] if hd else None
        res["rss"], res["hwm"] = sx.rss()
        if with_journeys:
            entered = 0
            for jid in ids:
                entered += report(sx, jid).get("entered", 0)
            res["entered"] = entered
        log(f"  {stream['accepted']:,} events in {stream['seconds']:.1f} s = {stream['events_per_s']:,.0f}/s "
            + (f"({stream['late_batches']:,} batches > 10 ms late) " if rate else "") + (
            f"(ack p99 {stream['ack_p99_ms']:.1f} ms), server CPU {res['cpu_utilisation']:.2f} cores (machine {res['machine_cores']:.2f}, "
            f"other processes {res['other_cores']:.2f}), "
            f"{res['cpu_per_event_us']:.2f} µs/event; catch-up {res['catch_up_seconds']} s"
            + (f"; decisions {res['decisions']:,}, p50 {fmt_s(res['p50'])}, p99 {fmt_s(res['p99'])}, "
               f"entered {res['entered']:,}; of it waiting for the worker p50 {fmt_s(res['queue_p50'])}, "
               f"p99 {fmt_s(res['queue_p99'])}; {res['step_count']:,} steps, p50 {fmt_s(res['step_p50'])}, "
               f"p99 {fmt_s(res['step_p99'])}" if with_journeys else "")))
        log(f"  hot threads (name:tid, cpu s, %): {res['profile']['hot_threads']}")
    finally:
        res["stop_seconds"] = round(sx.stop(), 1)
        shutil.rmtree(sx.data_dir, ignore_errors=True)
    return res


def fmt_q(v, bucket):
    """A histogram quantile: "> 1 s" when it falls in the +Inf bucket."""
    if bucket == math.inf:
        return f"> {v:g} s"
    return fmt_s(v)


def fmt_s(v):
    if v is None:
        return "–"
    if v == math.inf:
        return "> 1 s"
    return f"{v * 1e3:.2f} ms"


def least_contended(fn, *args):
    """Runs fn up to ATTEMPTS times until other processes used < 0.3 cores during the
    measurement; keeps the least contended run."""
    best = None
    for attempt in range(ATTEMPTS):
        r = fn(*args)
        r["attempt"] = attempt + 1
        if best is None or r.get("other_cores", 0) < best.get("other_cores", 0):
            best = r
        if r.get("other_cores", 0) < 0.3:
            break
        log(f"  other processes used {r['other_cores']:.2f} cores during the measurement"
            + ("; repeating" if attempt + 1 < ATTEMPTS else "; keeping the least contended run"))
    return best


def part_trigger():
    out = []
    for durability in DURABILITY:
        entry = {"durability": durability}
        if "none" in TRIGGER_RUNS:
            entry["none"] = least_contended(trigger_run, durability, False)
        if "live" in TRIGGER_RUNS:
            entry["live"] = least_contended(trigger_run, durability, True)
        if PACED_RATE and "paced" in TRIGGER_RUNS:
            entry["paced"] = least_contended(trigger_run, durability, True, PACED_RATE)
        out.append(entry)
    return out


# ---- part 2: customers waiting on timers --------------------------------------------------------

def timers_run(n):
    label = f"timers-{n}"
    log(f"[timers] {n:,} customers entering a `once` journey whose first node waits 30d")
    sx = Sextant(label, "relaxed", simulated=True).fresh().start()
    res = {"users": n}
    try:
        setup_operators(sx)
        res["load"] = load_users(sx, n)
        wait_idle(sx.pid, log, limit=300)
        seg = make_segment(sx, n)
        # Restart: the clean shutdown compacts the state store, so the baseline below is the
        # same compacted store as the one after the entries.
        sx.clock_ms = clock_now(sx)
        res["stop0_seconds"] = round(sx.stop(), 1)
        sx.start()
        touch_identities(sx)
        wait_idle(sx.pid, log, limit=300)
        res["base_start_seconds"] = round(sx.start_seconds, 1)
        res["base_rss"], _ = sx.rss()
        res["base_rss_trimmed"] = trimmed_rss(sx.pid)
        res["base_state_du"] = du(os.path.join(sx.data_dir, "state"))
        res["base_state_bytes"] = sx.metrics().get("sextant_state_bytes", 0)
        now = clock_now(sx)
        jid = launch(sx, {"name": "waiters", "entry": {"type": "once", "segment": seg, "at": now + 60_000},
                          "start": "w", "nodes": {"w": {"type": "wait", "duration": "30d", "next": "e"},
                                                  "e": {"type": "exit"}}})
        wait_idle(sx.pid, log, limit=60)
        pre_rss, pre_hwm = sx.rss()
        res["pre_rss"], res["pre_hwm"] = pre_rss, pre_hwm
        pre_du = du(os.path.join(sx.data_dir, "state"))
        res["other_cores_before"] = wait_machine_quiet(sx.pid)
        sampler = RssSampler(sx.pid)
        prof = Profiler(sx.pid, label)
        contention = Contention(sx.pid)
        t0 = time.time()
        th, result = advance_clock(sx, 120, PART_SECONDS)
        samples_at = [10, 60, 180]
        while th.is_alive() and time.time() - t0 < PART_SECONDS:
            th.join(timeout=1)
            if samples_at and time.time() - t0 >= samples_at[0]:
                samples_at.pop(0)
                prof.sample_stacks()
        wall = time.time() - t0
        res["other_cores"] = contention.other_cores()
        sampler.stop()
        res["profile"] = prof.finish()
        res["peak_rss_sampled"] = sampler.peak
        res["rss_series"] = sampler.series[:: max(1, len(sampler.series) // 30)]
        if th.is_alive():
            res["timed_out"] = True
            res["enter_seconds"] = wall
            log(f"  the clock request did not finish within {PART_SECONDS} s; stopping the server")
            res["hwm"] = sx.rss()[1]
            sx.stop(kill=True)
            return res
        if result.get("status") != 200:
            die(f"clock advance failed: {result}")
        res["enter_seconds"] = result["wall"]
        res["rss_after"], res["hwm"] = sx.rss()
        rep = report(sx, jid)
        res["entered"] = rep.get("entered")
        res["waiting"] = rep.get("nodes", {}).get("w", {}).get("entered")
        res["entries_per_s"] = (res["entered"] or 0) / max(res["enter_seconds"], 1e-9)
        wait_idle(sx.pid, log, limit=600)
        res["rss_after_idle"], hwm_idle = sx.rss()
        res["hwm"] = max(res["hwm"], hwm_idle)  # the entry's ingest of $journey_enter may come later
        res["rss_after_trimmed"] = trimmed_rss(sx.pid)
        res["state_du_after"] = du(os.path.join(sx.data_dir, "state"))
        res["pre_state_du"] = pre_du
        log(f"  entered {res['entered']:,} in {res['enter_seconds']:.1f} s = {res['entries_per_s']:,.0f}/s; "
            f"RSS {fmt_bytes(pre_rss)} → {fmt_bytes(res['rss_after_idle'])} (peak {fmt_bytes(res['hwm'])}); "
            f"state du {fmt_bytes(pre_du)} → {fmt_bytes(res['state_du_after'])}")
        log(f"  hot threads (name:tid, cpu s, %): {res['profile']['hot_threads']}")
        # Steady state after a restart: what the waiting customers cost a running server.
        sx.clock_ms = clock_now(sx)
        res["stop1_seconds"] = round(sx.stop(), 1)
        sx.start()
        res["restart_listen_seconds"] = round(sx.start_seconds, 1)
        res["restart_idle_seconds"] = round(wait_idle(sx.pid, log, limit=600), 1)
        touch_identities(sx)
        wait_idle(sx.pid, log, limit=120)
        res["restart_rss"], _ = sx.rss()
        res["restart_rss_trimmed"] = trimmed_rss(sx.pid)
        res["restart_state_du"] = du(os.path.join(sx.data_dir, "state"))
        res["restart_state_bytes"] = sx.metrics().get("sextant_state_bytes", 0)
        rep = report(sx, jid)
        res["active_after_restart"] = rep.get("active", rep.get("entered"))
        if res["restart_rss_trimmed"]:
            log(f"  after restart, malloc_trim'd: {fmt_bytes(res['base_rss_trimmed'])} → "
                f"{fmt_bytes(res['restart_rss_trimmed'])}; live: {fmt_bytes(res['rss_after_trimmed'])}")
        log(f"  after restart: RSS {fmt_bytes(res['base_rss'])} → {fmt_bytes(res['restart_rss'])}, "
            f"state du {fmt_bytes(res['base_state_du'])} → {fmt_bytes(res['restart_state_du'])} "
            f"(stop {res['stop1_seconds']} s, start {res['restart_listen_seconds']} + "
            f"{res['restart_idle_seconds']} s)")
        if FIRE_TIMERS:
            t0 = time.time()
            th, result = advance_clock(sx, 30 * 86400 + 120, PART_SECONDS)
            th.join(timeout=PART_SECONDS)
            if th.is_alive():
                res["fire_timed_out"] = True
                res["fire_seconds"] = time.time() - t0
                sx.stop(kill=True)
                return res
            res["fire_seconds"] = result.get("wall")
            rep = report(sx, jid)
            res["exited"] = rep.get("exited")
            res["fire_per_s"] = (res["exited"] or 0) / max(res["fire_seconds"] or 1e-9, 1e-9)
            log(f"  timers fired: {res['exited']:,} exited in {res['fire_seconds']:.1f} s "
                f"= {res['fire_per_s']:,.0f}/s")
    finally:
        sx.stop()
        if ENV.get("KEEP_WORK", "0") != "1":
            shutil.rmtree(sx.data_dir, ignore_errors=True)
    return res


def ladder(sizes, run, part):
    out = []
    for n in sizes:
        if out:
            prev = out[-1]
            scale = n / prev["users"]
            est_s = prev.get("enter_seconds", 0) * scale + prev.get("send_seconds", 0) * scale
            est_mem = (prev.get("hwm", 0) - prev.get("pre_rss", 0)) * scale + prev.get("pre_rss", 0)
            if prev.get("timed_out") or est_s > PART_SECONDS or est_mem > MEM_LIMIT_GB * 2**30:
                why = ("the previous size timed out" if prev.get("timed_out") else
                       f"projected from {prev['users']:,}: ~{est_s:,.0f} s (bound {PART_SECONDS} s), "
                       f"peak RSS ~{fmt_bytes(est_mem)} (limit {MEM_LIMIT_GB:.0f} GiB)")
                log(f"[{part}] skipping {n:,}: {why}")
                out.append({"users": n, "skipped": why})
                continue
        t0 = time.time()
        r = run(n)
        r["part_seconds"] = round(time.time() - t0, 1)
        out.append(r)
    return out


# ---- part 3: send with caps ---------------------------------------------------------------------

def receiver_selftest():
    res = {"other_cores_before": wait_machine_quiet()}
    for keepalive in ("0", "1"):
        out = subprocess.run([os.path.join(TOOLS, "journey_receiver"), "selftest", "--seconds", "4",
                              "--clients", "1", "--keepalive", keepalive],
                             stdout=subprocess.PIPE, text=True)
        r = json.loads(out.stdout)
        res["keepalive" if keepalive == "1" else "close"] = r["requests_per_s"]
    log(f"[send] receiver alone (1 client thread): {res['close']:,.0f} req/s with a connection per "
        f"request, {res['keepalive']:,.0f} req/s keep-alive (Sextant's way: 8 kept-alive connections)")
    return res


def send_run(n):
    label = f"send-{n}"
    log(f"[send] {n:,} customers, `once` entry → send → send (cap 1/day) → exit")
    rx = Receiver().start()
    sx = Sextant(label, "relaxed", simulated=True).fresh().start()
    res = {"users": n}
    try:
        setup_operators(sx)
        res["load"] = load_users(sx, n)
        wait_idle(sx.pid, log, limit=300)
        seg = make_segment(sx, n)
        sx.c.json("PUT", f"{API}/touch-rules", {"caps": [{"count": 1, "per": "day"}]}, expect=200)
        sx.c.json("PUT", f"{API}/channels/hook", {"type": "webhook", "url": f"{rx.url}/hook",
                                                  "secret": "bench-secret"}, expect=200)
        for name, body in (("statement", "您的月度账单已生成"), ("reminder", "别忘了查看账单")):
            sx.c.json("PUT", f"{API}/templates/{name}", {"channel": "hook", "body": body},
                      operator="alice", expect=200)
            sx.c.json("POST", f"{API}/templates/{name}/approve", None, operator="bob", expect=200)
        now = clock_now(sx)
        jid = launch(sx, {"name": "statement", "entry": {"type": "once", "segment": seg, "at": now + 60_000},
                          "start": "s1", "nodes": {
                              "s1": {"type": "send", "channel": "hook", "template": "statement", "next": "s2"},
                              "s2": {"type": "send", "channel": "hook", "template": "reminder", "next": "e"},
                              "e": {"type": "exit"}}})
        wait_idle(sx.pid, log, limit=60)
        res["pre_rss"], _ = sx.rss()
        res["other_cores_before"] = wait_machine_quiet(sx.pid)
        sampler = RssSampler(sx.pid)
        prof = Profiler(sx.pid, label)
        contention = Contention(sx.pid, [rx.proc.pid])
        rx_cpu0 = proc_cpu_seconds(rx.proc.pid)
        t0_ms = time.time() * 1000
        t0 = time.time()
        th, result = advance_clock(sx, 120, PART_SECONDS)
        samples_at = [10, 60, 180]
        timeline = []
        decided_at = None  # when the report first counted every decision (2 per customer)

        def decisions_made():
            try:
                nodes = report(sx, jid, timeout=5).get("nodes", {})
            except Exception:  # noqa: BLE001 — a busy server may time out; try again next second
                return None
            return sum(v for node in ("s1", "s2") for k, v in nodes.get(node, {}).items()
                       if k == "sent" or k.startswith("suppressed"))

        while th.is_alive() and time.time() - t0 < PART_SECONDS:
            th.join(timeout=1)
            st = rx.stats()
            made = decisions_made() if decided_at is None else 2 * n
            if decided_at is None and made is not None and made >= 2 * n:
                decided_at = time.time() - t0
            timeline.append((round(time.time() - t0, 1), st["requests"], made))
            if samples_at and time.time() - t0 >= samples_at[0]:
                samples_at.pop(0)
                prof.sample_stacks()
        wall = time.time() - t0
        res["other_cores"] = contention.other_cores()
        res["receiver_cores"] = round((proc_cpu_seconds(rx.proc.pid) - rx_cpu0) / max(wall, 1e-9), 2)
        sampler.stop()
        res["profile"] = prof.finish()
        res["hwm"] = sx.rss()[1]
        res["peak_rss_sampled"] = sampler.peak
        st = rx.stats()
        res["receiver"] = {k: st[k] for k in ("requests", "first_ms", "last_ms")}
        res["timeline"] = timeline[:: max(1, len(timeline) // 40)]
        res["clock_wall"] = wall
        if th.is_alive():
            res["timed_out"] = True
            log(f"  the clock request did not finish within {PART_SECONDS} s "
                f"({st['requests']:,} delivered so far); stopping the server")
            sx.stop(kill=True)
        elif result.get("status") != 200:
            die(f"clock advance failed: {result}")
        else:
            rep = report(sx, jid)
            nodes = rep.get("nodes", {})
            res["report_nodes"] = nodes
            s1, s2 = nodes.get("s1", {}), nodes.get("s2", {})
            res["sent"] = s1.get("sent", 0) + s2.get("sent", 0)
            res["suppressed"] = sum(v for k, v in list(s1.items()) + list(s2.items())
                                    if k.startswith("suppressed"))
            res["delivered_counter"] = s1.get("delivered", 0) + s2.get("delivered", 0)
        # Customers are entered and decided a chunk per step while delivery already runs, so the
        # decisions end when the report (polled every second) first counts all of them; the clock
        # request's end bounds it from above.
        decided_until = decided_at if decided_at is not None else wall
        res["decide_seconds"] = decided_until
        res["decisions"] = res.get("sent", 0) + res.get("suppressed", 0)
        res["decisions_per_s"] = (res["decisions"] or 0) / max(decided_until, 1e-9) if res["decisions"] else None
        span = (st["last_ms"] - st["first_ms"]) / 1000 if st["first_ms"] else 0
        res["deliver_seconds"] = span
        res["delivered_per_s"] = st["requests"] / span if span > 0 else None
        # steady rate: the best 10-second window of the receiver's per-second counts
        per = dict((s, c) for s, c in st.get("per_second", []))
        if per:
            secs = sorted(per)
            w = max(1, min(10, secs[-1] - secs[0] - 1))
            res["delivered_best10s"] = max(sum(per.get(s, 0) for s in range(a, a + w)) / w for a in secs)
            res["delivered_best_window"] = w
        res["send_seconds"] = wall
        res["enter_seconds"] = 0
        log(f"  decisions {res.get('decisions') or 0:,} counted by the report after {decided_until:.1f} s "
            f"(≈ {fmt_rate(res['decisions_per_s'])}); delivered {st['requests']:,} in {span:.1f} s "
            f"(≈ {fmt_rate(res['delivered_per_s'])}); clock request {wall:.1f} s; peak RSS {fmt_bytes(res['hwm'])}")
        log(f"  hot threads (name:tid, cpu s, %): {res['profile']['hot_threads']}")
    finally:
        res["stop_seconds"] = round(sx.stop(kill=bool(res.get("timed_out"))), 1)
        log(f"  server stopped (SIGTERM) in {res['stop_seconds']} s")
        rx.stop()
        if ENV.get("KEEP_WORK", "0") != "1":
            shutil.rmtree(sx.data_dir, ignore_errors=True)
    return res


# ---- report -------------------------------------------------------------------------------------

FLINK_PASS = 155_000 * 2   # Nexmark pass-through per core × 2 (J4)
FLINK_STATEFUL = 39_700 * 2  # Nexmark q11 sessions per core × 2 (J4)
DITTOFEED_S = 120          # recompute interval (J1)
BRAZE_CAMPAIGN = 500_000 / 60  # per-campaign rate limit ceiling, msgs/s (J2)
BRAZE_FLEET = 23_000       # 2 B messages/day average (J2)


def met(ok):
    return "yes" if ok else "**no**"


def build_table(results, timings, total_seconds=None):
    rows = []
    R = rows.append
    for t in results.get("trigger", []):
        d, base, live, paced = t["durability"], t.get("none"), t.get("live"), t.get("paced")
        if base and live:
            be, le = base["stream"]["events_per_s"], live["stream"]["events_per_s"]
            R((f"1. events/s through ingest, no journeys (`{d}`)",
               f"{fmt_rate(be)} (ack p99 {base['stream']['ack_p99_ms']:.1f} ms; {base['cpu_utilisation']:.2f} cores, "
               f"{base['cpu_per_event_us']:.1f} µs CPU/event; other processes {base.get('other_cores', 0):.2f} cores)", "–", "", "Flink Nexmark pass-through 310 K/s (2 × 155 K/core)",
               f"{be / FLINK_PASS:.2f}×"))
            share = live["entered"] / max(live["stream"]["accepted"], 1)
            R((f"1. events/s with {live['journeys']:,} live journeys (`{d}`)",
               f"{fmt_rate(le)} = **{le / max(be, 1):.2f}×** of no journeys (ack p99 {live['stream']['ack_p99_ms']:.1f} ms; "
               f"{live['cpu_utilisation']:.2f} cores, {live['cpu_per_event_us']:.1f} µs CPU/event; other processes {live.get('other_cores', 0):.2f} cores; "
               f"{live['entered']:,} entries = {share * 100:.1f}% of events, model {live['expected_entry_share'] * 100:.1f}%; "
               f"worker caught up {live['catch_up_seconds']} s after the last ack)",
               "≥ 200 K/s", met(le >= 200_000), "Flink Nexmark stateful q11 79 K/s (2 × 39.7 K/core)",
               f"{le / FLINK_STATEFUL:.2f}×"))
            R((f"1. ingest commit → decision at full speed (`{d}`), {live['decisions']:,} commits",
               f"p50 {fmt_q(live['p50'], live['p50_bucket'])}, p99 {fmt_q(live['p99'], live['p99_bucket'])}"
               + (" (the histogram's last bound is 1 s)" if live["p99_bucket"] == math.inf else "") + "; "
               f"mean {fmt_s(live['decision_mean'])} (sum / count); the machine saturated",
               "–" if paced else "p99 ≤ 10 ms",
               "" if paced else met(live["p99"] is not None and live["p99_bucket"] != math.inf and live["p99"] <= 0.010),
               "Dittofeed recompute every 120 s",
               (f"{DITTOFEED_S / live['p99']:,.0f}× faster (p99)" if live["p99_bucket"] != math.inf
                else f"{DITTOFEED_S / live['decision_mean']:,.0f}× faster (mean; p99 unknown above 1 s)")
               if live.get("p99") else "–"))
        if paced:
            ps = paced["stream"]
            held = ps["events_per_s"] >= 0.98 * PACED_RATE
            R((f"1. ingest commit → decision at {fmt_rate(PACED_RATE)} offered (`{d}`), {paced['decisions']:,} commits",
               f"p50 {fmt_q(paced['p50'], paced['p50_bucket'])}, p99 {fmt_q(paced['p99'], paced['p99_bucket'])}; "
               f"mean {fmt_s(paced['decision_mean'])}; held {fmt_rate(ps['events_per_s'])} "
               f"({ps['late_batches']:,} of {ps['requests']:,} batches > 10 ms late; ack p99 {ps['ack_p99_ms']:.1f} ms; "
               f"{paced['cpu_utilisation']:.2f} cores; other processes {paced.get('other_cores', 0):.2f}; "
               f"worker caught up {paced['catch_up_seconds']} s after the last ack)",
               "p99 ≤ 10 ms at ≥ 200 K/s",
               met(held and PACED_RATE >= 200_000 and paced["p99"] is not None
                   and paced["p99_bucket"] != math.inf and paced["p99"] <= 0.010),
               "Dittofeed recompute every 120 s",
               f"{DITTOFEED_S / paced['p99']:,.0f}× faster (p99)"
               if paced.get("p99") and paced["p99_bucket"] != math.inf else "–"))
    for r in results.get("timers", []):
        n = r["users"]
        if r.get("skipped"):
            R((f"2. {n:,} customers waiting on timers", f"skipped: {r['skipped']}", "≤ 200 B/customer", "–", "–", ""))
            continue
        if r.get("timed_out"):
            R((f"2. {n:,} customers entering (`once`, wait 30d)",
               f"did not finish within {PART_SECONDS} s (peak RSS {fmt_bytes(r['hwm'])})", "–", "**no**", "–", ""))
            continue
        R((f"2. {n:,} customers enter (`once` → wait 30d)",
           f"{r['entered']:,} in {r['enter_seconds']:.1f} s = {fmt_rate(r['entries_per_s'])}; "
           f"peak RSS {fmt_bytes(r['hwm'])} (+{fmt_bytes(r['hwm'] - r['pre_rss'])} = "
           f"{(r['hwm'] - r['pre_rss']) / n:,.0f} B/customer during the entry; other processes "
           f"{r.get('other_cores', 0):.2f} cores)", "–", "", "–", ""))
        live_b = (r["rss_after_idle"] - r["pre_rss"]) / n
        rest_b = (r["restart_rss"] - r["base_rss"]) / n
        text = (f"after a restart (steady state): RSS **{rest_b:,.0f} B** ({fmt_bytes(r['base_rss'])} → "
                f"{fmt_bytes(r['restart_rss'])})")
        heap_b = None
        if r.get("restart_rss_trimmed") and r.get("base_rss_trimmed"):
            heap_b = (r["restart_rss_trimmed"] - r["base_rss_trimmed"]) / n
            text += (f", of which live heap **{heap_b:,.0f} B** after malloc_trim "
                     f"({fmt_bytes(r['base_rss_trimmed'])} → {fmt_bytes(r['restart_rss_trimmed'])}; the "
                     "rest is freed memory glibc keeps)")
        text += (f"; right after the entry, live: RSS {live_b:,.0f} B ({fmt_bytes(r['pre_rss'])} → "
                 f"{fmt_bytes(r['rss_after_idle'])})")
        if r.get("rss_after_trimmed") and r.get("base_rss_trimmed"):
            text += f", {(r['rss_after_trimmed'] - r['base_rss_trimmed']) / n:,.0f} B after malloc_trim"
        ok = "yes" if rest_b <= 200 else ("heap only" if heap_b is not None and heap_b <= 200 else "**no**")
        R((f"2. memory per waiting customer ({n:,})", text, "≤ 200 B", ok, "–", ""))
        R((f"2. state store disk per waiting customer ({n:,})",
           f"{(r['restart_state_du'] - r['base_state_du']) / n:,.0f} B compacted "
           f"({fmt_bytes(r['base_state_du'])} → {fmt_bytes(r['restart_state_du'])}); "
           f"{(r['state_du_after'] - r['pre_state_du']) / n:,.0f} B before compaction; restart "
           f"{r['restart_listen_seconds'] + r['restart_idle_seconds']:.0f} s", "–", "", "–", ""))
        if r.get("fire_seconds") is not None:
            R((f"2. the 30-day timers fire ({n:,})",
               (f"{r['exited']:,} exited in {r['fire_seconds']:.1f} s = {fmt_rate(r['fire_per_s'])}"
                + (f" — **{r['exited'] - r['entered']:,} more exits than entries: timers ran twice (bug)**"
                   if r["exited"] > r["entered"] else "")
                if not r.get("fire_timed_out") else f"did not finish within {PART_SECONDS} s"),
               "–", "", "–", ""))
    if results.get("receiver"):
        rx = results["receiver"]
        R(("3. loopback receiver alone (1 client thread)",
           f"{fmt_rate(rx['close'])} with a connection per request, "
           f"{fmt_rate(rx['keepalive'])} keep-alive (Sextant keeps up to 8 connections alive)", "> delivered/s", "", "–", ""))
    for r in results.get("send", []):
        n = r["users"]
        if r.get("skipped"):
            R((f"3. send to a {n:,}-customer segment", f"skipped: {r['skipped']}", "", "–", "", ""))
            continue
        dec = r.get("decisions_per_s")
        R((f"3. cap-checked decisions/s ({n:,} customers × 2 sends, cap 1/day)",
           (f"{fmt_rate(dec)}: {r.get('sent', 0):,} sent + {r.get('suppressed', 0):,} suppressed "
            f"in {r['decide_seconds']:.1f} s (delivery running alongside)"
            + (" — **the cap did not suppress the 2nd same-day send (bug)**"
               if r.get("suppressed", 0) == 0 and r.get("sent") else "")
            if dec is not None else f"timed out after {PART_SECONDS} s") + f"; peak RSS {fmt_bytes(r['hwm'])}; receiver "
           f"{r.get('receiver_cores', 0):.2f} cores, other processes {r.get('other_cores', 0):.2f} cores",
           "≥ 100 K/s", met(dec is not None and dec >= 100_000),
           "Braze per-campaign limit 8.3 K/s (500 K/min)", f"{dec / BRAZE_CAMPAIGN:.1f}×" if dec else "–"))
        dl = r.get("delivered_per_s")
        R((f"3. delivered/s at the receiver ({n:,})",
           (f"{fmt_rate(dl)} average ({r['receiver']['requests']:,} in {r['deliver_seconds']:.1f} s; best {r.get('delivered_best_window', 10)} s "
            f"{fmt_rate(r.get('delivered_best10s'))})" if dl else "none") +
           ("; **timed out**" if r.get("timed_out") else ""),
           "≥ 20 K/s", met(dl is not None and dl >= 20_000),
           "Braze per-campaign 8.3 K/s; fleet average 23 K/s", f"{dl / BRAZE_CAMPAIGN:.1f}× / {dl / BRAZE_FLEET:.2f}×" if dl else "–"))
    lines = ["| measurement | Sextant | target | met | public anchor (performance.md J1, J2, J4) | ratio to anchor |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| " + " | ".join(r) + " |")
    lines.append("")
    lines.append("Time per part: " + ", ".join(f"{k} {v / 60:.1f} min" for k, v in timings.items()) +
                 f"; total {(total_seconds or time.time() - T_START) / 60:.1f} min.")
    return "\n".join(lines)


def notes(results):
    out = []
    tr = results.get("trigger", [])
    if tr:
        live = tr[0].get("live") or tr[0].get("paced")
        out.append(f"Part 1: {JOURNEYS:,} running journeys, entry `event` on {JOURNEY_NAMES} names "
                   f"(5 condition shapes: amount thresholds, fund_type/channel equality, `in`, `between`, "
                   f"nested any/all), nodes `wait 30d → exit`; {EVENTS:,} events over {JOURNEY_NAMES + OTHER_NAMES} "
                   f"names ({JOURNEY_SHARE:.0%} on journey names), {STREAM_USERS:,} users, NDJSON batches of "
                   f"{BATCH} on {CONNECTIONS} keep-alive connections, all names seen once before the journeys "
                   "start; fresh data directory per run. Decision latency: delta of "
                   "`sextant_journey_decision_seconds` (one observation per ingest commit that carried "
                   "events a journey listens to), quantiles interpolated inside buckets "
                   "0.5/1/2/5/10/25/50/100/500/1000 ms.")
    if results.get("timers"):
        out.append("Part 2: users created by one `bench_seen` event each (bench loader), rule segment "
                   "`{\"did\": \"bench_seen\"}` (not realtime, manual refresh), `--clock simulated`, "
                   "`--durability relaxed`; the `once` entry fires inside `POST /admin/clock` (its wall time "
                   "is the entry time). Memory per customer after a restart = (RSS after restart with the "
                   "instances − RSS after restart before the journey) / N; disk = du of DATA/state, both "
                   "after the clean shutdown's compaction.")
    if results.get("send"):
        out.append("Part 3: webhook channel to a C++ Boost.Beast receiver on loopback (1 thread), "
                   "project touch rule `caps: [{count: 1, per: day}]`, approved templates; the journey "
                   "`once → send statement → send reminder → exit`, so every customer gets one touch sent "
                   "and one suppressed by the cap (2 decisions each). Decisions/s = decisions / time "
                   "from the clock request until the journey report (polled every second) counts them "
                   "all — customers are entered and decided a chunk per step while delivery runs "
                   "alongside; delivered/s = receiver requests / (last − first).")
    return "\n\n".join(out)


def write_docs(section):
    doc = os.path.join(ROOT, "docs/benchmarks.md")
    begin, end = "<!-- journey-bench -->", "<!-- /journey-bench -->"
    text = open(doc).read()
    if begin not in text:
        text = text.rstrip("\n") + "\n\n## Journeys\n\n" + begin + "\n" + end + "\n"
    pre, rest = text.split(begin, 1)
    _, post = rest.split(end, 1)
    open(doc, "w").write(pre + begin + "\n" + section + "\n" + end + post)
    log("wrote docs/benchmarks.md")


def source_state():
    """The commit the tree is based on (read from .git without running git) and a hash of src/
    as built, since src/ may carry uncommitted edits."""
    import hashlib
    commit = "?"
    try:
        head = open(os.path.join(ROOT, ".git/HEAD")).read().strip()
        if head.startswith("ref: "):
            ref = head[5:]
            path = os.path.join(ROOT, ".git", ref)
            if os.path.exists(path):
                commit = open(path).read().strip()
            else:
                for line in open(os.path.join(ROOT, ".git/packed-refs")):
                    if line.strip().endswith(ref):
                        commit = line.split()[0]
        else:
            commit = head
    except OSError:
        pass
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(os.path.join(ROOT, "src"))):
        dirnames.sort()
        for name in sorted(filenames):
            with open(os.path.join(dirpath, name), "rb") as f:
                h.update(name.encode() + f.read())
    return commit[:12], h.hexdigest()[:12]


def main():
    os.makedirs(WORK, exist_ok=True)
    if ENV.get("REPORT_ONLY"):
        # Rebuilds the table from a saved results.json (e.g. after a change to the report).
        saved = read_json(ENV["REPORT_ONLY"])
        if not saved:
            die(f"cannot read {ENV['REPORT_ONLY']}")
        meta = saved.pop("_meta", {})
        section = (meta.get("header", "") + "\n\n" + build_table(saved, meta.get("timings", {}),
                                                                meta.get("total_seconds")) +
                   "\n\n" + notes(saved) + "\n")
        print(section)
        if DOCS == "1":
            write_docs(section)
        return
    commit, src_hash = source_state()
    log(f"source: commit {commit}, src/ sha256 {src_hash}")
    global SEXTANT
    built = time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(SEXTANT)))
    origin = SEXTANT
    copy = os.path.join(WORK, "sextant")
    if os.path.abspath(SEXTANT) != copy:
        shutil.copy2(SEXTANT, copy)  # immune to a rebuild during the run
    SEXTANT = copy
    results, timings = {}, {}
    results_path = os.path.join(WORK, "results.json")
    for part in PARTS:
        t0 = time.time()
        if part == "trigger":
            results["trigger"] = part_trigger()
        elif part == "timers":
            results["timers"] = ladder(TIMER_USERS, timers_run, "timers")
        elif part == "send":
            results["receiver"] = receiver_selftest()
            results["send"] = ladder(SEND_USERS, send_run, "send")
        else:
            die(f"unknown part {part}")
        timings[part] = time.time() - t0
        write_json(results_path, results)
    table = build_table(results, timings)
    header = (f"Command: `{COMMAND}` (release build {origin}, built {built} from commit {commit} "
              f"+ working tree, src/ sha256 {src_hash}; run "
              f"{time.strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} cores, "
              f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB).")
    section = f"{header}\n\n{table}\n\n{notes(results)}\n"
    print(section)
    results["_meta"] = {"header": header, "timings": timings, "total_seconds": time.time() - T_START}
    write_json(results_path, results)
    if (DOCS == "1") or (DOCS == "auto" and FULL):
        write_docs(section)
    elif not FULL:
        log("not a full-size run: docs/benchmarks.md left unchanged")


if __name__ == "__main__":
    main()
