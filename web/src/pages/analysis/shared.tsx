// Pieces shared by the analysis pages: schema-driven pickers, the time range, "save as
// metric" and links to the people behind a number.
import { useCallback, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { Link, useLocation } from 'react-router';
import { useAuth } from '../../auth/AuthContext';
import { useProject } from '../../auth/ProjectContext';
import { useI18n, type MessageKey, type TFunction } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import { getSchema, type Schema } from '../../api/data';
import { createMetric, type Metric } from '../../api/metrics';
import type { AnalysisQuery, AnyQuery, Cell, QueryMeta, QueryType, Range } from '../../api/query';
import { DialogActions, Modal } from '../../components/Modal';
import { EmptyState, ErrorBox, Loading } from '../../components/Feedback';
import { Field } from '../../components/Field';

export function useSchema(project: string) {
  return useAsync(() => getSchema(project), [project]);
}

/** A disabled select while the schema loads (the same element then gets its options). */
function LoadingSelect({ label }: { label: string }) {
  const { t } = useI18n();
  return (
    <Field label={label}>
      <select disabled>
        <option>{t('common.loading')}</option>
      </select>
    </Field>
  );
}

/** An event picker: a select over the schema's events (plus $any), or free text without one. */
export function EventSelect({
  label,
  value,
  onChange,
  schema,
  loading,
  allowAny = true,
  emptyOption,
  hint,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  schema: Schema | undefined;
  loading?: boolean;
  allowAny?: boolean;
  /** When given, "" is a valid choice shown with this text (the control is then optional). */
  emptyOption?: string;
  hint?: ReactNode;
}) {
  const { t } = useI18n();
  if (!schema && loading) return <LoadingSelect label={label} />;
  if (!schema) {
    return (
      <Field label={label} hint={hint}>
        <input value={value} onChange={(e) => onChange(e.target.value)} required={emptyOption === undefined} spellCheck={false} />
      </Field>
    );
  }
  const names = schema.events.map((e) => e.name).filter((n) => !n.startsWith('$segment_'));
  const known = new Set(names);
  return (
    <Field label={label} hint={hint}>
      <select value={value} onChange={(e) => onChange(e.target.value)} required={emptyOption === undefined}>
        {emptyOption === undefined ? (
          <option value="" disabled>
            {t('analysis.chooseEvent')}
          </option>
        ) : (
          <option value="">{emptyOption}</option>
        )}
        {allowAny && <option value="$any">{t('analysis.anyEvent')}</option>}
        {value && value !== '$any' && !known.has(value) && <option value={value}>{value}</option>}
        {names.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </Field>
  );
}

/** A property picker: `event.<name>` / `user.<name>` (grouping), or a bare event property. */
export function PropertySelect({
  label,
  value,
  onChange,
  schema,
  scopes,
  numericOnly = false,
  emptyLabel,
  loading,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  schema: Schema | undefined;
  scopes: ('event' | 'user' | 'bare')[];
  numericOnly?: boolean;
  emptyLabel?: string;
  loading?: boolean;
}) {
  const { t } = useI18n();
  if (!schema && loading) return <LoadingSelect label={label} />;
  if (!schema) {
    return (
      <Field label={label}>
        <input value={value} onChange={(e) => onChange(e.target.value)} spellCheck={false} placeholder="event.amount" />
      </Field>
    );
  }
  const keep = (type: string) => !numericOnly || type === 'NUMBER';
  const eventProps = schema.properties.filter((p) => keep(p.type));
  const userProps = schema.user_properties.filter((p) => keep(p.type));
  return (
    <Field label={label}>
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">{emptyLabel ?? t('analysis.none')}</option>
        {scopes.includes('bare') && (
          <optgroup label={t('analysis.eventProperties')}>
            {eventProps.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </optgroup>
        )}
        {scopes.includes('event') && (
          <optgroup label={t('analysis.eventProperties')}>
            {eventProps.map((p) => (
              <option key={p.name} value={`event.${p.name}`}>
                {p.name}
              </option>
            ))}
          </optgroup>
        )}
        {scopes.includes('user') && (
          <optgroup label={t('analysis.userProperties')}>
            {userProps.map((p) => (
              <option key={p.name} value={`user.${p.name}`}>
                {p.name}
              </option>
            ))}
          </optgroup>
        )}
      </select>
    </Field>
  );
}

export type Preset = '7d' | '14d' | '30d' | '90d' | 'custom';
export interface RangeState {
  preset: Preset;
  from: string;
  to: string;
}

export function rangeToQuery(r: RangeState): Range {
  return r.preset === 'custom' ? { from: r.from, to: r.to } : { last: r.preset };
}

export function rangeFromQuery(q: Range | undefined, fallback: RangeState): RangeState {
  if (!q) return fallback;
  if (q.last && ['7d', '14d', '30d', '90d'].includes(q.last)) return { ...fallback, preset: q.last as Preset };
  if (q.from && q.to) return { preset: 'custom', from: q.from, to: q.to };
  return fallback;
}

export function RangePicker({ value, onChange }: { value: RangeState; onChange: (r: RangeState) => void }) {
  const { t } = useI18n();
  const presets: [Preset, MessageKey][] = [
    ['7d', 'range.7d'],
    ['14d', 'range.14d'],
    ['30d', 'range.30d'],
    ['90d', 'range.90d'],
    ['custom', 'range.custom'],
  ];
  return (
    <>
      <Field label={t('range.label')}>
        <select value={value.preset} onChange={(e) => onChange({ ...value, preset: e.target.value as Preset })}>
          {presets.map(([k, l]) => (
            <option key={k} value={k}>
              {t(l)}
            </option>
          ))}
        </select>
      </Field>
      {value.preset === 'custom' && (
        <>
          <Field label={t('range.from')}>
            <input type="date" value={value.from} onChange={(e) => onChange({ ...value, from: e.target.value })} required />
          </Field>
          <Field label={t('range.to')}>
            <input type="date" value={value.to} onChange={(e) => onChange({ ...value, to: e.target.value })} required />
          </Field>
        </>
      )}
    </>
  );
}

/** "Scanned N rows over D days in X ms · time zone". */
export function MetaLine({ meta }: { meta: QueryMeta }) {
  const { t, n } = useI18n();
  return (
    <p className="muted small meta-line">
      {t('analysis.meta', {
        from: meta.from,
        to: meta.to,
        tz: meta.time_zone,
        rows: n(meta.rows_scanned),
        ms: n(meta.elapsed_ms, { maximumFractionDigits: 0 }),
      })}
    </p>
  );
}

/**
 * What an analysis page shows below its form until there is a result: the API's error, the
 * loading marker while the first result is on its way, or an invitation to run the analysis.
 */
export function RunStatus({ busy, error, hasResult, startHint }: { busy: boolean; error: unknown; hasResult: boolean; startHint: string }) {
  const { t } = useI18n();
  return (
    <>
      <ErrorBox error={error} />
      {busy && !hasResult && <Loading />}
      {!hasResult && !busy && !error && <EmptyState title={t('analysis.startTitle')}>{startHint}</EmptyState>}
    </>
  );
}

/**
 * The card of an analysis result: "Result" (with `actions` beside it), the line about what the
 * query scanned, then the result. Embedded in a dashboard, the result alone (and the actions).
 */
export function ResultCard({ meta, embedded = false, actions, children }: { meta: QueryMeta; embedded?: boolean; actions?: ReactNode; children: ReactNode }) {
  const { t } = useI18n();
  if (embedded) {
    return (
      <div className="metric-result">
        {actions && (
          <div className="card-head">
            <span />
            {actions}
          </div>
        )}
        {children}
      </div>
    );
  }
  const title = <h2 className="card-title">{t('analysis.result')}</h2>;
  return (
    <div className="card result">
      {actions ? (
        <div className="card-head">
          {title}
          {actions}
        </div>
      ) : (
        title
      )}
      <MetaLine meta={meta} />
      {children}
    </div>
  );
}

/** The link to the people behind one number (docs/query.md "Users behind a number"). */
/** A group's values as one label ("bond · app"); a missing value reads as `nullLabel`. */
export function groupLabel(values: Cell[], nullLabel: string): string {
  return values.map((v) => (v === null ? nullLabel : String(v))).join(' · ');
}

export function drillPath(query: AnalysisQuery, cell: Record<string, unknown>, label: string): string {
  const q = { ...query, users: { cell } };
  return `/analysis/users?q=${encodeURIComponent(JSON.stringify(q))}&label=${encodeURIComponent(label)}`;
}

export function DrillLink({ query, cell, label, children }: { query: AnalysisQuery; cell: Record<string, unknown>; label: string; children: React.ReactNode }) {
  const { t } = useI18n();
  return (
    <Link
      to={drillPath(query, cell, label)}
      className="drill"
      title={t('analysis.drillTitle')}
      aria-label={`${children} — ${t('analysis.drillTitle')}: ${label}`}
    >
      {children}
    </Link>
  );
}

/** "Save as metric" — POST /metrics with the current query. */
export function SaveMetricButton({ query, disabled }: { query: AnyQuery | null; disabled?: boolean }) {
  const { t } = useI18n();
  const { can, account } = useAuth();
  const { project } = useProject();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [unit, setUnit] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<Metric | null>(null);
  if (!can('analysis.write')) return null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!query) return;
    setBusy(true);
    setError(null);
    try {
      const m = await createMetric(project!, {
        name: name.trim(),
        description: description.trim() || undefined,
        unit: unit.trim() || undefined,
        owner: account?.name,
        query,
      });
      setSaved(m);
      setOpen(false);
      setName('');
      setDescription('');
      setUnit('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <button
        type="button"
        className="btn"
        disabled={disabled || !query}
        onClick={() => {
          setOpen(true);
          setSaved(null);
        }}
      >
        {t('metrics.saveAs')}
      </button>
      {saved && (
        <span className="success" role="status">
          {t('metrics.saved', { name: saved.name, id: saved.id })} <Link to="/analysis/metrics">{t('metrics.viewAll')}</Link>
        </span>
      )}
      {open && (
        <Modal title={t('metrics.saveAs')} onClose={() => setOpen(false)}>
          <form onSubmit={submit} className="form-stack">
            <Field label={t('metrics.name')}>
              <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
            </Field>
            <Field label={t('metrics.description')}>
              <textarea value={description} onChange={(e) => setDescription(e.target.value)} maxLength={2000} rows={3} />
            </Field>
            <Field label={t('metrics.unit')}>
              <input value={unit} onChange={(e) => setUnit(e.target.value)} maxLength={200} placeholder={t('metrics.unitPlaceholder')} />
            </Field>
            <ErrorBox error={error} />
            <DialogActions confirm={t('common.save')} onCancel={() => setOpen(false)} busy={busy} />
          </form>
        </Modal>
      )}
    </>
  );
}

/** A duration as seconds, e.g. "1 min" / "2.5 h"; null → "—". */
export function formatDuration(seconds: number | null | undefined, t: TFunction): string {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 60) return t('duration.seconds', { n: Math.round(seconds * 10) / 10 });
  if (seconds < 3600) return t('duration.minutes', { n: Math.round(seconds / 6) / 10 });
  if (seconds < 86400) return t('duration.hours', { n: Math.round(seconds / 360) / 10 });
  return t('duration.days', { n: Math.round(seconds / 8640) / 10 });
}

export type DurationUnit = 'seconds' | 'minutes' | 'hours' | 'days';
export const UNIT_SECONDS: Record<DurationUnit, number> = { seconds: 1, minutes: 60, hours: 3600, days: 86400 };
export interface DurationState {
  value: number;
  unit: DurationUnit;
}

/** Seconds as the largest unit that divides them. */
export function splitSeconds(seconds: number): DurationState {
  if (seconds % 86400 === 0) return { value: seconds / 86400, unit: 'days' };
  if (seconds % 3600 === 0) return { value: seconds / 3600, unit: 'hours' };
  if (seconds % 60 === 0) return { value: seconds / 60, unit: 'minutes' };
  return { value: seconds, unit: 'seconds' };
}

export const toSeconds = (d: DurationState) => Math.round(d.value * UNIT_SECONDS[d.unit]);

/** A number and a unit (two labelled controls). */
export function DurationInput({
  label,
  value,
  onChange,
  hint,
  units = ['minutes', 'hours', 'days'],
}: {
  label: string;
  value: DurationState;
  onChange: (d: DurationState) => void;
  hint?: ReactNode;
  units?: DurationUnit[];
}) {
  const { t } = useI18n();
  return (
    <>
      <Field className="field field-narrow" label={label} hint={hint}>
        <input type="number" min={1} step="any" value={value.value} onChange={(e) => onChange({ ...value, value: Number(e.target.value) })} required />
      </Field>
      <Field label={t('durationUnit.label', { what: label })}>
        <select value={value.unit} onChange={(e) => onChange({ ...value, unit: e.target.value as DurationUnit })}>
          {units.map((u) => (
            <option key={u} value={u}>
              {t(`durationUnit.${u}` as MessageKey)}
            </option>
          ))}
        </select>
      </Field>
    </>
  );
}

/** "1, 2, 5, 10" → ascending numbers starting at `first`; null when it does not read. */
export function parseNumberList(text: string, first: number): number[] | null {
  const parts = text
    .split(/[,，\s]+/)
    .map((x) => x.trim())
    .filter(Boolean);
  if (!parts.length) return null;
  const out: number[] = [];
  for (const p of parts) {
    const v = Number(p);
    if (!Number.isFinite(v) || !Number.isInteger(v) || v < 0) return null;
    if (out.length && v <= out[out.length - 1]) return null;
    out.push(v);
  }
  return out[0] === first ? out : null;
}

const DURATION_TOKEN: Record<string, number> = { '': 1, s: 1, m: 60, min: 60, h: 3600, d: 86400, w: 604800 };

/** "0, 1m, 1h, 1d" → ascending seconds starting at 0; null when it does not read. */
export function parseDurationList(text: string): number[] | null {
  const parts = text
    .split(/[,，\s]+/)
    .map((x) => x.trim().toLowerCase())
    .filter(Boolean);
  if (!parts.length) return null;
  const out: number[] = [];
  for (const p of parts) {
    const m = /^(\d+(?:\.\d+)?)(s|m|min|h|d|w)?$/.exec(p);
    if (!m) return null;
    const v = Math.round(Number(m[1]) * DURATION_TOKEN[m[2] ?? '']);
    if (out.length && v <= out[out.length - 1]) return null;
    out.push(v);
  }
  return out[0] === 0 ? out : null;
}

/** Seconds → the shortest token parseDurationList reads back ("90" → "90s", 3600 → "1h"). */
export function durationToken(seconds: number): string {
  if (seconds === 0) return '0';
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** The query a page was opened with (a saved metric, "back to the analysis"), if of `type`. */
export function useOpenedQuery<Q extends AnyQuery>(type: QueryType): Q | undefined {
  const location = useLocation();
  const [q] = useState(() => {
    const s = (location.state as { query?: AnyQuery } | null)?.query;
    return s && s.type === type ? (s as Q) : undefined;
  });
  return q;
}

/** Runs one query at a time: busy, the API's error, the last result with the query it answers. */
export function useRunner<Q, A>(fn: (q: Q, signal: AbortSignal) => Promise<A>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<{ query: Q; answer: A } | null>(null);
  const ctrl = useRef<AbortController | null>(null);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const run = useCallback(async (query: Q) => {
    ctrl.current?.abort();
    const c = new AbortController();
    ctrl.current = c;
    setBusy(true);
    setError(null);
    try {
      const answer = await fnRef.current(query, c.signal);
      if (!c.signal.aborted) setResult({ query, answer });
    } catch (err) {
      if (c.signal.aborted) return;
      setError(err);
      setResult(null);
    } finally {
      if (!c.signal.aborted) setBusy(false);
    }
  }, []);
  return { busy, error, result, run };
}

/** A form's own check failed: shown next to the buttons. */
export function FormError({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p className="form-error" role="alert">
      {message}
    </p>
  );
}

/** The "what does this analysis answer" paragraph at the top of a form. */
export function FormLead({ children }: { children: ReactNode }) {
  return <p className="muted small form-lead">{children}</p>;
}

/** The checks every form does on the time range; an error message or null. */
export function rangeProblem(r: RangeState, t: TFunction): string | null {
  return r.preset === 'custom' && (!isDateText(r.from) || !isDateText(r.to) || r.from > r.to) ? t('range.invalid') : null;
}

const isDateText = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s);
