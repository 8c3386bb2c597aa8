// Settings: projects (create), the project's personal-data classification, the signed-in
// account's API tokens and password — docs/access.md, docs/openapi.yaml.
import { api, projectPath } from './client';

export interface ProjectInput {
  name: string;
  time_zone?: string;
  /** When set, ingest must present it (?token= or the record's token). */
  token?: string;
}

export function createProject(body: ProjectInput): Promise<{ name: string }> {
  return api.post<{ name: string }>('/api/v1/projects', body);
}

export const PII_KINDS = ['phone', 'id_card', 'name', 'email', 'address', 'secret'] as const;
export type PiiKind = (typeof PII_KINDS)[number];
/** `none` declassifies a default field. */
export type PiiOverride = PiiKind | 'none';

export interface PiiClassification {
  /** The project's overrides of the defaults. */
  fields: Record<string, PiiOverride>;
  /** What is masked: defaults + overrides − `none`. */
  effective: Record<string, PiiKind>;
}

export async function getPii(project: string, signal?: AbortSignal): Promise<PiiClassification> {
  const r = await api.get<Partial<PiiClassification>>(projectPath(project, '/pii'), { signal });
  return { fields: r.fields || {}, effective: r.effective || {} };
}

/** PUT replaces the overrides as a whole; answers the new classification. */
export async function putPii(project: string, fields: Record<string, PiiOverride>): Promise<PiiClassification> {
  const r = await api.put<Partial<PiiClassification>>(projectPath(project, '/pii'), { fields });
  return { fields: r.fields || {}, effective: r.effective || {} };
}

export interface ApiToken {
  id: string;
  name: string;
  scopes: string[];
  created_at?: number;
  expires_at: number;
  rate_per_minute: number;
}

export interface TokenInput {
  name: string;
  scopes: string[];
  expires_in_days?: number;
  rate_per_minute?: number;
}

export async function listTokens(signal?: AbortSignal): Promise<ApiToken[]> {
  const r = await api.get<{ tokens: ApiToken[] }>('/api/v1/auth/tokens', { signal });
  return r.tokens || [];
}

/** The answer carries the token's text (`sxt_…`): the only time it is shown. */
export function createToken(body: TokenInput): Promise<ApiToken & { token: string }> {
  return api.post<ApiToken & { token: string }>('/api/v1/auth/tokens', body);
}

export function revokeToken(id: string): Promise<unknown> {
  return api.del(`/api/v1/auth/tokens/${encodeURIComponent(id)}`);
}

export function changePassword(oldPassword: string, newPassword: string): Promise<unknown> {
  return api.post('/api/v1/auth/password', { old_password: oldPassword, new_password: newPassword });
}
