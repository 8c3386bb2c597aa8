// The project's touch rules as a form (docs/touch-rules.md): caps, quiet hours, the priority
// window, suitability, content compliance, blacklist, consent. Fields the form does not know
// are kept as they were; the JSON view shows (and can edit) exactly what is saved.
import { useEffect, useState, type FormEvent } from 'react';
import { useAuth } from '../../auth/AuthContext';
import { useI18n } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import { getTouchRules, putTouchRules, type TouchRules } from '../../api/rules';
import { ErrorBox, Loading } from '../../components/Feedback';
import { Field } from '../../components/Field';
import { Ctl } from '../segments/RuleBuilder';

interface CapRow {
  channel: string;
  count: string;
  per: string;
}
interface QuietRow {
  channel: string;
  from: string;
  to: string;
  action: 'defer' | 'drop';
}
interface BlackRow {
  channel: string;
  ids: string;
}
interface FormState {
  caps: CapRow[];
  quiet: QuietRow[];
  priorityWindow: string;
  suit: { item_property: string; customer_property: string; assessed_at_property: string; max_assessment_age: string; item_levels: string; customer_levels: string };
  forbidden: string;
  disclosures: string;
  blacklist: BlackRow[];
  consentRequired: boolean;
}

const DEFAULT_SUIT = {
  item_property: 'risk_level',
  customer_property: 'risk_level',
  assessed_at_property: 'risk_assessed_at',
  max_assessment_age: '365d',
  item_levels: 'R1, R2, R3, R4, R5',
  customer_levels: 'C1, C2, C3, C4, C5',
};
const DEFAULT_FORBIDDEN = '保本\n稳赚\n零风险\n保收益\n无风险';
const DEFAULT_DISCLOSURES = '投资有风险\n保险有风险\n理财有风险';

const list = (s: string, sep: RegExp) =>
  s
    .split(sep)
    .map((x) => x.trim())
    .filter(Boolean);

function toForm(r: TouchRules): FormState {
  const su = r.suitability || {};
  return {
    caps: (r.caps || []).map((c) => ({ channel: c.channel, count: String(c.count), per: c.per })),
    quiet: (r.quiet_hours || []).map((q) => ({ ...q })),
    priorityWindow: r.priority_window || '',
    suit: {
      item_property: su.item_property || '',
      customer_property: su.customer_property || '',
      assessed_at_property: su.assessed_at_property || '',
      max_assessment_age: su.max_assessment_age || '',
      item_levels: (su.item_levels || []).join(', '),
      customer_levels: (su.customer_levels || []).join(', '),
    },
    forbidden: r.forbidden_phrases === undefined ? '' : r.forbidden_phrases.join('\n'),
    disclosures: r.risk_disclosures === undefined ? '' : r.risk_disclosures.join('\n'),
    blacklist: Object.entries(r.blacklist || {}).map(([channel, ids]) => ({ channel, ids: ids.join('\n') })),
    consentRequired: !!r.consent_required,
  };
}

/** The rules to store: the loaded object with the form's fields replaced. */
function fromForm(base: TouchRules, f: FormState): TouchRules {
  const out: TouchRules = { ...base };
  out.caps = f.caps.map((c) => ({ channel: c.channel.trim() || '*', count: Number(c.count), per: c.per.trim() }));
  out.quiet_hours = f.quiet.map((q) => ({ channel: q.channel.trim() || '*', from: q.from, to: q.to, action: q.action }));
  if (f.priorityWindow.trim()) out.priority_window = f.priorityWindow.trim();
  else delete out.priority_window;
  const su: Record<string, unknown> = {};
  for (const k of ['item_property', 'customer_property', 'assessed_at_property', 'max_assessment_age'] as const) if (f.suit[k].trim()) su[k] = f.suit[k].trim();
  if (f.suit.item_levels.trim()) su.item_levels = list(f.suit.item_levels, /[,，\s]+/);
  if (f.suit.customer_levels.trim()) su.customer_levels = list(f.suit.customer_levels, /[,，\s]+/);
  if (Object.keys(su).length) out.suitability = su;
  else delete out.suitability;
  // Empty keeps an explicitly empty stored list (no check) as it was, else means the defaults.
  if (f.forbidden.trim()) out.forbidden_phrases = list(f.forbidden, /\n/);
  else if (!(Array.isArray(base.forbidden_phrases) && base.forbidden_phrases.length === 0)) delete out.forbidden_phrases;
  if (f.disclosures.trim()) out.risk_disclosures = list(f.disclosures, /\n/);
  else if (!(Array.isArray(base.risk_disclosures) && base.risk_disclosures.length === 0)) delete out.risk_disclosures;
  const bl: Record<string, string[]> = {};
  for (const b of f.blacklist) {
    const ids = list(b.ids, /[\n,，\s]+/);
    if (ids.length) bl[b.channel.trim() || '*'] = [...(bl[b.channel.trim() || '*'] || []), ...ids];
  }
  if (Object.keys(bl).length) out.blacklist = bl;
  else delete out.blacklist;
  out.consent_required = f.consentRequired;
  return out;
}

export function TouchRulesForm({ project, channels }: { project: string; channels: string[] }) {
  const { t } = useI18n();
  const { can } = useAuth();
  const editable = can('rules.write');
  const loaded = useAsync((s) => getTouchRules(project, s), [project]);
  const [form, setForm] = useState<FormState | null>(null);
  const [view, setView] = useState<'form' | 'json'>('form');
  const [jsonText, setJsonText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    if (loaded.data) setForm(toForm(loaded.data));
  }, [loaded.data]);

  if (loaded.error) return <ErrorBox error={loaded.error} onRetry={loaded.reload} />;
  if (!form || !loaded.data) return <Loading />;
  const base = loaded.data;
  const set = (patch: Partial<FormState>) => {
    setSaved(false);
    setForm({ ...form, ...patch });
  };
  const channelOptions = ['*', ...channels];
  const channelPick = (label: string, value: string, onChange: (v: string) => void) => (
    <Ctl label={label}>
      <select value={value} onChange={(e) => onChange(e.target.value)} disabled={!editable}>
        {!channelOptions.includes(value) && <option value={value}>{value}</option>}
        {channelOptions.map((c) => (
          <option key={c} value={c}>
            {c === '*' ? t('channels.allChannels') : c}
          </option>
        ))}
      </select>
    </Ctl>
  );

  const store = async (rules: TouchRules) => {
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      await putTouchRules(project, rules);
      setSaved(true);
      loaded.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void store(fromForm(base, form));
  };
  const openJson = () => {
    setJsonText(JSON.stringify(fromForm(base, form), null, 2));
    setJsonError(null);
    setView('json');
  };
  const saveJson = () => {
    let v: unknown;
    try {
      v = JSON.parse(jsonText);
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(t('channels.rules.jsonObject'));
    } catch (err) {
      setJsonError((err as Error).message);
      return;
    }
    void store(v as TouchRules);
  };

  const rowBtn = (label: string, onClick: () => void) =>
    editable && (
      <button type="button" className="btn btn-small btn-ghost" aria-label={label} onClick={onClick}>
        ×
      </button>
    );

  return (
    <div>
      <div className="card-head">
        <p className="muted small">{Object.keys(base).length === 0 ? t('channels.rules.defaultsInUse') : t('channels.rules.lead')}</p>
        <div role="group" aria-label={t('channels.rules.view')} className="segmented">
          <button type="button" aria-pressed={view === 'form'} className={view === 'form' ? 'active' : undefined} onClick={() => setView('form')}>
            {t('channels.rules.formView')}
          </button>
          <button type="button" aria-pressed={view === 'json'} className={view === 'json' ? 'active' : undefined} onClick={openJson}>
            JSON
          </button>
        </div>
      </div>
      {saved && (
        <p className="success" role="status">
          {t('channels.rules.saved')}
        </p>
      )}
      <ErrorBox error={error} />
      {view === 'json' ? (
        <div className="form-stack">
          <Field label={t('channels.rules.json')}>
            <textarea className="rb-raw" rows={20} value={jsonText} onChange={(e) => setJsonText(e.target.value)} readOnly={!editable} spellCheck={false} />
          </Field>
          {jsonError && (
            <p className="form-error" role="alert">
              {jsonError}
            </p>
          )}
          {editable && (
            <div className="form-actions">
              <button type="button" className="btn btn-primary" onClick={saveJson} disabled={busy}>
                {t('channels.rules.saveJson')}
              </button>
            </div>
          )}
        </div>
      ) : (
        <form onSubmit={submit} aria-label={t('channels.rules.title')}>
          <fieldset disabled={!editable}>
            <legend>{t('channels.rules.caps')}</legend>
            <p className="muted small">{t('channels.rules.capsHint')}</p>
            {form.caps.map((c, i) => {
              const p = t('channels.rules.capN', { n: i + 1 });
              const upd = (patch: Partial<CapRow>) => set({ caps: form.caps.map((x, k) => (k === i ? { ...x, ...patch } : x)) });
              return (
                <div key={i} className="rb-row">
                  <span className="rb-tagline">{p}</span>
                  {channelPick(`${p} · ${t('channels.rules.channel')}`, c.channel, (v) => upd({ channel: v }))}
                  <span>{t('channels.rules.atMost')}</span>
                  <Ctl label={`${p} · ${t('channels.rules.count')}`}>
                    <input className="rb-short" type="number" min={1} value={c.count} onChange={(e) => upd({ count: e.target.value })} required />
                  </Ctl>
                  <span>{t('channels.rules.timesPer')}</span>
                  <Ctl label={`${p} · ${t('channels.rules.per')}`}>
                    <input className="rb-short" value={c.per} onChange={(e) => upd({ per: e.target.value })} list="cap-periods" required />
                  </Ctl>
                  {rowBtn(t('segments.rb.removeNamed', { name: p }), () => set({ caps: form.caps.filter((_, k) => k !== i) }))}
                </div>
              );
            })}
            <datalist id="cap-periods">
              <option value="day" />
              <option value="week" />
              <option value="24h" />
              <option value="7d" />
            </datalist>
            {editable && (
              <div>
                <button type="button" className="btn btn-small" onClick={() => set({ caps: [...form.caps, { channel: '*', count: '3', per: 'week' }] })}>
                  + {t('channels.rules.addCap')}
                </button>
              </div>
            )}
          </fieldset>

          <fieldset disabled={!editable}>
            <legend>{t('channels.rules.quiet')}</legend>
            <p className="muted small">{t('channels.rules.quietHint')}</p>
            {form.quiet.map((q, i) => {
              const p = t('channels.rules.quietN', { n: i + 1 });
              const upd = (patch: Partial<QuietRow>) => set({ quiet: form.quiet.map((x, k) => (k === i ? { ...x, ...patch } : x)) });
              return (
                <div key={i} className="rb-row">
                  <span className="rb-tagline">{p}</span>
                  {channelPick(`${p} · ${t('channels.rules.channel')}`, q.channel, (v) => upd({ channel: v }))}
                  <Ctl label={`${p} · ${t('channels.rules.from')}`}>
                    <input type="time" value={q.from} onChange={(e) => upd({ from: e.target.value })} required />
                  </Ctl>
                  <span aria-hidden="true">~</span>
                  <Ctl label={`${p} · ${t('channels.rules.to')}`}>
                    <input type="time" value={q.to} onChange={(e) => upd({ to: e.target.value })} required />
                  </Ctl>
                  <Ctl label={`${p} · ${t('channels.rules.action')}`}>
                    <select value={q.action} onChange={(e) => upd({ action: e.target.value as 'defer' | 'drop' })}>
                      <option value="defer">{t('channels.rules.defer')}</option>
                      <option value="drop">{t('channels.rules.drop')}</option>
                    </select>
                  </Ctl>
                  {rowBtn(t('segments.rb.removeNamed', { name: p }), () => set({ quiet: form.quiet.filter((_, k) => k !== i) }))}
                </div>
              );
            })}
            {editable && (
              <div>
                <button type="button" className="btn btn-small" onClick={() => set({ quiet: [...form.quiet, { channel: '*', from: '21:00', to: '08:00', action: 'defer' }] })}>
                  + {t('channels.rules.addQuiet')}
                </button>
              </div>
            )}
          </fieldset>

          <fieldset disabled={!editable}>
            <legend>{t('channels.rules.priority')}</legend>
            <Field label={t('channels.rules.priorityWindow')} hint={t('channels.rules.priorityHint')}>
              <input value={form.priorityWindow} onChange={(e) => set({ priorityWindow: e.target.value })} placeholder="1h" />
            </Field>
          </fieldset>

          <fieldset disabled={!editable}>
            <legend>{t('channels.rules.suitability')}</legend>
            <p className="muted small">{t('channels.rules.suitabilityHint')}</p>
            <div className="form-row">
              {(['item_property', 'customer_property', 'assessed_at_property', 'max_assessment_age'] as const).map((k) => (
                <Field key={k} label={t(`channels.rules.suit.${k}`)}>
                  <input value={form.suit[k]} placeholder={DEFAULT_SUIT[k]} onChange={(e) => set({ suit: { ...form.suit, [k]: e.target.value } })} />
                </Field>
              ))}
            </div>
            <div className="form-row">
              {(['item_levels', 'customer_levels'] as const).map((k) => (
                <Field key={k} label={t(`channels.rules.suit.${k}`)} className="field grow">
                  <input value={form.suit[k]} placeholder={DEFAULT_SUIT[k]} onChange={(e) => set({ suit: { ...form.suit, [k]: e.target.value } })} />
                </Field>
              ))}
            </div>
          </fieldset>

          <fieldset disabled={!editable}>
            <legend>{t('channels.rules.content')}</legend>
            <div className="form-row">
              <Field label={t('channels.rules.forbidden')} hint={t('channels.rules.onePerLine')} className="field grow">
                <textarea rows={5} value={form.forbidden} placeholder={base.forbidden_phrases?.length === 0 ? t('channels.rules.noneStored') : DEFAULT_FORBIDDEN} onChange={(e) => set({ forbidden: e.target.value })} />
              </Field>
              <Field label={t('channels.rules.disclosures')} hint={t('channels.rules.onePerLine')} className="field grow">
                <textarea rows={5} value={form.disclosures} placeholder={base.risk_disclosures?.length === 0 ? t('channels.rules.noneStored') : DEFAULT_DISCLOSURES} onChange={(e) => set({ disclosures: e.target.value })} />
              </Field>
            </div>
          </fieldset>

          <fieldset disabled={!editable}>
            <legend>{t('channels.rules.blacklist')}</legend>
            <p className="muted small">{t('channels.rules.blacklistHint')}</p>
            {form.blacklist.map((b, i) => {
              const p = t('channels.rules.blackN', { n: i + 1 });
              const upd = (patch: Partial<BlackRow>) => set({ blacklist: form.blacklist.map((x, k) => (k === i ? { ...x, ...patch } : x)) });
              return (
                <div key={i} className="rb-row">
                  <span className="rb-tagline">{p}</span>
                  {channelPick(`${p} · ${t('channels.rules.channel')}`, b.channel, (v) => upd({ channel: v }))}
                  <Ctl label={`${p} · ${t('channels.rules.ids')}`}>
                    <textarea rows={2} cols={40} value={b.ids} onChange={(e) => upd({ ids: e.target.value })} placeholder="u_complaint_0042" />
                  </Ctl>
                  {rowBtn(t('segments.rb.removeNamed', { name: p }), () => set({ blacklist: form.blacklist.filter((_, k) => k !== i) }))}
                </div>
              );
            })}
            {editable && (
              <div>
                <button type="button" className="btn btn-small" onClick={() => set({ blacklist: [...form.blacklist, { channel: '*', ids: '' }] })}>
                  + {t('channels.rules.addBlack')}
                </button>
              </div>
            )}
          </fieldset>

          <fieldset disabled={!editable}>
            <legend>{t('channels.rules.consent')}</legend>
            <label className="field-check">
              <input type="checkbox" checked={form.consentRequired} onChange={(e) => set({ consentRequired: e.target.checked })} />
              <span>{t('channels.rules.consentRequired')}</span>
            </label>
            <p className="muted small">{t('channels.rules.consentHint')}</p>
          </fieldset>
          {editable ? (
            <div className="form-actions">
              <button type="button" className="btn" onClick={() => setForm(toForm(base))}>
                {t('channels.rules.reset')}
              </button>
              <button type="submit" className="btn btn-primary" disabled={busy}>
                {busy ? t('segments.saving') : t('channels.rules.save')}
              </button>
            </div>
          ) : (
            <p className="muted small">{t('channels.readOnly')}</p>
          )}
        </form>
      )}
    </div>
  );
}
