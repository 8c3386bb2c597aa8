// Audit (审计): the audit trail of every change, sign-in and refusal (audit.read), and the
// project's decision ledger — why each customer was or was not contacted (ledger.read). Both
// are hash chains; the page shows the server's verification of each.
import { useEffect, useState, type FormEvent } from 'react';
import { useAuth } from '../../auth/AuthContext';
import { useProject } from '../../auth/ProjectContext';
import { useI18n } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import { UnreadableAnswer, listAudit, listDecisions, verifyAudit, verifyLedger, type AuditEntry, type ChainVerification } from '../../api/audit';
import { EmptyState, ErrorBox, Loading } from '../../components/Feedback';
import { Field } from '../../components/Field';
import { Tabs } from '../../components/Tabs';
import '../segments/audience.css';

type Tab = 'audit' | 'ledger';
const PAGE = 50;

export function ChainStatus({ v, error, onRetry, label }: { v?: ChainVerification; error: unknown; onRetry: () => void; label: string }) {
  const { t, n } = useI18n();
  if (error) return <ErrorBox error={error} onRetry={onRetry} title={t('audit.verifyFailed')} />;
  if (!v) return <Loading label={t('audit.verifying')} />;
  return (
    <div className={v.valid ? 'chain-ok' : 'chain-bad'} role="status" aria-label={label}>
      <strong>{v.valid ? t('audit.chainValid') : t('audit.chainBroken')}</strong>{' '}
      {v.valid ? t('audit.chainValidDetail', { n: n(v.entries) }) : t('audit.chainBrokenDetail', { seq: String(v.first_bad_sequence ?? '?'), reason: v.reason || '', n: n(v.entries) })}
      <div className="small mono" title={t('audit.headHint')}>
        {t('audit.head')}: {v.head_hash}
      </div>
    </div>
  );
}

function AuditTrail() {
  const { t, tx, dt } = useI18n();
  const verify = useAsync((s) => verifyAudit(s), []);
  const [actorInput, setActorInput] = useState('');
  const [actor, setActor] = useState('');
  const [pages, setPages] = useState<AuditEntry[][]>([]);
  const [before, setBefore] = useState<number | undefined>(undefined);
  const page = useAsync((s) => listAudit({ limit: PAGE, before, actor: actor || undefined }, s), [before, actor]);
  useEffect(() => {
    if (page.data) setPages((ps) => (before === undefined ? [page.data!] : [...ps, page.data!]));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [page.data]);
  const entries = pages.flat();
  const last = entries[entries.length - 1];
  const more = page.data ? page.data.length === PAGE : false;

  const apply = (e: FormEvent) => {
    e.preventDefault();
    setPages([]);
    setBefore(undefined);
    setActor(actorInput.trim());
  };
  const reload = () => {
    setPages([]);
    setBefore(undefined);
    page.reload();
    verify.reload();
  };
  return (
    <>
      <ChainStatus v={verify.data} error={verify.error} onRetry={verify.reload} label={t('audit.trailVerification')} />
      <p className="muted small">{t('audit.trailLead')}</p>
      <form className="form-row" onSubmit={apply}>
        <Field label={t('audit.actor')}>
          <input value={actorInput} onChange={(e) => setActorInput(e.target.value)} placeholder={t('audit.actorHint')} />
        </Field>
        <div className="form-actions">
          <button type="submit" className="btn btn-small">
            {t('audit.filter')}
          </button>
          <button type="button" className="btn btn-small" onClick={reload}>
            {t('common.refresh')}
          </button>
        </div>
      </form>
      {page.error ? <ErrorBox error={page.error instanceof UnreadableAnswer ? new Error(t('audit.badAnswer')) : page.error} onRetry={page.reload} /> : null}
      {page.loading && entries.length === 0 && <Loading />}
      {!page.loading && !page.error && entries.length === 0 && <EmptyState title={t('audit.empty')} />}
      {entries.length > 0 && (
        <div className="table-wrap">
          <table className="table" aria-label={t('audit.trail')}>
            <thead>
              <tr>
                <th scope="col" className="num">
                  #
                </th>
                <th scope="col">{t('audit.time')}</th>
                <th scope="col">{t('audit.actor')}</th>
                <th scope="col">{t('audit.action')}</th>
                <th scope="col">{t('audit.request')}</th>
                <th scope="col">{t('audit.project')}</th>
                <th scope="col" className="num">
                  {t('audit.status')}
                </th>
                <th scope="col">{t('audit.detail')}</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.seq}>
                  <td className="num mono">{e.seq}</td>
                  <td className="nowrap">{dt(e.time)}</td>
                  <td>
                    {e.actor}
                    {e.actor_kind && <div className="muted small">{tx(`audit.actorKind.${e.actor_kind}`, e.actor_kind)}</div>}
                  </td>
                  <td>
                    <span className={e.action === 'denied' || e.action === 'login_failed' ? 'badge badge-paused' : 'badge'}>{tx(`audit.actionName.${e.action}`, e.action)}</span>
                  </td>
                  <td className="small">
                    <span className="mono">
                      {e.method} {e.target || e.route}
                    </span>
                    {e.route && e.target && e.route !== e.target && <div className="muted">{e.route}</div>}
                  </td>
                  <td>{e.project || '—'}</td>
                  <td className="num">{e.status ?? '—'}</td>
                  <td className="small">
                    {e.detail}
                    {e.peer && <div className="muted">{t('audit.peer', { peer: e.peer })}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {more && last && (
        <div className="pager">
          <button type="button" className="btn btn-small" disabled={page.loading} onClick={() => setBefore(last.seq)}>
            {t('audit.older')}
          </button>
        </div>
      )}
    </>
  );
}

function Ledger({ project }: { project: string }) {
  const { t, tx, dt } = useI18n();
  const verify = useAsync((s) => verifyLedger(project, s), [project]);
  const [form, setForm] = useState({ distinct_id: '', journey: '', limit: '100' });
  const [params, setParams] = useState({ distinct_id: '', journey: '', limit: 100 });
  const list = useAsync(
    (s) => listDecisions(project, { distinct_id: params.distinct_id || undefined, journey: params.journey || undefined, limit: params.limit }, s),
    [project, params],
  );
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setParams({ distinct_id: form.distinct_id.trim(), journey: form.journey.trim(), limit: Math.max(1, Math.min(10000, Number(form.limit) || 100)) });
  };
  return (
    <>
      <ChainStatus v={verify.data} error={verify.error} onRetry={verify.reload} label={t('audit.ledgerVerification')} />
      <p className="muted small">{t('audit.ledgerLead')}</p>
      <form className="form-row" onSubmit={apply}>
        <Field label={t('audit.customer')}>
          <input value={form.distinct_id} onChange={(e) => setForm({ ...form, distinct_id: e.target.value })} />
        </Field>
        <Field label={t('audit.journey')}>
          <input value={form.journey} onChange={(e) => setForm({ ...form, journey: e.target.value })} placeholder="j1" />
        </Field>
        <Field label={t('audit.limit')} className="field field-narrow">
          <input type="number" min={1} max={10000} value={form.limit} onChange={(e) => setForm({ ...form, limit: e.target.value })} />
        </Field>
        <div className="form-actions">
          <button type="submit" className="btn btn-small">
            {t('audit.filter')}
          </button>
          <button
            type="button"
            className="btn btn-small"
            onClick={() => {
              list.reload();
              verify.reload();
            }}
          >
            {t('common.refresh')}
          </button>
        </div>
      </form>
      {list.error ? <ErrorBox error={list.error} onRetry={list.reload} /> : null}
      {list.loading && !list.data && <Loading />}
      {list.data &&
        (list.data.length === 0 ? (
          <EmptyState title={t('audit.ledgerEmpty')} />
        ) : (
          <div className="table-wrap">
            <table className="table" aria-label={t('audit.ledger')}>
              <thead>
                <tr>
                  <th scope="col" className="num">
                    #
                  </th>
                  <th scope="col">{t('audit.time')}</th>
                  <th scope="col">{t('audit.kind')}</th>
                  <th scope="col">{t('audit.decision')}</th>
                  <th scope="col">{t('audit.journey')}</th>
                  <th scope="col">{t('audit.customer')}</th>
                  <th scope="col">{t('audit.channel')}</th>
                  <th scope="col">{t('audit.detail')}</th>
                </tr>
              </thead>
              <tbody>
                {list.data.map((e) => (
                  <tr key={e.seq}>
                    <td className="num mono">{e.seq}</td>
                    <td className="nowrap">{dt(e.time)}</td>
                    <td>{tx(`audit.kindName.${e.kind}`, e.kind)}</td>
                    <td>
                      {e.kind === 'lifecycle' ? (
                        <span className="badge">
                          {e.action} · {e.operator}
                        </span>
                      ) : e.decision ? (
                        <span className={e.decision === 'sent' ? 'badge badge-running' : 'badge badge-paused'}>
                          {tx(`audit.decisionName.${e.decision}`, e.decision)}
                          {e.reason ? ` · ${tx(`audit.reason.${e.reason}`, e.reason)}` : ''}
                        </span>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td className="nowrap">
                      {e.journey || '—'}
                      {e.version ? ` v${e.version}` : ''}
                      {e.node && <div className="muted small">{e.node}</div>}
                    </td>
                    <td className="mono">{e.distinct_id || '—'}</td>
                    <td>{e.channel || '—'}</td>
                    <td className="small">
                      {e.detail && <div>{e.detail}</div>}
                      {(e.subject || e.content) && (
                        <div>
                          {e.subject && <strong>{e.subject} · </strong>}
                          {e.content}
                        </div>
                      )}
                      <details>
                        <summary>{t('audit.entryJson')}</summary>
                        <pre className="code">{JSON.stringify(e, null, 2)}</pre>
                      </details>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
    </>
  );
}

export function AuditPage() {
  const { t } = useI18n();
  const { can } = useAuth();
  const { project } = useProject();
  const p = project!;
  const tabs: { key: Tab; label: string }[] = [
    ...(can('audit.read') ? [{ key: 'audit' as Tab, label: t('audit.trail') }] : []),
    ...(can('ledger.read') ? [{ key: 'ledger' as Tab, label: t('audit.ledger') }] : []),
  ];
  const [tab, setTab] = useState<Tab>(tabs[0]?.key ?? 'audit');
  return (
    <section className="page">
      <header className="page-head">
        <h1>{t('audit.title')}</h1>
      </header>
      <p className="lead">{t('audit.lead')}</p>
      <div className="card">
        <Tabs<Tab> idPrefix="audit" label={t('audit.title')} value={tab} onChange={setTab} tabs={tabs} />
        <div id="audit-panel" role="tabpanel" aria-labelledby={`audit-tab-${tab}`} className="tab-panel">
          {tab === 'audit' && can('audit.read') && <AuditTrail />}
          {tab === 'ledger' && can('ledger.read') && <Ledger project={p} />}
        </div>
      </div>
    </section>
  );
}
