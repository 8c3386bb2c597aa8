// Accounts and roles (admin) — docs/access.md.
import { api } from './client';

export interface ManagedAccount {
  name: string;
  display_name?: string;
  roles: string[];
  permissions?: string[];
  projects: string[];
  org_unit?: string;
  disabled?: boolean;
  created_at?: number;
  /** ms since the epoch; 0 when not locked. */
  locked_until?: number;
}

export interface RoleDef {
  name: string;
  permissions: string[];
}

export interface AccountInput {
  name?: string;
  password?: string;
  roles?: string[];
  projects?: string[];
  org_unit?: string;
  display_name?: string;
  disabled?: boolean;
}

export async function listAccounts(signal?: AbortSignal): Promise<{ accounts: ManagedAccount[]; roles: RoleDef[] }> {
  const r = await api.get<{ accounts: ManagedAccount[]; roles: RoleDef[] }>('/api/v1/admin/accounts', { signal });
  return { accounts: r.accounts || [], roles: r.roles || [] };
}

export function createAccount(body: AccountInput): Promise<ManagedAccount> {
  return api.post<ManagedAccount>('/api/v1/admin/accounts', body);
}

export function updateAccount(name: string, body: AccountInput): Promise<ManagedAccount> {
  return api.put<ManagedAccount>(`/api/v1/admin/accounts/${encodeURIComponent(name)}`, body);
}

export function deleteAccount(name: string): Promise<unknown> {
  return api.del(`/api/v1/admin/accounts/${encodeURIComponent(name)}`);
}
