// The audit trail (docs/access.md "Audit trail") and the decision ledger (docs/touch-rules.md
// "The decision ledger"); both are hash chains the server can verify.
import { api, projectPath, qs } from './client';

export interface AuditEntry {
  seq: number;
  hash: string;
  prev: string;
  time: number;
  actor: string;
  actor_kind?: string;
  action: 'login' | 'login_failed' | 'change' | 'denied' | 'export' | string;
  method?: string;
  route?: string;
  target?: string;
  project?: string;
  peer?: string;
  status?: number;
  detail?: string;
}

export interface ChainVerification {
  valid: boolean;
  entries: number;
  head_hash: string;
  first_bad_sequence?: number;
  reason?: string;
}

/** An answer that is not the documented JSON (the client hands back text it cannot parse). */
export class UnreadableAnswer extends Error {
  constructor(readonly path: string) {
    super(`unreadable answer from ${path}`);
  }
}

export async function listAudit(params: { limit?: number; before?: number; actor?: string }, signal?: AbortSignal): Promise<AuditEntry[]> {
  const path = `/api/v1/audit${qs(params)}`;
  const r = await api.get<{ entries: AuditEntry[] }>(path, { signal });
  if (!r || typeof r !== 'object' || !Array.isArray(r.entries)) throw new UnreadableAnswer(path);
  return r.entries;
}

export function verifyAudit(signal?: AbortSignal): Promise<ChainVerification> {
  return api.get<ChainVerification>('/api/v1/audit/verify', { signal });
}

/** One decision of the ledger; the fields after `kind` depend on it. */
export interface DecisionEntry {
  seq: number;
  hash?: string;
  prev?: string;
  kind: 'touch' | 'webhook' | 'task' | 'lifecycle' | string;
  decision?: 'sent' | 'suppressed' | string;
  reason?: string;
  detail?: string;
  time?: number;
  journey?: string;
  version?: number;
  node?: string;
  distinct_id?: string;
  channel?: string;
  channel_choice?: string;
  purpose?: string;
  justification?: string;
  template?: string;
  subject?: string;
  content?: string;
  assignee?: string;
  arm?: string;
  variant?: string;
  item?: Record<string, unknown>;
  values?: string[];
  touch_id?: string;
  action?: string;
  operator?: string;
  status?: string;
}

export async function listDecisions(project: string, params: { distinct_id?: string; journey?: string; limit?: number }, signal?: AbortSignal): Promise<DecisionEntry[]> {
  const r = await api.get<{ entries: DecisionEntry[] }>(projectPath(project, `/ledger${qs(params)}`), { signal });
  return r.entries || [];
}

export function verifyLedger(project: string, signal?: AbortSignal): Promise<ChainVerification> {
  return api.get<ChainVerification>(projectPath(project, '/ledger/verify'), { signal });
}
