'use strict';
// Deterministic event generator for the differential test (Sextant vs ClickHouse 18.16).
//
//   const { generate } = require('./generate');
//   const data = generate({ users: 3000, seed: 42 });
//   data.events: [{user, event, ts (epoch seconds), props: {amount?, fund_type?, channel}}]
//
// Events are in "load order": user by user, each user's events sorted by time with a stable
// sort, so events with the same (user, second) keep the order in which they were generated.
// Both systems get the rows in exactly this order (the order of tied events decides funnel
// results in ClickHouse's windowFunnel, which sorts by time only, stably).
//
// What the data exercises:
//  - whole-second timestamps only (windowFunnel works on DateTime seconds);
//  - many ties: ~20% of in-session gaps are 0 s, so several events share a second;
//  - local midnight in Asia/Shanghai (UTC+8): ~15% of sessions start between 23:50 and 00:00
//    local and run past midnight;
//  - gaps that are exactly 60, 3600, 86400 and 604800 s (the funnel windows of the test) and
//    one second on either side of them;
//  - skewed event frequencies (ViewHome ≫ ViewFund ≫ AddWatch > BuyFund ...), so funnels drop off;
//  - users joining on different days (first-time retention cohorts differ from plain ones).

const DAY = 86400;
const TZ_OFFSET = 8 * 3600; // Asia/Shanghai, no DST

// First and last local day of the data (inclusive). 2025-12-22 is a Monday.
const FIRST_DAY = '2025-12-22';
const LAST_DAY = '2026-01-31';

// Epoch seconds of local midnight (Asia/Shanghai) starting `ymd`.
function localMidnight(ymd) {
  const [y, m, d] = ymd.split('-').map(Number);
  return Date.UTC(y, m - 1, d) / 1000 - TZ_OFFSET;
}
// Local date "YYYY-MM-DD" of epoch seconds.
function localDate(ts) {
  return new Date((ts + TZ_OFFSET) * 1000).toISOString().slice(0, 10);
}
function addDays(ymd, n) {
  return localDate(localMidnight(ymd) + n * DAY);
}

const START = localMidnight(FIRST_DAY);
const END = localMidnight(LAST_DAY) + DAY; // exclusive
const DAYS = (END - START) / DAY;

// mulberry32: small, fast, good enough, and identical on every platform.
function rng(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EVENTS = ['Login', 'ViewHome', 'Search', 'ViewFund', 'AddWatch', 'BuyFund', 'Deposit', 'Withdraw'];
const FUND_TYPES = ['bond', 'equity', 'money_market', 'index', 'qdii'];
const CHANNELS = ['app', 'web', 'mini_program', 'h5'];
const TAGS = ['hot', 'new', 'esg', 'low_fee', 'star_manager'];
const CITIES = ['Shanghai', 'Beijing', 'Shenzhen', 'Hangzhou', 'Chengdu'];
const FUND_EVENTS = new Set(['ViewFund', 'AddWatch', 'BuyFund']);
const TAG_EVENTS = new Set(['ViewFund', 'BuyFund']);
const MONEY_EVENTS = new Set(['BuyFund', 'Deposit', 'Withdraw']);

// Session state machine: next event given the current one (null = session ends).
const NEXT = {
  Login: [['ViewHome', 0.8], ['ViewFund', 0.1], [null, 0.1]],
  ViewHome: [['ViewHome', 0.15], ['ViewFund', 0.42], ['Search', 0.13], ['Deposit', 0.07],
    ['Withdraw', 0.03], [null, 0.2]],
  Search: [['ViewFund', 0.6], ['ViewHome', 0.2], [null, 0.2]],
  ViewFund: [['ViewFund', 0.25], ['AddWatch', 0.22], ['BuyFund', 0.08], ['ViewHome', 0.15], [null, 0.3]],
  AddWatch: [['BuyFund', 0.3], ['ViewFund', 0.3], [null, 0.4]],
  BuyFund: [['ViewFund', 0.2], ['Deposit', 0.1], [null, 0.7]],
  Deposit: [['BuyFund', 0.35], ['ViewHome', 0.3], [null, 0.35]],
  Withdraw: [['ViewHome', 0.3], [null, 0.7]],
};

function pick(r, table) {
  let x = r();
  for (const [v, p] of table) {
    if (x < p) return v;
    x -= p;
  }
  return table[table.length - 1][0];
}

// Gap in seconds before the next event of a session.
const SPECIAL_GAPS = [60, 59, 61, 3600, 3599, 3601, 86400, 86399, 86401, 604800, 604799, 604801];
function gap(r) {
  const x = r();
  if (x < 0.20) return 0;                                   // tie
  if (x < 0.55) return 1 + Math.floor(r() * 30);
  if (x < 0.78) return 31 + Math.floor(r() * 570);
  if (x < 0.82) return 60;
  if (x < 0.85) return 3600;
  if (x < 0.87) return 86400;
  if (x < 0.88) return 604800;
  if (x < 0.92) return SPECIAL_GAPS[Math.floor(r() * SPECIAL_GAPS.length)];
  return 601 + Math.floor(r() * 7200);
}

// Amounts are multiples of 0.25: exact in binary floating point, so sums do not depend on the
// order of addition.
function amount(r) {
  return (1 + Math.floor(Math.pow(r(), 3) * 200000)) * 0.25;
}

function generate({ users = 3000, seed = 20260131 } = {}) {
  const r = rng(seed);
  const events = [];
  const profiles = [];
  for (let u = 0; u < users; u++) {
    const user = `u${u}`;
    const activity = 0.07 + 0.8 * r() * r();
    const joinDay = r() < 0.5 ? 0 : Math.floor(r() * (DAYS - 3));
    const homeChannel = CHANNELS[Math.floor(r() * r() * CHANNELS.length)];
    // Profile (user properties), absent for ~15% of the users.
    const profile = {};
    if (r() < 0.85) profile.city = CITIES[Math.floor(r() * r() * CITIES.length)];
    if (r() < 0.85) profile.risk_level = 1 + Math.floor(r() * 5);
    profiles.push({ user, profile });
    const mine = [];
    let seq = 0;
    for (let d = joinDay; d < DAYS; d++) {
      if (r() >= activity) continue;
      const sessions = r() < 0.25 ? 2 : 1;
      for (let s = 0; s < sessions; s++) {
        let t;
        if (r() < 0.15) t = START + d * DAY + (23 * 3600 + 50 * 60) + Math.floor(r() * 600); // crosses midnight
        else t = START + d * DAY + 7 * 3600 + Math.floor(r() * 16 * 3600);
        const channel = r() < 0.85 ? homeChannel : CHANNELS[Math.floor(r() * CHANNELS.length)];
        let fundType = FUND_TYPES[Math.floor(r() * r() * FUND_TYPES.length)];
        let ev = r() < 0.3 ? 'Login' : 'ViewHome';
        for (let n = 0; n < 30 && ev; n++) {
          const props = { channel };
          if (FUND_EVENTS.has(ev)) {
            if (r() < 0.2) fundType = FUND_TYPES[Math.floor(r() * FUND_TYPES.length)];
            props.fund_type = fundType;
          }
          if (MONEY_EVENTS.has(ev)) props.amount = amount(r);
          if (TAG_EVENTS.has(ev) && r() < 0.6) {
            // LIST property: 1..3 distinct tags (never an empty list).
            const n = 1 + Math.floor(r() * 3);
            const tags = [];
            while (tags.length < n) {
              const tag = TAGS[Math.floor(r() * TAGS.length)];
              if (!tags.includes(tag)) tags.push(tag);
            }
            props.tags = tags;
          }
          if (t >= START && t < END) mine.push({ user, event: ev, ts: t, props, seq: seq++ });
          t += gap(r);
          ev = pick(r, NEXT[ev]);
        }
      }
    }
    mine.sort((a, b) => a.ts - b.ts || a.seq - b.seq);
    for (const e of mine) { delete e.seq; e.user_props = profile; events.push(e); }
  }
  return { events, profiles, users, seed, start: START, end: END, firstDay: FIRST_DAY, lastDay: LAST_DAY };
}

// Sextant native-batch records (Sensors style, time in ms). No `_track_id`: records without it
// are never deduplicated (docs/ingest.md). `time_free` skips the accepted time window, so the
// fixed dates keep working whatever the clock says.
function toRecord(e) {
  return { type: 'track', event: e.event, distinct_id: e.user, time: e.ts * 1000, time_free: true,
    properties: { ...e.props } };
}
// profile_set record of a user's profile, or null when the user has none.
function toProfileRecord({ user, profile }) {
  if (!Object.keys(profile).length) return null;
  return { type: 'profile_set', distinct_id: user, time: START * 1000, time_free: true, properties: { ...profile } };
}

// ClickHouse TSV row: user, event, t (DateTime), ts (UInt32), amount, fund_type, channel, tags
// (Array(String), [] = absent), u_city, u_risk (the user's profile, denormalised).
function toTsv(e) {
  const n = (v) => (v === undefined ? '\\N' : String(v));
  const tags = `[${(e.props.tags || []).map((t) => `'${t}'`).join(',')}]`;
  return `${e.user}\t${e.event}\t${e.ts}\t${e.ts}\t${n(e.props.amount)}\t${n(e.props.fund_type)}\t${n(e.props.channel)}\t`
    + `${tags}\t${n(e.user_props.city)}\t${n(e.user_props.risk_level)}\n`;
}

module.exports = { generate, toRecord, toProfileRecord, toTsv, localMidnight, localDate, addDays, EVENTS, FUND_TYPES,
  CHANNELS, DAY, TZ_OFFSET, FIRST_DAY, LAST_DAY };

if (require.main === module) {
  const t0 = Date.now();
  const data = generate({ users: Number(process.argv[2] || 3000) });
  const counts = {};
  for (const e of data.events) counts[e.event] = (counts[e.event] || 0) + 1;
  let ties = 0;
  for (let i = 1; i < data.events.length; i++) {
    if (data.events[i].user === data.events[i - 1].user && data.events[i].ts === data.events[i - 1].ts) ties++;
  }
  console.log(`${data.events.length} events, ${data.users} users, ${ties} tied pairs, ${Date.now() - t0} ms`, counts);
}
