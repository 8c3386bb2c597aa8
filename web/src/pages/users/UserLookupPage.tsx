// User lookup: find one customer by distinct_id (or any identity with its key) and show the
// 360° view — identities, profile, tags, segments, consent, journeys, decision-ledger entries
// and the event timeline; an admin can download everything held about the customer (the
// data-subject export). Personal data is masked by the server for accounts without pii.read;
// the page shows what the server sends and says so.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { useAuth } from '../../auth/AuthContext';
import { useProject } from '../../auth/ProjectContext';
import { useI18n } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import { ApiError } from '../../api/client';
import { exportUser, getUser, getUserConsent, getUserEvents, getUserSegments, type PropertyValue, type UserEvent } from '../../api/users';
import { getJourneyCustomer, getLedger, listJourneys } from '../../api/journeys';
import { EmptyState, ErrorBox, Loading } from '../../components/Feedback';
import { Field } from '../../components/Field';

function fmtValue(v: PropertyValue | undefined): string {
  if (v === null || v === undefined) return '—';
  if (Array.isArray(v)) return v.join(', ');
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return String(v);
}

export function UserSearchForm({ initialId = '', initialKey = '' }: { initialId?: string; initialKey?: string }) {
  const { t } = useI18n();
  const navigate = useNavigate();
  const [id, setId] = useState(initialId);
  const [key, setKey] = useState(initialKey);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = id.trim();
    if (!v) return;
    navigate(`/users/${encodeURIComponent(v)}${key.trim() ? `?key=${encodeURIComponent(key.trim())}` : ''}`);
  };
  return (
    <form className="card form-row" onSubmit={submit} role="search" aria-label={t('users.searchLabel')}>
      <Field className="field grow" label={t('users.distinctId')}>
        <input value={id} onChange={(e) => setId(e.target.value)} placeholder={t('users.distinctIdPlaceholder')} required spellCheck={false} />
      </Field>
      <Field label={t('users.identityKey')}>
        <input value={key} onChange={(e) => setKey(e.target.value)} placeholder="$identity_mobile" list="identity-keys" spellCheck={false} />
      </Field>
      <datalist id="identity-keys">
        <option value="$identity_login_id" />
        <option value="$identity_anonymous_id" />
        <option value="$identity_mobile" />
        <option value="$identity_cookie_id" />
      </datalist>
      <button type="submit" className="btn btn-primary">
        {t('users.search')}
      </button>
    </form>
  );
}

export function UserSearchPage() {
  const { t } = useI18n();
  return (
    <section className="page">
      <header className="page-head">
        <h1>{t('users.title')}</h1>
      </header>
      <p className="lead">{t('users.lead')}</p>
      <UserSearchForm />
    </section>
  );
}

function KeyValueTable({ rows, caption }: { rows: [string, PropertyValue][]; caption: string }) {
  const { t } = useI18n();
  if (rows.length === 0) return <p className="muted">{t('common.none')}</p>;
  return (
    <table className="table kv">
      <caption className="sr-only">{caption}</caption>
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <th scope="row" className="mono">
              {k}
            </th>
            <td>{fmtValue(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

// Preset properties worth showing in a timeline line (the page or screen, a clicked element).
const PRESET_SUMMARY = ['$title', '$screen_name', '$url', '$element_content'];

function Timeline({ events }: { events: UserEvent[] }) {
  const { t, locale, timeZone } = useI18n();
  const [only, setOnly] = useState('');
  const names = useMemo(() => [...new Set(events.map((e) => e.event))].sort(), [events]);
  const shown = only ? events.filter((e) => e.event === only) : events;
  const dayFmt = useMemo(
    () => new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'long', day: 'numeric', weekday: 'short', timeZone }),
    [locale, timeZone],
  );
  const timeFmt = useMemo(
    () => new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, timeZone }),
    [locale, timeZone],
  );
  const groups: { day: string; events: UserEvent[] }[] = [];
  for (const e of shown) {
    const day = dayFmt.format(new Date(e.time));
    if (!groups.length || groups[groups.length - 1].day !== day) groups.push({ day, events: [] });
    groups[groups.length - 1].events.push(e);
  }
  return (
    <>
      <Field className="field field-inline" label={t('users.filterEvent')}>
        <select value={only} onChange={(e) => setOnly(e.target.value)}>
          <option value="">{t('users.allEvents', { n: events.length })}</option>
          {names.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </Field>
      <p className="muted small">{t('users.timelineHint', { tz: timeZone ?? '' })}</p>
      <ol className="timeline" aria-label={t('users.timeline')}>
        {groups.map((g) => (
          <li key={g.day} className="timeline-day">
            <h3>{g.day}</h3>
            <ul>
              {g.events.map((e, i) => {
                const props = e.properties || {};
                const own = Object.entries(props).filter(([k]) => !k.startsWith('$'));
                const preset = PRESET_SUMMARY.filter((k) => props[k] !== undefined && props[k] !== null).map((k) => [k, props[k]] as [string, PropertyValue]);
                return (
                  <li key={`${e.time}-${i}`}>
                    <details className="timeline-item">
                      <summary className="timeline-event">
                        <time dateTime={new Date(e.time).toISOString()}>{timeFmt.format(new Date(e.time))}</time>
                        <span className="event-name mono">{e.event}</span>
                        <span className="event-props">
                          {[...own.slice(0, 5), ...preset.slice(0, 2)].map(([k, v]) => (
                            <span key={k} className="prop">
                              {k}=<b>{fmtValue(v)}</b>
                            </span>
                          ))}
                        </span>
                      </summary>
                      <pre className="code">{JSON.stringify({ distinct_id: e.distinct_id, ...props }, null, 2)}</pre>
                    </details>
                  </li>
                );
              })}
            </ul>
          </li>
        ))}
      </ol>
    </>
  );
}

function JourneysOfCustomer({ project, distinctId }: { project: string; distinctId: string }) {
  const { t, tx, dt } = useI18n();
  const q = useAsync(async () => {
    const list = await listJourneys(project);
    const ran = list.filter((j) => (j.live_version ?? 0) > 0).slice(-50);
    const states = await Promise.all(
      ran.map(async (j) => {
        try {
          return { journey: j, state: await getJourneyCustomer(project, j.id, distinctId) };
        } catch {
          return null;
        }
      }),
    );
    return states.filter((s) => s && s.state.state !== 'none') as { journey: (typeof list)[number]; state: Awaited<ReturnType<typeof getJourneyCustomer>> }[];
  }, [project, distinctId]);
  if (q.error) return <ErrorBox error={q.error} onRetry={q.reload} />;
  if (q.loading && !q.data) return <Loading />;
  if (!q.data || q.data.length === 0) return <p className="muted">{t('users.noJourneys')}</p>;
  return (
    <table className="table">
      <caption className="sr-only">{t('users.journeys')}</caption>
      <thead>
        <tr>
          <th scope="col">{t('users.journey')}</th>
          <th scope="col">{t('users.journeyState')}</th>
          <th scope="col">{t('users.node')}</th>
          <th scope="col">{t('users.entered')}</th>
          <th scope="col">{t('users.exited')}</th>
          <th scope="col">{t('users.arm')}</th>
        </tr>
      </thead>
      <tbody>
        {q.data.map(({ journey, state }) => (
          <tr key={journey.id}>
            <td>
              {journey.name} <span className="muted small">{journey.id}</span>
            </td>
            <td>{tx(`customerState.${state.state}`, state.state)}</td>
            <td className="mono">{state.node || '—'}</td>
            <td>{dt(state.entered_ms)}</td>
            <td>
              {dt(state.exited_ms)} {state.exit_reason && <span className="muted small">({state.exit_reason})</span>}
            </td>
            <td>
              {state.control ? t('users.control') : t('users.treatment')}
              {state.variant ? ` · ${state.variant}` : ''}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function LedgerOfCustomer({ project, distinctId }: { project: string; distinctId: string }) {
  const { t, tx, dt } = useI18n();
  const q = useAsync(() => getLedger(project, { distinct_id: distinctId, limit: 100 }), [project, distinctId]);
  if (q.error) return <ErrorBox error={q.error} onRetry={q.reload} />;
  if (q.loading && !q.data) return <Loading />;
  if (!q.data || q.data.length === 0) return <p className="muted">{t('users.noLedger')}</p>;
  return (
    <div className="table-wrap">
      <table className="table">
        <caption className="sr-only">{t('users.ledger')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('users.time')}</th>
            <th scope="col">{t('users.kind')}</th>
            <th scope="col">{t('users.journey')}</th>
            <th scope="col">{t('users.channel')}</th>
            <th scope="col">{t('users.decision')}</th>
            <th scope="col">{t('users.content')}</th>
          </tr>
        </thead>
        <tbody>
          {q.data.map((e) => (
            <tr key={e.seq}>
              <td className="nowrap">{dt(e.time)}</td>
              <td>{tx(`ledgerKind.${e.kind}`, e.kind)}</td>
              <td className="mono">
                {e.journey}
                {e.node ? ` / ${e.node}` : ''}
              </td>
              <td>{e.channel || '—'}</td>
              <td>
                {e.decision ? (
                  <span className={`badge ${e.decision === 'sent' ? 'badge-running' : 'badge-paused'}`}>{tx(`decision.${e.decision}`, e.decision)}</span>
                ) : (
                  '—'
                )}
                {e.reason && <span className="muted small"> {tx(`reason.${e.reason}`, e.reason)}</span>}
              </td>
              <td>
                {e.subject ? `${e.subject} — ` : ''}
                {e.content || e.detail || ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The customer's recorded consent choices (GET /users/{id}/consent, rules.read). */
function ConsentOfCustomer({ project, distinctId }: { project: string; distinctId: string }) {
  const { t } = useI18n();
  const q = useAsync((signal) => getUserConsent(project, distinctId, signal), [project, distinctId]);
  if (q.error) return <ErrorBox error={q.error} onRetry={q.reload} />;
  if (q.loading && !q.data) return <Loading />;
  const rows = Object.entries(q.data || {})
    .map(([k, granted]) => {
      const i = k.indexOf(':');
      return { key: k, purpose: i < 0 ? k : k.slice(0, i), channel: i < 0 ? '*' : k.slice(i + 1), granted };
    })
    .sort((a, b) => a.purpose.localeCompare(b.purpose) || (a.channel === '*' ? -1 : b.channel === '*' ? 1 : a.channel.localeCompare(b.channel)));
  if (rows.length === 0) return <p className="muted">{t('users.noConsent')}</p>;
  return (
    <>
      <table className="table">
        <caption className="sr-only">{t('users.consent')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('users.consentPurpose')}</th>
            <th scope="col">{t('users.channel')}</th>
            <th scope="col">{t('users.consentGranted')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}>
              <td className="mono">{r.purpose}</td>
              <td>{r.channel === '*' ? t('users.consentAllChannels') : <span className="mono">{r.channel}</span>}</td>
              <td>
                <span className={`badge ${r.granted ? 'badge-running' : 'badge-paused'}`}>{r.granted ? t('users.consentYes') : t('users.consentNo')}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">{t('users.consentHint')}</p>
    </>
  );
}

/** Data-subject access (admin): downloads GET /users/{id}/export as the file the server names. */
function useCustomerExport(project: string, distinctId: string) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  // Another customer: forget the previous export's outcome.
  useEffect(() => {
    setError(null);
    setDone(null);
  }, [project, distinctId]);
  const run = async () => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const { blob, filename } = await exportUser(project, distinctId);
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = filename;
      a.rel = 'noopener';
      document.body.appendChild(a);
      a.click();
      a.remove();
      // Revoking at once can cancel the download in some browsers.
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      setDone(filename);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error, done };
}

export function UserProfilePage() {
  const { t } = useI18n();
  const { can } = useAuth();
  const { project } = useProject();
  const p = project!;
  const { id = '' } = useParams();
  const [params] = useSearchParams();
  const key = params.get('key') || undefined;
  const [limit, setLimit] = useState(50);
  const masked = !can('pii.read');

  const user = useAsync(() => getUser(p, id, key), [p, id, key]);
  const segments = useAsync(() => getUserSegments(p, id, key), [p, id, key], !!user.data);
  const events = useAsync(() => getUserEvents(p, id, limit, key), [p, id, key, limit], !!user.data);

  const notFound = user.error instanceof ApiError && user.error.status === 404;
  const u = user.data;
  // The distinct id journeys and the ledger know: the login id, else the anonymous id.
  const mainId = u?.identities.find((i) => i.key === '$identity_login_id')?.value ?? u?.identities.find((i) => i.key === '$identity_anonymous_id')?.value ?? id;
  const exporter = useCustomerExport(p, mainId);

  return (
    <section className="page">
      <header className="page-head">
        <h1>
          {t('users.customer')} <span className="mono">{id}</span>
        </h1>
        <div className="page-actions">
          {u && can('admin') && (
            <button type="button" className="btn btn-small" onClick={exporter.run} disabled={exporter.busy} title={t('users.exportHint')}>
              {exporter.busy ? t('users.exporting') : t('users.export')}
            </button>
          )}
          <Link to="/users" className="btn btn-small">
            {t('users.newSearch')}
          </Link>
        </div>
      </header>
      {exporter.done && (
        <p className="success small" role="status">
          {t('users.exported', { file: exporter.done })}
        </p>
      )}
      {exporter.error ? <ErrorBox error={exporter.error} title={t('users.exportFailed')} /> : null}
      <UserSearchForm initialId={id} initialKey={key} />

      {user.loading && !u && <Loading />}
      {notFound && (
        <EmptyState title={t('users.notFound', { id })}>
          {t('users.notFoundHint')}
          <p className="muted small">{(user.error as ApiError).message}</p>
        </EmptyState>
      )}
      {!notFound && user.error ? <ErrorBox error={user.error} onRetry={user.reload} /> : null}

      {u && (
        <>
          {masked && <p className="muted small">{t('users.masked')}</p>}
          <div className="grid-3">
            <div className="card">
              <h2 className="card-title">{t('users.identities')}</h2>
              <p className="muted small">{t('users.userId', { id: u.user_id })}</p>
              <KeyValueTable rows={u.identities.map((i) => [i.key, i.value] as [string, PropertyValue])} caption={t('users.identities')} />
              {u.merged_user_ids && u.merged_user_ids.length > 0 && <p className="muted small">{t('users.merged', { ids: u.merged_user_ids.join(', ') })}</p>}
            </div>
            <div className="card">
              <h2 className="card-title">{t('users.profile')}</h2>
              <KeyValueTable rows={Object.entries(u.profile || {})} caption={t('users.profile')} />
            </div>
            <div className="card">
              <h2 className="card-title">{t('users.tags')}</h2>
              <KeyValueTable rows={Object.entries(u.tags || {})} caption={t('users.tags')} />
              <h2 className="card-title">{t('users.segments')}</h2>
              {segments.error ? <ErrorBox error={segments.error} /> : null}
              {segments.data &&
                (segments.data.length === 0 ? (
                  <p className="muted">{t('users.noSegments')}</p>
                ) : (
                  <ul className="chips" aria-label={t('users.segments')}>
                    {segments.data.map((s) => (
                      <li key={s.id} className="chip">
                        {s.name} <span className="muted">#{s.id}</span>
                      </li>
                    ))}
                  </ul>
                ))}
              {can('rules.read') && (
                <>
                  <h2 className="card-title">{t('users.consent')}</h2>
                  <ConsentOfCustomer project={p} distinctId={mainId} />
                </>
              )}
            </div>
          </div>

          {can('journey.read') && (
            <div className="card">
              <h2 className="card-title">{t('users.journeys')}</h2>
              <JourneysOfCustomer project={p} distinctId={mainId} />
            </div>
          )}
          {can('ledger.read') && (
            <div className="card">
              <h2 className="card-title">{t('users.ledger')}</h2>
              <LedgerOfCustomer project={p} distinctId={mainId} />
            </div>
          )}

          <div className="card">
            <div className="card-head">
              <h2 className="card-title">{t('users.timeline')}</h2>
              <Field className="field field-inline" label={t('users.limit')}>
                <select value={limit} onChange={(e) => setLimit(Number(e.target.value))}>
                  {[50, 200, 1000, 5000].map((v) => (
                    <option key={v} value={v}>
                      {v}
                    </option>
                  ))}
                </select>
              </Field>
            </div>
            {events.error ? <ErrorBox error={events.error} onRetry={events.reload} /> : null}
            {events.loading && !events.data && <Loading />}
            {events.data &&
              (events.data.length === 0 ? (
                <EmptyState title={t('users.noEvents')} />
              ) : (
                <>
                  <p className="muted small">{t('users.eventsShown', { n: events.data.length })}</p>
                  <Timeline events={events.data} />
                </>
              ))}
          </div>
        </>
      )}
    </section>
  );
}
