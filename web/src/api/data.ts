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

/** One event of the live stream (GET /events/recent); `seq` grows with every committed event. */
export interface RecentEvent {
  seq: number;
  event: string;
  time: number;
  received: number;
  distinct_id: string;
  properties: Record<string, string | number | boolean | string[] | null>;
}

export interface RecentEvents {
  /** When the current watch began (ms); a change means the server stopped keeping events for a while. */
  watching_since: number;
  /** Newest first. */
  events: RecentEvent[];
}

/**
 * The project's live event stream: the newest events committed while someone polls (every ≤ 30 s);
 * the first read after a quiet spell starts the stream and answers none. `after`: only events
 * with a larger seq. Personal data comes masked for accounts without pii.read.
 */
export async function getRecentEvents(project: string, opts: { limit?: number; after?: number }, signal?: AbortSignal): Promise<RecentEvents> {
  const r = await api.get<Partial<RecentEvents>>(projectPath(project, `/events/recent${qs({ limit: opts.limit, after: opts.after })}`), { signal });
  return { watching_since: r.watching_since ?? 0, events: r.events || [] };
}
