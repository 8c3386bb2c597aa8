// Journeys (策略画布) — docs/journeys.md, docs/openapi.yaml. Also the channels and templates a
// journey's send nodes refer to (read and preview only), and dry runs and backtests.
import { api, projectPath, qs } from './client';

export type JourneyStatus = 'draft' | 'submitted' | 'approved' | 'running' | 'paused' | 'ended';

/** A journey definition (docs/journey.schema.json). Kept loose: the editor keeps every field it does not know. */
export type JsonObject = Record<string, any>;
export type JourneyDefinition = JsonObject;

export interface Journey {
  id: string;
  name: string;
  status: JourneyStatus;
  current_version?: number;
  live_version?: number;
  approved_version?: number;
  created_by?: string;
  submitted_by?: string;
  approved_by?: string;
  comment?: string;
  customers_inside?: number;
  /** The current version's priority. */
  priority?: number;
  /** The report's headline counters (absent for a branch-scoped account: they span every branch). */
  entered?: number;
  exited?: number;
  goal_reached?: number;
  created_ms?: number;
  updated_ms?: number;
  /** The current version's definition (GET one, POST, PUT; not the list or lifecycle actions). */
  definition?: JourneyDefinition;
}

export interface EffectArm {
  name: string;
  entered: number;
  converted: number;
  rate: number;
}

export interface EffectComparison {
  arm: string;
  baseline: string;
  rate: number;
  baseline_rate: number;
  uplift_absolute: number;
  uplift_relative: number | null;
  ci95: [number, number];
  z: number;
  p_value: number;
  significant: boolean;
}

export interface SampleRatio {
  chi_square: number;
  degrees_of_freedom: number;
  p_value: number;
  mismatch: boolean;
}

export interface JourneyReport {
  journey: string;
  name: string;
  status: string;
  entered: number;
  inside: number;
  exited: number;
  goal_reached: number;
  nodes?: Record<string, Record<string, number>>;
  control_group?: {
    percent: number;
    arms: EffectArm[];
    comparison?: EffectComparison;
    sample_ratio?: SampleRatio;
  };
  experiments?: {
    node: string;
    arms: EffectArm[];
    comparisons: EffectComparison[];
    sample_ratio?: SampleRatio;
  }[];
  method?: string;
}

export interface JourneyCustomer {
  distinct_id: string;
  state: 'none' | 'active' | 'exited' | 'pending';
  version?: number;
  node?: string;
  entries?: number;
  entered_ms?: number;
  exited_ms?: number;
  exit_reason?: string;
  control?: boolean;
  variant?: string;
  goal_ms?: number;
}

export interface LedgerEntry {
  seq: number;
  kind: 'touch' | 'webhook' | 'task' | 'lifecycle';
  decision?: 'sent' | 'suppressed';
  reason?: string;
  detail?: string;
  time?: number;
  journey?: string;
  version?: number;
  node?: string;
  distinct_id?: string;
  channel?: string;
  template?: string;
  subject?: string;
  content?: string;
  arm?: string;
  action?: string;
  operator?: string;
}

export async function listJourneys(project: string, signal?: AbortSignal): Promise<Journey[]> {
  const r = await api.get<{ journeys: Journey[] }>(projectPath(project, '/journeys'), { signal });
  return r.journeys || [];
}

export function getJourneyReport(project: string, id: string, signal?: AbortSignal): Promise<JourneyReport> {
  return api.get<JourneyReport>(projectPath(project, `/journeys/${encodeURIComponent(id)}/report`), { signal });
}

export function getJourneyCustomer(project: string, id: string, distinctId: string): Promise<JourneyCustomer> {
  return api.get<JourneyCustomer>(projectPath(project, `/journeys/${encodeURIComponent(id)}/customers/${encodeURIComponent(distinctId)}`));
}

export async function getLedger(project: string, params: { distinct_id?: string; journey?: string; limit?: number }): Promise<LedgerEntry[]> {
  const r = await api.get<{ entries: LedgerEntry[] }>(projectPath(project, `/ledger${qs(params)}`));
  return r.entries || [];
}

const jpath = (project: string, id: string, rest = '') => projectPath(project, `/journeys/${encodeURIComponent(id)}${rest}`);

export function getJourney(project: string, id: string, signal?: AbortSignal): Promise<Journey> {
  return api.get<Journey>(jpath(project, id), { signal });
}

export function createJourney(project: string, definition: JourneyDefinition): Promise<Journey> {
  return api.post<Journey>(projectPath(project, '/journeys'), definition);
}

export function updateJourney(project: string, id: string, definition: JourneyDefinition): Promise<Journey> {
  return api.put<Journey>(jpath(project, id), definition);
}

export function deleteJourney(project: string, id: string): Promise<unknown> {
  return api.del(jpath(project, id));
}

export type JourneyAction = 'submit' | 'approve' | 'reject' | 'start' | 'publish' | 'pause' | 'resume' | 'stop';

/** What happens to the customers inside when a new version is published (docs/journeys.md). */
export type MigrationPolicy = 'stay' | 'move';

/** A lifecycle action, done as the signed-in account (maker-checker: docs/journeys.md). */
export function journeyAction(project: string, id: string, action: JourneyAction, comment?: string, migration?: MigrationPolicy): Promise<Journey> {
  return api.post<Journey>(jpath(project, id, `/${action}`), { ...(comment ? { comment } : {}), ...(migration ? { migration } : {}) });
}

export interface JourneyVersion {
  version: number;
  live: boolean;
  approved: boolean;
  definition: JourneyDefinition;
}

export async function listJourneyVersions(project: string, id: string, signal?: AbortSignal): Promise<JourneyVersion[]> {
  const r = await api.get<{ versions: JourneyVersion[] }>(jpath(project, id, '/versions'), { signal });
  return r.versions || [];
}

export interface DryRunEvent {
  event: string;
  properties?: JsonObject;
  offset?: string;
}

export interface DryRunRequest {
  journey_id?: string;
  version?: number;
  definition?: JourneyDefinition;
  distinct_id?: string;
  profile?: JsonObject;
  events?: DryRunEvent[];
  until?: string;
}

export interface TraceStep {
  time: number;
  local_time: string;
  step: 'event' | 'enter' | 'node' | 'sent' | 'suppressed' | 'deferred' | 'task' | 'goal' | 'exit' | string;
  detail: string;
}

export interface OutboxMessage {
  touch_id: string;
  channel: string;
  recipient?: string;
  subject?: string;
  body?: string;
  node?: string;
  distinct_id?: string;
  time?: number;
  payload?: JsonObject;
}

export interface Task {
  id: string;
  journey?: string;
  node?: string;
  distinct_id?: string;
  title?: string;
  assignee?: string;
  pool?: string;
  status?: string;
  due_ms?: number;
}

export interface DryRunAnswer {
  journey: string;
  distinct_id: string;
  start: number;
  path: string[];
  trace: TraceStep[];
  decisions: (LedgerEntry & { channel_choice?: string; purpose?: string; values?: string[]; touch_id?: string; assignee?: string })[];
  messages: OutboxMessage[];
  in_app: OutboxMessage[];
  tasks: Task[];
  events: { time: number; event: string; properties?: JsonObject }[];
  state: JourneyCustomer & { due_ms?: number };
}

export function dryRunJourney(project: string, body: DryRunRequest): Promise<DryRunAnswer> {
  return api.post<DryRunAnswer>(projectPath(project, '/journeys/dry-run'), body);
}

export interface BacktestAnswer {
  journey: string;
  version: number;
  from: number;
  to: number;
  events_replayed: number;
  elapsed_ms: number;
  predicted: JourneyReport;
}

export function backtestJourney(project: string, id: string, body: { from: string; to: string; version?: number }): Promise<BacktestAnswer> {
  return api.post<BacktestAnswer>(jpath(project, id, '/backtest'), body);
}

/** A channel's configuration without its secret (docs/channels.md). */
export interface ChannelConfig {
  type: string;
  recipient_property?: string;
  [key: string]: unknown;
}

export async function listChannels(project: string, signal?: AbortSignal): Promise<Record<string, ChannelConfig>> {
  const r = await api.get<{ channels: Record<string, ChannelConfig> }>(projectPath(project, '/channels'), { signal });
  return r.channels || {};
}

export interface Template {
  name: string;
  channel: string;
  subject?: string;
  body: string;
  recommends_item?: boolean;
  status: 'draft' | 'approved' | string;
  created_by?: string;
  approved_by?: string;
  /** The approved content, when a later edit is waiting for approval. */
  approved?: { subject?: string; body?: string };
}

export async function listTemplates(project: string, signal?: AbortSignal): Promise<Template[]> {
  const r = await api.get<{ templates: Template[] }>(projectPath(project, '/templates'), { signal });
  return r.templates || [];
}

export interface TemplatePreview {
  channel: string;
  subject: string;
  body: string;
  variables: string[];
}

export function previewTemplate(
  project: string,
  name: string,
  body: { distinct_id: string; channel?: string; event?: JsonObject; item?: { type: string; id: string } },
): Promise<TemplatePreview> {
  return api.post<TemplatePreview>(projectPath(project, `/templates/${encodeURIComponent(name)}/preview`), body);
}
