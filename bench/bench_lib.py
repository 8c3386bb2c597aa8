"""Helpers shared by the benchmark drivers (bench/analysis/run.py, bench/segments/run.py):
JSON files, disk usage, and watching a server process through /proc."""
import json
import os
import subprocess
import time


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_json(path, obj):
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(path + ".tmp", path)


def du(path):
    return int(subprocess.run(["du", "-sb", path], capture_output=True, text=True, check=True)
               .stdout.split()[0])


def proc_cpu_seconds(pid):
    """utime + stime of a process (all threads), seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid, key):
    """A size field of /proc/<pid>/status (VmRSS, VmHWM, ...) in bytes; 0 if unreadable."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def wait_idle(pid, log, limit=600, quiet=0.03):
    """Waits until the process used < quiet CPU-seconds per second for two seconds in a row."""
    t0 = time.time()
    calm = 0
    last = proc_cpu_seconds(pid)
    while time.time() - t0 < limit:
        time.sleep(1)
        now = proc_cpu_seconds(pid)
        calm = calm + 1 if now - last < quiet else 0
        last = now
        if calm >= 2:
            return time.time() - t0
    log(f"process {pid} still busy after {limit} s; going on")
    return time.time() - t0


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def ch_time(date):
    return f"toDateTime('{date.isoformat()} 00:00:00', 'Asia/Shanghai')"
