// Saved metrics (指标) and dashboards (看板) — docs/query.md "Metrics and dashboards".
import { api, projectPath, type ApiErrorBody } from './client';
import type { AnyQuery } from './query';

export interface MetricInput {
  name: string;
  description?: string;
  unit?: string;
  owner?: string;
  query: AnyQuery | Record<string, unknown>;
}

export interface Metric extends MetricInput {
  id: number;
  created_at: number;
  updated_at: number;
}

export async function listMetrics(project: string, signal?: AbortSignal): Promise<Metric[]> {
  const r = await api.get<{ metrics: Metric[] }>(projectPath(project, '/metrics'), { signal });
  return r.metrics || [];
}

export function createMetric(project: string, m: MetricInput): Promise<Metric> {
  return api.post<Metric>(projectPath(project, '/metrics'), m);
}

export function deleteMetric(project: string, id: number): Promise<unknown> {
  return api.del(projectPath(project, `/metrics/${id}`));
}

/** POST /metrics/{id}/run: the answer of POST /query for the saved query. */
export function runMetric<A = unknown>(project: string, id: number, signal?: AbortSignal): Promise<A> {
  return api.post<A>(projectPath(project, `/metrics/${id}/run`), undefined, { signal });
}

export interface DashboardItem {
  metric_id: number;
  /** 1 = half the row, 2 = the whole row. */
  width?: 1 | 2;
}

export interface DashboardInput {
  name: string;
  description?: string;
  owner?: string;
  items: DashboardItem[];
}

export interface Dashboard extends DashboardInput {
  id: number;
  created_at: number;
  updated_at: number;
}

/** One item's result of a dashboard run: the answer, or the error of its query. */
export interface DashboardResult {
  metric_id: number;
  answer?: unknown;
  error?: ApiErrorBody;
}

export interface DashboardRun {
  dashboard: Dashboard;
  results: DashboardResult[];
}

export async function listDashboards(project: string, signal?: AbortSignal): Promise<Dashboard[]> {
  const r = await api.get<{ dashboards: Dashboard[] }>(projectPath(project, '/dashboards'), { signal });
  return r.dashboards || [];
}

export function getDashboard(project: string, id: number, signal?: AbortSignal): Promise<Dashboard> {
  return api.get<Dashboard>(projectPath(project, `/dashboards/${id}`), { signal });
}

export function createDashboard(project: string, d: DashboardInput): Promise<Dashboard> {
  return api.post<Dashboard>(projectPath(project, '/dashboards'), d);
}

export function updateDashboard(project: string, id: number, d: DashboardInput): Promise<Dashboard> {
  return api.put<Dashboard>(projectPath(project, `/dashboards/${id}`), d);
}

export function deleteDashboard(project: string, id: number): Promise<unknown> {
  return api.del(projectPath(project, `/dashboards/${id}`));
}

/** GET /dashboards/{id}/run: every metric of the dashboard, in order. */
export function runDashboard(project: string, id: number, signal?: AbortSignal): Promise<DashboardRun> {
  return api.get<DashboardRun>(projectPath(project, `/dashboards/${id}/run`), { signal });
}
