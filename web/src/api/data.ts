import { api, projectPath, qs } from './client';

export interface SchemaEvent {
  name: string;
  count?: number;
  first_seen?: number;
}
export interface SchemaProperty {
  name: string;
  type: string;
  count?: number;
  first_seen?: number;
}
export interface Schema {
  events: SchemaEvent[];
  properties: SchemaProperty[];
  user_properties: SchemaProperty[];
}

export async function getSchema(project: string): Promise<Schema> {
  const r = await api.get<Partial<Schema>>(projectPath(project, '/schema'));
  return { events: r.events || [], properties: r.properties || [], user_properties: r.user_properties || [] };
}

export interface IngestError {
  time?: number;
  code?: number;
  name?: string;
  field?: string;
  reason?: string;
  record?: unknown;
  source?: string;
}

export async function getIngestErrors(project: string, limit = 100): Promise<IngestError[]> {
  const r = await api.get<{ errors: IngestError[] }>(projectPath(project, `/ingest-errors${qs({ limit })}`));
  return r.errors || [];
}
