// The visual rule builder: nested all / any groups (each can be negated) of profile, tag,
// behaviour (did / did not, count or sum, window, event-property filters), sequence and
// segment conditions, plus raw JSON for what it cannot show. Every control has a label
// ("条件 2.1 · 属性"), visually hidden to keep the rows dense, shown as a tooltip.
import { cloneElement, useId, type ReactElement, type ReactNode } from 'react';
import { useI18n, type MessageKey } from '../../i18n';
import type { Schema } from '../../api/data';
import type { SegmentFull, Tag } from '../../api/audience';
import {
  COUNT_OPS,
  NO_VALUE,
  OPS,
  OP_KEY,
  emptyCond,
  newKey,
  newNode,
  type BNode,
  type DidNode,
  type GroupNode,
  type NodeKind,
  type Op,
  type SequenceNode,
  type Types,
  type ValueCond,
  type Within,
} from './ruleModel';
import './audience.css';

export interface BuilderContext {
  schema?: Schema;
  tags: Tag[];
  segments: SegmentFull[];
  /** The segment being edited (cannot refer to itself). */
  selfId?: string;
  /** Put before every control's label when a page has several builders ("取值 1 · "). */
  labelPrefix?: string;
}

/** The schema types the rule JSON needs (numbers stay numbers). */
export function typesOf(ctx: BuilderContext): Types {
  const profile = new Map((ctx.schema?.user_properties || []).map((p) => [p.name, p.type]));
  const ev = new Map((ctx.schema?.properties || []).map((p) => [p.name, p.type]));
  const tags = new Map(ctx.tags.map((t) => [t.name, t.value_type || '']));
  return {
    profile: (n) => profile.get(n),
    tag: (n) => tags.get(n) || undefined,
    eventProperty: (n) => ev.get(n),
  };
}

/** A control with a visually hidden <label for> (its accessible name) and the same text as tooltip. */
export function Ctl({ label, children }: { label: string; children: ReactElement<{ id?: string; title?: string }> }) {
  const id = useId();
  return (
    <>
      <label htmlFor={id} className="sr-only">
        {label}
      </label>
      {cloneElement(children, { id, title: label })}
    </>
  );
}

export function opLabel(t: (k: MessageKey) => string, op: Op): string {
  return t(OP_KEY[op] as MessageKey);
}

/** Profile property / tag / event property picker: a select when the names are known, else text. */
function NameSelect({
  label,
  value,
  onChange,
  names,
  placeholder,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  names: { value: string; label: string }[] | null;
  placeholder: string;
}) {
  const { t } = useI18n();
  if (!names) {
    return (
      <Ctl label={label}>
        <input value={value} onChange={(e) => onChange(e.target.value)} placeholder={placeholder} spellCheck={false} />
      </Ctl>
    );
  }
  return (
    <Ctl label={label}>
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">{t('segments.rb.choose')}</option>
        {value && !names.some((n) => n.value === value) && <option value={value}>{value}</option>}
        {names.map((n) => (
          <option key={n.value} value={n.value}>
            {n.label}
          </option>
        ))}
      </select>
    </Ctl>
  );
}

export function EventSelect({ label, value, onChange, ctx }: { label: string; value: string; onChange: (v: string) => void; ctx: BuilderContext }) {
  const { t } = useI18n();
  const names = ctx.schema ? [{ value: '$any', label: t('segments.rb.anyEvent') }, ...ctx.schema.events.map((e) => ({ value: e.name, label: e.name }))] : null;
  return <NameSelect label={label} value={value} onChange={onChange} names={names} placeholder="BuyFund" />;
}

/** Operator + value(s) of one comparison. */
function OpValue({
  prefix,
  cond,
  onChange,
  ops = OPS,
  suggestions,
}: {
  prefix: string;
  cond: { op: Op; value: string; value2: string };
  onChange: (c: { op: Op; value: string; value2: string }) => void;
  ops?: Op[];
  suggestions?: string[];
}) {
  const { t } = useI18n();
  const listId = useId();
  const multi = cond.op === 'in' || cond.op === 'not_in';
  return (
    <>
      <Ctl label={`${prefix} · ${t('segments.rb.op')}`}>
        <select value={cond.op} onChange={(e) => onChange({ ...cond, op: e.target.value as Op })}>
          {ops.map((o) => (
            <option key={o} value={o}>
              {opLabel(t, o)}
            </option>
          ))}
        </select>
      </Ctl>
      {!NO_VALUE.has(cond.op) && (
        <Ctl label={cond.op === 'between' ? `${prefix} · ${t('segments.rb.from')}` : `${prefix} · ${t('segments.rb.value')}`}>
          <input
            className="rb-value"
            value={cond.value}
            onChange={(e) => onChange({ ...cond, value: e.target.value })}
            placeholder={multi ? t('segments.rb.multiHint') : t('segments.rb.valueHint')}
            list={suggestions && suggestions.length ? listId : undefined}
          />
        </Ctl>
      )}
      {cond.op === 'between' && (
        <>
          <span aria-hidden="true">~</span>
          <Ctl label={`${prefix} · ${t('segments.rb.to')}`}>
            <input className="rb-value" value={cond.value2} onChange={(e) => onChange({ ...cond, value2: e.target.value })} />
          </Ctl>
        </>
      )}
      {suggestions && suggestions.length > 0 && (
        <datalist id={listId}>
          {suggestions.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
      )}
    </>
  );
}

/** Event-property filters (all must hold). */
export function WhereEditor({ prefix, where, onChange, ctx }: { prefix: string; where: ValueCond[]; onChange: (w: ValueCond[]) => void; ctx: BuilderContext }) {
  const { t } = useI18n();
  const names = ctx.schema ? ctx.schema.properties.map((p) => ({ value: p.name, label: `${p.name} (${p.type})` })) : null;
  return (
    <div className="rb-sub">
      {where.map((w, i) => {
        const p = `${prefix} · ${t('segments.rb.filterN', { n: i + 1 })}`;
        const set = (patch: Partial<ValueCond>) => onChange(where.map((x, k) => (k === i ? { ...x, ...patch } : x)));
        return (
          <div key={i} className="rb-row">
            <span className="muted small">{t('segments.rb.where')}</span>
            <NameSelect label={`${p} · ${t('segments.rb.property')}`} value={w.property} onChange={(v) => set({ property: v })} names={names} placeholder="amount" />
            <OpValue prefix={p} cond={w} onChange={(c) => set(c)} />
            <button type="button" className="btn btn-small btn-ghost" aria-label={t('segments.rb.removeNamed', { name: p })} onClick={() => onChange(where.filter((_, k) => k !== i))}>
              ×
            </button>
          </div>
        );
      })}
      <div>
        <button type="button" className="btn btn-small btn-ghost" onClick={() => onChange([...where, emptyCond()])} aria-label={`${prefix} · ${t('segments.rb.addFilter')}`}>
          + {t('segments.rb.addFilter')}
        </button>
      </div>
    </div>
  );
}

export function WithinEditor({ prefix, within, onChange }: { prefix: string; within: Within; onChange: (w: Within) => void }) {
  const { t } = useI18n();
  return (
    <>
      <Ctl label={`${prefix} · ${t('segments.rb.window')}`}>
        <select value={within.mode} onChange={(e) => onChange({ ...within, mode: e.target.value as Within['mode'] })}>
          <option value="last">{t('segments.rb.windowLast')}</option>
          <option value="range">{t('segments.rb.windowRange')}</option>
          <option value="all">{t('segments.rb.windowAll')}</option>
        </select>
      </Ctl>
      {within.mode === 'last' && (
        <Ctl label={`${prefix} · ${t('segments.rb.lastN')}`}>
          <input className="rb-short" value={within.last} onChange={(e) => onChange({ ...within, last: e.target.value })} placeholder="30d" />
        </Ctl>
      )}
      {within.mode === 'range' && (
        <>
          <Ctl label={`${prefix} · ${t('segments.rb.rangeFrom')}`}>
            <input type="date" value={within.from} onChange={(e) => onChange({ ...within, from: e.target.value })} />
          </Ctl>
          <span aria-hidden="true">~</span>
          <Ctl label={`${prefix} · ${t('segments.rb.rangeTo')}`}>
            <input type="date" value={within.to} onChange={(e) => onChange({ ...within, to: e.target.value })} />
          </Ctl>
        </>
      )}
    </>
  );
}

const KIND_KEY: Record<NodeKind, MessageKey> = {
  group: 'segments.rb.kind.group',
  profile: 'segments.rb.kind.profile',
  tag: 'segments.rb.kind.tag',
  did: 'segments.rb.kind.did',
  sequence: 'segments.rb.kind.sequence',
  segment: 'segments.rb.kind.segment',
  raw: 'segments.rb.kind.raw',
};
const ADDABLE: NodeKind[] = ['profile', 'tag', 'did', 'sequence', 'segment', 'group'];

function AddButtons({ prefix, onAdd, allowSegments }: { prefix: string; onAdd: (k: NodeKind) => void; allowSegments: boolean }) {
  const { t } = useI18n();
  return (
    <div className="rb-add" role="group" aria-label={`${prefix}${t('segments.rb.addTo')}`}>
      {ADDABLE.filter((k) => allowSegments || k !== 'segment').map((k) => (
        <button key={k} type="button" className="btn btn-small" onClick={() => onAdd(k)}>
          + {t(KIND_KEY[k])}
        </button>
      ))}
    </div>
  );
}

function NotToggle({ label, value, onChange }: { label: string; value: boolean; onChange: (v: boolean) => void }) {
  const { t } = useI18n();
  return (
    <label className="field-check small" title={t('segments.rb.notHint')}>
      <input type="checkbox" checked={value} onChange={(e) => onChange(e.target.checked)} aria-label={label} />
      <span>{t('segments.rb.not')}</span>
    </label>
  );
}

function GroupEditor({
  node,
  path,
  onChange,
  onRemove,
  ctx,
}: {
  node: GroupNode;
  path: string;
  onChange: (n: BNode) => void;
  onRemove?: () => void;
  ctx: BuilderContext;
}) {
  const { t } = useI18n();
  const prefix = `${ctx.labelPrefix ?? ''}${path ? t('segments.rb.groupN', { n: path }) : t('segments.rb.root')}`;
  const setChild = (i: number, c: BNode) => onChange({ ...node, children: node.children.map((x, k) => (k === i ? c : x)) });
  return (
    <div className={`rb-group${node.not ? ' rb-not' : ''}`} role="group" aria-label={prefix}>
      <div className="rb-head">
        {path && <span className="rb-tagline">{t('segments.rb.groupN', { n: path })}</span>}
        <Ctl label={`${prefix} · ${t('segments.rb.groupOp')}`}>
          <select value={node.op} onChange={(e) => onChange({ ...node, op: e.target.value as 'all' | 'any' })}>
            <option value="all">{t('segments.rb.all')}</option>
            <option value="any">{t('segments.rb.any')}</option>
          </select>
        </Ctl>
        <NotToggle label={`${prefix} · ${t('segments.rb.not')}`} value={node.not} onChange={(v) => onChange({ ...node, not: v })} />
        <span className="spacer" style={{ flex: 1 }} />
        {onRemove && (
          <button type="button" className="btn btn-small btn-ghost" onClick={onRemove} aria-label={t('segments.rb.removeNamed', { name: prefix })}>
            {t('common.remove')}
          </button>
        )}
      </div>
      {node.children.length === 0 && <p className="muted small">{t('segments.rb.emptyGroup')}</p>}
      <div className="rb-children">
        {node.children.map((c, i) => {
          const p = path ? `${path}.${i + 1}` : String(i + 1);
          return (
            <NodeEditor
              key={c.key}
              node={c}
              path={p}
              onChange={(n) => setChild(i, n)}
              onRemove={() => onChange({ ...node, children: node.children.filter((_, k) => k !== i) })}
              ctx={ctx}
            />
          );
        })}
      </div>
      <AddButtons prefix={prefix} onAdd={(k) => onChange({ ...node, children: [...node.children, newNode(k)] })} allowSegments />
    </div>
  );
}

function CondShell({
  node,
  prefix,
  tagline,
  onChange,
  onRemove,
  children,
}: {
  node: BNode;
  prefix: string;
  tagline: string;
  onChange: (n: BNode) => void;
  onRemove: () => void;
  children: ReactNode;
}) {
  const { t } = useI18n();
  return (
    <div className={`rb-cond${node.not ? ' rb-not' : ''}`} role="group" aria-label={prefix}>
      <div className="rb-row">
        <span className="rb-tagline">{tagline}</span>
        <span className="rb-kind">{t(KIND_KEY[node.kind])}</span>
        <NotToggle label={`${prefix} · ${t('segments.rb.not')}`} value={node.not} onChange={(v) => onChange({ ...node, not: v } as BNode)} />
        <span style={{ flex: 1 }} />
        <button type="button" className="btn btn-small btn-ghost" onClick={onRemove} aria-label={t('segments.rb.removeNamed', { name: prefix })}>
          {t('common.remove')}
        </button>
      </div>
      {children}
    </div>
  );
}

function DidEditor({ node, prefix, onChange, ctx }: { node: DidNode; prefix: string; onChange: (n: DidNode) => void; ctx: BuilderContext }) {
  const { t } = useI18n();
  const numeric = ctx.schema ? ctx.schema.properties.filter((p) => p.type === 'NUMBER').map((p) => ({ value: p.name, label: p.name })) : null;
  return (
    <>
      <div className="rb-row">
        <Ctl label={`${prefix} · ${t('segments.rb.didMode')}`}>
          <select value={node.did ? 'did' : 'did_not'} onChange={(e) => onChange({ ...node, did: e.target.value === 'did' })}>
            <option value="did">{t('segments.rb.did')}</option>
            <option value="did_not">{t('segments.rb.didNot')}</option>
          </select>
        </Ctl>
        <EventSelect label={`${prefix} · ${t('segments.rb.event')}`} value={node.event} onChange={(v) => onChange({ ...node, event: v })} ctx={ctx} />
        <WithinEditor prefix={prefix} within={node.within} onChange={(w) => onChange({ ...node, within: w })} />
      </div>
      {node.did && (
        <div className="rb-row">
          <Ctl label={`${prefix} · ${t('segments.rb.measure')}`}>
            <select value={node.measure} onChange={(e) => onChange({ ...node, measure: e.target.value as 'count' | 'sum' })}>
              <option value="count">{t('segments.rb.measureCount')}</option>
              <option value="sum">{t('segments.rb.measureSum')}</option>
            </select>
          </Ctl>
          {node.measure === 'sum' && (
            <NameSelect
              label={`${prefix} · ${t('segments.rb.sumProperty')}`}
              value={node.sumProperty}
              onChange={(v) => onChange({ ...node, sumProperty: v })}
              names={numeric}
              placeholder="amount"
            />
          )}
          <OpValue
            prefix={`${prefix} · ${node.measure === 'sum' ? t('segments.rb.measureSum') : t('segments.rb.measureCount')}`}
            cond={{ op: node.cmpOp, value: node.cmpValue, value2: node.cmpValue2 }}
            onChange={(c) => onChange({ ...node, cmpOp: c.op, cmpValue: c.value, cmpValue2: c.value2 })}
            ops={COUNT_OPS}
          />
        </div>
      )}
      <WhereEditor prefix={prefix} where={node.where} onChange={(w) => onChange({ ...node, where: w })} ctx={ctx} />
    </>
  );
}

function SequenceEditor({ node, prefix, onChange, ctx }: { node: SequenceNode; prefix: string; onChange: (n: SequenceNode) => void; ctx: BuilderContext }) {
  const { t } = useI18n();
  const setStep = (i: number, patch: Partial<SequenceNode['steps'][number]>) => onChange({ ...node, steps: node.steps.map((s, k) => (k === i ? { ...s, ...patch } : s)) });
  return (
    <>
      {node.steps.map((s, i) => {
        const p = `${prefix} · ${t('segments.rb.stepN', { n: i + 1 })}`;
        return (
          <div key={s.key}>
            <div className="rb-row">
              <span className="muted small">{t('segments.rb.stepN', { n: i + 1 })}</span>
              <EventSelect label={`${p} · ${t('segments.rb.event')}`} value={s.event} onChange={(v) => setStep(i, { event: v })} ctx={ctx} />
              {node.steps.length > 2 && (
                <button
                  type="button"
                  className="btn btn-small btn-ghost"
                  aria-label={t('segments.rb.removeNamed', { name: p })}
                  onClick={() => onChange({ ...node, steps: node.steps.filter((_, k) => k !== i) })}
                >
                  ×
                </button>
              )}
            </div>
            <WhereEditor prefix={p} where={s.where} onChange={(w) => setStep(i, { where: w })} ctx={ctx} />
          </div>
        );
      })}
      <div className="rb-row">
        {node.steps.length < 16 && (
          <button type="button" className="btn btn-small" onClick={() => onChange({ ...node, steps: [...node.steps, { key: newKey(), event: '', where: [] }] })}>
            + {t('segments.rb.addStep')}
          </button>
        )}
        <Ctl label={`${prefix} · ${t('segments.rb.maxGap')}`}>
          <input className="rb-short" value={node.window} onChange={(e) => onChange({ ...node, window: e.target.value })} placeholder="1d" />
        </Ctl>
        <span className="muted small">{t('segments.rb.maxGapHint')}</span>
        <WithinEditor prefix={prefix} within={node.within} onChange={(w) => onChange({ ...node, within: w })} />
      </div>
    </>
  );
}

function NodeEditor({ node, path, onChange, onRemove, ctx }: { node: BNode; path: string; onChange: (n: BNode) => void; onRemove: () => void; ctx: BuilderContext }) {
  const { t } = useI18n();
  if (node.kind === 'group') return <GroupEditor node={node} path={path} onChange={onChange} onRemove={onRemove} ctx={ctx} />;
  const prefix = `${ctx.labelPrefix ?? ''}${t('segments.rb.condN', { n: path })}`;
  let body: ReactNode = null;
  switch (node.kind) {
    case 'profile': {
      const names = ctx.schema ? ctx.schema.user_properties.map((p) => ({ value: p.name, label: `${p.name} (${p.type})` })) : null;
      body = (
        <div className="rb-row">
          <NameSelect label={`${prefix} · ${t('segments.rb.property')}`} value={node.property} onChange={(v) => onChange({ ...node, property: v })} names={names} placeholder="aum" />
          <OpValue prefix={prefix} cond={node} onChange={(c) => onChange({ ...node, ...c })} />
        </div>
      );
      break;
    }
    case 'tag': {
      const names = ctx.tags.map((tg) => ({ value: tg.name, label: tg.display_name ? `${tg.display_name} (${tg.name})` : tg.name }));
      const tag = ctx.tags.find((x) => x.name === node.property);
      const suggestions = tag?.definition?.values?.map((v) => String(v.value)).concat(tag.definition.default !== undefined ? [String(tag.definition.default)] : []);
      body = (
        <div className="rb-row">
          <NameSelect label={`${prefix} · ${t('segments.rb.tag')}`} value={node.property} onChange={(v) => onChange({ ...node, property: v })} names={names} placeholder="aum_tier" />
          <OpValue prefix={prefix} cond={node} onChange={(c) => onChange({ ...node, ...c })} suggestions={suggestions} />
        </div>
      );
      break;
    }
    case 'did':
      body = <DidEditor node={node} prefix={prefix} onChange={onChange} ctx={ctx} />;
      break;
    case 'sequence':
      body = <SequenceEditor node={node} prefix={prefix} onChange={onChange} ctx={ctx} />;
      break;
    case 'segment': {
      const names = ctx.segments.filter((s) => s.id !== ctx.selfId).map((s) => ({ value: s.id, label: `${s.name} (#${s.id})` }));
      body = (
        <div className="rb-row">
          <span className="muted small">{t('segments.rb.memberOf')}</span>
          <NameSelect label={`${prefix} · ${t('segments.rb.segment')}`} value={node.segment} onChange={(v) => onChange({ ...node, segment: v })} names={names} placeholder="12" />
        </div>
      );
      break;
    }
    case 'raw':
      body = (
        <>
          <p className="muted small">{t('segments.rb.rawHint')}</p>
          <Ctl label={`${prefix} · JSON`}>
            <textarea className="rb-raw" rows={Math.min(12, node.json.split('\n').length + 1)} value={node.json} onChange={(e) => onChange({ ...node, json: e.target.value })} spellCheck={false} />
          </Ctl>
        </>
      );
      break;
  }
  return (
    <CondShell node={node} prefix={prefix} tagline={t('segments.rb.condN', { n: path })} onChange={onChange} onRemove={onRemove}>
      {body}
    </CondShell>
  );
}

/** The builder: the root group and everything under it. */
export function RuleBuilder({ root, onChange, ctx }: { root: GroupNode; onChange: (g: GroupNode) => void; ctx: BuilderContext }) {
  return <GroupEditor node={root} path="" onChange={(n) => onChange(n as GroupNode)} ctx={ctx} />;
}
