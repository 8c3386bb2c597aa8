// Touch rules (触达频控), delivery channels, the template library and consent —
// docs/touch-rules.md, docs/channels.md. (`journeys.ts` reads channels and templates for the
// journey editor; this module also writes them.)
import { api, projectPath } from './client';

export interface CapRule {
  channel: string;
  count: number;
  per: string;
}

export interface QuietHours {
  channel: string;
  from: string;
  to: string;
  action: 'defer' | 'drop';
}

export interface Suitability {
  item_property?: string;
  customer_property?: string;
  assessed_at_property?: string;
  max_assessment_age?: string;
  item_levels?: string[];
  customer_levels?: string[];
}

/** The project's touch rules; `{}` when none were stored (the defaults apply). Unknown fields are kept. */
export interface TouchRules {
  caps?: CapRule[];
  quiet_hours?: QuietHours[];
  priority_window?: string;
  suitability?: Suitability;
  forbidden_phrases?: string[];
  risk_disclosures?: string[];
  blacklist?: Record<string, string[]>;
  consent_required?: boolean;
  [key: string]: unknown;
}

export function getTouchRules(project: string, signal?: AbortSignal): Promise<TouchRules> {
  return api.get<TouchRules>(projectPath(project, '/touch-rules'), { signal });
}

export function putTouchRules(project: string, rules: TouchRules): Promise<TouchRules> {
  return api.put<TouchRules>(projectPath(project, '/touch-rules'), rules);
}

export type ChannelType = 'webhook' | 'http_push' | 'tencent_sms' | 'wechat_template' | 'smtp' | 'inapp';

/** A channel's configuration; GET leaves the secret out. */
export interface Channel {
  type: ChannelType | string;
  url?: string;
  secret?: string;
  key_id?: string;
  sender?: string;
  sign_name?: string;
  region?: string;
  timeout_ms?: number;
  connections?: number;
  recipient_property?: string;
  [key: string]: unknown;
}

export async function getChannels(project: string, signal?: AbortSignal): Promise<Record<string, Channel>> {
  const r = await api.get<{ channels: Record<string, Channel> }>(projectPath(project, '/channels'), { signal });
  return r.channels || {};
}

export function putChannel(project: string, name: string, config: Channel): Promise<{ channel: string }> {
  return api.put<{ channel: string }>(projectPath(project, `/channels/${encodeURIComponent(name)}`), config);
}

/** The outcome of a test send (docs/channels.md "Test send"); a failed delivery is an answer too. */
export interface TestSendResult {
  delivered: boolean;
  /** The provider's HTTP (or SMTP) status; 0 when nothing answered. */
  status: number;
  retryable: boolean;
  provider_id: string;
  error: string;
  elapsed_ms: number;
}

/**
 * Sends one message now through the channel (rules.write). Not a touch: no ledger entry, caps or
 * consent. For tencent_sms and wechat_template the subject is the provider's template id.
 */
export function testChannel(project: string, name: string, body: { recipient: string; subject?: string; body?: string }): Promise<TestSendResult> {
  return api.post<TestSendResult>(projectPath(project, `/channels/${encodeURIComponent(name)}/test`), body);
}

export interface TemplateVariant {
  name: string;
  channel: string;
  subject?: string;
  body: string;
  recommends_item?: boolean;
  status: 'draft' | 'approved' | string;
  created_by?: string;
  approved_by?: string;
}

export async function getTemplates(project: string, signal?: AbortSignal): Promise<TemplateVariant[]> {
  const r = await api.get<{ templates: TemplateVariant[] }>(projectPath(project, '/templates'), { signal });
  return r.templates || [];
}

export function putTemplate(
  project: string,
  name: string,
  body: { channel: string; subject?: string; body: string; recommends_item?: boolean },
  operator?: string,
): Promise<TemplateVariant> {
  return api.put<TemplateVariant>(projectPath(project, `/templates/${encodeURIComponent(name)}`), body, {
    headers: operator ? { 'X-Sextant-Operator': operator } : undefined,
  });
}

/**
 * Approves every channel variant of a template, as the signed-in account (maker-checker). With
 * the admin token the approver is the operator named by `X-Sextant-Operator` (docs/journeys.md).
 */
export async function approveTemplate(project: string, name: string, operator?: string): Promise<TemplateVariant[]> {
  const r = await api.post<{ templates: TemplateVariant[] }>(projectPath(project, `/templates/${encodeURIComponent(name)}/approve`), {}, {
    headers: operator ? { 'X-Sextant-Operator': operator } : undefined,
  });
  return r.templates || [];
}

export interface RenderedTemplate {
  channel: string;
  subject: string;
  body: string;
  variables: string[];
}

export function renderTemplate(
  project: string,
  name: string,
  body: { distinct_id: string; channel?: string; item?: { type: string; id: string } },
): Promise<RenderedTemplate> {
  return api.post<RenderedTemplate>(projectPath(project, `/templates/${encodeURIComponent(name)}/preview`), body);
}

export interface ConsentAnswer {
  distinct_id: string;
  /** Every stored choice of the customer, `"<purpose>:<channel>": granted`. */
  consent: Record<string, boolean>;
}

export function putConsent(project: string, distinctId: string, body: { purpose: string; channel: string; granted: boolean }): Promise<ConsentAnswer> {
  return api.put<ConsentAnswer>(projectPath(project, `/users/${encodeURIComponent(distinctId)}/consent`), body);
}
