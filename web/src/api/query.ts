// POST /api/v1/projects/{p}/query — docs/query.md. Only the analysis types the console uses
// are typed closely; the rest pass through as objects.
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

export type AnalysisQuery = EventsQuery | FunnelQuery | RetentionQuery;

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
