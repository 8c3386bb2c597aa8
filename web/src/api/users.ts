import { api, projectPath, qs } from './client';

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
