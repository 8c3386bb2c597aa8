// Small form controls of the journey editor: durations, times, event names, node pickers,
// condition lists (`where`), split conditions and raw JSON for what the forms do not cover.
import { createContext, useContext, useEffect, useId, useState, type ReactNode } from 'react';
import type { ChannelConfig, JsonObject, Template } from '../../api/journeys';
import type { Segment } from '../../api/segments';
import { Field } from '../../components/Field';
import { msg, useI18n, type Msg } from '../../i18n';
import { splitDuration, typedValue, valueText, type DurationUnit } from './model';

/** What the forms pick from: the project's channels, templates, segments and schema. */
export interface EditorRefs {
  project: string;
  channels: Record<string, ChannelConfig>;
  templates: Template[];
  segments: Segment[];
  events: string[];
  eventProperties: string[];
  userProperties: string[];
  nodeIds: string[];
  editable: boolean;
  timeZone: string | undefined;
}

export const RefsContext = createContext<EditorRefs | null>(null);

export function useRefs(): EditorRefs {
  const v = useContext(RefsContext);
  if (!v) throw new Error('useRefs outside RefsContext');
  return v;
}

const UNITS: DurationUnit[] = ['m', 'h', 'd', 's'];

/** A duration "30m" as a number and a unit. */
export function DurationInput({
  label,
  value,
  onChange,
  optional,
  hint,
}: {
  label: ReactNode;
  value: unknown;
  onChange: (v: string | undefined) => void;
  optional?: boolean;
  hint?: ReactNode;
}) {
  const { tx, t } = useI18n();
  const { editable } = useRefs();
  const id = useId();
  const parsed = splitDuration(value);
  const [n, setN] = useState(parsed.n);
  const [unit, setUnit] = useState<DurationUnit>(parsed.unit);
  useEffect(() => {
    const p = splitDuration(value);
    setN(p.n);
    setUnit(p.unit);
  }, [value]);
  const emit = (nn: string, uu: DurationUnit) => {
    const num = nn.trim();
    if (!num) onChange(optional ? undefined : '');
    else onChange(`${num}${uu}`);
  };
  return (
    <div className="field jn-duration">
      <label htmlFor={`${id}-n`}>{label}</label>
      <div className="jn-inline">
        <input
          id={`${id}-n`}
          type="number"
          min={1}
          step={1}
          inputMode="numeric"
          value={n}
          disabled={!editable}
          placeholder={optional ? t('journeys.form.optional') : ''}
          aria-describedby={hint ? `${id}-hint` : undefined}
          onChange={(e) => {
            setN(e.target.value);
            emit(e.target.value, unit);
          }}
        />
        <select
          aria-label={t('journeys.form.unit')}
          value={unit}
          disabled={!editable}
          onChange={(e) => {
            const u = e.target.value as DurationUnit;
            setUnit(u);
            emit(n, u);
          }}
        >
          {UNITS.map((u) => (
            <option key={u} value={u}>
              {tx(`journeys.unit.${u}`, u)}
            </option>
          ))}
        </select>
      </div>
      {hint && (
        <small id={`${id}-hint`} className="muted">
          {hint}
        </small>
      )}
    </div>
  );
}

export function TextInput({
  label,
  value,
  onChange,
  hint,
  placeholder,
  type = 'text',
  className,
}: {
  label: ReactNode;
  value: unknown;
  onChange: (v: string) => void;
  hint?: ReactNode;
  placeholder?: string;
  type?: string;
  className?: string;
}) {
  const { editable } = useRefs();
  return (
    <Field label={label} hint={hint} className={className ?? 'field'}>
      <input
        type={type}
        value={value === undefined || value === null ? '' : String(value)}
        disabled={!editable}
        placeholder={placeholder}
        onChange={(e) => onChange(e.target.value)}
      />
    </Field>
  );
}

/** An input with suggestions (event names, properties): a datalist next to it. */
export function SuggestInput({
  label,
  value,
  onChange,
  options,
  hint,
  placeholder,
}: {
  label: ReactNode;
  value: unknown;
  onChange: (v: string) => void;
  options: string[];
  hint?: ReactNode;
  placeholder?: string;
}) {
  const { editable } = useRefs();
  const listId = useId();
  return (
    <>
      <Field label={label} hint={hint}>
        <input
          type="text"
          value={value === undefined || value === null ? '' : String(value)}
          disabled={!editable}
          placeholder={placeholder}
          list={options.length ? listId : undefined}
          onChange={(e) => onChange(e.target.value)}
        />
      </Field>
      {options.length > 0 && (
        <datalist id={listId}>
          {options.map((o) => (
            <option key={o} value={o} />
          ))}
        </datalist>
      )}
    </>
  );
}

export function NumberInput({
  label,
  value,
  onChange,
  min,
  max,
  hint,
  step,
}: {
  label: ReactNode;
  value: unknown;
  onChange: (v: number | undefined) => void;
  min?: number;
  max?: number;
  hint?: ReactNode;
  step?: number;
}) {
  const { editable } = useRefs();
  return (
    <Field label={label} hint={hint} className={hint ? 'field jn-number' : 'field field-narrow'}>
      <input
        type="number"
        min={min}
        max={max}
        step={step ?? 1}
        value={typeof value === 'number' ? value : ''}
        disabled={!editable}
        onChange={(e) => onChange(e.target.value === '' ? undefined : Number(e.target.value))}
      />
    </Field>
  );
}

export function Check({ label, checked, onChange }: { label: ReactNode; checked: boolean; onChange: (v: boolean) => void }) {
  const { editable } = useRefs();
  return (
    <label className="field-check">
      <input type="checkbox" checked={checked} disabled={!editable} onChange={(e) => onChange(e.target.checked)} /> {label}
    </label>
  );
}

/** Picks the node an exit leads to. */
export function NodeSelect({ label, value, onChange, exclude }: { label: ReactNode; value: unknown; onChange: (v: string) => void; exclude?: string }) {
  const { t } = useI18n();
  const { nodeIds, editable } = useRefs();
  const v = typeof value === 'string' ? value : '';
  return (
    <Field label={label}>
      <select value={v} disabled={!editable} onChange={(e) => onChange(e.target.value)}>
        <option value="">{t('journeys.form.notConnected')}</option>
        {v && !nodeIds.includes(v) && <option value={v}>{t('journeys.form.missingNode', { id: v })}</option>}
        {nodeIds
          .filter((id) => id !== exclude)
          .map((id) => (
            <option key={id} value={id}>
              {id}
            </option>
          ))}
      </select>
    </Field>
  );
}

/** Picks a segment (stored by id; a name written by hand is kept and shown). */
export function SegmentSelect({ label, value, onChange, hint }: { label: ReactNode; value: unknown; onChange: (v: string) => void; hint?: ReactNode }) {
  const { t } = useI18n();
  const { segments, editable } = useRefs();
  const v = typeof value === 'string' ? value : '';
  const known = segments.some((s) => s.id === v || s.name === v);
  return (
    <Field label={label} hint={hint}>
      <select value={segments.find((s) => s.name === v)?.id ?? v} disabled={!editable} onChange={(e) => onChange(e.target.value)}>
        <option value="">{t('journeys.form.chooseSegment')}</option>
        {v && !known && <option value={v}>{t('journeys.form.unknownSegment', { name: v })}</option>}
        {segments.map((s) => (
          <option key={s.id} value={s.id}>
            {s.name}
            {typeof s.size === 'number' ? ` (${s.size})` : ''}
          </option>
        ))}
      </select>
    </Field>
  );
}

/** Raw JSON for a value the forms do not cover; applied when it parses. */
export function JsonArea({ label, value, onChange, rows = 6, hint }: { label: ReactNode; value: unknown; onChange: (v: unknown) => void; rows?: number; hint?: ReactNode }) {
  const { tm } = useI18n();
  const { editable } = useRefs();
  const id = useId();
  const [text, setText] = useState(() => (value === undefined ? '' : JSON.stringify(value, null, 2)));
  const [error, setError] = useState<Msg | null>(null);
  useEffect(() => {
    // Follow outside changes unless the text already says the same.
    try {
      if (JSON.stringify(text.trim() ? JSON.parse(text) : undefined) === JSON.stringify(value)) return;
    } catch {
      /* the text does not parse: replace it */
    }
    setText(value === undefined ? '' : JSON.stringify(value, null, 2));
    setError(null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        className="mono"
        rows={rows}
        value={text}
        disabled={!editable}
        aria-invalid={!!error}
        onChange={(e) => {
          setText(e.target.value);
          if (!e.target.value.trim()) {
            setError(null);
            onChange(undefined);
            return;
          }
          try {
            const parsed = JSON.parse(e.target.value);
            setError(null);
            onChange(parsed);
          } catch (err) {
            setError(msg('journeys.form.badJson', { message: (err as Error).message }));
          }
        }}
      />
      {hint && <small className="muted">{hint}</small>}
      {error && <small className="form-error">{tm(error)}</small>}
    </div>
  );
}

export const OPS = ['=', '!=', '>', '>=', '<', '<=', 'between', 'in', 'not_in', 'contains', 'starts_with', 'is_set', 'not_set'] as const;

/** The value of a condition row from its text, by operator. */
export function valueForOp(op: string, text: string): unknown {
  if (op === 'is_set' || op === 'not_set') return undefined;
  if (op === 'between' || op === 'in' || op === 'not_in')
    return text
      .split(/[,，]/)
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
      .map(typedValue);
  return typedValue(text);
}

function OpSelect({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const { t, tx } = useI18n();
  const { editable } = useRefs();
  return (
    <select aria-label={t('journeys.cond.op')} value={value} disabled={!editable} onChange={(e) => onChange(e.target.value)}>
      {OPS.map((o) => (
        <option key={o} value={o}>
          {tx(`journeys.op.${o}`, o)}
        </option>
      ))}
    </select>
  );
}

function ValueInput({ op, value, onChange }: { op: string; value: unknown; onChange: (v: unknown) => void }) {
  const { t } = useI18n();
  const { editable } = useRefs();
  const [text, setText] = useState(valueText(value));
  useEffect(() => {
    if (JSON.stringify(valueForOp(op, text)) !== JSON.stringify(value)) setText(valueText(value));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value, op]);
  if (op === 'is_set' || op === 'not_set') return null;
  const multi = op === 'between' || op === 'in' || op === 'not_in';
  return (
    <input
      type="text"
      aria-label={t('journeys.cond.value')}
      placeholder={multi ? t(op === 'between' ? 'journeys.cond.betweenHint' : 'journeys.cond.listHint') : ''}
      value={text}
      disabled={!editable}
      onChange={(e) => {
        setText(e.target.value);
        onChange(valueForOp(op, e.target.value));
      }}
    />
  );
}

const isPlainRow = (w: unknown): w is JsonObject => !!w && typeof w === 'object' && !Array.isArray(w) && typeof (w as JsonObject).property === 'string';

/**
 * Conditions on an event (`where`): rows that must all hold. A tree (all / any / not) is edited
 * as JSON.
 */
export function WhereEditor({ label, value, onChange, hint }: { label: ReactNode; value: unknown; onChange: (v: unknown) => void; hint?: ReactNode }) {
  const { t } = useI18n();
  const { eventProperties, userProperties, editable } = useRefs();
  const listId = useId();
  const simple = value === undefined || (Array.isArray(value) && value.every(isPlainRow)) || isPlainRow(value);
  const [asJson, setAsJson] = useState(!simple);
  const rows: JsonObject[] = value === undefined ? [] : Array.isArray(value) ? value : [value as JsonObject];
  const set = (next: JsonObject[]) => onChange(next.length ? next : undefined);
  const suggestions = [...eventProperties, ...userProperties.map((p) => `user.${p}`)];
  return (
    <fieldset className="jn-fieldset">
      <legend>{label}</legend>
      {hint && <p className="muted small">{hint}</p>}
      {asJson || !simple ? (
        <JsonArea label={t('journeys.cond.json')} value={value} onChange={onChange} hint={t('journeys.cond.jsonHint')} />
      ) : (
        <>
          {rows.length === 0 && <p className="muted small">{t('journeys.cond.none')}</p>}
          {rows.map((r, i) => (
            <div className="jn-cond-row" key={i}>
              <input
                type="text"
                aria-label={t('journeys.cond.property')}
                placeholder={t('journeys.cond.property')}
                list={suggestions.length ? listId : undefined}
                value={r.property ?? ''}
                disabled={!editable}
                onChange={(e) => set(rows.map((x, j) => (j === i ? { ...x, property: e.target.value } : x)))}
              />
              <OpSelect
                value={r.op ?? '='}
                onChange={(op) =>
                  set(
                    rows.map((x, j) => {
                      if (j !== i) return x;
                      const y: JsonObject = { ...x, op };
                      const v = valueForOp(op, valueText(x.value));
                      if (v === undefined) delete y.value;
                      else y.value = v;
                      return y;
                    }),
                  )
                }
              />
              <ValueInput op={r.op ?? '='} value={r.value} onChange={(v) => set(rows.map((x, j) => (j === i ? { ...x, value: v } : x)))} />
              {editable && (
                <button type="button" className="btn btn-small btn-ghost" onClick={() => set(rows.filter((_, j) => j !== i))}>
                  {t('journeys.cond.remove')}
                </button>
              )}
            </div>
          ))}
          {suggestions.length > 0 && (
            <datalist id={listId}>
              {suggestions.map((o) => (
                <option key={o} value={o} />
              ))}
            </datalist>
          )}
          {editable && (
            <button type="button" className="btn btn-small" onClick={() => set([...rows, { property: '', op: '=', value: '' }])}>
              {t('journeys.cond.add')}
            </button>
          )}
        </>
      )}
      {simple && (
        <button type="button" className="btn btn-small btn-ghost jn-json-toggle" onClick={() => setAsJson((x) => !x)}>
          {asJson ? t('journeys.cond.asForm') : t('journeys.cond.asJson')}
        </button>
      )}
    </fieldset>
  );
}

type LeafKind = 'profile' | 'tag' | 'segment' | 'event';

function leafKind(c: JsonObject): LeafKind | null {
  if (typeof c.segment === 'string') return 'segment';
  if (c.event && typeof c.event === 'object' && !Array.isArray(c.event) && typeof c.event.property === 'string') return 'event';
  if (typeof c.profile === 'string') return 'profile';
  if (typeof c.tag === 'string') return 'tag';
  return null;
}

function leafParts(c: JsonObject): { kind: LeafKind; name: string; op: string; value: unknown } {
  const kind = leafKind(c) ?? 'profile';
  if (kind === 'segment') return { kind, name: c.segment, op: '=', value: undefined };
  if (kind === 'event') return { kind, name: c.event.property, op: c.event.op ?? '=', value: c.event.value };
  return { kind, name: c[kind], op: c.op ?? '=', value: c.value };
}

function makeLeaf(kind: LeafKind, name: string, op: string, value: unknown): JsonObject {
  if (kind === 'segment') return { segment: name };
  const body: JsonObject = { op };
  if (value !== undefined && op !== 'is_set' && op !== 'not_set') body.value = value;
  if (kind === 'event') return { event: { property: name, ...body } };
  return { [kind]: name, ...body };
}

/**
 * A split's condition: rows joined by "all" or "any", each on the customer's profile, a tag,
 * segment membership or the entry event. Deeper trees are edited as JSON.
 */
export function SplitConditionEditor({ value, onChange }: { value: unknown; onChange: (v: unknown) => void }) {
  const { t, tx } = useI18n();
  const { editable, segments, userProperties, eventProperties } = useRefs();
  const listUser = useId();
  const listEvent = useId();
  const c = (value && typeof value === 'object' ? value : {}) as JsonObject;
  let join: 'all' | 'any' = 'all';
  let leaves: JsonObject[] | null = null;
  if (leafKind(c)) leaves = [c];
  else if (Array.isArray(c.all) && c.all.every((x: JsonObject) => x && leafKind(x))) leaves = c.all;
  else if (Array.isArray(c.any) && c.any.every((x: JsonObject) => x && leafKind(x))) {
    leaves = c.any;
    join = 'any';
  }
  const [asJson, setAsJson] = useState(leaves === null);
  const emit = (rows: JsonObject[], j: 'all' | 'any') => {
    if (rows.length === 1) onChange(rows[0]);
    else onChange({ [j]: rows });
  };
  return (
    <fieldset className="jn-fieldset">
      <legend>{t('journeys.split.condition')}</legend>
      <p className="muted small">{t('journeys.split.conditionHint')}</p>
      {asJson || leaves === null ? (
        <JsonArea label={t('journeys.cond.json')} value={value} onChange={onChange} hint={t('journeys.split.jsonHint')} rows={10} />
      ) : (
        <>
          {leaves.length > 1 && (
            <Field label={t('journeys.split.join')}>
              <select value={join} disabled={!editable} onChange={(e) => emit(leaves!, e.target.value as 'all' | 'any')}>
                <option value="all">{t('journeys.split.all')}</option>
                <option value="any">{t('journeys.split.any')}</option>
              </select>
            </Field>
          )}
          {leaves.map((leaf, i) => {
            const p = leafParts(leaf);
            const update = (kind: LeafKind, name: string, op: string, v: unknown) => emit(leaves!.map((x, j) => (j === i ? makeLeaf(kind, name, op, v) : x)), join);
            return (
              <div className="jn-cond-row" key={i}>
                <select aria-label={t('journeys.split.kind')} value={p.kind} disabled={!editable} onChange={(e) => update(e.target.value as LeafKind, '', '=', '')}>
                  {(['profile', 'tag', 'segment', 'event'] as LeafKind[]).map((k) => (
                    <option key={k} value={k}>
                      {tx(`journeys.split.kind.${k}`, k)}
                    </option>
                  ))}
                </select>
                {p.kind === 'segment' ? (
                  <select aria-label={t('journeys.split.segment')} value={segments.find((s) => s.name === p.name)?.id ?? p.name} disabled={!editable} onChange={(e) => update('segment', e.target.value, '=', undefined)}>
                    <option value="">{t('journeys.form.chooseSegment')}</option>
                    {p.name && !segments.some((s) => s.id === p.name || s.name === p.name) && <option value={p.name}>{t('journeys.form.unknownSegment', { name: p.name })}</option>}
                    {segments.map((s) => (
                      <option key={s.id} value={s.id}>
                        {s.name}
                      </option>
                    ))}
                  </select>
                ) : (
                  <>
                    <input
                      type="text"
                      aria-label={tx(`journeys.split.name.${p.kind}`, t('journeys.cond.property'))}
                      placeholder={tx(`journeys.split.name.${p.kind}`, t('journeys.cond.property'))}
                      value={p.name}
                      list={p.kind === 'profile' ? listUser : p.kind === 'event' ? listEvent : undefined}
                      disabled={!editable}
                      onChange={(e) => update(p.kind, e.target.value, p.op, p.value)}
                    />
                    <OpSelect value={p.op} onChange={(op) => update(p.kind, p.name, op, valueForOp(op, valueText(p.value)))} />
                    <ValueInput op={p.op} value={p.value} onChange={(v) => update(p.kind, p.name, p.op, v)} />
                  </>
                )}
                {editable && leaves!.length > 1 && (
                  <button type="button" className="btn btn-small btn-ghost" onClick={() => emit(leaves!.filter((_, j) => j !== i), join)}>
                    {t('journeys.cond.remove')}
                  </button>
                )}
              </div>
            );
          })}
          {editable && (
            <button type="button" className="btn btn-small" onClick={() => emit([...leaves!, { profile: '', op: '=', value: '' }], join)}>
              {t('journeys.cond.add')}
            </button>
          )}
          <datalist id={listUser}>
            {userProperties.map((o) => (
              <option key={o} value={o} />
            ))}
          </datalist>
          <datalist id={listEvent}>
            {eventProperties.map((o) => (
              <option key={o} value={o} />
            ))}
          </datalist>
        </>
      )}
      {leaves !== null && (
        <button type="button" className="btn btn-small btn-ghost jn-json-toggle" onClick={() => setAsJson((x) => !x)}>
          {asJson ? t('journeys.cond.asForm') : t('journeys.cond.asJson')}
        </button>
      )}
    </fieldset>
  );
}
