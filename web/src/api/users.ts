import { api, ApiError, getToken, projectPath, qs, type ApiErrorBody } from './client';

export type PropertyValue = string | number | boolean | string[] | null;

export interface UserRecord {
  user_id: number;
  identities: { key: string; value: string }[];
  merged_user_ids?: number[];
  profile: Record<string, PropertyValue>;
  tags?: Record<string, PropertyValue>;
}

export interface UserEvent {
  event: string;
  time: number;
  distinct_id: string;
  properties: Record<string, PropertyValue>;
}

const userPath = (project: string, id: string, rest = '') => projectPath(project, `/users/${encodeURIComponent(id)}${rest}`);

export function getUser(project: string, id: string, key?: string): Promise<UserRecord> {
  return api.get<UserRecord>(userPath(project, id, qs({ key })));
}

export async function getUserEvents(project: string, id: string, limit: number, key?: string): Promise<UserEvent[]> {
  const r = await api.get<{ events: UserEvent[] }>(userPath(project, id, `/events${qs({ limit, key })}`));
  return r.events || [];
}

export async function getUserSegments(project: string, id: string, key?: string): Promise<{ id: string; name: string }[]> {
  const r = await api.get<{ segments: { id: string; name: string }[] }>(userPath(project, id, `/segments${qs({ key })}`));
  return r.segments || [];
}

/** The customer's recorded consent choices, keyed "<purpose>:<channel>" (channel "*" = every channel). Needs rules.read. */
export async function getUserConsent(project: string, distinctId: string, signal?: AbortSignal): Promise<Record<string, boolean>> {
  const r = await api.get<{ consent?: Record<string, boolean> }>(userPath(project, distinctId, '/consent'), { signal });
  return r.consent || {};
}

/** The file name of a `Content-Disposition: attachment; filename="…"` header (RFC 6266, also `filename*=UTF-8''…`). */
export function attachmentFilename(header: string | null, fallback: string): string {
  if (!header) return fallback;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (star) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      /* fall through to the plain form */
    }
  }
  const plain = /filename\s*=\s*("([^"]*)"|[^;]+)/.exec(header);
  const name = plain ? (plain[2] ?? plain[1]).trim() : '';
  return name || fallback;
}

/**
 * Everything held about one customer, as the server's attachment (data-subject access; admin).
 * A raw fetch with the session's bearer token, since the answer is a file, not an API object.
 */
export async function exportUser(project: string, distinctId: string): Promise<{ blob: Blob; filename: string }> {
  const path = userPath(project, distinctId, '/export');
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(path, { headers });
  } catch (e) {
    throw new ApiError(0, path, undefined, (e as Error).message || 'network error');
  }
  if (!res.ok) {
    let body: ApiErrorBody | undefined;
    try {
      body = ((await res.json()) as { error?: ApiErrorBody }).error;
    } catch {
      body = undefined;
    }
    throw new ApiError(res.status, path, body, `HTTP ${res.status} ${res.statusText}`.trim());
  }
  const blob = await res.blob();
  // Never let a header (or an id) pick a directory.
  const filename = attachmentFilename(res.headers.get('Content-Disposition'), `customer-${distinctId}.json`).replace(/[\\/]/g, '_');
  return { blob, filename };
}
