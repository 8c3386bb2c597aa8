// Segments (客群) — docs/segments.md. This version only creates static segments from an
// analysis drill-down; the Segments page comes later.
import { api, projectPath } from './client';
import type { AnalysisQuery } from './query';

export interface Segment {
  id: string;
  name: string;
  description?: string;
  kind: 'rule' | 'static';
  size?: number;
}

export async function listSegments(project: string): Promise<Segment[]> {
  const r = await api.get<{ segments: Segment[] }>(projectPath(project, '/segments'));
  return r.segments || [];
}

/** A static segment of the people behind one number (the query carries `users.cell`). */
export async function createSegmentFromQuery(project: string, name: string, description: string, query: AnalysisQuery): Promise<Segment> {
  const r = await api.post<{ segment: Segment }>(projectPath(project, '/segments'), { name, description, query });
  return r.segment;
}
