'use strict';
// The journey template library (examples/journeys/*.json) against the journey definition
// contract (docs/journeys.md, docs/journey.schema.json):
//
//  * the schema compiles (ajv, draft 2020-12, strict) and accepts the example of docs/journeys.md;
//  * every bundle's `journey` matches the schema, and deliberately broken journeys do not;
//  * what a schema cannot say: every node reference names a node, every node is reachable from
//    `start`, the graph has no cycle so every path ends at an `exit`, templates exist for each
//    channel a `send` may use, segment names are defined by the bundle, `event.*` is only used
//    when the entry has an event;
//  * compliance of the bundle's templates: a recommended item needs a risk disclosure, no
//    forbidden promise (保本, 稳赚, ...), marketing SMS / email carry the unsubscribe link;
//  * each bundle's dry run: a small simulation of the documented semantics walks the sample
//    customer through the journey and must produce the bundle's expected path;
//  * with the sextant binary: every bundle segment is accepted by POST /segments, and the real
//    engine puts the sample customer into the same segments as the simulation assumes.

const { test, describe, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const Ajv2020 = require('ajv/dist/2020');

const REPO = path.resolve(__dirname, '..', '..');
const SCHEMA_PATH = path.join(REPO, 'docs', 'journey.schema.json');
const DOC_PATH = path.join(REPO, 'docs', 'journeys.md');
const EXAMPLES_DIR = path.join(REPO, 'examples', 'journeys');

const MESSAGE_CHANNELS = ['sms', 'push', 'wechat', 'email', 'inapp'];
const WEBHOOK_CHANNELS = ['webhook'];
const FORBIDDEN_PHRASES = ['保本', '稳赚', '零风险', '保收益', '无风险'];
const RISK_DISCLOSURES = ['投资有风险', '保险有风险'];
const UNSUBSCRIBE_REQUIRED = ['sms', 'email'];
const SNAKE_CASE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
const EVENT_ENTRIES = ['event', 'breakpoint', 'segment_enter', 'segment_exit', 'api'];
// A send may be held back by quiet hours; the dry-run simulation allows for that much delay.
const SEND_DELAY_MS = 12 * 3600 * 1000;

// ---------------------------------------------------------------------------------------------
// Schema

const schema = JSON.parse(fs.readFileSync(SCHEMA_PATH, 'utf8'));
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
const validateJourney = ajv.compile(schema);

// ajv reports every failing oneOf branch; drop the branches whose `type` const did not match,
// so the message names the fields of the node type that was meant.
function schemaErrors(journey) {
  if (validateJourney(journey)) return [];
  const errors = validateJourney.errors;
  const wrongBranches = errors
    .filter((e) => e.keyword === 'const' && e.instancePath.endsWith('/type'))
    .map((e) => ({ schema: e.schemaPath.replace(/\/properties\/type\/const$/, '/'),
      instance: e.instancePath.slice(0, -'/type'.length) }));
  const kept = errors.filter((e) => !wrongBranches.some((b) => e.schemaPath.startsWith(b.schema) &&
    (e.instancePath === b.instance || e.instancePath.startsWith(b.instance + '/'))));
  return (kept.length ? kept : errors).map((e) =>
    `${e.instancePath || '/'} ${e.message}${e.params && e.params.additionalProperty ? ` (${e.params.additionalProperty})` : ''}` +
    `${e.params && e.params.missingProperty ? ` (${e.params.missingProperty})` : ''}`);
}

// ---------------------------------------------------------------------------------------------
// Graph helpers

function durationMs(s) {
  const m = /^(0|[1-9][0-9]*)(s|m|h|d)$/.exec(s);
  if (!m) throw new Error(`bad duration ${JSON.stringify(s)}`);
  return Number(m[1]) * { s: 1000, m: 60000, h: 3600000, d: 86400000 }[m[2]];
}

function isWaitEvent(node) { return node.type === 'wait' && typeof node.event === 'string'; }

// [field path, target id] of every reference a node makes.
function nodeRefs(id, node) {
  const refs = [];
  if (node.type === 'split') refs.push([`nodes.${id}.yes`, node.yes], [`nodes.${id}.no`, node.no]);
  else if (node.type === 'ab') (node.branches || []).forEach((b, i) => refs.push([`nodes.${id}.branches[${i}].next`, b.next]));
  else if (node.type !== 'exit') {
    refs.push([`nodes.${id}.next`, node.next]);
    if (isWaitEvent(node)) refs.push([`nodes.${id}.timeout_next`, node.timeout_next]);
  }
  return refs;
}

function successors(node) { return [...new Set(nodeRefs('', node).map((r) => r[1]))]; }

// Segment names referred to anywhere inside a split condition or segment rule.
function segmentRefsIn(cond, out = []) {
  if (Array.isArray(cond)) { cond.forEach((c) => segmentRefsIn(c, out)); return out; }
  if (!cond || typeof cond !== 'object') return out;
  if (typeof cond.segment === 'string') out.push(cond.segment);
  for (const k of ['all', 'any']) if (Array.isArray(cond[k])) cond[k].forEach((c) => segmentRefsIn(c, out));
  if (cond.not) segmentRefsIn(cond.not, out);
  return out;
}

function usesEntryEvent(cond) {
  if (Array.isArray(cond)) return cond.some(usesEntryEvent);
  if (!cond || typeof cond !== 'object') return false;
  if ('event' in cond) return true;
  return ['all', 'any'].some((k) => Array.isArray(cond[k]) && cond[k].some(usesEntryEvent)) ||
    (cond.not ? usesEntryEvent(cond.not) : false);
}

// Everything about a journey alone that the schema cannot check. Returns error strings.
function journeyStructureErrors(j) {
  const errs = [];
  const nodes = j.nodes || {};
  const ids = Object.keys(nodes);
  for (const id of ids) if (!SNAKE_CASE.test(id)) errs.push(`nodes.${id}: node id is not snake_case`);
  if (!(j.start in nodes)) errs.push(`start: "${j.start}" is not a node`);
  for (const [id, node] of Object.entries(nodes)) {
    for (const [field, target] of nodeRefs(id, node)) {
      if (!(target in nodes)) errs.push(`${field}: "${target}" is not a node`);
      if (target === id) errs.push(`${field}: node refers to itself`);
    }
    if (node.type === 'split' && node.yes === node.no) errs.push(`nodes.${id}: yes and no are the same node`);
    if (node.type === 'ab') {
      const names = (node.branches || []).map((b) => b.name);
      if (new Set(names).size !== names.length) errs.push(`nodes.${id}.branches: branch names are not unique`);
    }
  }
  if (errs.some((e) => e.includes('is not a node'))) return errs;

  // Reachability from start.
  const seen = new Set([j.start]);
  const queue = [j.start];
  while (queue.length) for (const s of successors(nodes[queue.shift()])) if (!seen.has(s)) { seen.add(s); queue.push(s); }
  for (const id of ids) if (!seen.has(id)) errs.push(`nodes.${id}: not reachable from start`);

  // No cycle: then every path is finite and ends at a node without successors, which only an
  // exit is (the schema requires next on every other node).
  const state = {};
  const cycle = [];
  const visit = (id, stack) => {
    if (state[id] === 2 || cycle.length) return;
    if (state[id] === 1) { cycle.push(...stack.slice(stack.indexOf(id)), id); return; }
    state[id] = 1;
    for (const s of successors(nodes[id])) visit(s, [...stack, id]);
    state[id] = 2;
  };
  visit(j.start, []);
  if (cycle.length) errs.push(`nodes: cycle ${cycle.join(' → ')}; every path must end at an exit`);
  for (const id of seen) if (nodes[id].type !== 'exit' && successors(nodes[id]).length === 0) errs.push(`nodes.${id}: dead end`);
  if (!ids.some((id) => nodes[id].type === 'exit')) errs.push('nodes: no exit node');

  // event.* only when the entry carries an event.
  const entryHasEvent = j.entry && EVENT_ENTRIES.includes(j.entry.type);
  for (const [id, node] of Object.entries(nodes)) {
    if (node.type === 'send' && node.item && node.item.id_from && !entryHasEvent) {
      errs.push(`nodes.${id}.item.id_from: a ${j.entry.type} entry has no entry event`);
    }
    if (node.type === 'split' && usesEntryEvent(node.condition) && !entryHasEvent) {
      errs.push(`nodes.${id}.condition: {"event": ...} but a ${j.entry.type} entry has no entry event`);
    }
    if (node.type === 'send' && node.purpose === 'transactional' && node.item) {
      errs.push(`nodes.${id}: a transactional touch must not recommend an item`);
    }
    // A wait for the goal event while reaching the goal ends the journey: its next would never
    // run unless it is an exit anyway.
    if (isWaitEvent(node) && j.goal && j.goal.exit !== false && node.event === j.goal.event &&
        nodes[node.next] && nodes[node.next].type !== 'exit') {
      errs.push(`nodes.${id}: waits for the goal event ${node.event}, but goal.exit is true, so next "${node.next}" is never taken`);
    }
  }
  if (j.schedule && j.schedule.start_at !== undefined && j.schedule.end_at !== undefined &&
      j.schedule.start_at >= j.schedule.end_at) errs.push('schedule: start_at is not before end_at');
  if (j.reentry && j.reentry.cooldown && j.reentry.mode !== 'cooldown') errs.push('reentry.cooldown: only used with mode cooldown');
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Templates and segments of a bundle

const VAR_RE = /\{\{\s*([^{}]*?)\s*\}\}/g;
function templateVars(t) {
  const text = `${t.subject || ''}\n${t.body || ''}`;
  const vars = [];
  for (const m of text.matchAll(VAR_RE)) vars.push(m[1]);
  return vars;
}

function sendChannels(node) { return node.channels || (node.channel ? [node.channel] : []); }

function bundleErrors(b) {
  const errs = [];
  const j = b.journey || {};
  for (const k of ['title', 'scenario']) if (typeof b[k] !== 'string' || !b[k].trim()) errs.push(`${k}: missing`);
  if (typeof b.title === 'string' && !(/[\u4e00-\u9fff]/.test(b.title) && /[A-Za-z]/.test(b.title))) errs.push('title: give it in Chinese and English');
  for (const k of ['segments', 'templates']) if (!Array.isArray(b[k])) errs.push(`${k}: must be an array`);
  if (!b.dry_run || typeof b.dry_run !== 'object') errs.push('dry_run: missing');
  const extra = Object.keys(b).filter((k) => !['title', 'scenario', 'segments', 'templates', 'journey', 'dry_run'].includes(k));
  if (extra.length) errs.push(`bundle: unknown fields ${extra.join(', ')}`);
  if (errs.length) return errs;

  // Segments: POST /segments bodies, referred to by name.
  const segNames = new Set();
  b.segments.forEach((s, i) => {
    const bad = Object.keys(s).filter((k) => !['name', 'description', 'rule', 'refresh', 'realtime'].includes(k));
    if (bad.length) errs.push(`segments[${i}]: unknown fields ${bad.join(', ')}`);
    if (typeof s.name !== 'string' || !s.name) errs.push(`segments[${i}].name: missing`);
    if (!s.rule || typeof s.rule !== 'object' || Array.isArray(s.rule)) errs.push(`segments[${i}].rule: must be a rule object`);
    if (segNames.has(s.name)) errs.push(`segments[${i}].name: "${s.name}" defined twice`);
    for (const ref of segmentRefsIn(s.rule)) if (!segNames.has(ref)) errs.push(`segments[${i}].rule: segment "${ref}" is not defined before it`);
    segNames.add(s.name);
  });
  const segUses = [];
  if (j.entry && typeof j.entry.segment === 'string') segUses.push(['entry.segment', j.entry.segment]);
  for (const [id, node] of Object.entries(j.nodes || {})) {
    if (node.type === 'split') for (const ref of segmentRefsIn(node.condition)) segUses.push([`nodes.${id}.condition`, ref]);
  }
  for (const [field, name] of segUses) if (!segNames.has(name)) errs.push(`${field}: segment "${name}" is not defined in the bundle`);
  const usedSegs = new Set(segUses.map((u) => u[1]));
  for (const s of b.segments) {
    const referredByOther = b.segments.some((o) => segmentRefsIn(o.rule).includes(s.name));
    if (!usedSegs.has(s.name) && !referredByOther) errs.push(`segments: "${s.name}" is never used`);
  }

  // Templates: one per (name, channel).
  const tmpl = new Map();
  b.templates.forEach((t, i) => {
    const bad = Object.keys(t).filter((k) => !['name', 'channel', 'subject', 'body', 'recommends_item'].includes(k));
    if (bad.length) errs.push(`templates[${i}]: unknown fields ${bad.join(', ')}`);
    if (typeof t.name !== 'string' || !SNAKE_CASE.test(t.name)) errs.push(`templates[${i}].name: missing or not snake_case`);
    if (!MESSAGE_CHANNELS.includes(t.channel)) errs.push(`templates[${i}].channel: "${t.channel}" is not one of ${MESSAGE_CHANNELS.join(', ')}`);
    if (typeof t.body !== 'string' || !t.body) errs.push(`templates[${i}].body: missing`);
    if (t.recommends_item !== undefined && typeof t.recommends_item !== 'boolean') errs.push(`templates[${i}].recommends_item: not a boolean`);
    const key = `${t.name}/${t.channel}`;
    if (tmpl.has(key)) errs.push(`templates[${i}]: "${t.name}" for ${t.channel} defined twice`);
    tmpl.set(key, t);
  });

  const entryHasEvent = j.entry && EVENT_ENTRIES.includes(j.entry.type);
  const usedTemplates = new Set();
  const marketingUse = new Set();
  for (const [id, node] of Object.entries(j.nodes || {})) {
    if (node.type === 'webhook' && !WEBHOOK_CHANNELS.includes(node.channel)) errs.push(`nodes.${id}.channel: "${node.channel}" is not a webhook channel`);
    if (node.type !== 'send') continue;
    for (const ch of sendChannels(node)) {
      if (!MESSAGE_CHANNELS.includes(ch)) { errs.push(`nodes.${id}: channel "${ch}" is not one of ${MESSAGE_CHANNELS.join(', ')}`); continue; }
      const t = tmpl.get(`${node.template}/${ch}`);
      if (!t) { errs.push(`nodes.${id}.template: "${node.template}" is not defined for channel ${ch}`); continue; }
      usedTemplates.add(`${node.template}/${ch}`);
      if ((node.purpose || 'marketing') === 'marketing') marketingUse.add(`${node.template}/${ch}`);
      if (node.item && t.recommends_item !== true) errs.push(`nodes.${id}: recommends an item with template "${t.name}" (${ch}) that does not have recommends_item`);
      if (!node.item && t.recommends_item === true) errs.push(`nodes.${id}: template "${t.name}" (${ch}) recommends an item but the node names none`);
    }
  }
  for (const [key, t] of tmpl) {
    const where = `template "${t.name}" (${t.channel})`;
    if (!usedTemplates.has(key)) errs.push(`${where}: never used by a send node`);
    const text = `${t.subject || ''}\n${t.body || ''}`;
    for (const p of FORBIDDEN_PHRASES) if (text.includes(p)) errs.push(`${where}: contains the forbidden phrase "${p}"`);
    if (t.recommends_item && !RISK_DISCLOSURES.some((d) => text.includes(d))) errs.push(`${where}: recommends an item without a risk disclosure (${RISK_DISCLOSURES.join(' / ')})`);
    const stripped = text.replace(VAR_RE, '');
    if (stripped.includes('{{') || stripped.includes('}}')) errs.push(`${where}: unbalanced {{ }}`);
    for (const v of templateVars(t)) {
      if (v === 'unsubscribe_url') continue;
      const m = /^(profile|tag|event|item)\.([A-Za-z_$][A-Za-z0-9_$]*)$/.exec(v);
      if (!m) { errs.push(`${where}: unknown variable {{${v}}}`); continue; }
      if (m[1] === 'item' && !t.recommends_item) errs.push(`${where}: uses {{${v}}} without recommends_item`);
      if (m[1] === 'event' && !entryHasEvent) errs.push(`${where}: uses {{${v}}} but a ${j.entry.type} entry has no entry event`);
    }
    if (marketingUse.has(key) && UNSUBSCRIBE_REQUIRED.includes(t.channel) && !templateVars(t).includes('unsubscribe_url')) {
      errs.push(`${where}: a marketing ${t.channel} needs {{unsubscribe_url}}`);
    }
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Dry run: a small simulation of the documented semantics. Conditions are three-valued (true,
// false, undefined = cannot tell here, e.g. tags); times are intervals [lo, hi] because sends may
// wait for quiet hours and `until` waits depend on the clock. A decision that depends on where
// in the interval the customer is counts as an error: samples must be unambiguous.

function evalOp(actual, op, value) {
  if (op === 'is_set') return actual !== undefined && actual !== null;
  if (op === 'not_set') return actual === undefined || actual === null;
  if (actual === undefined || actual === null) return false;
  const one = (a) => {
    switch (op) {
      case '=': case '!=': return a === value;
      case '>': return a > value;
      case '>=': return a >= value;
      case '<': return a < value;
      case '<=': return a <= value;
      case 'between': return a >= value[0] && a <= value[1];
      case 'in': case 'not_in': return value.includes(a);
      case 'contains': return String(a).includes(String(value));
      default: throw new Error(`unknown op ${op}`);
    }
  };
  const list = Array.isArray(actual) ? actual : [actual];
  if (op === '!=' || op === 'not_in') return !list.some(one);
  return list.some(one);
}

function evalFilter(f, props, profile) {
  if (Array.isArray(f)) return f.every((c) => evalFilter(c, props, profile));
  if (f.all) return f.all.every((c) => evalFilter(c, props, profile));
  if (f.any) return f.any.some((c) => evalFilter(c, props, profile));
  if (f.not) return !evalFilter(f.not, props, profile);
  const p = f.property;
  const actual = p.startsWith('user.') ? profile[p.slice(5)] : (props || {})[p.startsWith('event.') ? p.slice(6) : p];
  return evalOp(actual, f.op, f.value);
}

const and3 = (vals) => (vals.includes(false) ? false : vals.includes(undefined) ? undefined : true);
const or3 = (vals) => (vals.includes(true) ? true : vals.includes(undefined) ? undefined : false);
const not3 = (v) => (v === undefined ? undefined : !v);

// A segment rule (docs/segments.md) for one customer, over the dry-run events before `now`.
function evalRule(rule, ctx, now) {
  if (rule.all) return and3(rule.all.map((r) => evalRule(r, ctx, now)));
  if (rule.any) return or3(rule.any.map((r) => evalRule(r, ctx, now)));
  if (rule.not) return not3(evalRule(rule.not, ctx, now));
  if ('profile' in rule) return evalOp(ctx.profile[rule.profile], rule.op, rule.value);
  if ('segment' in rule) {
    const s = ctx.segments.find((x) => x.name === rule.segment);
    return s ? evalRule(s.rule, ctx, now) : undefined;
  }
  if ('did' in rule || 'did_not' in rule) {
    const name = rule.did || rule.did_not;
    let windowStart = -Infinity;
    if (rule.within && rule.within.last) {
      const m = /^([0-9]+)([dwhm])$/.exec(rule.within.last);
      if (!m) return undefined;
      windowStart = now - Number(m[1]) * { d: 86400000, w: 7 * 86400000, h: 3600000, m: 60000 }[m[2]];
    } else if (rule.within) return undefined;
    const matching = ctx.events.filter((e) => e.t <= now && e.t > windowStart &&
      (name === '$any' ? !['$segment_enter', '$segment_exit'].includes(e.event) : e.event === name) &&
      (!rule.where || evalFilter(rule.where, e.properties, ctx.profile)));
    if ('did_not' in rule) return matching.length === 0;
    if (rule.sum) {
      const total = matching.reduce((acc, e) => acc + (Number((e.properties || {})[rule.sum.property]) || 0), 0);
      return evalOp(total, rule.sum.op, rule.sum.value);
    }
    const count = rule.count || { op: '>=', value: 1 };
    return evalOp(matching.length, count.op, count.value);
  }
  return undefined; // tag, sequence: not known in a dry run
}

// A split condition: profile, tag, segment, all/any/not, {"event": ...} on the entry event.
function evalSplit(cond, ctx, now) {
  if (cond.all) return and3(cond.all.map((c) => evalSplit(c, ctx, now)));
  if (cond.any) return or3(cond.any.map((c) => evalSplit(c, ctx, now)));
  if (cond.not) return not3(evalSplit(cond.not, ctx, now));
  if ('event' in cond) return ctx.entryEvent ? evalFilter(cond.event, ctx.entryEvent.properties, ctx.profile) : undefined;
  return evalRule(cond, ctx, now);
}

function matchesEvent(e, name, where, profile) {
  return e.event === name && (!where || evalFilter(where, e.properties, profile));
}

// When and with which event the sample customer enters. Throws when they would not enter.
function simulateEntry(j, dr, ctx) {
  const en = j.entry;
  const evs = ctx.events;
  if (en.type === 'event') {
    const e = evs.find((x) => matchesEvent(x, en.event, en.where, ctx.profile));
    if (!e) throw new Error(`no ${en.event} event matching the entry`);
    return { t: e.t, event: e };
  }
  if (en.type === 'breakpoint') {
    const hits = evs.filter((x) => matchesEvent(x, en.event, en.where, ctx.profile));
    const count = en.count || 1;
    const wait = durationMs(en.wait);
    for (let i = count - 1; i < hits.length; i++) {
      if (en.within && hits[i].t - hits[i - count + 1].t > durationMs(en.within)) continue;
      const resumed = evs.some((x) => x.t > hits[i].t && x.t <= hits[i].t + wait &&
        matchesEvent(x, en.not_followed_by, en.not_followed_where, ctx.profile));
      if (!resumed) return { t: hits[i].t + wait, event: hits[i] };
    }
    throw new Error(`no breakpoint: ${count}× ${en.event} not followed by ${en.not_followed_by} within ${en.wait}`);
  }
  if (en.type === 'segment_enter' || en.type === 'segment_exit') {
    const mev = en.type === 'segment_enter' ? '$segment_enter' : '$segment_exit';
    const explicit = evs.find((x) => x.event === mev && (x.properties || {}).segment_name === en.segment);
    if (explicit) return { t: explicit.t, event: explicit };
    const seg = ctx.segments.find((s) => s.name === en.segment);
    let member = evalRule(seg.rule, ctx, -1);
    if (member === undefined) throw new Error(`cannot tell the membership of ${en.segment}`);
    for (const e of evs) {
      const now = evalRule(seg.rule, ctx, e.t);
      if (now === (en.type === 'segment_enter') && member !== now) {
        return { t: e.t, event: { event: mev, t: e.t, properties: { segment_name: en.segment } } };
      }
      member = now;
    }
    throw new Error(`the sample never ${en.type === 'segment_enter' ? 'enters' : 'leaves'} ${en.segment}`);
  }
  if (en.type === 'schedule' || en.type === 'once') {
    const seg = ctx.segments.find((s) => s.name === en.segment);
    if (seg && evalRule(seg.rule, ctx, 0) === false) throw new Error(`the sample is not a member of ${en.segment}`);
    return { t: 0, event: null };
  }
  if (en.type === 'key_date') {
    if (ctx.profile[en.property] === undefined) throw new Error(`the sample profile has no ${en.property}`);
    return { t: 0, event: null };
  }
  return { t: 0, event: dr.trigger ? { event: '$api_trigger', t: 0, properties: dr.trigger } : null };
}

// Walks the journey; `choices` answers A/B nodes (and splits the simulation cannot decide).
function simulatePath(b, choices) {
  const j = b.journey;
  const dr = b.dry_run;
  const events = dr.events.map((e, i) => ({ ...e, t: durationMs(e.offset), i })).sort((x, y) => x.t - y.t || x.i - y.i);
  const ctx = { profile: { ...dr.profile }, events, segments: b.segments, entryEvent: null };
  const entry = simulateEntry(j, dr, ctx);
  ctx.entryEvent = entry.event;
  let lo = entry.t;
  let hi = entry.t;
  const pathIds = [];
  const sent = [];
  let id = j.start;
  for (let step = 0; step < 200; step++) {
    const node = j.nodes[id];
    pathIds.push(id);
    const chosen = choices[pathIds.length];
    let next;
    switch (node.type) {
      case 'exit':
        return { path: pathIds, entry, end: hi, sent, profile: ctx.profile };
      case 'split': {
        const v = evalSplit(node.condition, ctx, lo);
        if (v === undefined) {
          if (chosen !== node.yes && chosen !== node.no) throw new Error(`split ${id} cannot be decided and the expected path does not name yes or no`);
          next = chosen;
        } else next = v ? node.yes : node.no;
        break;
      }
      case 'ab':
        if (!node.branches.some((br) => br.next === chosen)) throw new Error(`ab ${id}: the expected path continues with "${chosen}", not a branch`);
        next = chosen;
        break;
      case 'wait':
        if (node.duration) { lo += durationMs(node.duration); hi += durationMs(node.duration); next = node.next; }
        else if (node.until) { hi += (node.until.weekdays ? 7 : 1) * 86400000; next = node.next; }
        else {
          const timeout = durationMs(node.timeout);
          const cands = events.filter((e) => e.t > lo && matchesEvent(e, node.event, node.where, ctx.profile));
          if (cands.some((e) => e.t <= hi)) throw new Error(`wait ${id}: ${node.event} at ${cands[0].offset} may come before or after the customer reaches the node`);
          const first = cands[0];
          if (first && first.t <= lo + timeout) { lo = first.t; hi = first.t; next = node.next; }
          else if (first && first.t <= hi + timeout) throw new Error(`wait ${id}: ${node.event} at ${first.offset} may come before or after the timeout`);
          else { lo += timeout; hi += timeout; next = node.timeout_next; }
        }
        break;
      case 'send':
        sent.push({ id, node, at: [lo, hi] });
        hi += SEND_DELAY_MS;
        next = node.next;
        break;
      case 'update_profile':
        Object.assign(ctx.profile, node.set);
        next = node.next;
        break;
      default: // task, webhook, goal
        next = node.next;
    }
    id = next;
  }
  throw new Error('the walk did not reach an exit in 200 steps');
}

function dryRunErrors(b) {
  const errs = [];
  const dr = b.dry_run;
  const j = b.journey;
  if (!dr.profile || typeof dr.profile !== 'object') errs.push('dry_run.profile: missing');
  if (!Array.isArray(dr.events)) errs.push('dry_run.events: must be an array');
  const hasOne = Array.isArray(dr.expect_path);
  const hasAny = Array.isArray(dr.expect_path_any);
  if (hasOne === hasAny) errs.push('dry_run: give exactly one of expect_path and expect_path_any');
  if (errs.length) return errs;
  (dr.events || []).forEach((e, i) => {
    if (typeof e.event !== 'string' || !e.event) errs.push(`dry_run.events[${i}].event: missing`);
    if (!/^(0|[1-9][0-9]*)(s|m|h|d)$/.test(e.offset)) errs.push(`dry_run.events[${i}].offset: not a duration`);
  });
  if (errs.length) return errs;

  const paths = hasOne ? [dr.expect_path] : dr.expect_path_any;
  if (hasAny && paths.length < 2) errs.push('dry_run.expect_path_any: list at least two paths (otherwise use expect_path)');
  const abSeen = new Map();
  paths.forEach((expected, k) => {
    const label = hasOne ? 'dry_run.expect_path' : `dry_run.expect_path_any[${k}]`;
    let sim;
    try {
      sim = simulatePath(b, expected);
    } catch (e) {
      errs.push(`${label}: ${e.message}`);
      return;
    }
    if (JSON.stringify(sim.path) !== JSON.stringify(expected)) {
      errs.push(`${label}: the simulation walks ${JSON.stringify(sim.path)}`);
      return;
    }
    expected.forEach((id, i) => {
      if (j.nodes[id].type !== 'ab') return;
      if (hasOne) errs.push(`${label}: passes the A/B node ${id}; use expect_path_any with one path per branch`);
      if (!abSeen.has(id)) abSeen.set(id, new Set());
      abSeen.get(id).add(expected[i + 1]);
    });
    // Nothing may end the journey before the expected exit.
    const after = (e) => e.t > sim.entry.t && e.t <= sim.end;
    for (const x of j.exit_when || []) {
      const e = sim.entry && b.dry_run.events.map((ev) => ({ ...ev, t: durationMs(ev.offset) }))
        .find((ev) => after(ev) && matchesEvent(ev, x.event, x.where, sim.profile));
      if (e) errs.push(`${label}: exit_when ${x.event} at ${e.offset} ends the journey before the path does`);
    }
    if (j.goal && j.goal.exit !== false) {
      const until = Math.min(sim.end, sim.entry.t + durationMs(j.goal.within));
      const e = b.dry_run.events.map((ev) => ({ ...ev, t: durationMs(ev.offset) }))
        .find((ev) => ev.t > sim.entry.t && ev.t <= until && matchesEvent(ev, j.goal.event, j.goal.where, sim.profile));
      if (e) errs.push(`${label}: the goal event ${e.event} at ${e.offset} ends the journey (goal.exit) before the path does`);
    }
    // Template variables on the path must be known for the sample.
    for (const s of sim.sent) {
      for (const ch of sendChannels(s.node)) {
        const t = b.templates.find((x) => x.name === s.node.template && x.channel === ch);
        for (const v of t ? templateVars(t) : []) {
          const [scope, prop] = v.split('.');
          if (scope === 'profile' && sim.profile[prop] === undefined) errs.push(`${label}: ${s.id} uses {{${v}}} but the sample profile has no ${prop}`);
          if (scope === 'event' && !(sim.entry.event && sim.entry.event.properties && prop in sim.entry.event.properties)) {
            errs.push(`${label}: ${s.id} uses {{${v}}} but the entry event has no ${prop}`);
          }
        }
      }
      if (s.node.item && s.node.item.id_from) {
        const prop = s.node.item.id_from.slice('event.'.length);
        if (!(sim.entry.event && sim.entry.event.properties && prop in sim.entry.event.properties)) {
          errs.push(`${label}: ${s.id} takes the item id from ${s.node.item.id_from}, which the entry event does not have`);
        }
      }
    }
  });
  for (const [id, branches] of abSeen) {
    for (const br of j.nodes[id].branches) if (!branches.has(br.next)) errs.push(`dry_run.expect_path_any: no path through branch "${br.name}" of ${id}`);
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------
// The bundles

const files = fs.readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.json')).sort();
const bundles = files.map((f) => ({ file: f, bundle: JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, f), 'utf8')) }));
const byFile = Object.fromEntries(bundles.map((x) => [x.file, x.bundle]));
const clone = (x) => JSON.parse(JSON.stringify(x));

test('the library has the scenarios of the brief', () => {
  for (const f of ['fund_auto_invest.json', 'account_open_breakpoint.json', 'new_account_activation.json',
    'large_deposit_mot.json', 'birthday.json', 'product_maturity.json', 'dormant_reactivation.json',
    'loan_renewal.json', 'insurance_event_journey.json', 'hnw_advisor_followup.json']) {
    assert.ok(files.includes(f), `examples/journeys/${f} is missing`);
  }
  // Between them, the examples use every entry type but api and every node type.
  const entryTypes = new Set(bundles.map((x) => x.bundle.journey.entry.type));
  for (const t of ['event', 'segment_enter', 'breakpoint', 'schedule', 'once', 'key_date']) assert.ok(entryTypes.has(t), `no example with a ${t} entry`);
  const nodeTypes = new Set(bundles.flatMap((x) => Object.values(x.bundle.journey.nodes).map((n) => n.type)));
  for (const t of ['split', 'ab', 'wait', 'send', 'task', 'update_profile', 'webhook', 'goal', 'exit']) assert.ok(nodeTypes.has(t), `no example with a ${t} node`);
});

test('the schema accepts the example of docs/journeys.md', () => {
  const md = fs.readFileSync(DOC_PATH, 'utf8');
  const m = /## Definition\s+```json\n([\s\S]*?)\n```/.exec(md);
  assert.ok(m, 'docs/journeys.md has a json example under "## Definition"');
  const doc = JSON.parse(m[1]);
  assert.deepEqual(schemaErrors(doc), []);
  assert.deepEqual(journeyStructureErrors(doc), []);
});

for (const { file, bundle } of bundles) {
  describe(`examples/journeys/${file}`, () => {
    test('journey matches docs/journey.schema.json', () => {
      assert.deepEqual(schemaErrors(bundle.journey), []);
    });
    test('graph: references, reachability, every path ends at an exit', () => {
      assert.deepEqual(journeyStructureErrors(bundle.journey), []);
    });
    test('templates, segments and compliance', () => {
      assert.deepEqual(bundleErrors(bundle), []);
    });
    test('dry run follows the expected path', () => {
      assert.deepEqual(dryRunErrors(bundle), []);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Broken journeys are rejected

describe('broken journeys', () => {
  const base = () => clone(byFile['fund_auto_invest.json'].journey);
  const rejects = (mutate, pathRe) => {
    const j = base();
    mutate(j);
    const errs = schemaErrors(j);
    assert.ok(errs.length > 0, 'the schema accepted it');
    if (pathRe) assert.ok(errs.some((e) => pathRe.test(e)), `no error matching ${pathRe}: ${errs.join('; ')}`);
  };

  test('the unbroken base is valid', () => { assert.deepEqual(schemaErrors(base()), []); });
  test('typo in a node field', () => rejects((j) => { j.nodes.auto_invest_push.tempalte = j.nodes.auto_invest_push.template; delete j.nodes.auto_invest_push.template; }, /\/nodes\/auto_invest_push .*tempalte/));
  test('typo in an entry field', () => rejects((j) => { j.entry.not_folowed_by = 'fund_subscribe'; }, /\/entry .*not_folowed_by/));
  test('typo in a top-level field', () => rejects((j) => { j.contol_percent = 10; }, /contol_percent/));
  test('bad durations', () => {
    for (const d of ['3 days', '0d', '1.5h', '30', '2w', '-1d', '']) {
      rejects((j) => { j.nodes.wait_subscribe.timeout = d; }, /\/nodes\/wait_subscribe\/timeout must match pattern/);
    }
    rejects((j) => { j.entry.wait = '30min'; }, /\/entry\/wait must match pattern/);
    rejects((j) => { j.caps[0].per = '1 day'; }, /\/caps\/0\/per must match pattern/);
  });
  test('bad time of day', () => {
    for (const t of ['24:00', '9:00', '10:60', '10:00:00']) rejects((j) => { j.nodes.wait_next_morning.until.time = t; }, /until\/time must match pattern/);
  });
  test('unknown node type', () => rejects((j) => { j.nodes.exit_advisor = { type: 'sleep', next: 'exit_reminded' }; }, /\/nodes\/exit_advisor\/type must be equal to one of the allowed values/));
  test('unknown entry type', () => rejects((j) => { j.entry = { type: 'cron', segment: 'x' }; }, /\/entry\/type must be equal to one of the allowed values/));
  test('a wait mixing two forms', () => rejects((j) => { j.nodes.wait_subscribe.duration = '1d'; }, /\/nodes\/wait_subscribe/));
  test('a wait for an event without timeout_next', () => rejects((j) => { delete j.nodes.wait_subscribe.timeout_next; }, /\/nodes\/wait_subscribe/));
  test('a send with both channel and channels', () => rejects((j) => { j.nodes.push_performance.channel = 'push'; }, /\/nodes\/push_performance/));
  test('a transactional send without justification', () => rejects((j) => { j.nodes.risk_reassess_inapp.purpose = 'transactional'; }, /\/nodes\/risk_reassess_inapp .*justification/));
  test('an item id from something else than the entry event', () => rejects((j) => { j.nodes.auto_invest_push.item.id_from = 'profile.fav_fund'; }, /\/nodes\/auto_invest_push\/item/));
  test('a task without SLA, an exit with next', () => {
    rejects((j) => { delete j.nodes.advisor_followup.sla; }, /\/nodes\/advisor_followup .*sla/);
    rejects((j) => { j.nodes.exit_advisor.next = 'exit_reminded'; }, /\/nodes\/exit_advisor .*next/);
  });
  test('out-of-range settings', () => {
    rejects((j) => { j.priority = 101; }, /\/priority must be <= 100/);
    rejects((j) => { j.control_percent = 60; }, /\/control_percent must be <= 50/);
    rejects((j) => { j.reentry = { mode: 'cooldown' }; }, /\/reentry .*cooldown/);
    rejects((j) => { delete j.start; }, /start/);
    rejects((j) => { delete j.entry; }, /entry/);
  });
  test('entry forms', () => {
    rejects((j) => { j.entry = { type: 'schedule', segment: 's', every: 'weekly', at: '10:00' }; }, /\/entry .*weekday/);
    rejects((j) => { j.entry = { type: 'schedule', segment: 's', every: 'daily', at: '10:00', weekday: 2 }; }, /\/entry/);
    rejects((j) => { j.entry = { type: 'key_date', property: 'birthday', offset_days: 0.5, at: '09:00', annual: true }; }, /\/entry\/offset_days must be integer/);
    rejects((j) => { delete j.entry.wait; }, /\/entry .*wait/);
  });
  test('conditions', () => {
    rejects((j) => { j.entry.where = [{ property: 'amount', op: '=>', value: 1 }]; }, /\/entry\/where/);
    rejects((j) => { j.entry.where = [{ property: 'amount', op: 'between', value: [1] }]; }, /\/entry\/where/);
    rejects((j) => { j.nodes.value_split.condition = { did: 'fund_subscribe' }; }, /\/nodes\/value_split\/condition/);
  });

  const structural = (mutate, re) => {
    const j = base();
    mutate(j);
    assert.deepEqual(schemaErrors(j), [], 'the schema alone accepts it');
    const errs = journeyStructureErrors(j);
    assert.ok(errs.some((e) => re.test(e)), `no structural error matching ${re}: ${errs.join('; ')}`);
  };
  test('a next that names no node', () => structural((j) => { j.nodes.auto_invest_push.next = 'exit_subscirbed'; }, /nodes\.auto_invest_push\.next: "exit_subscirbed" is not a node/));
  test('a start that names no node', () => structural((j) => { j.start = 'suitability'; }, /^start:/));
  test('an unreachable node', () => structural((j) => { j.nodes.orphan = { type: 'exit' }; }, /nodes\.orphan: not reachable/));
  test('a cycle (a path without exit)', () => structural((j) => { j.nodes.advisor_followup.next = 'value_split'; }, /cycle/));
  test('event.* under a key-date entry', () => structural((j) => { j.entry = { type: 'key_date', property: 'birthday', offset_days: 0, at: '09:00', annual: true }; }, /has no entry event/));

  const bundleBroken = (file, mutate, re) => {
    const b = clone(byFile[file]);
    mutate(b);
    const errs = bundleErrors(b);
    assert.ok(errs.some((e) => re.test(e)), `no bundle error matching ${re}: ${errs.join('; ')}`);
  };
  test('a template that is not defined', () => bundleBroken('fund_auto_invest.json', (b) => { b.journey.nodes.auto_invest_push.template = 'auto_invest'; }, /"auto_invest" is not defined for channel push/));
  test('a template for another channel', () => bundleBroken('fund_auto_invest.json', (b) => { b.journey.nodes.wechat_reminder.channel = 'email'; }, /not defined for channel email/));
  test('a fallback channel without its template', () => bundleBroken('fund_auto_invest.json', (b) => { b.journey.nodes.auto_invest_push.channels = ['push', 'sms']; delete b.journey.nodes.auto_invest_push.channel; }, /"auto_invest_pitch" is not defined for channel sms/));
  test('an unknown segment', () => bundleBroken('fund_auto_invest.json', (b) => { b.journey.nodes.value_split.condition = { segment: 'vip' }; }, /segment "vip" is not defined/));
  test('a forbidden phrase', () => bundleBroken('birthday.json', (b) => { b.templates[1].body += '稳赚不赔'; }, /forbidden phrase "稳赚"/));
  test('a recommendation without risk disclosure', () => bundleBroken('fund_auto_invest.json', (b) => { b.templates[1].body = b.templates[1].body.replace('投资有风险，入市需谨慎。', ''); }, /without a risk disclosure/));
  test('item variables without recommends_item', () => bundleBroken('fund_auto_invest.json', (b) => { b.templates[0].body += '{{item.name}}'; }, /uses \{\{item\.name\}\} without recommends_item/));
  test('an unknown template variable', () => bundleBroken('birthday.json', (b) => { b.templates[0].body += '{{user.name}}'; }, /unknown variable \{\{user\.name\}\}/));
  test('a marketing SMS without unsubscribe link', () => bundleBroken('dormant_reactivation.json', (b) => { b.templates[1].body = b.templates[1].body.replace('退订{{unsubscribe_url}}', ''); }, /needs \{\{unsubscribe_url\}\}/));
  test('a wrong expected path', () => {
    const b = clone(byFile['birthday.json']);
    b.dry_run.profile.is_vip = true;
    assert.ok(dryRunErrors(b).some((e) => /the simulation walks/.test(e)));
  });
});

// ---------------------------------------------------------------------------------------------
// The bundles' segments on the real engine

let srvMod = null;
try { srvMod = require('../lib/server'); } catch { srvMod = null; }
const haveBinary = srvMod && fs.existsSync(srvMod.BIN);

describe('bundle segments on the real engine', { skip: haveBinary ? false : 'sextant binary not built' }, () => {
  let srv;
  before(async () => { srv = await srvMod.startServer(); });
  after(async () => { if (srv) await srv.stop(); });

  for (const { file, bundle } of bundles.filter((x) => x.bundle.segments.length)) {
    test(`${file}: segments are accepted and the sample's membership is as simulated`, async () => {
      const p = srvMod.uniqueName('journeys');
      await srv.createProject(p);
      const base = `/api/v1/projects/${encodeURIComponent(p)}`;
      const loaded = await srv.records(p, [{ type: 'profile_set', distinct_id: 'dry_run_customer', time: Date.now() - 60000,
        _track_id: 1, properties: bundle.dry_run.profile }]);
      assert.equal(loaded.status, 200, loaded.text);
      assert.equal(loaded.body.accepted, 1, loaded.text);
      await srvMod.waitFor(async () => (await srv.user(p, 'dry_run_customer')).status === 200);
      for (const s of bundle.segments) {
        const r = await srv.api('POST', `${base}/segments`, s);
        assert.equal(r.status, 201, `${s.name}: ${r.text}`);
      }
      const r = await srv.api('GET', `${base}/users/dry_run_customer/segments`);
      assert.equal(r.status, 200, r.text);
      const actual = r.body.segments.map((s) => s.name).sort();
      // The simulation's view, before any dry-run event.
      const ctx = { profile: bundle.dry_run.profile, events: [], segments: bundle.segments };
      const expected = bundle.segments.filter((s) => evalRule(s.rule, ctx, 0) === true).map((s) => s.name).sort();
      const unknown = bundle.segments.filter((s) => evalRule(s.rule, ctx, 0) === undefined).map((s) => s.name);
      assert.deepEqual(actual.filter((n) => !unknown.includes(n)), expected);
    });
  }
});
