// Advisor tasks (MOT) — docs/journeys.md "Advisor tasks". An advisor (task permissions without
// journey.read) gets only their own tasks: the server filters, the console does not.
import { api, projectPath, qs } from './client';

export type TaskStatus = 'open' | 'claimed' | 'completed' | 'escalated';

export interface AdvisorTask {
  id: string;
  journey: string;
  version?: number;
  node?: string;
  user?: number;
  distinct_id: string;
  title?: string;
  assignee?: string;
  pool?: string;
  escalate_to?: string;
  status: TaskStatus | string;
  created_ms?: number;
  due_ms?: number;
  outcome?: string;
  note?: string;
  claimed_ms?: number;
  completed_ms?: number;
  escalated_ms?: number;
}

export async function listTasks(project: string, params: { assignee?: string; status?: string } = {}, signal?: AbortSignal): Promise<AdvisorTask[]> {
  const r = await api.get<{ tasks: AdvisorTask[] }>(projectPath(project, `/tasks${qs(params)}`), { signal });
  return r.tasks || [];
}

const taskAction = (project: string, id: string, action: 'claim' | 'complete') => projectPath(project, `/tasks/${encodeURIComponent(id)}/${action}`);

export function claimTask(project: string, id: string, assignee: string): Promise<AdvisorTask> {
  return api.post<AdvisorTask>(taskAction(project, id, 'claim'), { assignee });
}

export function completeTask(project: string, id: string, outcome: string, note?: string): Promise<AdvisorTask> {
  return api.post<AdvisorTask>(taskAction(project, id, 'complete'), note ? { outcome, note } : { outcome });
}
