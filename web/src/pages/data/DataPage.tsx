// Data: what the project has collected — events and properties from GET /schema (types,
// volumes, first seen), refused records from GET /ingest-errors, today's events by hour, and
// the live event stream (GET /events/recent, LiveEventStream.tsx), and import jobs (GET/POST
// /imports, ImportJobs.tsx).
import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import { useAuth } from '../../auth/AuthContext';
import { useProject } from '../../auth/ProjectContext';
import { useI18n } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import { getIngestErrors, getSchema, type SchemaProperty } from '../../api/data';
import { runEvents } from '../../api/query';
import { EmptyState, ErrorBox, Loading } from '../../components/Feedback';
import { Tabs } from '../../components/Tabs';
import { EChart } from '../../components/EChart';
import { Field } from '../../components/Field';
import { LiveEventStream } from './LiveEventStream';
import { ImportJobs } from './ImportJobs';

type Tab = 'events' | 'properties' | 'user_properties' | 'errors' | 'imports';

function PropertyTable({ rows, filter, caption }: { rows: SchemaProperty[]; filter: string; caption: string }) {
  const { t, n, dt } = useI18n();
  const shown = rows.filter((r) => r.name.toLowerCase().includes(filter.toLowerCase()));
  if (rows.length === 0) return <EmptyState title={t('data.noProperties')}>{t('data.noDataHint')}</EmptyState>;
  return (
    <div className="table-wrap">
      <table className="table">
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{t('data.propertyName')}</th>
            <th scope="col">{t('data.type')}</th>
            <th scope="col" className="num">
              {t('data.count')}
            </th>
            <th scope="col">{t('data.firstSeen')}</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <tr key={r.name}>
              <td className="mono">{r.name}</td>
              <td>
                <span className="badge">{r.type}</span>
              </td>
              <td className="num">{n(r.count)}</td>
              <td>{dt(r.first_seen)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length === 0 && <p className="muted">{t('common.noMatch')}</p>}
    </div>
  );
}

function HourlyToday({ project }: { project: string }) {
  const { t } = useI18n();
  const q = useAsync(
    (signal) => runEvents(project, { type: 'events', last: '1d', unit: 'hour', measures: [{ event: '$any', aggregator: 'count' }] }, signal),
    [project],
  );
  const option = useMemo(() => {
    if (!q.data) return null;
    const hours = q.data.rows.map((r) => String(r[0]).slice(11));
    return {
      grid: { left: 48, right: 16, top: 16, bottom: 28 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: hours },
      yAxis: { type: 'value', minInterval: 1 },
      series: [{ type: 'bar', name: t('data.eventsPerHour'), data: q.data.rows.map((r) => Number(r[1] ?? 0)) }],
    };
  }, [q.data, t]);
  return (
    <div className="card">
      <h2 className="card-title">{t('data.todayByHour')}</h2>
      {q.error ? <ErrorBox error={q.error} onRetry={q.reload} /> : null}
      {q.loading && !q.data && <Loading />}
      {option && <EChart option={option} height={200} label={t('data.todayByHour')} />}
    </div>
  );
}

export function DataPage() {
  const { t, n, dt } = useI18n();
  const { can } = useAuth();
  const { project } = useProject();
  const p = project!;
  const [tab, setTab] = useState<Tab>('events');
  const [filter, setFilter] = useState('');
  const schema = useAsync(() => getSchema(p), [p]);
  const errors = useAsync(() => getIngestErrors(p, 200), [p]);

  const events = useMemo(
    () => [...(schema.data?.events || [])].sort((a, b) => (b.count ?? 0) - (a.count ?? 0)).filter((e) => e.name.toLowerCase().includes(filter.toLowerCase())),
    [schema.data, filter],
  );

  return (
    <section className="page">
      <header className="page-head">
        <h1>{t('data.title')}</h1>
        <div className="page-actions">
          <button
            type="button"
            className="btn btn-small"
            onClick={() => {
              schema.reload();
              errors.reload();
            }}
          >
            {t('common.refresh')}
          </button>
        </div>
      </header>
      <p className="lead">{t('data.lead')}</p>

      {can('analysis.read') && <HourlyToday project={p} />}

      <LiveEventStream key={p} project={p} />

      <div className="card">
        <Tabs<Tab>
          idPrefix="data"
          label={t('data.title')}
          value={tab}
          onChange={setTab}
          tabs={[
            { key: 'events', label: `${t('data.events')} (${schema.data ? schema.data.events.length : '…'})` },
            { key: 'properties', label: `${t('data.eventProperties')} (${schema.data ? schema.data.properties.length : '…'})` },
            { key: 'user_properties', label: `${t('data.userProperties')} (${schema.data ? schema.data.user_properties.length : '…'})` },
            { key: 'errors', label: `${t('data.ingestErrors')} (${errors.data ? errors.data.length : '…'})` },
            { key: 'imports', label: t('data.imports') },
          ]}
        />
        <div id="data-panel" role="tabpanel" aria-labelledby={`data-tab-${tab}`} className="tab-panel">
          {tab === 'imports' && <ImportJobs project={p} />}
          {tab !== 'errors' && tab !== 'imports' && (
            <Field className="field field-inline" label={t('data.search')}>
              <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder={t('data.searchPlaceholder')} />
            </Field>
          )}
          {tab !== 'errors' && tab !== 'imports' && schema.error ? <ErrorBox error={schema.error} onRetry={schema.reload} /> : null}
          {tab !== 'errors' && tab !== 'imports' && schema.loading && !schema.data && <Loading />}
          {tab === 'events' &&
            schema.data &&
            (schema.data.events.length === 0 ? (
              <EmptyState title={t('data.noEvents')}>{t('data.noDataHint')}</EmptyState>
            ) : (
              <div className="table-wrap">
                <table className="table">
                  <caption className="sr-only">{t('data.events')}</caption>
                  <thead>
                    <tr>
                      <th scope="col">{t('data.eventName')}</th>
                      <th scope="col" className="num">
                        {t('data.count')}
                      </th>
                      <th scope="col">{t('data.firstSeen')}</th>
                      {can('analysis.read') && <th scope="col">{t('common.actions')}</th>}
                    </tr>
                  </thead>
                  <tbody>
                    {events.map((e) => (
                      <tr key={e.name}>
                        <td className="mono">{e.name}</td>
                        <td className="num">{n(e.count)}</td>
                        <td>{dt(e.first_seen)}</td>
                        {can('analysis.read') && (
                          <td>
                            <Link to={`/analysis/events?event=${encodeURIComponent(e.name)}`}>{t('data.analyse')}</Link>
                          </td>
                        )}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ))}
          {tab === 'properties' && schema.data && <PropertyTable rows={schema.data.properties} filter={filter} caption={t('data.eventProperties')} />}
          {tab === 'user_properties' && schema.data && <PropertyTable rows={schema.data.user_properties} filter={filter} caption={t('data.userProperties')} />}
          {tab === 'errors' && (
            <>
              <p className="muted small">{t('data.ingestErrorsLead')}</p>
              {errors.error ? <ErrorBox error={errors.error} onRetry={errors.reload} /> : null}
              {errors.loading && !errors.data && <Loading />}
              {errors.data &&
                (errors.data.length === 0 ? (
                  <EmptyState title={t('data.noErrors')}>{t('data.noErrorsHint')}</EmptyState>
                ) : (
                  <div className="table-wrap">
                    <table className="table">
                      <caption className="sr-only">{t('data.ingestErrors')}</caption>
                      <thead>
                        <tr>
                          <th scope="col">{t('data.time')}</th>
                          <th scope="col">{t('data.source')}</th>
                          <th scope="col">{t('data.errorName')}</th>
                          <th scope="col">{t('data.field')}</th>
                          <th scope="col">{t('data.reason')}</th>
                          <th scope="col">{t('data.record')}</th>
                        </tr>
                      </thead>
                      <tbody>
                        {errors.data.map((e, i) => (
                          <tr key={i}>
                            <td className="nowrap">{dt(e.time)}</td>
                            <td>{e.source}</td>
                            <td className="mono">
                              {e.name} {e.code !== undefined && <span className="muted">({e.code})</span>}
                            </td>
                            <td className="mono">{e.field}</td>
                            <td>{e.reason}</td>
                            <td>
                              {e.record !== undefined && e.record !== null && e.record !== '' && (
                                <details>
                                  <summary>{t('data.showRecord')}</summary>
                                  <pre className="code">{typeof e.record === 'string' ? e.record : JSON.stringify(e.record, null, 2)}</pre>
                                </details>
                              )}
                            </td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                ))}
            </>
          )}
        </div>
      </div>
    </section>
  );
}
