// The side panel of the selected node: a form for its type (send: channel, template with a
// preview; task; wait in three forms; split; A/B; profile update; webhook; goal; exit) and the
// node's exits.
import { useEffect, useState } from 'react';
import { previewTemplate, type JsonObject, type TemplatePreview } from '../../api/journeys';
import { ErrorBox } from '../../components/Feedback';
import { Field } from '../../components/Field';
import { msg, useI18n, type Msg } from '../../i18n';
import { Check, DurationInput, JsonArea, NodeSelect, SplitConditionEditor, SuggestInput, TextInput, useRefs, WhereEditor } from './forms';
import { nodeExits, typedValue, validNodeId, valueText, waitMode, type WaitMode } from './model';
import { nodeTypeLabel } from './labels';

interface Props {
  id: string;
  node: JsonObject;
  problems: string[];
  onChange: (node: JsonObject) => void;
  /** Renames the step; the reason it cannot (the new id is taken), or null. */
  onRename: (to: string) => Msg | null;
  onDelete: () => void;
  isStart: boolean;
}

export function NodePanel({ id, node, problems, onChange, onRename, onDelete, isStart }: Props) {
  const { t, tx } = useI18n();
  const { editable } = useRefs();
  const set = (k: string, v: unknown) => {
    const n = { ...node };
    if (v === undefined || v === '') delete n[k];
    else n[k] = v;
    onChange(n);
  };
  return (
    <div className="jn-panel-body" aria-label={t('journeys.panel.nodeAria', { id })}>
      <div className="jn-panel-title">
        <h3>{nodeTypeLabel(node.type, tx)}</h3>
        {isStart && <span className="chip">{t('journeys.canvas.startFlag')}</span>}
      </div>
      <p className="muted small">{tx(`journeys.help.${node.type}`, '')}</p>
      {problems.length > 0 && (
        <ul className="jn-panel-problems" aria-label={t('journeys.canvas.problems')}>
          {problems.map((p, i) => (
            <li key={i}>{p}</li>
          ))}
        </ul>
      )}
      <RenameField id={id} onRename={onRename} />
      <TypeForm node={node} set={set} onChange={onChange} id={id} />
      {editable && (
        <div className="form-actions">
          <button type="button" className="btn btn-danger btn-small" onClick={onDelete}>
            {t('journeys.panel.deleteNode')}
          </button>
        </div>
      )}
    </div>
  );
}

function RenameField({ id, onRename }: { id: string; onRename: (to: string) => Msg | null }) {
  const { t, tm } = useI18n();
  const { editable } = useRefs();
  const [text, setText] = useState(id);
  const [error, setError] = useState<Msg | null>(null);
  useEffect(() => {
    setText(id);
    setError(null);
  }, [id]);
  const commit = () => {
    const to = text.trim();
    if (to === id) return;
    if (!validNodeId(to)) {
      setError(msg('journeys.panel.badId'));
      return;
    }
    const err = onRename(to);
    setError(err);
  };
  return (
    <>
      <Field label={t('journeys.panel.nodeId')} hint={t('journeys.panel.nodeIdHint')}>
        <input
          type="text"
          value={text}
          disabled={!editable}
          aria-invalid={!!error}
          onChange={(e) => setText(e.target.value)}
          onBlur={commit}
          onKeyDown={(e) => {
            if (e.key === 'Enter') commit();
          }}
        />
      </Field>
      {error && (
        <p className="form-error small" role="alert">
          {tm(error)}
        </p>
      )}
    </>
  );
}

function TypeForm({ node, set, onChange, id }: { node: JsonObject; set: (k: string, v: unknown) => void; onChange: (n: JsonObject) => void; id: string }) {
  const { t } = useI18n();
  switch (node.type) {
    case 'send':
      return <SendForm node={node} set={set} onChange={onChange} id={id} />;
    case 'webhook':
      return <WebhookForm node={node} set={set} id={id} />;
    case 'task':
      return <TaskForm node={node} set={set} onChange={onChange} id={id} />;
    case 'wait':
      return <WaitForm node={node} set={set} onChange={onChange} id={id} />;
    case 'split':
      return (
        <>
          <SplitConditionEditor value={node.condition} onChange={(v) => set('condition', v)} />
          <NodeSelect label={t('journeys.exit.yesLong')} value={node.yes} onChange={(v) => set('yes', v)} exclude={id} />
          <NodeSelect label={t('journeys.exit.noLong')} value={node.no} onChange={(v) => set('no', v)} exclude={id} />
        </>
      );
    case 'ab':
      return <AbForm node={node} onChange={onChange} id={id} />;
    case 'update_profile':
      return <UpdateProfileForm node={node} set={set} id={id} />;
    case 'goal':
      return (
        <>
          <NodeSelect label={t('journeys.form.nextOptional')} value={node.next} onChange={(v) => set('next', v)} exclude={id} />
          <p className="muted small">{t('journeys.goal.nextHint')}</p>
        </>
      );
    case 'exit':
      return null;
    default:
      return <JsonArea label={t('journeys.panel.rawNode')} value={node} onChange={(v) => v && typeof v === 'object' && onChange(v as JsonObject)} rows={10} />;
  }
}

function NextSelect({ node, set, id }: { node: JsonObject; set: (k: string, v: unknown) => void; id: string }) {
  const { t } = useI18n();
  return <NodeSelect label={t('journeys.form.next')} value={node.next} onChange={(v) => set('next', v)} exclude={id} />;
}

function channelList(node: JsonObject): string[] {
  if (Array.isArray(node.channels)) return node.channels.filter((c: unknown) => typeof c === 'string');
  return typeof node.channel === 'string' && node.channel ? [node.channel] : [];
}

function SendForm({ node, set, onChange, id }: { node: JsonObject; set: (k: string, v: unknown) => void; onChange: (n: JsonObject) => void; id: string }) {
  const { t } = useI18n();
  const { channels, templates, editable, eventProperties, userProperties } = useRefs();
  const list = channelList(node);
  const setChannels = (cs: string[]) => {
    const n = { ...node };
    delete n.channel;
    delete n.channels;
    const clean = cs.filter((c, i) => c && cs.indexOf(c) === i);
    if (clean.length === 1) n.channel = clean[0];
    else if (clean.length > 1) n.channels = clean;
    if (clean.length <= 1) delete n.best_channel;
    onChange(n);
  };
  const names = [...new Set(templates.map((x) => x.name))].sort();
  const template = typeof node.template === 'string' ? node.template : '';
  const variants = templates.filter((x) => x.name === template);
  const item: JsonObject | undefined = node.item && typeof node.item === 'object' ? node.item : undefined;
  const itemSource = item ? (item.id_from ? (String(item.id_from).startsWith('profile.') ? 'profile' : 'event') : 'fixed') : 'none';
  const channelNames = Object.keys(channels).sort();

  return (
    <>
      <fieldset className="jn-fieldset">
        <legend>{t('journeys.send.channels')}</legend>
        {(list.length ? list : ['']).map((c, i) => (
          <div className="jn-inline" key={i}>
            <Field label={i === 0 ? t('journeys.send.channel') : t('journeys.send.fallback', { n: i })}>
              <select value={c} disabled={!editable} onChange={(e) => setChannels((list.length ? list : ['']).map((x, j) => (j === i ? e.target.value : x)))}>
                <option value="">{t('journeys.send.chooseChannel')}</option>
                {c && !channels[c] && <option value={c}>{t('journeys.send.unknownChannel', { name: c })}</option>}
                {channelNames.map((name) => (
                  <option key={name} value={name}>
                    {name} ({channels[name].type})
                  </option>
                ))}
              </select>
            </Field>
            {editable && i > 0 && (
              <button type="button" className="btn btn-small btn-ghost" onClick={() => setChannels(list.filter((_, j) => j !== i))}>
                {t('journeys.cond.remove')}
              </button>
            )}
          </div>
        ))}
        {channelNames.length === 0 && <p className="notice small">{t('journeys.send.noChannels')}</p>}
        {editable && list.length > 0 && (
          <button type="button" className="btn btn-small" onClick={() => setChannels([...list, ''])}>
            {t('journeys.send.addFallback')}
          </button>
        )}
        <p className="muted small">{t('journeys.send.fallbackHint')}</p>
        {list.length > 1 && <Check label={t('journeys.send.bestChannel')} checked={!!node.best_channel} onChange={(v) => set('best_channel', v || undefined)} />}
      </fieldset>

      <Field label={t('journeys.send.template')} hint={t('journeys.send.templateHint')}>
        <select value={template} disabled={!editable} onChange={(e) => set('template', e.target.value)}>
          <option value="">{t('journeys.send.chooseTemplate')}</option>
          {template && !names.includes(template) && <option value={template}>{t('journeys.send.unknownTemplate', { name: template })}</option>}
          {names.map((name) => {
            const vs = templates.filter((x) => x.name === name);
            return (
              <option key={name} value={name}>
                {name} — {vs.map((v) => `${v.channel}${v.status === 'approved' ? '' : ` (${t('journeys.send.draftMark')})`}`).join(', ')}
              </option>
            );
          })}
        </select>
      </Field>
      {template && list.length > 0 && (
        <ul className="jn-variant-status">
          {list.map((c) => {
            const v = variants.find((x) => x.channel === c);
            const state = !v ? 'missing' : v.status === 'approved' || v.approved ? 'approved' : 'draft';
            return (
              <li key={c} className={`jn-variant-${state}`}>
                {t(state === 'missing' ? 'journeys.send.variantMissing' : state === 'approved' ? 'journeys.send.variantApproved' : 'journeys.send.variantDraft', { channel: c })}
              </li>
            );
          })}
        </ul>
      )}
      {template && <TemplatePreviewBox template={template} channel={list[0]} />}

      <fieldset className="jn-fieldset">
        <legend>{t('journeys.send.item')}</legend>
        <p className="muted small">{t('journeys.send.itemHint')}</p>
        <Field label={t('journeys.send.itemSource')}>
          <select
            value={itemSource}
            disabled={!editable}
            onChange={(e) => {
              const src = e.target.value;
              if (src === 'none') return set('item', undefined);
              const type = item?.type ?? '';
              if (src === 'fixed') return set('item', { type, id: item?.id ?? '' });
              return set('item', { type, id_from: `${src}.` });
            }}
          >
            <option value="none">{t('journeys.send.itemNone')}</option>
            <option value="fixed">{t('journeys.send.itemFixed')}</option>
            <option value="event">{t('journeys.send.itemFromEvent')}</option>
            <option value="profile">{t('journeys.send.itemFromProfile')}</option>
          </select>
        </Field>
        {item && (
          <>
            <TextInput label={t('journeys.send.itemType')} value={item.type} onChange={(v) => set('item', { ...item, type: v })} placeholder="fund" />
            {itemSource === 'fixed' ? (
              <TextInput label={t('journeys.send.itemId')} value={item.id} onChange={(v) => set('item', { ...item, id: v })} />
            ) : (
              <SuggestInput
                label={t('journeys.send.itemProperty')}
                value={String(item.id_from ?? '').replace(/^(event|profile)\./, '')}
                options={itemSource === 'profile' ? userProperties : eventProperties}
                onChange={(v) => set('item', { ...item, id_from: `${itemSource}.${v}` })}
              />
            )}
          </>
        )}
      </fieldset>

      <Field label={t('journeys.send.purpose')} hint={t('journeys.send.purposeHint')}>
        <select value={node.purpose === 'transactional' ? 'transactional' : 'marketing'} disabled={!editable} onChange={(e) => set('purpose', e.target.value === 'marketing' ? undefined : e.target.value)}>
          <option value="marketing">{t('journeys.send.marketing')}</option>
          <option value="transactional">{t('journeys.send.transactional')}</option>
        </select>
      </Field>
      {node.purpose === 'transactional' && <TextInput label={t('journeys.send.justification')} value={node.justification} onChange={(v) => set('justification', v)} />}
      <NextSelect node={node} set={set} id={id} />
    </>
  );
}

function TemplatePreviewBox({ template, channel }: { template: string; channel?: string }) {
  const { t } = useI18n();
  const { templates, project } = useRefs();
  const variant = templates.find((x) => x.name === template && x.channel === channel) ?? templates.find((x) => x.name === template);
  const [who, setWho] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [preview, setPreview] = useState<TemplatePreview | null>(null);
  useEffect(() => {
    setPreview(null);
    setError(null);
  }, [template, channel]);
  if (!variant) return null;
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      setPreview(await previewTemplate(project, template, { distinct_id: who.trim(), channel: variant.channel }));
    } catch (e) {
      setError(e);
      setPreview(null);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="jn-preview" role="region" aria-label={t('journeys.send.previewTitle')}>
      <h4>{t('journeys.send.previewTitle')}</h4>
      <p className="muted small">{t('journeys.send.previewRaw', { channel: variant.channel })}</p>
      {variant.subject && <p className="jn-preview-subject">{variant.subject}</p>}
      <pre className="code">{variant.body}</pre>
      <div className="jn-inline">
        <Field label={t('journeys.send.previewFor')}>
          <input type="text" value={who} placeholder="distinct_id" onChange={(e) => setWho(e.target.value)} />
        </Field>
        <button type="button" className="btn btn-small" disabled={busy || !who.trim()} onClick={() => void run()}>
          {t('journeys.send.previewRun')}
        </button>
      </div>
      {error ? <ErrorBox error={error} /> : null}
      {preview && (
        <div className="jn-preview-result" aria-label={t('journeys.send.previewResult')}>
          {preview.subject && <p className="jn-preview-subject">{preview.subject}</p>}
          <pre className="code">{preview.body}</pre>
          {preview.variables?.length > 0 && <p className="muted small">{preview.variables.join(' · ')}</p>}
        </div>
      )}
    </div>
  );
}

function WebhookForm({ node, set, id }: { node: JsonObject; set: (k: string, v: unknown) => void; id: string }) {
  const { t } = useI18n();
  const { channels, editable } = useRefs();
  const names = Object.keys(channels)
    .filter((n) => channels[n].type === 'webhook')
    .sort();
  const c = typeof node.channel === 'string' ? node.channel : '';
  return (
    <>
      <Field label={t('journeys.webhook.channel')} hint={t('journeys.webhook.channelHint')}>
        <select value={c} disabled={!editable} onChange={(e) => set('channel', e.target.value)}>
          <option value="">{t('journeys.send.chooseChannel')}</option>
          {c && !names.includes(c) && <option value={c}>{c}</option>}
          {names.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </Field>
      <JsonArea label={t('journeys.webhook.payload')} value={node.payload} onChange={(v) => set('payload', v)} hint={t('journeys.webhook.payloadHint')} />
      <NextSelect node={node} set={set} id={id} />
    </>
  );
}

function TaskForm({ node, set, onChange, id }: { node: JsonObject; set: (k: string, v: unknown) => void; onChange: (n: JsonObject) => void; id: string }) {
  const { t } = useI18n();
  const { userProperties, editable } = useRefs();
  const assign: JsonObject = node.assign && typeof node.assign === 'object' ? node.assign : {};
  const setAssign = (k: string, v: string) => {
    const a = { ...assign };
    if (v) a[k] = v;
    else delete a[k];
    onChange({ ...node, assign: a });
  };
  return (
    <>
      <Field label={t('journeys.task.title')} hint={t('journeys.task.titleHint')}>
        <textarea rows={3} value={node.title ?? ''} disabled={!editable} onChange={(e) => set('title', e.target.value)} />
      </Field>
      <SuggestInput label={t('journeys.task.assignProperty')} value={assign.property} options={userProperties} onChange={(v) => setAssign('property', v)} hint={t('journeys.task.assignPropertyHint')} />
      <TextInput label={t('journeys.task.pool')} value={assign.pool} onChange={(v) => setAssign('pool', v)} hint={t('journeys.task.poolHint')} />
      <DurationInput label={t('journeys.task.sla')} value={node.sla} onChange={(v) => set('sla', v)} hint={t('journeys.task.slaHint')} />
      <TextInput label={t('journeys.task.escalateTo')} value={node.escalate_to} onChange={(v) => set('escalate_to', v)} hint={t('journeys.task.escalateHint')} />
      <NextSelect node={node} set={set} id={id} />
    </>
  );
}

const WEEKDAYS = [1, 2, 3, 4, 5, 6, 7];

function WaitForm({ node, set, onChange, id }: { node: JsonObject; set: (k: string, v: unknown) => void; onChange: (n: JsonObject) => void; id: string }) {
  const { t, tx } = useI18n();
  const { events, editable } = useRefs();
  const mode = waitMode(node);
  const switchTo = (m: WaitMode) => {
    const base: JsonObject = { type: 'wait' };
    if (node.next) base.next = node.next;
    if (m === 'duration') base.duration = '1d';
    if (m === 'until') base.until = { time: '10:00' };
    if (m === 'event') Object.assign(base, { event: '', timeout: '3d' });
    onChange(base);
  };
  const weekdays: number[] = Array.isArray(node.until?.weekdays) ? node.until.weekdays : [];
  return (
    <>
      <Field label={t('journeys.wait.mode')}>
        <select value={mode} disabled={!editable} onChange={(e) => switchTo(e.target.value as WaitMode)}>
          <option value="duration">{t('journeys.wait.modeDuration')}</option>
          <option value="until">{t('journeys.wait.modeUntil')}</option>
          <option value="event">{t('journeys.wait.modeEvent')}</option>
        </select>
      </Field>
      {mode === 'duration' && (
        <>
          <DurationInput label={t('journeys.wait.duration')} value={node.duration} onChange={(v) => set('duration', v)} />
          <NextSelect node={node} set={set} id={id} />
        </>
      )}
      {mode === 'until' && (
        <>
          <Field label={t('journeys.wait.time')} hint={t('journeys.wait.timeHint')}>
            <input type="time" value={node.until?.time ?? ''} disabled={!editable} onChange={(e) => set('until', { ...(node.until || {}), time: e.target.value })} />
          </Field>
          <fieldset className="jn-fieldset">
            <legend>{t('journeys.wait.weekdays')}</legend>
            <div className="jn-inline jn-wrap">
              {WEEKDAYS.map((d) => (
                <Check
                  key={d}
                  label={tx(`journeys.weekday.${d}`, String(d))}
                  checked={weekdays.includes(d)}
                  onChange={(on) => {
                    const next = on ? [...weekdays, d].sort() : weekdays.filter((x) => x !== d);
                    const until = { ...(node.until || {}) };
                    if (next.length) until.weekdays = next;
                    else delete until.weekdays;
                    set('until', until);
                  }}
                />
              ))}
            </div>
            <p className="muted small">{t('journeys.wait.weekdaysHint')}</p>
          </fieldset>
          <NextSelect node={node} set={set} id={id} />
        </>
      )}
      {mode === 'event' && (
        <>
          <SuggestInput label={t('journeys.wait.event')} value={node.event} options={['$task_completed', ...events]} onChange={(v) => set('event', v)} hint={t('journeys.wait.eventHint')} />
          <WhereEditor label={t('journeys.wait.where')} value={node.where} onChange={(v) => set('where', v)} />
          <DurationInput label={t('journeys.wait.timeout')} value={node.timeout} onChange={(v) => set('timeout', v)} />
          <NodeSelect label={t('journeys.exit.eventLong')} value={node.next} onChange={(v) => set('next', v)} exclude={id} />
          <NodeSelect label={t('journeys.exit.timeoutLong')} value={node.timeout_next} onChange={(v) => set('timeout_next', v)} exclude={id} />
        </>
      )}
    </>
  );
}

function AbForm({ node, onChange, id }: { node: JsonObject; onChange: (n: JsonObject) => void; id: string }) {
  const { t } = useI18n();
  const { editable } = useRefs();
  const branches: JsonObject[] = Array.isArray(node.branches) ? node.branches : [];
  const setBranches = (bs: JsonObject[]) => onChange({ ...node, branches: bs });
  const total = branches.reduce((a, b) => a + (typeof b.weight === 'number' && b.weight > 0 ? b.weight : 0), 0);
  return (
    <fieldset className="jn-fieldset">
      <legend>{t('journeys.ab.branches')}</legend>
      <p className="muted small">{t('journeys.ab.hint')}</p>
      {branches.map((b, i) => (
        <div className="jn-branch" key={i}>
          <TextInput label={t('journeys.ab.name', { n: i + 1 })} value={b.name} onChange={(v) => setBranches(branches.map((x, j) => (j === i ? { ...x, name: v } : x)))} />
          <Field label={t('journeys.ab.weight')} className="field field-narrow" hint={total > 0 && typeof b.weight === 'number' ? `${Math.round((b.weight / total) * 1000) / 10}%` : undefined}>
            <input
              type="number"
              min={0}
              step="any"
              value={typeof b.weight === 'number' ? b.weight : ''}
              disabled={!editable}
              onChange={(e) => setBranches(branches.map((x, j) => (j === i ? { ...x, weight: e.target.value === '' ? undefined : Number(e.target.value) } : x)))}
            />
          </Field>
          <NodeSelect label={t('journeys.ab.next')} value={b.next} onChange={(v) => setBranches(branches.map((x, j) => (j === i ? { ...x, next: v } : x)))} exclude={id} />
          {editable && branches.length > 2 && (
            <button type="button" className="btn btn-small btn-ghost" onClick={() => setBranches(branches.filter((_, j) => j !== i))}>
              {t('journeys.cond.remove')}
            </button>
          )}
        </div>
      ))}
      {editable && (
        <button type="button" className="btn btn-small" onClick={() => setBranches([...branches, { name: String.fromCharCode(65 + branches.length), weight: 50, next: '' }])}>
          {t('journeys.ab.add')}
        </button>
      )}
    </fieldset>
  );
}

function UpdateProfileForm({ node, set, id }: { node: JsonObject; set: (k: string, v: unknown) => void; id: string }) {
  const { t } = useI18n();
  const { editable, userProperties } = useRefs();
  const entries = Object.entries((node.set as JsonObject) || {});
  const [rows, setRows] = useState<[string, string][]>(() => entries.map(([k, v]) => [k, valueText(v)]));
  useEffect(() => {
    const current = JSON.stringify(Object.fromEntries(rows.filter(([k]) => k).map(([k, v]) => [k, typedValue(v)])));
    if (current !== JSON.stringify(node.set || {})) setRows(Object.entries((node.set as JsonObject) || {}).map(([k, v]) => [k, valueText(v)]));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [node.set]);
  const emit = (rs: [string, string][]) => {
    setRows(rs);
    set('set', Object.fromEntries(rs.filter(([k]) => k.trim()).map(([k, v]) => [k.trim(), typedValue(v)])));
  };
  const listId = `jn-up-${id}`;
  return (
    <>
      <fieldset className="jn-fieldset">
        <legend>{t('journeys.update.set')}</legend>
        <p className="muted small">{t('journeys.update.hint')}</p>
        {rows.map(([k, v], i) => (
          <div className="jn-cond-row" key={i}>
            <input type="text" aria-label={t('journeys.update.property')} placeholder={t('journeys.update.property')} list={listId} value={k} disabled={!editable} onChange={(e) => emit(rows.map((r, j) => (j === i ? [e.target.value, r[1]] : r)))} />
            <input type="text" aria-label={t('journeys.update.value')} placeholder={t('journeys.update.value')} value={v} disabled={!editable} onChange={(e) => emit(rows.map((r, j) => (j === i ? [r[0], e.target.value] : r)))} />
            {editable && (
              <button type="button" className="btn btn-small btn-ghost" onClick={() => emit(rows.filter((_, j) => j !== i))}>
                {t('journeys.cond.remove')}
              </button>
            )}
          </div>
        ))}
        <datalist id={listId}>
          {userProperties.map((p) => (
            <option key={p} value={p} />
          ))}
        </datalist>
        {editable && (
          <button type="button" className="btn btn-small" onClick={() => setRows([...rows, ['', '']])}>
            {t('journeys.cond.add')}
          </button>
        )}
      </fieldset>
      <NextSelect node={node} set={set} id={id} />
    </>
  );
}

/** Exits still to connect, for the panel's summary. */
export function openExits(node: JsonObject): number {
  return nodeExits(node).filter((e) => !e.optional && !e.target).length;
}
