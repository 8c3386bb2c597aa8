// Pieces shared by the segments and tags pages: what the rule builder needs to know (schema,
// tags, segments), the live estimate, the refresh / schedule editor, small helpers.
import { useEffect, useMemo, useRef, useState } from 'react';
import { useAuth } from '../../auth/AuthContext';
import { useI18n, type MessageKey } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import { getSchema } from '../../api/data';
import { estimateRule, listSegmentsFull, listTags, type EstimateAnswer, type Rule, type Schedule } from '../../api/audience';
import { ApiError } from '../../api/client';
import { Field } from '../../components/Field';
import { ErrorBox } from '../../components/Feedback';
import { BuildError, toRule, type GroupNode } from './ruleModel';
import { typesOf, type BuilderContext } from './RuleBuilder';

/** Schema (with data.read), tags and segments for the builder's pickers. */
export function useBuilderContext(project: string, selfId?: string) {
  const { can } = useAuth();
  const schema = useAsync(() => getSchema(project), [project], can('data.read'));
  const tags = useAsync((s) => listTags(project, s), [project]);
  const segments = useAsync((s) => listSegmentsFull(project, s), [project]);
  const ctx = useMemo<BuilderContext>(
    () => ({ schema: schema.data, tags: tags.data || [], segments: segments.data || [], selfId }),
    [schema.data, tags.data, segments.data, selfId],
  );
  return { ctx, loading: schema.loading || tags.loading || segments.loading, error: schema.error || tags.error || segments.error };
}

/** The rule JSON of the builder, or why it cannot be built yet. */
export function useBuiltRule(root: GroupNode | null, ctx: BuilderContext): { rule: Rule | null; problem: BuildError | null } {
  return useMemo(() => {
    if (!root) return { rule: null, problem: null };
    try {
      return { rule: toRule(root, typesOf(ctx)), problem: null };
    } catch (e) {
      if (e instanceof BuildError) return { rule: null, problem: e };
      throw e;
    }
  }, [root, ctx]);
}

/** "Condition 2.1: enter a value" for a rule that cannot be built yet. */
export function problemText(t: (k: MessageKey, v?: Record<string, string | number>) => string, p: BuildError): string {
  return t('segments.rb.problem', { n: p.path === '0' || p.path === '' ? t('segments.rb.root') : p.path, reason: t(p.reason as MessageKey) });
}

/** POST /segments/estimate, debounced: the size of the rule as it is edited. */
export function useEstimate(project: string, rule: Rule | null, delayMs = 400) {
  const [state, setState] = useState<{ answer: EstimateAnswer | null; error: unknown; busy: boolean }>({ answer: null, error: null, busy: false });
  const key = rule ? JSON.stringify(rule) : '';
  const ctrl = useRef<AbortController | null>(null);
  useEffect(() => {
    ctrl.current?.abort();
    if (!key) {
      setState((s) => ({ ...s, busy: false, error: null }));
      return;
    }
    setState((s) => ({ ...s, busy: true }));
    const c = new AbortController();
    ctrl.current = c;
    const timer = setTimeout(() => {
      estimateRule(project, JSON.parse(key) as Rule, c.signal)
        .then((answer) => !c.signal.aborted && setState({ answer, error: null, busy: false }))
        .catch((error) => !c.signal.aborted && setState({ answer: null, error, busy: false }));
    }, delayMs);
    return () => {
      clearTimeout(timer);
      c.abort();
    };
  }, [project, key, delayMs]);
  return state;
}

/** The estimate panel: the size, the share of all users, errors naming the rule's field. */
export function EstimatePanel({ project, rule, problem }: { project: string; rule: Rule | null; problem: BuildError | null }) {
  const { t, n, pct } = useI18n();
  const est = useEstimate(project, rule);
  const a = est.answer;
  return (
    <div className="card estimate-panel">
      <h2 className="card-title">{t('segments.estimate')}</h2>
      <div role="status" aria-live="polite" aria-label={t('segments.estimate')} aria-busy={est.busy}>
        {problem ? (
          <p className="muted">{problemText(t, problem)}</p>
        ) : est.error ? null : a ? (
          <>
            <div className="estimate-number" data-size={a.size}>
              {t('segments.people', { n: n(a.size) })}
            </div>
            <div className="estimate-bar" aria-hidden="true">
              <span style={{ width: `${a.users ? Math.min(100, (100 * a.size) / a.users) : 0}%` }} />
            </div>
            <p className="muted small">{t('segments.estimateOf', { total: n(a.users), share: pct(a.users ? a.size / a.users : 0) })}</p>
            <p className="muted small">{est.busy ? t('segments.estimating') : t('segments.estimateTook', { ms: n(a.elapsed_ms, { maximumFractionDigits: 1 }) })}</p>
          </>
        ) : (
          <p className="muted">{est.busy ? t('segments.estimating') : t('segments.estimateEmpty')}</p>
        )}
      </div>
      {!problem && est.error ? <ErrorBox error={est.error} title={t('segments.estimateError')} /> : null}
      {!problem && est.error instanceof ApiError && est.error.field ? <p className="muted small">{t('segments.fieldHint')}</p> : null}
    </div>
  );
}

export interface ScheduleState {
  mode: 'default' | 'manual' | 'every' | 'daily';
  minutes: string;
  at: string;
}

export function scheduleFrom(s: Schedule | undefined, allowDefault: boolean): ScheduleState {
  if (s === undefined) return { mode: allowDefault ? 'default' : 'manual', minutes: '60', at: '02:00' };
  if (s === 'manual') return { mode: 'manual', minutes: '60', at: '02:00' };
  if ('every_minutes' in s) return { mode: 'every', minutes: String(s.every_minutes), at: '02:00' };
  return { mode: 'daily', minutes: '60', at: s.daily_at };
}

export function scheduleTo(s: ScheduleState): Schedule | undefined {
  if (s.mode === 'default') return undefined;
  if (s.mode === 'manual') return 'manual';
  if (s.mode === 'every') return { every_minutes: Math.max(1, Number(s.minutes) || 1) };
  return { daily_at: s.at || '00:00' };
}

export function scheduleText(t: (k: MessageKey, v?: Record<string, string | number>) => string, s: Schedule | undefined): string {
  if (s === undefined || s === 'manual') return t('segments.schedule.manual');
  if (typeof s === 'object' && 'every_minutes' in s) return t('segments.schedule.everyText', { n: s.every_minutes });
  if (typeof s === 'object' && 'daily_at' in s) return t('segments.schedule.dailyText', { at: s.daily_at });
  return JSON.stringify(s);
}

export function ScheduleEditor({ label, value, onChange, allowDefault }: { label: string; value: ScheduleState; onChange: (s: ScheduleState) => void; allowDefault: boolean }) {
  const { t } = useI18n();
  return (
    <div className="form-row">
      <Field label={label}>
        <select value={value.mode} onChange={(e) => onChange({ ...value, mode: e.target.value as ScheduleState['mode'] })}>
          {allowDefault && <option value="default">{t('segments.schedule.default')}</option>}
          <option value="manual">{t('segments.schedule.manual')}</option>
          <option value="every">{t('segments.schedule.every')}</option>
          <option value="daily">{t('segments.schedule.daily')}</option>
        </select>
      </Field>
      {value.mode === 'every' && (
        <Field label={t('segments.schedule.minutes')} className="field field-narrow">
          <input type="number" min={1} value={value.minutes} onChange={(e) => onChange({ ...value, minutes: e.target.value })} />
        </Field>
      )}
      {value.mode === 'daily' && (
        <Field label={t('segments.schedule.at')} className="field field-narrow">
          <input type="time" value={value.at} onChange={(e) => onChange({ ...value, at: e.target.value })} />
        </Field>
      )}
    </div>
  );
}

/** Saves text as a file (CSV exports fetched with the bearer token). */
export function downloadText(text: string, filename: string, type = 'text/csv;charset=utf-8') {
  const blob = new Blob([text], { type });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/** Reads a chosen file as text. */
export function readFile(file: File): Promise<string> {
  return file.text();
}
