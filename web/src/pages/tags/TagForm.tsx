// Create or edit a tag with a form per kind (docs/segments.md "Tags"): rule (enumerated values,
// each with a visual rule), statistic, first / last, preference, imported, lookalike.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useAuth } from '../../auth/AuthContext';
import { useProject } from '../../auth/ProjectContext';
import { useI18n, type MessageKey } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import { createTag, getTag, updateTag, type Tag, type TagInput, type TagKind, type TagStatus } from '../../api/audience';
import { ErrorBox, Loading, NoPermission } from '../../components/Feedback';
import { Field } from '../../components/Field';
import { EventSelect, RuleBuilder, WhereEditor, WithinEditor, typesOf, type BuilderContext } from '../segments/RuleBuilder';
import {
  BuildError,
  emptyRoot,
  emptyWithin,
  newKey,
  parseWhere,
  parseWithin,
  rootFromRule,
  toRule,
  whereJson,
  withinJson,
  type GroupNode,
  type ValueCond,
  type Within,
} from '../segments/ruleModel';
import { EstimatePanel, ScheduleEditor, problemText, scheduleFrom, scheduleTo, useBuilderContext, type ScheduleState } from '../segments/shared';

const KINDS: TagKind[] = ['rule', 'statistic', 'first_last', 'preference', 'imported', 'lookalike'];
const AGGREGATES = ['count', 'sum', 'avg', 'min', 'max', 'distinct'] as const;
type Aggregate = (typeof AGGREGATES)[number];

interface ValueRow {
  key: string;
  value: string;
  root: GroupNode;
}

interface State {
  name: string;
  display_name: string;
  category: string;
  description: string;
  owner: string;
  status: TagStatus;
  kind: TagKind;
  schedule: ScheduleState;
  values: ValueRow[];
  default: string;
  event: string;
  aggregate: Aggregate;
  property: string;
  which: 'first' | 'last';
  where: ValueCond[];
  within: Within;
  value_type: 'STRING' | 'NUMBER';
  seed: string;
}

const blank = (owner: string): State => ({
  name: '',
  display_name: '',
  category: '',
  description: '',
  owner,
  status: 'draft',
  kind: 'rule',
  schedule: scheduleFrom(undefined, false),
  values: [{ key: newKey(), value: '', root: emptyRoot() }],
  default: '',
  event: '',
  aggregate: 'count',
  property: '',
  which: 'last',
  where: [],
  within: emptyWithin('last'),
  value_type: 'STRING',
  seed: '',
});

function fromTag(tag: Tag): State {
  const d = (tag.definition || {}) as TagInput;
  const s = blank(tag.owner || '');
  return {
    ...s,
    name: tag.name,
    display_name: tag.display_name || '',
    category: tag.category || '',
    description: tag.description || '',
    status: (tag.status as TagStatus) || 'draft',
    kind: tag.kind as TagKind,
    schedule: scheduleFrom(d.schedule ?? tag.schedule, false),
    values: d.values?.length ? d.values.map((v) => ({ key: newKey(), value: String(v.value), root: rootFromRule(v.rule) })) : s.values,
    default: d.default === undefined ? '' : String(d.default),
    event: d.event || '',
    aggregate: (d.aggregate as Aggregate) || 'count',
    property: d.property || '',
    which: d.which || 'last',
    where: parseWhere(d.where) || [],
    within: parseWithin(d.within) || emptyWithin('all'),
    value_type: d.value_type || (tag.value_type === 'NUMBER' ? 'NUMBER' : 'STRING'),
    seed: d.seed || '',
  };
}

const NUM = /^-?\d+(\.\d+)?$/;

/** The tag definition, or a problem (message) while something is missing. */
function toInput(s: State, ctx: BuilderContext, t: (k: MessageKey, v?: Record<string, string | number>) => string): TagInput {
  const types = typesOf(ctx);
  const input: TagInput = {
    name: s.name.trim(),
    kind: s.kind,
    status: s.status,
    ...(s.display_name.trim() ? { display_name: s.display_name.trim() } : {}),
    ...(s.category.trim() ? { category: s.category.trim().replace(/^\/+|\/+$/g, '') } : {}),
    ...(s.description.trim() ? { description: s.description.trim() } : {}),
    ...(s.owner.trim() ? { owner: s.owner.trim() } : {}),
    ...(s.kind !== 'imported' ? { schedule: scheduleTo(s.schedule) } : {}),
  };
  const needEvent = () => {
    if (!s.event) throw new Error(t('tags.form.needEvent'));
    input.event = s.event;
    if (s.where.length) input.where = whereJson(s.where, types, t('tags.form.filters'));
    const w = withinJson(s.within, t('tags.form.window'));
    if (w) input.within = w;
  };
  switch (s.kind) {
    case 'rule': {
      const texts = [...s.values.map((v) => v.value.trim()), ...(s.default.trim() ? [s.default.trim()] : [])];
      const numeric = texts.length > 0 && texts.every((x) => NUM.test(x));
      const typed = (x: string) => (numeric ? Number(x) : x);
      input.values = s.values.map((v, i) => {
        if (!v.value.trim()) throw new Error(t('tags.form.needValue', { n: i + 1 }));
        try {
          return { value: typed(v.value.trim()), rule: toRule(v.root, types) };
        } catch (e) {
          if (e instanceof BuildError) throw new Error(`${t('tags.form.valueN', { n: i + 1 })}: ${problemText(t, e)}`);
          throw e;
        }
      });
      if (s.default.trim()) input.default = typed(s.default.trim());
      break;
    }
    case 'statistic':
      needEvent();
      input.aggregate = s.aggregate;
      if (s.aggregate !== 'count') {
        if (!s.property) throw new Error(t('tags.form.needProperty'));
        input.property = s.property;
      }
      break;
    case 'first_last':
      needEvent();
      input.which = s.which;
      if (s.property) input.property = s.property;
      break;
    case 'preference':
      needEvent();
      if (!s.property) throw new Error(t('tags.form.needProperty'));
      input.property = s.property;
      break;
    case 'imported':
      input.value_type = s.value_type;
      break;
    case 'lookalike':
      if (!s.seed) throw new Error(t('tags.form.needSeed'));
      input.seed = s.seed;
      break;
  }
  return input;
}

function categoryPaths(tags: Tag[]): string[] {
  const out = new Set<string>();
  for (const tg of tags) {
    const parts = (tg.category || '').split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) out.add(parts.slice(0, i).join('/'));
  }
  return [...out].sort();
}

export function TagForm() {
  const { t, tx } = useI18n();
  const { can, account } = useAuth();
  const { project } = useProject();
  const p = project!;
  const { id } = useParams();
  const navigate = useNavigate();
  const existing = useAsync((sig) => getTag(p, id!, sig), [p, id], !!id);
  const { ctx } = useBuilderContext(p);
  const [s, setS] = useState<State | null>(() => (id ? null : blank(account?.name || '')));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [activeValue, setActiveValue] = useState(0);

  useEffect(() => {
    if (existing.data) setS(fromTag(existing.data));
  }, [existing.data]);

  const cats = useMemo(() => categoryPaths(ctx.tags), [ctx.tags]);
  const valueCtx = useMemo(() => (s ? s.values.map((_, i) => ({ ...ctx, labelPrefix: `${t('tags.form.valueN', { n: i + 1 })} · ` })) : []), [ctx, s, t]);
  const activeRule = useMemo(() => {
    const row = s?.values[activeValue];
    if (!s || s.kind !== 'rule' || !row) return { rule: null, problem: null };
    try {
      return { rule: toRule(row.root, typesOf(ctx)), problem: null };
    } catch (e) {
      return { rule: null, problem: e instanceof BuildError ? e : null };
    }
  }, [s, activeValue, ctx]);

  if (!can('audience.write')) return <NoPermission permission="audience.write" />;
  if (id && existing.error) return <ErrorBox error={existing.error} onRetry={existing.reload} />;
  if (!s) return <Loading />;

  const set = (patch: Partial<State>) => setS({ ...s, ...patch });
  const setValue = (i: number, patch: Partial<ValueRow>) => set({ values: s.values.map((v, k) => (k === i ? { ...v, ...patch } : v)) });
  const numericProps = ctx.schema?.properties.filter((pp) => pp.type === 'NUMBER') ?? null;
  const allProps = ctx.schema?.properties ?? null;
  const propChoices = s.kind === 'statistic' && s.aggregate !== 'distinct' ? numericProps : allProps;

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setFormError(null);
    let input: TagInput;
    try {
      input = toInput(s, ctx, t);
    } catch (err) {
      setFormError(err instanceof BuildError ? problemText(t, err) : (err as Error).message);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const saved = id ? await updateTag(p, id, input) : await createTag(p, input);
      navigate(`/tags/${encodeURIComponent(saved.id)}`, { state: { saved: true } });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const eventFields = (
    <>
      <div className="rb-row">
        <span className="rb-tagline" aria-hidden="true">
          {t('tags.form.event')}
        </span>
        <EventSelect label={t('tags.form.event')} value={s.event} onChange={(v) => set({ event: v })} ctx={ctx} />
        <span className="muted" aria-hidden="true">
          {t('segments.rb.window')}
        </span>
        <WithinEditor prefix={t('tags.form.window')} within={s.within} onChange={(w) => set({ within: w })} />
      </div>
      <div>
        <p className="muted small">{t('tags.form.filtersHint')}</p>
        <WhereEditor prefix={t('tags.form.filters')} where={s.where} onChange={(w) => set({ where: w })} ctx={ctx} />
      </div>
    </>
  );
  const propertyField = (required: boolean) =>
    propChoices ? (
      <Field label={t('tags.form.property')}>
        <select value={s.property} onChange={(e) => set({ property: e.target.value })} required={required}>
          <option value="">{required ? t('segments.rb.choose') : t('tags.form.noProperty')}</option>
          {s.property && !propChoices.some((pp) => pp.name === s.property) && <option value={s.property}>{s.property}</option>}
          {propChoices.map((pp) => (
            <option key={pp.name} value={pp.name}>
              {pp.name} ({pp.type})
            </option>
          ))}
        </select>
      </Field>
    ) : (
      <Field label={t('tags.form.property')}>
        <input value={s.property} onChange={(e) => set({ property: e.target.value })} required={required} />
      </Field>
    );

  return (
    <section className="page">
      <header className="page-head">
        <h1>{id ? t('tags.editTitle', { name: existing.data?.display_name || existing.data?.name || '' }) : t('tags.newTitle')}</h1>
        <div className="page-actions">
          <Link to={id ? `/tags/${encodeURIComponent(id)}` : '/tags'} className="btn btn-small">
            {t('common.cancel')}
          </Link>
        </div>
      </header>
      <form onSubmit={save} aria-label={t('tags.formLabel')}>
        <div className="card">
          <h2 className="card-title">{t('tags.form.basics')}</h2>
          <div className="form-row">
            <Field label={t('tags.name')} hint={t('tags.form.nameHint')}>
              <input value={s.name} onChange={(e) => set({ name: e.target.value })} required pattern="[A-Za-z_][A-Za-z0-9_]*" disabled={!!id} spellCheck={false} />
            </Field>
            <Field label={t('tags.displayName')}>
              <input value={s.display_name} onChange={(e) => set({ display_name: e.target.value })} />
            </Field>
            <Field label={t('tags.category')} hint={t('tags.form.categoryHint')}>
              <input value={s.category} onChange={(e) => set({ category: e.target.value })} list="tag-category-paths" />
            </Field>
            <datalist id="tag-category-paths">
              {cats.map((c) => (
                <option key={c} value={c} />
              ))}
            </datalist>
          </div>
          <div className="form-row">
            <Field label={t('tags.description')} className="field grow">
              <input value={s.description} onChange={(e) => set({ description: e.target.value })} />
            </Field>
            <Field label={t('tags.owner')}>
              <input value={s.owner} onChange={(e) => set({ owner: e.target.value })} />
            </Field>
            <Field label={t('tags.statusLabel')}>
              <select value={s.status} onChange={(e) => set({ status: e.target.value as TagStatus })}>
                {(['draft', 'approved', 'offline'] as TagStatus[]).map((x) => (
                  <option key={x} value={x}>
                    {tx(`tags.status.${x}`, x)}
                  </option>
                ))}
              </select>
            </Field>
          </div>
          <div className="form-row">
            <Field label={t('tags.kind')}>
              <select value={s.kind} onChange={(e) => set({ kind: e.target.value as TagKind })}>
                {KINDS.map((k) => (
                  <option key={k} value={k}>
                    {tx(`tags.kind.${k}`, k)}
                  </option>
                ))}
              </select>
            </Field>
            {s.kind !== 'imported' && <ScheduleEditor label={t('tags.schedule')} value={s.schedule} onChange={(v) => set({ schedule: v })} allowDefault={false} />}
          </div>
          <p className="muted small">{tx(`tags.kindHint.${s.kind}`, '')}</p>
        </div>

        <div className="card">
          <h2 className="card-title">{t('tags.form.definition')}</h2>
          {s.kind === 'rule' && (
            <div className="editor-grid">
              <div className="form-stack">
                {s.values.map((v, i) => (
                  <fieldset key={v.key} onFocus={() => setActiveValue(i)} onClick={() => setActiveValue(i)}>
                    <legend>{t('tags.form.valueN', { n: i + 1 })}</legend>
                    <div className="form-row">
                      <Field label={`${t('tags.form.valueN', { n: i + 1 })} · ${t('tags.form.value')}`}>
                        <input value={v.value} onChange={(e) => setValue(i, { value: e.target.value })} required />
                      </Field>
                      {s.values.length > 1 && (
                        <button
                          type="button"
                          className="btn btn-small btn-ghost"
                          onClick={() => {
                            set({ values: s.values.filter((_, k) => k !== i) });
                            setActiveValue(0);
                          }}
                        >
                          {t('tags.form.removeValue', { n: i + 1 })}
                        </button>
                      )}
                    </div>
                    <p className="muted small">{t('tags.form.valueRule')}</p>
                    <RuleBuilder root={v.root} onChange={(r) => setValue(i, { root: r })} ctx={valueCtx[i] ?? ctx} />
                  </fieldset>
                ))}
                <div>
                  <button type="button" className="btn btn-small" onClick={() => set({ values: [...s.values, { key: newKey(), value: '', root: emptyRoot() }] })}>
                    + {t('tags.form.addValue')}
                  </button>
                </div>
                <Field label={t('tags.form.default')} hint={t('tags.form.defaultHint')}>
                  <input value={s.default} onChange={(e) => set({ default: e.target.value })} />
                </Field>
                <p className="muted small">{t('tags.form.firstWins')}</p>
              </div>
              <div>
                <p className="muted small">{t('tags.form.estimateOf', { n: activeValue + 1 })}</p>
                <EstimatePanel project={p} rule={activeRule.rule} problem={activeRule.problem} />
              </div>
            </div>
          )}
          {s.kind === 'statistic' && (
            <>
              {eventFields}
              <div className="form-row">
                <Field label={t('tags.form.aggregate')}>
                  <select value={s.aggregate} onChange={(e) => set({ aggregate: e.target.value as Aggregate })}>
                    {AGGREGATES.map((a) => (
                      <option key={a} value={a}>
                        {tx(`tags.aggregate.${a}`, a)}
                      </option>
                    ))}
                  </select>
                </Field>
                {s.aggregate !== 'count' && propertyField(true)}
              </div>
            </>
          )}
          {s.kind === 'first_last' && (
            <>
              {eventFields}
              <div className="form-row">
                <Field label={t('tags.form.which')}>
                  <select value={s.which} onChange={(e) => set({ which: e.target.value as 'first' | 'last' })}>
                    <option value="first">{t('tags.form.first')}</option>
                    <option value="last">{t('tags.form.last')}</option>
                  </select>
                </Field>
                {propertyField(false)}
              </div>
              <p className="muted small">{t('tags.form.firstLastHint')}</p>
            </>
          )}
          {s.kind === 'preference' && (
            <>
              {eventFields}
              <div className="form-row">{propertyField(true)}</div>
            </>
          )}
          {s.kind === 'imported' && (
            <div className="form-row">
              <Field label={t('tags.form.valueType')}>
                <select value={s.value_type} onChange={(e) => set({ value_type: e.target.value as 'STRING' | 'NUMBER' })}>
                  <option value="STRING">{t('tags.form.typeString')}</option>
                  <option value="NUMBER">{t('tags.form.typeNumber')}</option>
                </select>
              </Field>
              <p className="muted small">{t('tags.form.importedHint')}</p>
            </div>
          )}
          {s.kind === 'lookalike' && (
            <div className="form-row">
              <Field label={t('tags.form.seed')}>
                <select value={s.seed} onChange={(e) => set({ seed: e.target.value })} required>
                  <option value="">{t('segments.rb.choose')}</option>
                  {ctx.segments.map((sg) => (
                    <option key={sg.id} value={sg.id}>
                      {sg.name} (#{sg.id})
                    </option>
                  ))}
                </select>
              </Field>
              <p className="muted small">{t('tags.form.lookalikeHint')}</p>
            </div>
          )}
        </div>
        {formError && (
          <p className="form-error" role="alert">
            {formError}
          </p>
        )}
        <ErrorBox error={error} />
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? t('tags.saving') : id ? t('tags.saveChanges') : t('tags.create')}
          </button>
        </div>
      </form>
    </section>
  );
}
