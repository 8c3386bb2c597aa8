// Tags (标签) and segments (客群) — docs/segments.md. `segments.ts` keeps the small part the
// analysis drill-down uses; this module is the rest: rule segments with their estimate,
// members, history, insight (TGI), lookalike and list upload; the tag catalogue.
import { api, projectPath, qs, request } from './client';

/** A rule (docs/segments.md "Rules"): a tree of all / any / not over conditions. Kept loose. */
export type Rule = Record<string, unknown>;

/** `"manual"`, `{"every_minutes": N}` or `{"daily_at": "HH:MM"}`. */
export type Schedule = 'manual' | { every_minutes: number } | { daily_at: string };

export interface SegmentFull {
  id: string;
  name: string;
  description?: string;
  kind: 'rule' | 'static';
  rule?: Rule;
  refresh?: Schedule;
  realtime?: boolean;
  source?: string;
  size?: number;
  created_ms?: number;
  updated_ms?: number;
  last_refresh_ms?: number;
  last_refresh_elapsed_ms?: number;
  next_refresh_ms?: number;
}

export interface SegmentInput {
  name: string;
  description?: string;
  rule: Rule;
  refresh?: Schedule;
  realtime?: boolean;
}

const seg = (project: string, id = '', rest = '') => projectPath(project, `/segments${id ? `/${encodeURIComponent(id)}` : ''}${rest}`);

export async function listSegmentsFull(project: string, signal?: AbortSignal): Promise<SegmentFull[]> {
  const r = await api.get<{ segments: SegmentFull[] }>(seg(project), { signal });
  return r.segments || [];
}

export function getSegment(project: string, id: string, signal?: AbortSignal): Promise<SegmentFull> {
  return api.get<SegmentFull>(seg(project, id), { signal });
}

export function createRuleSegment(project: string, body: SegmentInput): Promise<SegmentFull> {
  return api.post<SegmentFull>(seg(project), body);
}

export function updateSegment(project: string, id: string, body: SegmentInput): Promise<SegmentFull> {
  return api.put<SegmentFull>(seg(project, id), body);
}

export function deleteSegment(project: string, id: string): Promise<unknown> {
  return api.del(seg(project, id));
}

export interface RefreshAnswer {
  id: string;
  size: number;
  entered: number;
  exited: number;
  elapsed_ms: number;
}

export function refreshSegment(project: string, id: string): Promise<RefreshAnswer> {
  return api.post<RefreshAnswer>(seg(project, id, '/refresh'), {});
}

export interface EstimateAnswer {
  size: number;
  users: number;
  elapsed_ms: number;
}

export function estimateRule(project: string, rule: Rule, signal?: AbortSignal): Promise<EstimateAnswer> {
  return api.post<EstimateAnswer>(seg(project, 'estimate'), { rule }, { signal });
}

export interface UploadAnswer {
  segment: SegmentFull;
  upload: { matched: number; unmatched: number; unmatched_examples?: string[] };
}

/** A static segment from a list of distinct ids (CSV, first column; a header row is skipped). */
export function uploadSegment(project: string, name: string, description: string, csv: string): Promise<UploadAnswer> {
  return request<UploadAnswer>(seg(project) + qs({ name, description }), { method: 'POST', body: csv, contentType: 'text/csv' });
}

export interface Member {
  user_id: number;
  distinct_id: string;
  profile?: Record<string, unknown>;
}

export interface MembersPage {
  total: number;
  offset: number;
  users: Member[];
}

export function segmentMembers(project: string, id: string, offset: number, limit: number, columns: string[], signal?: AbortSignal): Promise<MembersPage> {
  return api.get<MembersPage>(seg(project, id, `/users${qs({ offset, limit, columns: columns.join(',') })}`), { signal });
}

/** The members as CSV (`distinct_id,<columns>`), fetched with the session's token. */
export function segmentMembersCsv(project: string, id: string, columns: string[]): Promise<string> {
  return request<string>(seg(project, id, `/users${qs({ format: 'csv', columns: columns.join(',') })}`), { headers: { Accept: 'text/csv' } });
}

export interface SegmentHistoryEntry {
  time_ms: number;
  size: number;
  entered: number;
  exited: number;
  trigger: 'create' | 'update' | 'refresh' | 'schedule' | string;
  elapsed_ms?: number;
}

export async function segmentHistory(project: string, id: string, signal?: AbortSignal): Promise<SegmentHistoryEntry[]> {
  const r = await api.get<{ history: SegmentHistoryEntry[] }>(seg(project, id, '/history'), { signal });
  return r.history || [];
}

export type InsightDimension = { tag: string } | { profile: string; buckets?: number };

export interface InsightRow {
  value: string | number | boolean | null;
  segment_count: number;
  base_count: number;
  segment_share: number;
  base_share: number;
  tgi: number | null;
}

export interface InsightAnswer {
  segment: string;
  segment_size: number;
  against: string;
  against_name?: string;
  base_size: number;
  dimensions: ({ tag?: string; profile?: string; rows: InsightRow[] })[];
  elapsed_ms?: number;
}

export function segmentInsight(project: string, id: string, dimensions: InsightDimension[], against: string): Promise<InsightAnswer> {
  return api.post<InsightAnswer>(seg(project, id, '/insight'), { dimensions, against });
}

export interface LookalikeRequest {
  name: string;
  top?: number;
  min_score?: number;
  features?: { tags?: string[]; profiles?: string[]; events?: string[] };
}

export interface LookalikeAnswer {
  segment: SegmentFull;
  lookalike: {
    model: {
      auc: number;
      lift_at_top_10_percent?: number;
      lift_at_n?: number;
      train_positives?: number;
      train_negatives?: number;
      holdout_positives?: number;
      holdout_negatives?: number;
      features?: number;
      epochs?: number;
      top_features?: { name: string; weight: number }[];
    };
    seed?: number;
    expanded?: number;
    lowest_score?: number;
    elapsed_ms?: number;
  };
}

export function segmentLookalike(project: string, id: string, body: LookalikeRequest): Promise<LookalikeAnswer> {
  return api.post<LookalikeAnswer>(seg(project, id, '/lookalike'), body);
}

// ---- tags ----

export type TagKind = 'rule' | 'statistic' | 'first_last' | 'preference' | 'imported' | 'lookalike';
export type TagStatus = 'draft' | 'approved' | 'offline';

/** A tag definition as POST / PUT take it; the fields after `kind` depend on it. */
export interface TagInput {
  name: string;
  display_name?: string;
  category?: string;
  description?: string;
  owner?: string;
  status?: TagStatus;
  kind: TagKind;
  schedule?: Schedule;
  values?: { value: string | number; rule: Rule }[];
  default?: string | number;
  event?: string;
  where?: unknown;
  aggregate?: 'count' | 'sum' | 'avg' | 'min' | 'max' | 'distinct';
  property?: string;
  which?: 'first' | 'last';
  within?: Record<string, string>;
  value_type?: 'STRING' | 'NUMBER';
  seed?: string;
  model?: Record<string, unknown>;
}

export interface Tag {
  id: string;
  name: string;
  display_name?: string;
  category?: string;
  description?: string;
  owner?: string;
  status?: TagStatus | string;
  kind: TagKind | string;
  value_type?: string;
  schedule?: Schedule;
  realtime?: boolean;
  definition?: TagInput;
  created_ms?: number;
  updated_ms?: number;
  last_run_ms?: number;
  last_run_elapsed_ms?: number;
  coverage?: number;
  next_run_ms?: number;
}

export interface TagCategory {
  name: string;
  path: string;
  tags: number;
  children: TagCategory[];
}

const tagPath = (project: string, id = '', rest = '') => projectPath(project, `/tags${id ? `/${encodeURIComponent(id)}` : ''}${rest}`);

export async function listTags(project: string, signal?: AbortSignal): Promise<Tag[]> {
  const r = await api.get<{ tags: Tag[] }>(tagPath(project), { signal });
  return r.tags || [];
}

export async function tagCategories(project: string, signal?: AbortSignal): Promise<{ tags: number; categories: TagCategory[] }> {
  const r = await api.get<{ tags: number; categories: TagCategory[] }>(tagPath(project, 'categories'), { signal });
  return { tags: r.tags ?? 0, categories: r.categories || [] };
}

export function getTag(project: string, id: string, signal?: AbortSignal): Promise<Tag> {
  return api.get<Tag>(tagPath(project, id), { signal });
}

export function createTag(project: string, body: TagInput): Promise<Tag> {
  return api.post<Tag>(tagPath(project), body);
}

export function updateTag(project: string, id: string, body: TagInput): Promise<Tag> {
  return api.put<Tag>(tagPath(project, id), body);
}

export function deleteTag(project: string, id: string): Promise<unknown> {
  return api.del(tagPath(project, id));
}

export interface TagRunAnswer {
  id: string;
  coverage: number;
  elapsed_ms: number;
  date: string;
}

export function runTag(project: string, id: string): Promise<TagRunAnswer> {
  return api.post<TagRunAnswer>(tagPath(project, id, '/run'), {});
}

export interface TagSnapshot {
  date: string;
  time_ms: number;
  coverage: number;
  distribution: { value: string | number | null; users: number }[];
  elapsed_ms?: number;
}

export async function tagHistory(project: string, id: string, signal?: AbortSignal): Promise<TagSnapshot[]> {
  const r = await api.get<{ snapshots: TagSnapshot[] }>(tagPath(project, id, '/history'), { signal });
  return r.snapshots || [];
}

export interface TagImportAnswer {
  id: string;
  imported: number;
  unmatched: number;
  unmatched_examples?: string[];
  coverage: number;
}

/** Loads an imported tag's values: CSV `distinct_id,value` rows; merge keeps people the file does not name. */
export function importTagValues(project: string, id: string, csv: string, merge: boolean): Promise<TagImportAnswer> {
  return request<TagImportAnswer>(tagPath(project, id, `/values${qs({ mode: merge ? 'merge' : undefined })}`), {
    method: 'POST',
    body: csv,
    contentType: 'text/csv',
  });
}
