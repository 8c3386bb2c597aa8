import { api, projectPath, qs } from './client';

/** An import job (docs/import.md, "Import jobs"): a file imported by the server in the background. */
export interface ImportJob {
  id: string;
  name: string;
  kind: 'events' | 'profiles' | 'items' | 'records';
  format: 'csv' | 'jsonl';
  created_by: string;
  status: 'queued' | 'running' | 'done' | 'failed' | 'cancelled' | 'interrupted';
  message?: string;
  bytes: number;
  bytes_done: number;
  percent: number;
  records_done: number;
  errors: number;
  rows: number;
  accepted: number;
  duplicates: number;
  failed: number;
  seconds: number;
  created_ms: number;
  started_ms: number;
  finished_ms: number;
}

export interface StartImport {
  file: File;
  kind: ImportJob['kind'];
  /** Mapping JSON (docs/import.md); empty = by column names. */
  mapping?: string;
  delimiter?: string;
}

export const ACTIVE_IMPORT: ReadonlySet<ImportJob['status']> = new Set(['queued', 'running']);

export async function listImports(project: string, signal?: AbortSignal): Promise<ImportJob[]> {
  const r = await api.get<{ imports: ImportJob[] }>(projectPath(project, '/imports'), { signal });
  return r.imports || [];
}

export function startImport(project: string, s: StartImport): Promise<ImportJob> {
  const query = qs({ name: s.file.name, kind: s.kind, mapping: s.mapping?.trim() || undefined, delimiter: s.delimiter || undefined });
  return api.post<ImportJob>(projectPath(project, `/imports${query}`), s.file, { contentType: s.file.type || 'application/octet-stream' });
}

export function cancelImport(project: string, id: string): Promise<ImportJob> {
  return api.post<ImportJob>(projectPath(project, `/imports/${encodeURIComponent(id)}/cancel`));
}

export function deleteImport(project: string, id: string): Promise<unknown> {
  return api.del(projectPath(project, `/imports/${encodeURIComponent(id)}`));
}

/** The job's rejected rows as text, one "file:line: code field: reason" per line. */
export function importErrors(project: string, id: string): Promise<string> {
  return api.get<string>(projectPath(project, `/imports/${encodeURIComponent(id)}/errors`));
}
