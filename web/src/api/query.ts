// POST /api/v1/projects/{p}/query — docs/query.md. Every analysis type is typed; every one's
// numbers can be opened into their people (`users`, docs/query.md "Users behind a number").
import { api, projectPath } from './client';

export type Aggregator = 'count' | 'uniq_users' | 'per_user_avg' | 'sum' | 'avg' | 'min' | 'max' | 'distinct';
export type TimeUnit = 'hour' | 'day' | 'week' | 'month' | 'total';

export interface Filter {
  all?: Filter[];
  any?: Filter[];
  not?: Filter;
  property?: string;
  op?: string;
  value?: unknown;
}

export interface Step {
  event: string;
  filter?: Filter;
}

/** from/to (inclusive dates in the project's time zone) or last ("30d"). */
export interface Range {
  from?: string;
  to?: string;
  last?: string;
}

export interface Measure {
  event: string;
  aggregator?: Aggregator;
  property?: string;
  filter?: Filter;
}

export interface UsersRequest {
  cell: Record<string, unknown>;
  offset?: number;
  limit?: number;
  columns?: string[];
  format?: 'json' | 'csv';
}

export interface EventsQuery extends Range {
  type: 'events';
  unit?: TimeUnit;
  measures: Measure[];
  by?: string[];
  filter?: Filter;
  limit?: number;
  users?: UsersRequest;
}

export interface FunnelQuery extends Range {
  type: 'funnel';
  steps: Step[];
  window_seconds?: number;
  mode?: 'default' | 'strict';
  by?: string[];
  filter?: Filter;
  users?: UsersRequest;
}

export interface RetentionQuery extends Range {
  type: 'retention';
  unit?: 'day' | 'week' | 'month';
  periods?: number;
  initial: Step;
  return: Step;
  first_time?: boolean;
  by?: string[];
  filter?: Filter;
  users?: UsersRequest;
}

export interface DistributionQuery extends Range {
  type: 'distribution';
  /** An event name or a step with a filter. */
  event: Step | string;
  measure?: 'times' | 'days';
  /** Ascending lower bounds starting at 1. */
  buckets?: number[];
  filter?: Filter;
  users?: UsersRequest;
}

export interface IntervalQuery extends Range {
  type: 'interval';
  from_event: Step;
  to_event: Step;
  window_seconds?: number;
  /** Ascending lower bounds in seconds starting at 0. */
  buckets_seconds?: number[];
  filter?: Filter;
  users?: UsersRequest;
}

export interface PathsQuery extends Range {
  type: 'paths';
  anchor?: Step;
  direction?: 'after' | 'before';
  depth?: number;
  session_gap_seconds?: number;
  events?: string[];
  top?: number;
  filter?: Filter;
  users?: UsersRequest;
}

export type AttributionModel = 'first' | 'last' | 'linear' | 'position' | 'time_decay';

export interface AttributionQuery extends Range {
  type: 'attribution';
  conversion: Step;
  touches: Step[];
  touch_property?: string;
  value_property?: string;
  window_seconds?: number;
  model?: AttributionModel;
  half_life_seconds?: number;
  filter?: Filter;
  users?: UsersRequest;
}

export interface StageDef {
  name: string;
  events: Step[];
}

export interface StagesQuery extends Range {
  type: 'stages';
  stages: StageDef[];
  filter?: Filter;
  users?: UsersRequest;
}

/** The query types whose numbers open into their people (`users.cell`). */
/** Every query type of POST /query. */
export type AnyQuery = EventsQuery | FunnelQuery | RetentionQuery | DistributionQuery | IntervalQuery | PathsQuery | AttributionQuery | StagesQuery;
/** A query whose numbers open into their people: since every type has cells, every query. */
export type AnalysisQuery = AnyQuery;
export type QueryType = AnyQuery['type'];

export interface QueryMeta {
  rows_scanned: number;
  days_scanned: number;
  users: number;
  from: string;
  to: string;
  time_zone: string;
  elapsed_ms: number;
}

export type Cell = string | number | boolean | null;

export interface EventsAnswer {
  columns: string[];
  measure_labels: string[];
  rows: Cell[][];
  groups_total?: number;
  groups_truncated?: boolean;
  meta: QueryMeta;
}

export interface FunnelStep {
  event: string;
  users: number;
  conversion_from_first: number;
  conversion_from_previous: number;
  lost: number;
  median_seconds_to_convert: number | null;
}

export interface FunnelAnswer {
  steps: FunnelStep[];
  groups: { values: Cell[]; steps: FunnelStep[] }[];
  meta: QueryMeta;
}

export interface Cohort {
  period: string;
  users: number;
  retained: number[];
}

export interface RetentionAnswer {
  cohorts: Cohort[];
  groups: { values: Cell[]; cohorts: Cohort[] }[];
  meta: QueryMeta;
}

export interface DistributionAnswer {
  measure?: 'times' | 'days';
  users: number;
  buckets: { from: number; to: number | null; users: number }[];
  meta: QueryMeta;
}

export interface IntervalAnswer {
  intervals: number;
  users: number;
  min: number | null;
  p25: number | null;
  median: number | null;
  p75: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  avg: number | null;
  buckets: { from: number; to: number | null; intervals: number }[];
  meta: QueryMeta;
}

export interface PathNode {
  id: string;
  step: number;
  event: string;
  sessions: number;
}

export interface PathsAnswer {
  sessions: number;
  paths: { events: string[]; sessions: number }[];
  nodes: PathNode[];
  links: { source: string; target: string; sessions: number }[];
  meta: QueryMeta;
}

/** One touch group; with `touch_property` it also carries that property's value under its name. */
export type AttributionTouch = { event: string; touch_count: number; conversions: number; value: number } & Record<string, Cell>;

export interface AttributionAnswer {
  model: AttributionModel;
  conversions: number;
  attributed: number;
  unattributed: number;
  value_total: number;
  touches: AttributionTouch[];
  meta: QueryMeta;
}

export interface StagesAnswer {
  stages: { name: string; users_at_start: number; users_at_end: number; entered: number }[];
  transitions: { from: string | null; to: string | null; users: number }[];
  meta: QueryMeta;
}

export interface UsersAnswer {
  total: number;
  offset: number;
  limit: number;
  users: ({ user_id: number; distinct_id: string } & Record<string, Cell>)[];
  meta?: Partial<QueryMeta>;
}

export function runQuery<A>(project: string, query: object, signal?: AbortSignal): Promise<A> {
  return api.post<A>(projectPath(project, '/query'), query, { signal });
}

export const runEvents = (project: string, q: EventsQuery, signal?: AbortSignal) => runQuery<EventsAnswer>(project, q, signal);
export const runFunnel = (project: string, q: FunnelQuery, signal?: AbortSignal) => runQuery<FunnelAnswer>(project, q, signal);
export const runRetention = (project: string, q: RetentionQuery, signal?: AbortSignal) => runQuery<RetentionAnswer>(project, q, signal);
export const runUsers = (project: string, q: AnalysisQuery, signal?: AbortSignal) => runQuery<UsersAnswer>(project, q, signal);
export const runDistribution = (project: string, q: DistributionQuery, signal?: AbortSignal) => runQuery<DistributionAnswer>(project, q, signal);
export const runInterval = (project: string, q: IntervalQuery, signal?: AbortSignal) => runQuery<IntervalAnswer>(project, q, signal);
export const runPaths = (project: string, q: PathsQuery, signal?: AbortSignal) => runQuery<PathsAnswer>(project, q, signal);
export const runAttribution = (project: string, q: AttributionQuery, signal?: AbortSignal) => runQuery<AttributionAnswer>(project, q, signal);
export const runStages = (project: string, q: StagesQuery, signal?: AbortSignal) => runQuery<StagesAnswer>(project, q, signal);
