// Channels & rules (渠道与触达规则): the touch rules form, delivery channels (list and
// configure), the template library (preview, edit, approve — maker-checker is enforced by the
// server) and one customer's consent.
import { useState, type FormEvent } from 'react';
import { useAuth } from '../../auth/AuthContext';
import { useProject } from '../../auth/ProjectContext';
import { useI18n, type MessageKey } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import {
  approveTemplate,
  getChannels,
  getTemplates,
  putChannel,
  putConsent,
  putTemplate,
  renderTemplate,
  testChannel,
  type Channel,
  type ConsentAnswer,
  type RenderedTemplate,
  type TemplateVariant,
  type TestSendResult,
} from '../../api/rules';
import { EmptyState, ErrorBox, Loading } from '../../components/Feedback';
import { Field } from '../../components/Field';
import { DialogActions, Modal } from '../../components/Modal';
import { Tabs } from '../../components/Tabs';
import { TouchRulesForm } from './TouchRulesForm';
import '../segments/audience.css';

type Tab = 'rules' | 'channels' | 'templates' | 'consent';

const TYPES = ['webhook', 'http_push', 'tencent_sms', 'wechat_template', 'smtp', 'inapp'] as const;
type FieldName = 'url' | 'secret' | 'key_id' | 'sender' | 'sign_name' | 'region' | 'timeout_ms' | 'connections' | 'recipient_property';
const NUMBER_FIELDS: FieldName[] = ['timeout_ms', 'connections'];
/** Fields per channel type, required ones marked (docs/channels.md "Configuration"). */
const FIELDS: Record<string, [FieldName, boolean][]> = {
  webhook: [
    ['url', true],
    ['secret', false],
    ['timeout_ms', false],
    ['connections', false],
    ['recipient_property', false],
  ],
  http_push: [
    ['url', true],
    ['secret', false],
    ['timeout_ms', false],
    ['connections', false],
    ['recipient_property', false],
  ],
  tencent_sms: [
    ['url', false],
    ['key_id', true],
    ['secret', true],
    ['sender', true],
    ['sign_name', false],
    ['region', false],
    ['timeout_ms', false],
    ['recipient_property', false],
  ],
  wechat_template: [
    ['url', true],
    ['sender', true],
    ['timeout_ms', false],
    ['recipient_property', false],
  ],
  smtp: [
    ['url', true],
    ['sender', true],
    ['timeout_ms', false],
    ['recipient_property', false],
  ],
  inapp: [],
};

function ChannelModal({ project, name: initialName, config, onClose }: { project: string; name?: string; config?: Channel; onClose: (saved: boolean) => void }) {
  const { t, tx } = useI18n();
  const [name, setName] = useState(initialName || '');
  const [type, setType] = useState<string>(config?.type || 'webhook');
  const [values, setValues] = useState<Record<string, string>>(() => {
    const v: Record<string, string> = {};
    if (config) for (const [k, x] of Object.entries(config)) if (k !== 'type' && x !== undefined && x !== null) v[k] = String(x);
    return v;
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fields = FIELDS[type] || [];
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const body: Channel = { type };
    for (const [f] of fields) {
      const v = (values[f] || '').trim();
      if (!v) continue;
      (body as Record<string, unknown>)[f] = NUMBER_FIELDS.includes(f) ? Number(v) : v;
    }
    setBusy(true);
    setError(null);
    try {
      await putChannel(project, name.trim(), body);
      onClose(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={initialName ? t('channels.configureNamed', { name: initialName }) : t('channels.add')} onClose={() => onClose(false)}>
      <form className="form-stack" onSubmit={submit}>
        <div className="form-row">
          <Field label={t('channels.name')} hint={t('channels.nameHint')}>
            <input value={name} onChange={(e) => setName(e.target.value)} required disabled={!!initialName} pattern="[A-Za-z0-9_.\-]+" />
          </Field>
          <Field label={t('channels.type')}>
            <select value={type} onChange={(e) => setType(e.target.value)}>
              {TYPES.map((x) => (
                <option key={x} value={x}>
                  {tx(`channels.type.${x}`, x)}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <p className="muted small">{tx(`channels.typeHint.${type}`, '')}</p>
        {fields.map(([f, required]) => (
          <Field key={f} label={`${t(`channels.field.${f}` as MessageKey)}${required ? ' *' : ''}`} hint={tx(`channels.fieldHint.${f}`, '')}>
            <input
              type={f === 'secret' ? 'password' : NUMBER_FIELDS.includes(f) ? 'number' : 'text'}
              value={values[f] || ''}
              onChange={(e) => setValues({ ...values, [f]: e.target.value })}
              required={required}
              autoComplete="off"
              spellCheck={false}
            />
          </Field>
        ))}
        {initialName && fields.some(([f]) => f === 'secret') && <p className="notice">{t('channels.secretAgain')}</p>}
        <ErrorBox error={error} />
        <DialogActions confirm={t('common.save')} onCancel={() => onClose(false)} busy={busy} />
      </form>
    </Modal>
  );
}

/** Channel types whose test-send subject is the provider's template id (docs/channels.md "Test send"). */
const TEMPLATE_ID_SUBJECT = ['tencent_sms', 'wechat_template'];

function TestSendModal({ project, name, config, onClose }: { project: string; name: string; config: Channel; onClose: () => void }) {
  const { t, n } = useI18n();
  const [recipient, setRecipient] = useState('');
  const [subject, setSubject] = useState('');
  const [body, setBody] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [out, setOut] = useState<TestSendResult | null>(null);
  const templateId = TEMPLATE_ID_SUBJECT.includes(config.type);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setOut(null);
    try {
      setOut(
        await testChannel(project, name, {
          recipient: recipient.trim(),
          ...(subject.trim() ? { subject: subject.trim() } : {}),
          ...(body ? { body } : {}),
        }),
      );
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={t('channels.test.titleNamed', { name })} onClose={onClose}>
      <form className="form-stack" onSubmit={submit}>
        <p className="muted small">{t('channels.test.lead')}</p>
        <Field label={t('channels.test.recipient')} hint={t('channels.test.recipientHint')}>
          <input value={recipient} onChange={(e) => setRecipient(e.target.value)} required autoComplete="off" spellCheck={false} />
        </Field>
        <Field label={templateId ? t('channels.test.templateId') : t('channels.test.subject')} hint={t('channels.test.subjectHint')}>
          <input value={subject} onChange={(e) => setSubject(e.target.value)} required={templateId} autoComplete="off" />
        </Field>
        <Field label={t('channels.test.body')} hint={t('channels.test.bodyHint')}>
          <textarea rows={4} value={body} onChange={(e) => setBody(e.target.value)} />
        </Field>
        <ErrorBox error={error} />
        {out &&
          (out.delivered ? (
            <div className="success" role="status" aria-label={t('channels.test.outcome')}>
              <strong>{t('channels.test.delivered')}</strong>
              <p className="small">
                {t('channels.test.deliveredDetail', { status: out.status, ms: n(out.elapsed_ms) })}
                {out.provider_id && <> · {t('channels.test.providerId', { id: out.provider_id })}</>}
              </p>
            </div>
          ) : (
            <div className="error-box" role="status" aria-label={t('channels.test.outcome')}>
              <strong>{t('channels.test.failed')}</strong>
              <p>{out.error || '—'}</p>
              <p className="muted small">
                {out.status ? `${t('channels.test.status', { status: out.status })} · ` : ''}
                {out.retryable ? t('channels.test.retryable') : t('channels.test.notRetryable')} · {t('channels.test.elapsed', { ms: n(out.elapsed_ms) })}
              </p>
            </div>
          ))}
        <DialogActions confirm={busy ? t('channels.test.sending') : t('channels.test.send')} cancelLabel={t('common.close')} onCancel={onClose} busy={busy} />
      </form>
    </Modal>
  );
}

function ChannelsTab({ project, channels, reload }: { project: string; channels: { data?: Record<string, Channel>; error: unknown; loading: boolean }; reload: () => void }) {
  const { t, tx } = useI18n();
  const { can } = useAuth();
  const [editing, setEditing] = useState<{ name?: string; config?: Channel } | null>(null);
  const [testing, setTesting] = useState<{ name: string; config: Channel } | null>(null);
  const entries = Object.entries(channels.data || {});
  return (
    <>
      <div className="card-head">
        <p className="muted small">{t('channels.lead')}</p>
        {can('rules.write') && (
          <button type="button" className="btn btn-small btn-primary" onClick={() => setEditing({})}>
            {t('channels.add')}
          </button>
        )}
      </div>
      {channels.error ? <ErrorBox error={channels.error} onRetry={reload} /> : null}
      {channels.loading && !channels.data && <Loading />}
      {channels.data &&
        (entries.length === 0 ? (
          <EmptyState title={t('channels.empty')}>{t('channels.emptyHint')}</EmptyState>
        ) : (
          <div className="table-wrap">
            <table className="table" aria-label={t('channels.list')}>
              <thead>
                <tr>
                  <th scope="col">{t('channels.name')}</th>
                  <th scope="col">{t('channels.type')}</th>
                  <th scope="col">{t('channels.field.url')}</th>
                  <th scope="col">{t('channels.field.recipient_property')}</th>
                  <th scope="col">{t('channels.other')}</th>
                  {can('rules.write') && <th scope="col">{t('common.actions')}</th>}
                </tr>
              </thead>
              <tbody>
                {entries.map(([name, c]) => (
                  <tr key={name}>
                    <td className="mono">{name}</td>
                    <td>{tx(`channels.type.${c.type}`, c.type)}</td>
                    <td className="mono small">{c.url || '—'}</td>
                    <td>{c.recipient_property || <span className="muted">{t('channels.defaultRecipient')}</span>}</td>
                    <td className="small">
                      {Object.entries(c)
                        .filter(([k]) => !['type', 'url', 'recipient_property'].includes(k))
                        .map(([k, v]) => `${k}=${String(v)}`)
                        .join(' · ')}
                    </td>
                    {can('rules.write') && (
                      <td className="nowrap">
                        <button type="button" className="btn btn-small" onClick={() => setEditing({ name, config: c })} aria-label={t('channels.configureNamed', { name })}>
                          {t('channels.configure')}
                        </button>
                        {c.type !== 'inapp' && (
                          <>
                            {' '}
                            <button type="button" className="btn btn-small" onClick={() => setTesting({ name, config: c })} aria-label={t('channels.test.titleNamed', { name })}>
                              {t('channels.test.action')}
                            </button>
                          </>
                        )}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      {can('rules.write') && <p className="muted small">{t('channels.test.note')}</p>}
      {editing && (
        <ChannelModal
          project={project}
          name={editing.name}
          config={editing.config}
          onClose={(saved) => {
            setEditing(null);
            if (saved) reload();
          }}
        />
      )}
      {testing && <TestSendModal project={project} name={testing.name} config={testing.config} onClose={() => setTesting(null)} />}
    </>
  );
}

function PreviewModal({ project, tpl, onClose }: { project: string; tpl: TemplateVariant; onClose: () => void }) {
  const { t } = useI18n();
  const [distinctId, setDistinctId] = useState('');
  const [itemType, setItemType] = useState('');
  const [itemId, setItemId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [out, setOut] = useState<RenderedTemplate | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setOut(
        await renderTemplate(project, tpl.name, {
          distinct_id: distinctId.trim(),
          channel: tpl.channel,
          ...(itemType && itemId ? { item: { type: itemType.trim(), id: itemId.trim() } } : {}),
        }),
      );
    } catch (err) {
      setError(err);
      setOut(null);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={t('channels.tpl.previewNamed', { name: tpl.name, channel: tpl.channel })} onClose={onClose}>
      <form className="form-stack" onSubmit={submit}>
        <p className="muted small">{t('channels.tpl.previewHint')}</p>
        <Field label={t('channels.tpl.customer')}>
          <input value={distinctId} onChange={(e) => setDistinctId(e.target.value)} required />
        </Field>
        {tpl.recommends_item && (
          <div className="form-row">
            <Field label={t('channels.tpl.itemType')}>
              <input value={itemType} onChange={(e) => setItemType(e.target.value)} placeholder="fund" />
            </Field>
            <Field label={t('channels.tpl.itemId')}>
              <input value={itemId} onChange={(e) => setItemId(e.target.value)} />
            </Field>
          </div>
        )}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {t('channels.tpl.render')}
          </button>
        </div>
        <ErrorBox error={error} />
        {out && (
          <div className="card" aria-label={t('channels.tpl.rendered')} role="region">
            {out.subject && (
              <p>
                <strong>{out.subject}</strong>
              </p>
            )}
            <pre className="code">{out.body}</pre>
            {out.variables.length > 0 && <p className="muted small">{t('channels.tpl.variables', { list: out.variables.join(' · ') })}</p>}
          </div>
        )}
      </form>
    </Modal>
  );
}

function TemplateModal({ project, tpl, channels, onClose }: { project: string; tpl?: TemplateVariant; channels: string[]; onClose: (saved: boolean) => void }) {
  const { t } = useI18n();
  const { account } = useAuth();
  const adminToken = account?.kind === 'admin_token';
  const [name, setName] = useState(tpl?.name || '');
  const [channel, setChannel] = useState(tpl?.channel || channels[0] || '');
  const [subject, setSubject] = useState(tpl?.subject || '');
  const [body, setBody] = useState(tpl?.body || '');
  const [recommends, setRecommends] = useState(!!tpl?.recommends_item);
  const [operator, setOperator] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await putTemplate(project, name.trim(), { channel, subject, body, recommends_item: recommends }, adminToken ? operator.trim() : undefined);
      onClose(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={tpl ? t('channels.tpl.editNamed', { name: tpl.name, channel: tpl.channel }) : t('channels.tpl.add')} onClose={() => onClose(false)}>
      <form className="form-stack" onSubmit={submit}>
        <div className="form-row">
          <Field label={t('channels.tpl.name')}>
            <input value={name} onChange={(e) => setName(e.target.value)} required disabled={!!tpl} />
          </Field>
          <Field label={t('channels.tpl.channel')}>
            <select value={channel} onChange={(e) => setChannel(e.target.value)} required disabled={!!tpl}>
              {!channels.includes(channel) && <option value={channel}>{channel || '—'}</option>}
              {channels.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <Field label={t('channels.tpl.subject')} hint={t('channels.tpl.subjectHint')}>
          <input value={subject} onChange={(e) => setSubject(e.target.value)} />
        </Field>
        <Field label={t('channels.tpl.body')} hint={t('channels.tpl.bodyHint')}>
          <textarea rows={6} value={body} onChange={(e) => setBody(e.target.value)} required />
        </Field>
        <label className="field-check">
          <input type="checkbox" checked={recommends} onChange={(e) => setRecommends(e.target.checked)} />
          <span>{t('channels.tpl.recommends')}</span>
        </label>
        {adminToken && (
          <Field label={t('channels.tpl.operator')} hint={t('channels.tpl.operatorHint')}>
            <input value={operator} onChange={(e) => setOperator(e.target.value)} />
          </Field>
        )}
        <p className="muted small">{t('channels.tpl.draftHint')}</p>
        <ErrorBox error={error} />
        <DialogActions confirm={t('common.save')} onCancel={() => onClose(false)} busy={busy} />
      </form>
    </Modal>
  );
}

function ApproveModal({ project, name, onClose }: { project: string; name: string; onClose: (done: boolean) => void }) {
  const { t } = useI18n();
  const { account } = useAuth();
  const adminToken = account?.kind === 'admin_token';
  const [operator, setOperator] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await approveTemplate(project, name, adminToken ? operator.trim() : undefined);
      onClose(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={t('channels.tpl.approveNamed', { name })} onClose={() => onClose(false)}>
      <form className="form-stack" onSubmit={submit}>
        <p>{t('channels.tpl.approveHint')}</p>
        {adminToken && (
          <Field label={t('channels.tpl.operator')} hint={t('channels.tpl.operatorHint')}>
            <input value={operator} onChange={(e) => setOperator(e.target.value)} required />
          </Field>
        )}
        <ErrorBox error={error} />
        <DialogActions confirm={t('channels.tpl.approve')} onCancel={() => onClose(false)} busy={busy} />
      </form>
    </Modal>
  );
}

function TemplatesTab({ project, channels }: { project: string; channels: string[] }) {
  const { t, tx } = useI18n();
  const { can } = useAuth();
  const list = useAsync((s) => getTemplates(project, s), [project]);
  const [preview, setPreview] = useState<TemplateVariant | null>(null);
  const [editing, setEditing] = useState<{ tpl?: TemplateVariant } | null>(null);
  const [approving, setApproving] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  return (
    <>
      <div className="card-head">
        <p className="muted small">{t('channels.tpl.lead')}</p>
        {can('rules.write') && (
          <button type="button" className="btn btn-small btn-primary" onClick={() => setEditing({})}>
            {t('channels.tpl.add')}
          </button>
        )}
      </div>
      {done && (
        <p className="success" role="status">
          {done}
        </p>
      )}
      {list.error ? <ErrorBox error={list.error} onRetry={list.reload} /> : null}
      {list.loading && !list.data && <Loading />}
      {list.data &&
        (list.data.length === 0 ? (
          <EmptyState title={t('channels.tpl.empty')} />
        ) : (
          <div className="table-wrap">
            <table className="table" aria-label={t('channels.tpl.list')}>
              <thead>
                <tr>
                  <th scope="col">{t('channels.tpl.name')}</th>
                  <th scope="col">{t('channels.tpl.channel')}</th>
                  <th scope="col">{t('channels.tpl.status')}</th>
                  <th scope="col">{t('channels.tpl.content')}</th>
                  <th scope="col">{t('channels.tpl.maker')}</th>
                  <th scope="col">{t('channels.tpl.checker')}</th>
                  <th scope="col">{t('common.actions')}</th>
                </tr>
              </thead>
              <tbody>
                {list.data.map((x) => (
                  <tr key={`${x.name}/${x.channel}`}>
                    <td className="mono">{x.name}</td>
                    <td>{x.channel}</td>
                    <td>
                      <span className={x.status === 'approved' ? 'badge badge-running' : 'badge badge-submitted'}>{tx(`channels.tpl.status.${x.status}`, x.status)}</span>
                      {x.recommends_item && <span className="muted small"> · {t('channels.tpl.recommendsShort')}</span>}
                    </td>
                    <td className="small">
                      {x.subject && <strong>{x.subject} · </strong>}
                      {x.body.length > 80 ? `${x.body.slice(0, 80)}…` : x.body}
                    </td>
                    <td>{x.created_by || '—'}</td>
                    <td>{x.approved_by || '—'}</td>
                    <td className="nowrap">
                      <button type="button" className="btn btn-small" onClick={() => setPreview(x)} aria-label={t('channels.tpl.previewNamed', { name: x.name, channel: x.channel })}>
                        {t('channels.tpl.preview')}
                      </button>{' '}
                      {can('rules.write') && (
                        <button type="button" className="btn btn-small" onClick={() => setEditing({ tpl: x })} aria-label={t('channels.tpl.editNamed', { name: x.name, channel: x.channel })}>
                          {t('channels.tpl.edit')}
                        </button>
                      )}{' '}
                      {can('journey.approve') && x.status !== 'approved' && (
                        <button type="button" className="btn btn-small btn-primary" onClick={() => setApproving(x.name)} aria-label={t('channels.tpl.approveNamed', { name: x.name })}>
                          {t('channels.tpl.approve')}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      {preview && <PreviewModal project={project} tpl={preview} onClose={() => setPreview(null)} />}
      {editing && (
        <TemplateModal
          project={project}
          tpl={editing.tpl}
          channels={channels}
          onClose={(saved) => {
            setEditing(null);
            if (saved) list.reload();
          }}
        />
      )}
      {approving && (
        <ApproveModal
          project={project}
          name={approving}
          onClose={(ok) => {
            if (ok) {
              setDone(t('channels.tpl.approved', { name: approving }));
              list.reload();
            }
            setApproving(null);
          }}
        />
      )}
    </>
  );
}

function ConsentTab({ project, channels }: { project: string; channels: string[] }) {
  const { t } = useI18n();
  const { can } = useAuth();
  const [distinctId, setDistinctId] = useState('');
  const [purpose, setPurpose] = useState('marketing');
  const [channel, setChannel] = useState('*');
  const [granted, setGranted] = useState('false');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [answer, setAnswer] = useState<ConsentAnswer | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setAnswer(await putConsent(project, distinctId.trim(), { purpose: purpose.trim() || 'marketing', channel, granted: granted === 'true' }));
    } catch (err) {
      setError(err);
      setAnswer(null);
    } finally {
      setBusy(false);
    }
  };
  if (!can('rules.write')) return <p className="muted">{t('channels.consent.readOnly')}</p>;
  return (
    <>
      <p className="muted small">{t('channels.consent.lead')}</p>
      <form className="form-row" onSubmit={submit} aria-label={t('channels.consent.title')}>
        <Field label={t('channels.tpl.customer')}>
          <input value={distinctId} onChange={(e) => setDistinctId(e.target.value)} required />
        </Field>
        <Field label={t('channels.consent.purpose')}>
          <input value={purpose} onChange={(e) => setPurpose(e.target.value)} list="consent-purposes" />
        </Field>
        <datalist id="consent-purposes">
          <option value="marketing" />
        </datalist>
        <Field label={t('channels.rules.channel')}>
          <select value={channel} onChange={(e) => setChannel(e.target.value)}>
            <option value="*">{t('channels.allChannels')}</option>
            {channels.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t('channels.consent.choice')}>
          <select value={granted} onChange={(e) => setGranted(e.target.value)}>
            <option value="true">{t('channels.consent.granted')}</option>
            <option value="false">{t('channels.consent.withdrawn')}</option>
          </select>
        </Field>
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {t('channels.consent.record')}
          </button>
        </div>
      </form>
      <ErrorBox error={error} />
      {answer && (
        <div className="table-wrap">
          <p className="success" role="status">
            {t('channels.consent.stored', { id: answer.distinct_id })}
          </p>
          <table className="table" aria-label={t('channels.consent.choices')}>
            <thead>
              <tr>
                <th scope="col">{t('channels.consent.purpose')}</th>
                <th scope="col">{t('channels.rules.channel')}</th>
                <th scope="col">{t('channels.consent.choice')}</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(answer.consent).map(([k, v]) => {
                const [pp, ch] = k.split(':');
                return (
                  <tr key={k}>
                    <td>{pp}</td>
                    <td>{ch === '*' ? t('channels.allChannels') : ch}</td>
                    <td>{v ? t('channels.consent.granted') : t('channels.consent.withdrawn')}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <p className="muted small">{t('channels.consent.noRead')}</p>
    </>
  );
}

export function ChannelsPage() {
  const { t } = useI18n();
  const { project } = useProject();
  const p = project!;
  const [tab, setTab] = useState<Tab>('rules');
  const channels = useAsync((s) => getChannels(p, s), [p]);
  const names = Object.keys(channels.data || {});
  return (
    <section className="page">
      <header className="page-head">
        <h1>{t('channels.title')}</h1>
      </header>
      <p className="lead">{t('channels.pageLead')}</p>
      <div className="card">
        <Tabs<Tab>
          idPrefix="channels"
          label={t('channels.title')}
          value={tab}
          onChange={setTab}
          tabs={[
            { key: 'rules', label: t('channels.rules.title') },
            { key: 'channels', label: t('channels.tabChannels') },
            { key: 'templates', label: t('channels.tabTemplates') },
            { key: 'consent', label: t('channels.consent.title') },
          ]}
        />
        <div id="channels-panel" role="tabpanel" aria-labelledby={`channels-tab-${tab}`} className="tab-panel">
          {tab === 'rules' && <TouchRulesForm project={p} channels={names} />}
          {tab === 'channels' && <ChannelsTab project={p} channels={channels} reload={channels.reload} />}
          {tab === 'templates' && <TemplatesTab project={p} channels={names} />}
          {tab === 'consent' && <ConsentTab project={p} channels={names} />}
        </div>
      </div>
    </section>
  );
}
