'use strict';
// The queries of the differential test: each is sent to Sextant as-is and translated to
// ClickHouse SQL by reference.js. Data covers 2025-12-22 (Monday) .. 2026-01-31 (local days).

const ALL = { from: '2025-12-22', to: '2026-01-31' };

const events = [
  {
    name: 'events: per day count + uniq_users of ViewFund, AddWatch, BuyFund and $any',
    q: { type: 'events', ...ALL, unit: 'day', measures: [
      { event: 'ViewFund', aggregator: 'count' }, { event: 'ViewFund', aggregator: 'uniq_users' },
      { event: 'AddWatch', aggregator: 'count' }, { event: 'AddWatch', aggregator: 'uniq_users' },
      { event: 'BuyFund', aggregator: 'count' }, { event: 'BuyFund', aggregator: 'uniq_users' },
      { event: '$any', aggregator: 'count' }, { event: '$any', aggregator: 'uniq_users' }] },
  },
  {
    name: 'events: per day sum of amount (BuyFund, Deposit, Withdraw), sub-range',
    q: { type: 'events', from: '2025-12-30', to: '2026-01-10', unit: 'day', measures: [
      { event: 'BuyFund', aggregator: 'sum', property: 'event.amount' },
      { event: 'Deposit', aggregator: 'sum', property: 'event.amount' },
      { event: 'Deposit', aggregator: 'count' },
      { event: 'Withdraw', aggregator: 'sum', property: 'event.amount' }] },
  },
  {
    name: 'events: filter amount > 1000 and channel in [app, web]',
    q: { type: 'events', ...ALL, unit: 'day', measures: [
      { event: 'BuyFund', aggregator: 'count' }, { event: 'BuyFund', aggregator: 'uniq_users' },
      { event: 'BuyFund', aggregator: 'sum', property: 'event.amount' }],
    filter: { all: [{ property: 'event.amount', op: '>', value: 1000 },
      { property: 'event.channel', op: 'in', value: ['app', 'web'] }] } },
  },
  {
    name: 'events: by fund_type (BuyFund count, uniq_users, sum amount)',
    q: { type: 'events', ...ALL, unit: 'day', by: ['event.fund_type'], measures: [
      { event: 'BuyFund', aggregator: 'count' }, { event: 'BuyFund', aggregator: 'uniq_users' },
      { event: 'BuyFund', aggregator: 'sum', property: 'event.amount' }] },
  },
  {
    name: 'events: by channel and fund_type, ViewFund + AddWatch, weekly',
    q: { type: 'events', from: '2025-12-29', to: '2026-01-25', unit: 'week', by: ['event.channel', 'event.fund_type'], measures: [
      { event: 'ViewFund', aggregator: 'count' }, { event: 'AddWatch', aggregator: 'uniq_users' }] },
  },
  {
    name: 'events: weekly $any count + uniq_users',
    q: { type: 'events', from: '2025-12-29', to: '2026-01-25', unit: 'week', measures: [
      { event: '$any', aggregator: 'count' }, { event: '$any', aggregator: 'uniq_users' },
      { event: 'Login', aggregator: 'uniq_users' }] },
  },
  {
    name: 'events: monthly sum of amount by channel',
    q: { type: 'events', from: '2025-12-01', to: '2026-01-31', unit: 'month', by: ['event.channel'], measures: [
      { event: 'BuyFund', aggregator: 'sum', property: 'event.amount' }, { event: 'Deposit', aggregator: 'count' },
      { event: '$any', aggregator: 'uniq_users' }] },
  },
  {
    name: 'events: filter any/not/between/contains on BuyFund',
    q: { type: 'events', ...ALL, unit: 'day', measures: [
      { event: 'BuyFund', aggregator: 'count' }, { event: 'BuyFund', aggregator: 'sum', property: 'event.amount' }],
    filter: { all: [
      { any: [{ property: 'event.fund_type', op: 'contains', value: 'ond' }, { property: 'event.fund_type', op: 'contains', value: 'ity' }] },
      { not: { property: 'event.amount', op: 'between', value: [100, 5000] } },
      { property: 'event.channel', op: '!=', value: 'h5' }] } },
  },
  {
    name: 'events: $any with is_set / not_set amount',
    q: { type: 'events', ...ALL, unit: 'day', measures: [
      { event: '$any', aggregator: 'count' }, { event: '$any', aggregator: 'uniq_users' }],
    filter: { property: 'event.amount', op: 'is_set' } },
  },
  {
    name: 'events: $any with not_set amount and channel not_in [h5, mini_program]',
    q: { type: 'events', ...ALL, unit: 'day', measures: [{ event: '$any', aggregator: 'count' }],
      filter: { all: [{ property: 'event.amount', op: 'not_set' },
        { property: 'event.channel', op: 'not_in', value: ['h5', 'mini_program'] }] } },
  },
  {
    name: 'events: comparison ops on amount (>=, <, <=, =)',
    q: { type: 'events', ...ALL, unit: 'week', measures: [
      { event: 'Deposit', aggregator: 'count' }, { event: 'Deposit', aggregator: 'sum', property: 'event.amount' }],
    filter: { any: [
      { all: [{ property: 'event.amount', op: '>=', value: 2500.25 }, { property: 'event.amount', op: '<', value: 10000 }] },
      { property: 'event.amount', op: '<=', value: 1 },
      { property: 'event.amount', op: '=', value: 42.5 }] } },
  },
  {
    name: 'events: measure-level filter',
    q: { type: 'events', ...ALL, unit: 'day', measures: [
      { event: 'BuyFund', aggregator: 'count' },
      { event: 'BuyFund', aggregator: 'count', filter: { property: 'event.fund_type', op: '=', value: 'equity' } },
      { event: 'BuyFund', aggregator: 'sum', property: 'event.amount', filter: { property: 'event.channel', op: '=', value: 'app' } }] },
  },
  {
    name: 'events: per hour over two days crossing midnight (count, uniq_users)',
    q: { type: 'events', from: '2025-12-31', to: '2026-01-01', unit: 'hour', measures: [
      { event: '$any', aggregator: 'count' }, { event: 'ViewFund', aggregator: 'uniq_users' }] },
  },
  {
    name: 'events: avg / min / max / distinct / per_user_avg',
    q: { type: 'events', ...ALL, unit: 'week', measures: [
      { event: 'BuyFund', aggregator: 'avg', property: 'event.amount' },
      { event: 'BuyFund', aggregator: 'min', property: 'event.amount' },
      { event: 'Deposit', aggregator: 'max', property: 'event.amount' },
      { event: 'ViewFund', aggregator: 'distinct', property: 'event.fund_type' },
      { event: 'ViewFund', aggregator: 'per_user_avg' }] },
  },
  {
    name: 'events: absent properties — not(=), !=, not_in, not(>) as measure filters on $any',
    q: { type: 'events', ...ALL, unit: 'week', measures: [
      { event: '$any', aggregator: 'count', filter: { not: { property: 'event.fund_type', op: '=', value: 'bond' } } },
      { event: '$any', aggregator: 'count', filter: { property: 'event.fund_type', op: '!=', value: 'bond' } },
      { event: '$any', aggregator: 'count', filter: { property: 'event.fund_type', op: 'not_in', value: ['bond', 'equity'] } },
      { event: '$any', aggregator: 'uniq_users', filter: { not: { property: 'event.amount', op: '>', value: 100 } } }] },
  },
  {
    name: 'events: by fund_type over $any (absent value = null group)',
    q: { type: 'events', ...ALL, unit: 'week', by: ['event.fund_type'], measures: [
      { event: '$any', aggregator: 'count' }, { event: '$any', aggregator: 'uniq_users' }] },
  },
  {
    name: 'events: unit total, by user.city, limit 3',
    q: { type: 'events', ...ALL, unit: 'total', by: ['user.city'], limit: 3, measures: [
      { event: '$any', aggregator: 'count' }, { event: '$any', aggregator: 'uniq_users' },
      { event: 'BuyFund', aggregator: 'sum', property: 'event.amount' }] },
  },
  {
    name: 'events: by user.risk_level (number), user filter',
    q: { type: 'events', ...ALL, unit: 'month', by: ['user.risk_level'], measures: [
      { event: 'BuyFund', aggregator: 'count' }, { event: 'BuyFund', aggregator: 'sum', property: 'event.amount' }],
    filter: { any: [{ property: 'user.risk_level', op: '>=', value: 3 }, { property: 'user.city', op: 'not_set' }] } },
  },
  {
    name: 'events: LIST property tags (=, in, contains, !=, not_in, is_set)',
    q: { type: 'events', ...ALL, unit: 'day', measures: [
      { event: 'BuyFund', aggregator: 'count', filter: { property: 'event.tags', op: '=', value: 'esg' } },
      { event: 'ViewFund', aggregator: 'count', filter: { property: 'event.tags', op: 'in', value: ['hot', 'new'] } },
      { event: 'ViewFund', aggregator: 'uniq_users', filter: { property: 'event.tags', op: 'contains', value: 'fee' } },
      { event: '$any', aggregator: 'count', filter: { property: 'event.tags', op: '!=', value: 'hot' } },
      { event: '$any', aggregator: 'count', filter: { property: 'event.tags', op: 'not_in', value: ['hot', 'esg'] } },
      { event: '$any', aggregator: 'count', filter: { property: 'event.tags', op: 'is_set' } }] },
  },
];

const funnels = [
  {
    name: 'funnel: 2 steps ViewFund → BuyFund, window 60 s',
    q: { type: 'funnel', ...ALL, window_seconds: 60, mode: 'default', steps: [{ event: 'ViewFund' }, { event: 'BuyFund' }] },
  },
  {
    name: 'funnel: 3 steps ViewFund → AddWatch → BuyFund, window 3600 s',
    q: { type: 'funnel', ...ALL, window_seconds: 3600, mode: 'default', steps: [{ event: 'ViewFund' }, { event: 'AddWatch' }, { event: 'BuyFund' }] },
  },
  {
    name: 'funnel: 4 steps with a step filter, window 86400 s',
    q: { type: 'funnel', from: '2025-12-29', to: '2026-01-18', window_seconds: 86400, mode: 'default', steps: [
      { event: 'ViewHome' }, { event: 'ViewFund' },
      { event: 'AddWatch', filter: { property: 'event.fund_type', op: 'in', value: ['equity', 'index'] } },
      { event: 'BuyFund' }] },
  },
  {
    name: 'funnel: 5 steps Login → ViewHome → ViewFund → AddWatch → BuyFund, window 604800 s',
    q: { type: 'funnel', from: '2026-01-05', to: '2026-01-18', window_seconds: 604800, mode: 'default', steps: [
      { event: 'Login' }, { event: 'ViewHome' }, { event: 'ViewFund' }, { event: 'AddWatch' }, { event: 'BuyFund' }] },
  },
  {
    name: 'funnel: 3 steps, BuyFund amount >= 1000 and first step channel = app, window 86400 s',
    q: { type: 'funnel', ...ALL, window_seconds: 86400, mode: 'default', steps: [
      { event: 'ViewFund', filter: { property: 'event.channel', op: '=', value: 'app' } },
      { event: 'AddWatch' },
      { event: 'BuyFund', filter: { property: 'event.amount', op: '>=', value: 1000 } }] },
  },
  {
    name: 'funnel: 2 steps ViewHome → Deposit, window 3600 s, one day (midnight crossings)',
    q: { type: 'funnel', from: '2026-01-01', to: '2026-01-01', window_seconds: 3600, mode: 'default', steps: [
      { event: 'ViewHome' }, { event: 'Deposit' }] },
  },
  {
    name: 'funnel: 4 steps Search → ViewFund → AddWatch → BuyFund, window 60 s',
    q: { type: 'funnel', ...ALL, window_seconds: 60, mode: 'default', steps: [
      { event: 'Search' }, { event: 'ViewFund' }, { event: 'AddWatch' }, { event: 'BuyFund' }] },
  },
  {
    name: 'funnel: 3 steps with a top-level filter (channel != h5), window 3600 s',
    q: { type: 'funnel', ...ALL, window_seconds: 3600, mode: 'default',
      filter: { property: 'event.channel', op: '!=', value: 'h5' },
      steps: [{ event: 'ViewHome' }, { event: 'ViewFund' }, { event: 'BuyFund' }] },
  },
  {
    name: 'funnel: 3 steps by user.city with a LIST step filter, window 3600 s',
    q: { type: 'funnel', ...ALL, window_seconds: 3600, mode: 'default', by: ['user.city'], steps: [
      { event: 'ViewFund', filter: { property: 'event.tags', op: 'contains', value: 'star' } },
      { event: 'AddWatch' }, { event: 'BuyFund' }] },
  },
  {
    name: 'funnel: 3 steps, user filter risk_level >= 3, window 86400 s',
    q: { type: 'funnel', from: '2026-01-01', to: '2026-01-20', window_seconds: 86400, mode: 'default',
      filter: { property: 'user.risk_level', op: '>=', value: 3 },
      steps: [{ event: 'ViewHome' }, { event: 'ViewFund' }, { event: 'BuyFund' }] },
  },
  {
    name: 'funnel: ViewFund → $any → BuyFund, window 60 s',
    q: { type: 'funnel', ...ALL, window_seconds: 60, mode: 'default', steps: [{ event: 'ViewFund' }, { event: '$any' }, { event: 'BuyFund' }] },
  },
];

const retention = [
  {
    name: 'retention: day, 7 periods, ViewFund → BuyFund',
    q: { type: 'retention', from: '2026-01-05', to: '2026-01-18', unit: 'day', periods: 7,
      initial: { event: 'ViewFund' }, return: { event: 'BuyFund' }, first_time: false },
  },
  {
    name: 'retention: day, 7 periods, first_time, ViewFund → BuyFund',
    q: { type: 'retention', from: '2026-01-05', to: '2026-01-18', unit: 'day', periods: 7,
      initial: { event: 'ViewFund' }, return: { event: 'BuyFund' }, first_time: true },
  },
  {
    name: 'retention: day, 3 periods, Login → $any',
    q: { type: 'retention', from: '2025-12-22', to: '2026-01-31', unit: 'day', periods: 3,
      initial: { event: 'Login' }, return: { event: '$any' }, first_time: false },
  },
  {
    name: 'retention: week, 3 periods, ViewHome → BuyFund',
    q: { type: 'retention', from: '2025-12-22', to: '2026-01-11', unit: 'week', periods: 3,
      initial: { event: 'ViewHome' }, return: { event: 'BuyFund' }, first_time: false },
  },
  {
    name: 'retention: week, 4 periods, first_time, Login → Deposit',
    q: { type: 'retention', from: '2025-12-22', to: '2026-01-25', unit: 'week', periods: 4,
      initial: { event: 'Login' }, return: { event: 'Deposit' }, first_time: true },
  },
  {
    name: 'retention: month, 1 period, ViewFund → BuyFund',
    q: { type: 'retention', from: '2025-12-01', to: '2026-01-31', unit: 'month', periods: 1,
      initial: { event: 'ViewFund' }, return: { event: 'BuyFund' }, first_time: false },
  },
  {
    name: 'retention: day, 5 periods, filtered initial event and top-level filter',
    q: { type: 'retention', from: '2026-01-10', to: '2026-01-20', unit: 'day', periods: 5,
      initial: { event: 'ViewFund', filter: { property: 'event.fund_type', op: 'in', value: ['equity', 'qdii'] } },
      return: { event: 'ViewFund' }, first_time: false,
      filter: { property: 'event.channel', op: 'in', value: ['app', 'web'] } },
  },
  {
    name: 'retention: week, 2 periods, first_time with filtered initial event',
    q: { type: 'retention', from: '2025-12-29', to: '2026-01-18', unit: 'week', periods: 2,
      initial: { event: 'BuyFund', filter: { property: 'event.amount', op: '>', value: 500 } },
      return: { event: 'BuyFund' }, first_time: true },
  },
  {
    name: 'retention: day, 4 periods, by user.city',
    q: { type: 'retention', from: '2026-01-08', to: '2026-01-21', unit: 'day', periods: 4, by: ['user.city'],
      initial: { event: 'AddWatch' }, return: { event: 'ViewFund' }, first_time: false },
  },
  {
    name: 'retention: week, 2 periods, first_time, $any → BuyFund',
    q: { type: 'retention', from: '2025-12-22', to: '2026-01-18', unit: 'week', periods: 2,
      initial: { event: '$any' }, return: { event: 'BuyFund' }, first_time: true },
  },
];

module.exports = { cases: [...events, ...funnels, ...retention] };
