'use strict';
// Translates a Sextant analysis query (POST /api/v1/projects/{p}/query) into ClickHouse 18.16
// SQL over the table `ev`, and brings both answers into one comparable shape.
//
// Table ev: user String, event String, t DateTime('Asia/Shanghai'), ts UInt32 (= t),
//           amount Nullable(Float64), fund_type Nullable(String), channel Nullable(String),
//           tags Array(String) (a LIST property; [] = absent),
//           u_city Nullable(String), u_risk Nullable(Float64) (the user's profile).
//
// Semantics assumed (the query contract):
//  - dates are inclusive local days (Asia/Shanghai): [midnight of `from`, last second of `to`];
//  - buckets: day = toDate(t), week = toMonday(t), month = toStartOfMonth(t), labelled by the
//    bucket's first day;
//  - a filter comparison on a property the event does not have is false (is_set / not_set test
//    presence; `not` negates its operand); a LIST matches =, in, contains when an element does,
//    != and not_in when none does (docs/query.md);
//  - funnel: windowFunnel(window)(t, step1 AND from<=t<=to_end, step2, ...) per user over
//    from<=t<=to_end+window; steps[k].users = users with level >= k+1;
//  - retention: cohort = users with an initial event in the period (first_time: whose first
//    initial event over all data is in it); retained[0] = cohort size, retained[k] = cohort
//    users with a return event in period cohort+k (return events are not limited by `to`).

const { localMidnight, DAY } = require('./generate');

const COLUMNS = {
  'event.amount': 'amount', 'event.fund_type': 'fund_type', 'event.channel': 'channel',
  'event.tags': 'tags', 'user.city': 'u_city', 'user.risk_level': 'u_risk',
};
const LISTS = new Set(['tags']);

function str(s) {
  return `'${String(s).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
function lit(v) {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`bad number ${v}`);
    return String(v);
  }
  if (typeof v === 'string') return str(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  throw new Error(`unsupported literal ${JSON.stringify(v)}`);
}
function column(property) {
  const name = property.startsWith('event.') || property.startsWith('user.') ? property : `event.${property}`;
  const c = COLUMNS[name];
  if (!c) throw new Error(`reference: no ClickHouse column for property ${property}`);
  return c;
}

function filterSql(f) {
  if (!f) return '1';
  if (f.all) return f.all.length ? `(${f.all.map(filterSql).join(' AND ')})` : '1';
  if (f.any) return f.any.length ? `(${f.any.map(filterSql).join(' OR ')})` : '0';
  if (f.not) return `(NOT ${filterSql(f.not)})`;
  const c = column(f.property);
  const v = f.value;
  const cmp = (expr) => `ifNull(${expr}, 0)`;
  if (LISTS.has(c)) {
    switch (f.op) {
      case '=': return `has(${c}, ${lit(v)})`;
      case '!=': return `(notEmpty(${c}) AND NOT has(${c}, ${lit(v)}))`;
      case 'in': return `hasAny(${c}, [${v.map(lit).join(', ')}])`;
      case 'not_in': return `(notEmpty(${c}) AND NOT hasAny(${c}, [${v.map(lit).join(', ')}]))`;
      case 'contains': return `arrayExists(x -> position(x, ${lit(v)}) > 0, ${c})`;
      case 'is_set': return `notEmpty(${c})`;
      case 'not_set': return `empty(${c})`;
      default: throw new Error(`reference: op ${f.op} on a LIST is not translated`);
    }
  }
  switch (f.op) {
    case '=': case '!=': case '>': case '>=': case '<': case '<=':
      return cmp(`${c} ${f.op} ${lit(v)}`);
    case 'between': return cmp(`(${c} >= ${lit(v[0])} AND ${c} <= ${lit(v[1])})`);
    // 18.16 answers 1 for `NULL NOT IN (...)`, hence the explicit presence test.
    case 'in': return `(isNotNull(${c}) AND ${cmp(`${c} IN (${v.map(lit).join(', ')})`)})`;
    case 'not_in': return `(isNotNull(${c}) AND ${cmp(`${c} NOT IN (${v.map(lit).join(', ')})`)})`;
    case 'contains': return cmp(`position(${c}, ${lit(v)}) > 0`);
    case 'is_set': return `isNotNull(${c})`;
    case 'not_set': return `isNull(${c})`;
    default: throw new Error(`reference: unknown op ${f.op}`);
  }
}

function eventCond(event) {
  return !event || event === '$any' ? '1' : `event = ${str(event)}`;
}
function stepCond(step) {
  return `(${eventCond(step.event)} AND ${filterSql(step.filter)})`;
}

function range(q) {
  return { start: localMidnight(q.from), end: localMidnight(q.to) + DAY - 1 };
}

function bucket(unit, expr = 't') {
  switch (unit || 'day') {
    // toStartOfHour() drops the column's time zone in 18.16; Asia/Shanghai has whole-hour
    // offsets and no DST, so the local hour is plain arithmetic.
    case 'hour': return `formatDateTime(toDateTime(intDiv(ts + 28800, 3600) * 3600, 'UTC'), '%Y-%m-%d %H:00')`;
    case 'day': return `toDate(${expr})`;
    case 'week': return `toMonday(${expr})`;
    case 'month': return `toStartOfMonth(${expr})`;
    default: throw new Error(`reference: unknown unit ${unit}`);
  }
}
// Date expression `d` shifted by k units.
function shift(unit, d, k) {
  if (k === 0) return d;
  switch (unit || 'day') {
    case 'day': return `(${d} + ${k})`;
    case 'week': return `(${d} + ${7 * k})`;
    case 'month': return `addMonths(${d}, ${k})`;
    default: throw new Error(`reference: unknown unit ${unit}`);
  }
}
// JS list of the period starts (YYYY-MM-DD) covering [from, to].
function periods(unit, from, to) {
  const out = [];
  const toDate = (s) => new Date(`${s}T00:00:00Z`);
  const fmt = (d) => d.toISOString().slice(0, 10);
  let d = toDate(from);
  if (unit === 'week') d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  if (unit === 'month') d.setUTCDate(1);
  const end = toDate(to);
  while (d <= end) {
    out.push(fmt(d));
    if (unit === 'week') d.setUTCDate(d.getUTCDate() + 7);
    else if (unit === 'month') d.setUTCMonth(d.getUTCMonth() + 1);
    else d.setUTCDate(d.getUTCDate() + 1);
  }
  return out;
}

function measureSql(m) {
  const cond = m.filter ? `(${eventCond(m.event)} AND ${filterSql(m.filter)})` : eventCond(m.event);
  switch (m.aggregator) {
    case 'count': return `countIf(${cond})`;
    case 'uniq_users': return `uniqExactIf(user, ${cond})`;
    case 'sum': return `sumIf(${column(m.property)}, ${cond})`;
    case 'avg': return `avgIf(${column(m.property)}, ${cond} AND isNotNull(${column(m.property)}))`;
    case 'min': return `minIf(${column(m.property)}, ${cond} AND isNotNull(${column(m.property)}))`;
    case 'max': return `maxIf(${column(m.property)}, ${cond} AND isNotNull(${column(m.property)}))`;
    case 'distinct': return `uniqExactIf(${column(m.property)}, ${cond} AND isNotNull(${column(m.property)}))`;
    case 'per_user_avg': return `countIf(${cond}) / uniqExactIf(user, ${cond})`;
    default: throw new Error(`reference: unknown aggregator ${m.aggregator}`);
  }
}

// ---- SQL ---------------------------------------------------------------------------------

function eventsSql(q) {
  const { start, end } = range(q);
  const by = (q.by || []).map(column);
  const keys = ['time', ...by.map((_, i) => `g${i}`)];
  const time = q.unit === 'total' ? `toDate(${str(q.from)})` : bucket(q.unit);
  return `SELECT toString(${time}) AS time, ${by.map((c, i) => `${c} AS g${i}, `).join('')}`
    + `${q.measures.map((m, i) => `${measureSql(m)} AS m${i}`).join(', ')}\n`
    + `FROM ev WHERE ts >= ${start} AND ts <= ${end} AND ${filterSql(q.filter)}\n`
    + `GROUP BY ${keys.join(', ')} ORDER BY ${keys.join(', ')}`;
}

// Per-user group columns (user properties are constant per user).
function byColumns(q) {
  return (q.by || []).map((p, i) => {
    if (!p.startsWith('user.')) throw new Error(`reference: by ${p}: funnels and retention group by user properties`);
    return { expr: `any(${column(p)}) AS g${i}`, name: `g${i}` };
  });
}

function funnelSql(q) {
  const { start, end } = range(q);
  const w = q.window_seconds;
  const by = byColumns(q);
  const conds = q.steps.map((s, i) => (i === 0 ? `(${stepCond(s)} AND ts >= ${start} AND ts <= ${end})` : stepCond(s)));
  const g = by.map((c) => `${c.name}, `).join('');
  return `SELECT ${g}level, count() AS users FROM (\n`
    + `  SELECT user, ${by.map((c) => `${c.expr}, `).join('')}windowFunnel(${w})(t, ${conds.join(', ')}) AS level\n`
    + `  FROM ev WHERE ts >= ${start} AND ts <= ${end + w} AND ${filterSql(q.filter)} GROUP BY user)\n`
    + `GROUP BY ${g}level ORDER BY ${g}level`;
}

function retentionSql(q) {
  const unit = q.unit || 'day';
  const n = q.periods;
  const by = byColumns(q);
  const g = by.map((c) => `${c.name}, `).join('');
  const init = stepCond(q.initial);
  const ret = stepCond(q.return);
  const cohorts = periods(unit, q.from, q.to);
  const sums = Array.from({ length: n + 1 }, (_, k) => `sum(r[${k + 1}])`).join(', ');
  const P = bucket(unit);
  const conds = (d) => [`(${init} AND ${P} = ${d})`,
    ...Array.from({ length: n }, (_, k) => `(${ret} AND ${P} = ${shift(unit, d, k + 1)})`)].join(',\n    ');
  // The query's top-level filter applies to every event it reads.
  const events = `(${init} OR ${ret}) AND ${filterSql(q.filter)}`;
  if (!q.first_time) {
    return `SELECT ${g}toString(d) AS cohort, ${sums} FROM (\n`
      + `  SELECT user, d, ${by.map((c) => `${c.expr}, `).join('')}retention(${conds('d')}) AS r\n`
      + `  FROM ev ARRAY JOIN [${cohorts.map((c) => `toDate(${str(c)})`).join(', ')}] AS d\n`
      + `  WHERE ${events}\n`
      + '  GROUP BY user, d)\n'
      + `GROUP BY ${g}d ORDER BY ${g}d`;
  }
  return `SELECT ${g}toString(d) AS cohort, ${sums} FROM (\n`
    + `  SELECT user, any(fd) AS d, ${by.map((c) => `${c.expr}, `).join('')}retention(${conds('fd')}) AS r\n`
    + `  FROM ev ALL INNER JOIN (SELECT user, min(${P}) AS fd FROM ev WHERE ${init} AND ${filterSql(q.filter)} GROUP BY user) USING user\n`
    + `  WHERE ${events}\n`
    + '  GROUP BY user)\n'
    + `WHERE d >= toDate(${str(cohorts[0])}) AND d <= toDate(${str(q.to)})\n`
    + `GROUP BY ${g}d ORDER BY ${g}d`;
}

function sqlFor(q) {
  switch (q.type) {
    case 'events': return eventsSql(q);
    case 'funnel': return funnelSql(q);
    case 'retention': return retentionSql(q);
    default: throw new Error(`reference: unknown query type ${q.type}`);
  }
}

// ---- normal forms ------------------------------------------------------------------------
// Every answer becomes a Map(key → array of numbers) without all-zero entries:
//   events:    JSON [time, ...by values]        → [m0, m1, ...]
//   funnel:    "all" and JSON [...by values]    → [users of step 1, ..., step n]
//   retention: JSON ["*", period] and JSON [...by values, period] → [n0, ..., nP]

// Absent, null and non-finite (an average of nothing) all count as 0.
const num = (v) => (v === null || v === undefined || !Number.isFinite(Number(v)) ? 0 : Number(v));
const key = (values) => JSON.stringify(values.map((v) => (v === undefined ? null : v)));

function put(m, k, vals) {
  if (vals.every((v) => v === 0)) return;
  if (m.has(k)) throw new Error(`duplicate entry for ${k}`);
  m.set(k, vals);
}

function normalEvents(rows, nBy) {
  const m = new Map();
  for (const row of rows) put(m, key(row.slice(0, 1 + nBy)), row.slice(1 + nBy).map(num));
  return m;
}

// `limit`: the groups largest by the first measure summed over the buckets (as Sextant ranks
// them); a tie at the cut would make the case ambiguous.
function limitGroups(q, rows) {
  const nBy = (q.by || []).length;
  const limit = q.limit || 1000;
  if (!nBy) return rows;
  const totals = new Map();
  for (const row of rows) {
    const g = key(row.slice(1, 1 + nBy));
    totals.set(g, (totals.get(g) || 0) + num(row[1 + nBy]));
  }
  if (totals.size <= limit) return rows;
  const ranked = [...totals.entries()].sort((a, b) => b[1] - a[1]);
  if (ranked[limit - 1][1] === ranked[limit][1]) {
    throw new Error(`reference: groups tie at the limit (${JSON.stringify(ranked.slice(limit - 1, limit + 1))}); choose another case`);
  }
  const kept = new Set(ranked.slice(0, limit).map(([g]) => g));
  return rows.filter((row) => kept.has(key(row.slice(1, 1 + nBy))));
}

function fromClickHouse(q, rows) {
  const nBy = (q.by || []).length;
  const m = new Map();
  switch (q.type) {
    case 'events': return normalEvents(limitGroups(q, rows), nBy);
    case 'funnel': {
      const groups = new Map();
      const all = q.steps.map(() => 0);
      for (const row of rows) {
        const g = key(row.slice(0, nBy));
        const [level, count] = row.slice(nBy);
        if (!groups.has(g)) groups.set(g, q.steps.map(() => 0));
        for (let k = 0; k < Math.min(level, all.length); k++) { all[k] += count; groups.get(g)[k] += count; }
      }
      put(m, 'all', all);
      if (nBy) for (const [g, users] of groups) put(m, g, users);
      return m;
    }
    case 'retention': {
      const all = new Map();
      for (const row of rows) {
        const values = row.slice(0, nBy);
        const [cohort, ...vals] = row.slice(nBy);
        const counts = vals.map(num);
        if (nBy) put(m, key([...values, cohort]), counts);
        const t = all.get(cohort) || counts.map(() => 0);
        all.set(cohort, t.map((v, i) => v + counts[i]));
      }
      for (const [cohort, counts] of all) put(m, key(['*', cohort]), counts);
      return m;
    }
    default: throw new Error(q.type);
  }
}

// Sextant's answer → normal form; throws with the answer when its shape is not the contract's.
function fromSextant(q, body) {
  const bad = (why) => new Error(`Sextant answer does not follow the contract (${why}): ${JSON.stringify(body).slice(0, 2000)}`);
  if (!body || typeof body !== 'object') throw bad('not a JSON object');
  const nBy = (q.by || []).length;
  const m = new Map();
  switch (q.type) {
    case 'events': {
      const want = ['time', ...(q.by || []), ...q.measures.map((_, i) => `m${i}`)];
      if (!Array.isArray(body.columns) || !Array.isArray(body.rows)) throw bad('columns/rows');
      if (JSON.stringify(body.columns) !== JSON.stringify(want)) throw bad(`columns ${JSON.stringify(body.columns)}, expected ${JSON.stringify(want)}`);
      return normalEvents(body.rows, nBy);
    }
    case 'funnel': {
      const steps = (list, where) => {
        if (!Array.isArray(list) || list.length !== q.steps.length) throw bad(`${where}: steps`);
        list.forEach((s, i) => { if (s.event !== q.steps[i].event) throw bad(`${where}: steps[${i}].event`); });
        return list.map((s) => num(s.users));
      };
      put(m, 'all', steps(body.steps, 'steps'));
      if (nBy) {
        if (!Array.isArray(body.groups)) throw bad('groups');
        for (const g of body.groups) put(m, key(g.values), steps(g.steps, `group ${JSON.stringify(g.values)}`));
      }
      return m;
    }
    case 'retention': {
      const cohorts = (list, prefix) => {
        if (!Array.isArray(list)) throw bad('cohorts');
        for (const c of list) {
          if (!Array.isArray(c.retained) || c.retained.length !== q.periods + 1) throw bad(`cohort ${c.period}: retained must have periods+1 entries`);
          if (num(c.users) !== num(c.retained[0])) throw bad(`cohort ${c.period}: users ${c.users} != retained[0] ${c.retained[0]}`);
          put(m, key([...prefix, c.period]), c.retained.map(num));
        }
      };
      cohorts(body.cohorts, ['*']);
      if (nBy) {
        if (!Array.isArray(body.groups)) throw bad('groups');
        for (const g of body.groups) cohorts(g.cohorts, g.values);
      }
      return m;
    }
    default: throw new Error(q.type);
  }
}

// Cell-by-cell comparison; returns a list of human-readable differences (empty = equal).
function diff(q, sextant, clickhouse) {
  const out = [];
  const same = (a, b) => a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  const label = { events: (i) => `m${i}`, funnel: (i) => `step ${i + 1} (${q.steps[i].event}) users`, retention: (i) => `retained[${i}]` }[q.type];
  const keys = [...new Set([...sextant.keys(), ...clickhouse.keys()])].sort();
  for (const k of keys) {
    const a = sextant.get(k);
    const b = clickhouse.get(k);
    if (!a) { out.push(`${k}: missing (all zero) in sextant; clickhouse ${JSON.stringify(b)}`); continue; }
    if (!b) { out.push(`${k}: sextant ${JSON.stringify(a)}; clickhouse has no such row (all zero)`); continue; }
    const cells = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (!same(a[i], b[i])) cells.push(`${label(i)} sextant ${a[i]} clickhouse ${b[i]}`);
    }
    if (cells.length) out.push(`${k}: ${cells.join('; ')}`);
  }
  return out;
}

module.exports = { sqlFor, fromClickHouse, fromSextant, diff, filterSql, periods, range };

// ---- a JS model of ClickHouse 18.16 windowFunnel, for diagnosing funnel differences ----------
// Per user, every row adds one entry (ts, k) for EACH step condition k it satisfies, in
// descending k; entries are stable-sorted by ts only (so ties keep row order). Then, in order:
// an entry of step 1 sets start[1] = ts; an entry of step k > 1 with start[k-1] set and
// ts <= start[k-1] + window sets start[k] = start[k-1]. The level is the largest k with start[k]
// set. `ties` chooses the order of entries with equal ts: 'rows' (row order, as ClickHouse),
// 'step_asc' or 'step_desc' (by step index), to tell whether a difference comes from tie order.
function evalFilter(f, props) {
  if (!f) return true;
  if (f.all) return f.all.every((g) => evalFilter(g, props));
  if (f.any) return f.any.some((g) => evalFilter(g, props));
  if (f.not) return !evalFilter(f.not, props);
  const v = f.property.startsWith('user.') ? (props.user || {})[f.property.slice(5)]
    : props[f.property.startsWith('event.') ? f.property.slice(6) : f.property];
  if (f.op === 'is_set') return v !== undefined;
  if (f.op === 'not_set') return v === undefined;
  if (v === undefined) return false;
  if (Array.isArray(v)) {
    if (f.op === '!=' || f.op === 'not_in') return !v.some((x) => evalFilter({ ...f, property: 'event.x', op: f.op === '!=' ? '=' : 'in' }, { x }));
    return v.some((x) => evalFilter({ ...f, property: 'event.x' }, { x }));
  }
  switch (f.op) {
    case '=': return v === f.value;
    case '!=': return v !== f.value;
    case '>': return v > f.value;
    case '>=': return v >= f.value;
    case '<': return v < f.value;
    case '<=': return v <= f.value;
    case 'between': return v >= f.value[0] && v <= f.value[1];
    case 'in': return f.value.includes(v);
    case 'not_in': return !f.value.includes(v);
    case 'contains': return String(v).includes(f.value);
    default: throw new Error(`model: unknown op ${f.op}`);
  }
}

function funnelModel(q, events, ties = 'rows') {
  const { start, end } = range(q);
  const w = q.window_seconds;
  const n = q.steps.length;
  const users = new Array(n).fill(0);
  const props = (e) => ({ ...e.props, user: e.user_props });
  const match = (s, e) => (s.event === '$any' || s.event === e.event) && evalFilter(s.filter, props(e));
  let i = 0;
  while (i < events.length) {
    let j = i;
    while (j < events.length && events[j].user === events[i].user) j++;
    const entries = [];
    for (let r = i; r < j; r++) {
      const e = events[r];
      if (e.ts < start || e.ts > end + w || !evalFilter(q.filter, props(e))) continue;
      for (let k = n - 1; k >= 0; k--) {
        if (match(q.steps[k], e) && (k > 0 || e.ts <= end)) entries.push({ ts: e.ts, k, r });
      }
    }
    entries.sort((a, b) => a.ts - b.ts || (ties === 'step_asc' ? a.k - b.k : ties === 'step_desc' ? b.k - a.k : 0)
      || a.r - b.r || b.k - a.k);
    const st = new Array(n).fill(-1);
    let level = 0;
    for (const { ts, k } of entries) {
      if (k === 0) st[0] = ts;
      else if (st[k - 1] >= 0 && ts <= st[k - 1] + w) st[k] = st[k - 1];
      if (k === n - 1 && st[k] >= 0) break;
    }
    for (let k = 0; k < n; k++) if (st[k] >= 0) level = k + 1;
    for (let k = 0; k < level; k++) users[k]++;
    i = j;
  }
  return users;
}

module.exports.funnelModel = funnelModel;
module.exports.evalFilter = evalFilter;
