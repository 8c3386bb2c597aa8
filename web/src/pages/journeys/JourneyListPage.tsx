// The journeys of the project: status, versions, who created / submitted / approved them,
// priority and the live numbers (entered, in the journey now, goal reached) — all in the list
// answer, one request however many journeys there are.
import { useMemo, useState } from 'react';
import { Link, useLocation } from 'react-router';
import { listJourneys, type Journey, type JourneyStatus } from '../../api/journeys';
import { useAuth } from '../../auth/AuthContext';
import { useProject } from '../../auth/ProjectContext';
import { EmptyState, ErrorBox, Loading } from '../../components/Feedback';
import { Field } from '../../components/Field';
import { isMsg, useI18n } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import './journeys.css';

const STATUSES: JourneyStatus[] = ['draft', 'submitted', 'approved', 'running', 'paused', 'ended'];

export function JourneyListPage() {
  const { t, tx, tm, n, pct, dt } = useI18n();
  const { can } = useAuth();
  const { project } = useProject();
  const p = project!;
  const location = useLocation();
  // What the editor did before coming back here (e.g. a deletion), translated when shown.
  const sent = (location.state as { notice?: unknown } | null)?.notice;
  const notice = isMsg(sent) ? sent : null;
  const [status, setStatus] = useState<'' | JourneyStatus>('');
  const [search, setSearch] = useState('');
  const list = useAsync(() => listJourneys(p), [p]);

  const rows = useMemo(() => {
    const q = search.trim().toLowerCase();
    return (list.data || [])
      .filter((j) => !status || j.status === status)
      .filter((j) => !q || j.name.toLowerCase().includes(q) || j.id.toLowerCase().includes(q))
      .slice()
      .sort((a, b) => (b.updated_ms ?? 0) - (a.updated_ms ?? 0));
  }, [list.data, status, search]);

  const counts = useMemo(() => {
    const c: Record<string, number> = {};
    for (const j of list.data || []) c[j.status] = (c[j.status] || 0) + 1;
    return c;
  }, [list.data]);

  return (
    <section className="page">
      <header className="page-head">
        <h1>{t('journeys.title')}</h1>
        <div className="page-actions">
          <button type="button" className="btn btn-small" onClick={list.reload}>
            {t('common.refresh')}
          </button>
          {can('journey.write') && (
            <Link to="/journeys/new" className="btn btn-primary">
              {t('journeys.new')}
            </Link>
          )}
        </div>
      </header>
      <p className="muted">{t('journeys.intro')}</p>
      {notice && (
        <p className="success" role="status">
          {tm(notice)}
        </p>
      )}
      <div className="card">
        <div className="form-row">
          <Field label={t('journeys.list.status')}>
            <select value={status} onChange={(e) => setStatus(e.target.value as '' | JourneyStatus)}>
              <option value="">
                {t('journeys.list.allStatuses')} ({list.data?.length ?? 0})
              </option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {tx(`journeyStatus.${s}`, s)} ({counts[s] || 0})
                </option>
              ))}
            </select>
          </Field>
          <Field label={t('journeys.list.search')}>
            <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
          </Field>
        </div>
      </div>
      {list.error ? <ErrorBox error={list.error} onRetry={list.reload} /> : null}
      {list.loading && !list.data && <Loading />}
      {list.data && list.data.length === 0 && <EmptyState title={t('journeys.list.empty')}>{can('journey.write') ? t('journeys.list.emptyHint') : t('journeys.list.emptyReadOnly')}</EmptyState>}
      {list.data && list.data.length > 0 && (
        <div className="table-wrap card">
          <table className="table">
            <caption className="sr-only">{t('journeys.list.caption')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('journeys.list.name')}</th>
                <th scope="col">{t('journeys.list.statusCol')}</th>
                <th scope="col">{t('journeys.list.version')}</th>
                <th scope="col">{t('journeys.list.people')}</th>
                <th scope="col" className="num">
                  {t('journeys.list.priority')}
                </th>
                <th scope="col" className="num">
                  {t('journeys.report.entered')}
                </th>
                <th scope="col" className="num">
                  {t('journeys.list.active')}
                </th>
                <th scope="col" className="num">
                  {t('journeys.report.goal')}
                </th>
                <th scope="col">{t('journeys.list.updated')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((j: Journey) => {
                return (
                  <tr key={j.id}>
                    <td>
                      <Link to={`/journeys/${encodeURIComponent(j.id)}`}>{j.name || j.id}</Link> <span className="muted small">{j.id}</span>
                    </td>
                    <td>
                      <span className={`badge badge-${j.status}`}>{tx(`journeyStatus.${j.status}`, j.status)}</span>
                    </td>
                    <td className="nowrap">
                      {t('journeys.versions.vN', { n: j.current_version ?? 1 })}
                      {(j.live_version ?? 0) > 0 && <span className="muted small"> · {t('journeys.list.liveV', { n: j.live_version ?? 0 })}</span>}
                    </td>
                    <td className="small">
                      {t('journeys.list.peopleLine', { created: j.created_by || '—', submitted: j.submitted_by || '—', approved: j.approved_by || '—' })}
                    </td>
                    <td className="num">{j.priority ?? '—'}</td>
                    <td className="num">{(j.live_version ?? 0) > 0 && j.entered !== undefined ? n(j.entered) : '—'}</td>
                    <td className="num">{n(j.customers_inside ?? 0)}</td>
                    <td className="num">
                      {(j.live_version ?? 0) > 0 && j.goal_reached !== undefined && j.entered !== undefined ? (
                        <>
                          {n(j.goal_reached)}
                          {j.entered > 0 && <span className="muted small"> ({pct(j.goal_reached / j.entered)})</span>}
                        </>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td className="nowrap small">{dt(j.updated_ms)}</td>
                  </tr>
                );
              })}
              {rows.length === 0 && (
                <tr>
                  <td colSpan={9} className="muted">
                    {t('common.noMatch')}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
