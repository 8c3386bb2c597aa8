#!/usr/bin/env python3
"""Diagnostic (not part of the benchmark): ingest ack times on a freshly started server over a
cached segment-bench store. Starts `sextant serve` on a copy of DATA_ROOT/<params>/sextant,
optionally creates one segment, then sends 8 single-record NDJSON requests 0.2 s apart and
prints each ack time and the server's RSS.

  EVENTS=100000000 USERS=10000000 START=2026-08-26 python3 bench/segments/ingest_probe.py \
      none|realtime|batch now|old

  none: no segment; realtime / batch: create "BuyFund count >= 3 in the last 30 days" with
  realtime true / false first. now: events at the current time; old: 2025-01-01 (time_free).
Found with it (2026-11-22, 10 M users): the first request acks after ~13.9 s and requests 2, 3
and 6 after 0.4–4.1 s while RSS grows by ~1 GiB, whatever the arguments; later acks are ~2–7 ms.
"""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402

args = sys.argv[1:] + ["none", "now"][len(sys.argv) - 1:]
mode, when = args[0], args[1]
src = os.path.join(run.DIR, "sextant")
work = os.path.join(run.WORK, "ingest-probe")
shutil.rmtree(work, ignore_errors=True)
subprocess.run(["cp", "-a", "--reflink=auto", src, work], check=True)
run.SEXTANT = os.path.join(run.WORK, "sextant")  # the copy the last benchmark run used
sx = run.Sextant(work).start()
try:
    run.wait_idle(sx.pid)
    api = run.Conn(sx.url, run.TOKEN)
    if mode != "none":
        st, obj, text, wall = api.json("POST", f"{run.API}/segments", {
            "name": "probe", "realtime": mode == "realtime",
            "rule": {"did": "BuyFund", "within": {"last": "30d"}, "count": {"op": ">=", "value": 3}}})
        print("create", st, obj.get("size") if obj else text[:200], f"{wall:.2f} s; rss",
              run.proc_status(sx.pid, "VmRSS") >> 20, "MiB")
    ing = run.Conn(sx.url, run.TOKEN)
    for i in range(8):
        t = int(time.time() * 1000) if when == "now" else 1735689600000 + i * 1000
        rec = {"type": "track", "event": "BuyFund", "distinct_id": f"u{100 + i}", "time": t,
               "time_free": True, "properties": {"amount": 1000}}
        st, text, wall = ing.request("POST", f"{run.API}/records", json.dumps(rec) + "\n",
                                     "application/x-ndjson")
        print("ingest", i, st, f"{wall * 1e3:.1f} ms; rss", run.proc_status(sx.pid, "VmRSS") >> 20, "MiB")
        time.sleep(0.2)
finally:
    sx.stop()
    shutil.rmtree(work, ignore_errors=True)
