// Saved metrics (指标) — docs/query.md "Metrics and dashboards".
import { api, projectPath } from './client';
import type { AnalysisQuery } from './query';

export interface MetricInput {
  name: string;
  description?: string;
  unit?: string;
  owner?: string;
  query: AnalysisQuery | Record<string, unknown>;
}

export interface Metric extends MetricInput {
  id: number;
  created_at: number;
  updated_at: number;
}

export async function listMetrics(project: string): Promise<Metric[]> {
  const r = await api.get<{ metrics: Metric[] }>(projectPath(project, '/metrics'));
  return r.metrics || [];
}

export function createMetric(project: string, m: MetricInput): Promise<Metric> {
  return api.post<Metric>(projectPath(project, '/metrics'), m);
}

export function deleteMetric(project: string, id: number): Promise<unknown> {
  return api.del(projectPath(project, `/metrics/${id}`));
}
