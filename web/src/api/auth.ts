import { api, ApiError } from './client';

/** Every permission the server knows (the auth contract). */
export const ALL_PERMISSIONS = [
  'admin',
  'data.read',
  'data.write',
  'pii.read',
  'analysis.read',
  'analysis.write',
  'audience.read',
  'audience.write',
  'journey.read',
  'journey.write',
  'journey.approve',
  'rules.read',
  'rules.write',
  'task.read',
  'task.work',
  'ledger.read',
  'audit.read',
] as const;
export type Permission = (typeof ALL_PERMISSIONS)[number];

export interface Account {
  name: string;
  display_name?: string;
  /** "admin_token", "session" or "api_token". */
  kind?: string;
  org_unit?: string;
  roles: string[];
  permissions: string[];
  /** Project names the account may open, or ["*"] for all. */
  projects: string[];
}

export interface LoginAnswer {
  token: string;
  expires_at: number;
  account: Account;
}

export function login(name: string, password: string): Promise<LoginAnswer> {
  return api.post<LoginAnswer>('/api/v1/auth/login', { name, password }, { token: null, noAuthRedirect: true });
}

export function logout(): Promise<unknown> {
  return api.post('/api/v1/auth/logout', {}, { noAuthRedirect: true });
}

/**
 * The account behind a token. Fallback for servers that predate /auth/me: if it answers 404
 * but the token can list projects, the token is the admin token, so the account is the admin
 * with every permission. (Small on purpose; harmless once /auth/me exists.)
 */
export async function me(token?: string): Promise<Account> {
  try {
    return await api.get<Account>('/api/v1/auth/me', { token, noAuthRedirect: true });
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      await api.get('/api/v1/projects', { token, noAuthRedirect: true });
      return { name: 'admin', roles: ['admin'], permissions: [...ALL_PERMISSIONS], projects: ['*'] };
    }
    throw e;
  }
}
