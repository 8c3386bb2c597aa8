#!/usr/bin/env python3
"""Plain-Python answers to the three benchmark queries, straight from the generator's TSV.

A third opinion for small data sets (run.py uses it when EVENTS <= REFERENCE_MAX_EVENTS, default
3M): it checks that the ClickHouse SQL means what the Sextant request means, so a mismatch can be
pinned on the right side. Definitions (Asia/Shanghai days, whole-second times):
  events     cells (day, event, count|uniq_users) for day in [from, to]
  funnel     ("step", k) = users whose windowFunnel level >= k: step 1 in [from 00:00, to 23:59:59],
             later steps within `window` seconds (inclusive) of the step-1 time, in order, any
             events in between; the greedy latest-start algorithm of ClickHouse's windowFunnel.
  retention  (cohort day, "users") = (cohort day, 0) = users with the initial event that day;
             (cohort day, k) = of those, users with the return event on cohort day + k,
             k = 1..periods (ClickHouse retention()'s convention, and Sextant's).
Usage (module): answers(tsv_path, spec) -> {kind: cells}; spec from run.py.
"""
import datetime
from collections import defaultdict

TZ_OFFSET = 8 * 3600


def local_day(t):
    return datetime.date(1970, 1, 1) + datetime.timedelta(days=(t + TZ_OFFSET) // 86400)


def epoch(d):
    return int(datetime.datetime(d.year, d.month, d.day,
                                 tzinfo=datetime.timezone(datetime.timedelta(hours=8))).timestamp())


def answers(tsv, spec):
    q_from, q_to = spec["q_from"], spec["q_to"]
    ev_set = set(spec["events"])
    funnel = spec["funnel"]
    window = spec["window"]
    r_from, r_to, periods = spec["r_from"], spec["r_to"], spec["periods"]
    r_init, r_ret = spec["initial"], spec["return"]

    lo, hi_excl = epoch(q_from), epoch(q_to + datetime.timedelta(days=1))
    f_hi = hi_excl - 1 + window
    r_lo = epoch(r_from)
    r_init_excl = epoch(r_to + datetime.timedelta(days=1))
    r_ret_excl = epoch(r_to + datetime.timedelta(days=periods + 1))

    counts = defaultdict(int)
    uniq = defaultdict(set)
    funnel_events = defaultdict(list)  # user -> [(t, step index)]
    step_of = {e: i for i, e in enumerate(funnel)}
    init_days = defaultdict(set)
    ret_days = defaultdict(set)
    with open(tsv) as f:
        for line in f:
            user, event, t, _, _ = line.rstrip("\n").split("\t")
            t = int(t)
            if event in ev_set and lo <= t < hi_excl:
                d = local_day(t)
                counts[(d, event)] += 1
                uniq[(d, event)].add(user)
            if event in step_of and lo <= t <= f_hi:
                funnel_events[user].append((t, step_of[event]))
            if r_lo <= t < r_ret_excl:
                if event == r_init and t < r_init_excl:
                    init_days[user].add(local_day(t))
                if event == r_ret:
                    ret_days[user].add(local_day(t))

    out = {"events": {}, "funnel": {}, "retention": {}}
    for i in range((q_to - q_from).days + 1):
        d = q_from + datetime.timedelta(days=i)
        for e in spec["events"]:
            out["events"][(d.isoformat(), e, "count")] = counts.get((d, e), 0)
            out["events"][(d.isoformat(), e, "uniq_users")] = len(uniq.get((d, e), ()))

    levels = defaultdict(int)
    n = len(funnel)
    for user, evs in funnel_events.items():
        evs.sort()
        start = [-1] * n  # start time of the chain that reached each step (latest)
        level = 0
        for t, s in evs:
            if s == 0:
                if t < hi_excl:
                    start[0] = t
            elif start[s - 1] >= 0 and t <= start[s - 1] + window:
                start[s] = start[s - 1]
                if s + 1 == n:
                    level = n
                    break
        if level == 0:
            level = max((k + 1 for k in range(n) if start[k] >= 0), default=0)
        if level:
            levels[level] += 1
    for k in range(1, n + 1):
        out["funnel"][("step", k)] = sum(v for lvl, v in levels.items() if lvl >= k)

    cohorts = defaultdict(int)
    retained = defaultdict(int)
    for user, days in init_days.items():
        rd = ret_days.get(user, ())
        for d in days:
            cohorts[d] += 1
            retained[(d, 0)] += 1
            for k in range(1, periods + 1):
                if d + datetime.timedelta(days=k) in rd:
                    retained[(d, k)] += 1
    for i in range((r_to - r_from).days + 1):
        d = r_from + datetime.timedelta(days=i)
        out["retention"][(d.isoformat(), "users")] = cohorts.get(d, 0)
        for k in range(periods + 1):
            out["retention"][(d.isoformat(), k)] = retained.get((d, k), 0)
    return out
