// Overview: key numbers for today and the last 30 days, computed with the query API (events
// analysis over `$any` and the journey events) and the journeys API; daily charts.
// Requests: the journey list (which carries each journey's headline counters) and the two event
// queries, all started together when the page opens. The numbers show as soon as they answer;
// the charts are drawn after that, once ECharts has arrived (components/EChart.tsx).
import { useMemo } from 'react';
import { Link } from 'react-router';
import { useAuth } from '../../auth/AuthContext';
import { useProject } from '../../auth/ProjectContext';
import { useI18n } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import { runEvents, type EventsAnswer, type EventsQuery } from '../../api/query';
import { listJourneys, type Journey } from '../../api/journeys';
import { StatCard } from '../../components/StatCard';
import { EChart } from '../../components/EChart';
import { EmptyState, ErrorBox, Loading } from '../../components/Feedback';

// Measures of the daily query, in this order (m0..m5).
const DAILY: EventsQuery = {
  type: 'events',
  last: '30d',
  unit: 'day',
  measures: [
    { event: '$any', aggregator: 'uniq_users' },
    { event: '$any', aggregator: 'count' },
    { event: '$SignUp', aggregator: 'count' },
    { event: '$touch_sent', aggregator: 'count' },
    { event: '$touch_suppressed', aggregator: 'count' },
    { event: '$goal_reached', aggregator: 'count' },
  ],
};
// Unique people over the whole 30 days cannot be summed from days: one more query.
const TOTAL: EventsQuery = {
  type: 'events',
  last: '30d',
  unit: 'total',
  measures: [
    { event: '$any', aggregator: 'uniq_users' },
    { event: '$SignUp', aggregator: 'uniq_users' },
  ],
};

interface Numbers {
  days: string[];
  daily: number[][]; // per measure, per day
  today: number[];
  sum30: number[];
  users30: number;
  signupUsers30: number;
  meta: EventsAnswer['meta'];
}

function toNumbers(daily: EventsAnswer, total: EventsAnswer): Numbers {
  const m = DAILY.measures.length;
  const days = daily.rows.map((r) => String(r[0]));
  const per: number[][] = Array.from({ length: m }, (_, k) => daily.rows.map((r) => Number(r[k + 1] ?? 0)));
  const last = daily.rows.length - 1;
  return {
    days,
    daily: per,
    today: per.map((s) => (last >= 0 ? s[last] : 0)),
    sum30: per.map((s) => s.reduce((a, b) => a + b, 0)),
    users30: Number(total.rows[0]?.[1] ?? 0),
    signupUsers30: Number(total.rows[0]?.[2] ?? 0),
    meta: daily.meta,
  };
}

function lineOption(days: string[], name: string, values: number[]) {
  return {
    grid: { left: 48, right: 16, top: 24, bottom: 32 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', data: days, axisLabel: { formatter: (v: string) => v.slice(5) } },
    yAxis: { type: 'value', minInterval: 1 },
    series: [{ name, type: 'line', data: values, smooth: false, showSymbol: days.length <= 31, areaStyle: { opacity: 0.08 } }],
  };
}

export function OverviewPage() {
  const { t, tx, n, pct } = useI18n();
  const { can } = useAuth();
  const { project } = useProject();
  const p = project!;
  const canQuery = can('analysis.read');
  const canJourneys = can('journey.read');

  const journeys = useAsync(
    async (signal) => {
      const list = await listJourneys(p, signal);
      // The journeys that ever ran (at most 50, newest first), with their counters.
      const ran = list
        .filter((j) => (j.live_version ?? 0) > 0)
        .slice(-50)
        .reverse();
      return { list, ran };
    },
    [p],
    canJourneys,
  );
  const numbers = useAsync(
    async (signal) => {
      const [d, tot] = await Promise.all([runEvents(p, DAILY, signal), runEvents(p, TOTAL, signal)]);
      return toNumbers(d, tot);
    },
    [p],
    canQuery,
  );

  // Sign-ups are shown when the data has them (no extra schema request for that).
  const hasSignups = (numbers.data?.sum30[2] ?? 0) > 0;

  const charts = useMemo(() => {
    if (!numbers.data) return null;
    return {
      dau: lineOption(numbers.data.days, t('overview.activeUsers'), numbers.data.daily[0]),
      events: lineOption(numbers.data.days, t('overview.events'), numbers.data.daily[1]),
    };
  }, [numbers.data, t]);

  const running = (journeys.data?.list || []).filter((j: Journey) => j.status === 'running');
  const goalTotal = (journeys.data?.ran || []).reduce((a, j) => a + (j.goal_reached || 0), 0);
  const enteredTotal = (journeys.data?.ran || []).reduce((a, j) => a + (j.entered || 0), 0);

  // The charts are drawn once every number of the page is in: drawing is the heaviest work here.
  const numbersIn = !numbers.loading && !(canJourneys && journeys.loading);

  const today = t('overview.today');
  const last30 = t('overview.last30');
  const nd = numbers.data;

  return (
    <section className="page">
      <header className="page-head">
        <h1>{t('overview.title')}</h1>
        <div className="page-actions">
          {nd && <span className="muted small">{t('overview.range', { from: nd.meta.from, to: nd.meta.to, tz: nd.meta.time_zone })}</span>}
          <button
            type="button"
            className="btn btn-small"
            onClick={() => {
              numbers.reload();
              journeys.reload();
            }}
          >
            {t('common.refresh')}
          </button>
        </div>
      </header>

      {!canQuery && <p className="notice">{t('overview.noAnalysis')}</p>}
      {canQuery && numbers.error ? <ErrorBox error={numbers.error} onRetry={numbers.reload} /> : null}
      {canQuery && numbers.loading && !nd && <Loading />}

      {nd && (
        <>
          <div className="stat-grid">
            <StatCard
              title={t('overview.activeUsers')}
              values={[
                { label: today, value: n(nd.today[0]) },
                { label: last30, value: n(nd.users30) },
              ]}
              note={t('overview.activeUsersNote')}
            />
            <StatCard
              title={t('overview.events')}
              values={[
                { label: today, value: n(nd.today[1]) },
                { label: last30, value: n(nd.sum30[1]) },
              ]}
            />
            {hasSignups && (
              <StatCard
                title={t('overview.signups')}
                values={[
                  { label: today, value: n(nd.today[2]) },
                  { label: last30, value: n(nd.sum30[2]) },
                ]}
                note={t('overview.signupsNote', { users: n(nd.signupUsers30) })}
              />
            )}
            <StatCard
              title={t('overview.touchesSent')}
              values={[
                { label: today, value: n(nd.today[3]) },
                { label: last30, value: n(nd.sum30[3]) },
              ]}
            />
            <StatCard
              title={t('overview.touchesSuppressed')}
              values={[
                { label: today, value: n(nd.today[4]) },
                { label: last30, value: n(nd.sum30[4]) },
              ]}
              note={t('overview.touchesSuppressedNote')}
            />
            <StatCard
              title={t('overview.goalEvents')}
              values={[
                { label: today, value: n(nd.today[5]) },
                { label: last30, value: n(nd.sum30[5]) },
              ]}
            />
          </div>
          {!hasSignups && <p className="muted small">{t('overview.noSignups')}</p>}

          {nd.sum30[1] === 0 ? (
            <EmptyState title={t('overview.noData')}>{t('overview.noDataHint')}</EmptyState>
          ) : (
            charts && (
              <div className="chart-grid">
                <div className="card">
                  <h2 className="card-title">{t('overview.dauChart')}</h2>
                  <EChart option={charts.dau} label={t('overview.dauChart')} hold={!numbersIn} />
                </div>
                <div className="card">
                  <h2 className="card-title">{t('overview.eventsChart')}</h2>
                  <EChart option={charts.events} label={t('overview.eventsChart')} hold={!numbersIn} />
                </div>
              </div>
            )
          )}
        </>
      )}

      {canJourneys && (
        <div className="card">
          <h2 className="card-title">{t('overview.journeys')}</h2>
          {journeys.error ? <ErrorBox error={journeys.error} onRetry={journeys.reload} /> : null}
          {journeys.loading && !journeys.data && <Loading />}
          {journeys.data && (
            <>
              <div className="stat-grid">
                <StatCard
                  title={t('overview.runningJourneys')}
                  values={[
                    { label: t('overview.now'), value: n(running.length) },
                    { label: t('overview.allJourneys'), value: n(journeys.data.list.length) },
                  ]}
                />
                <StatCard
                  title={t('overview.goalConversions')}
                  values={[
                    { label: t('overview.goalReached'), value: n(goalTotal) },
                    { label: t('overview.entered'), value: n(enteredTotal) },
                  ]}
                  note={t('overview.goalConversionsNote')}
                />
              </div>
              {journeys.data.ran.length === 0 ? (
                <EmptyState title={t('overview.noJourneys')}>{t('overview.noJourneysHint')}</EmptyState>
              ) : (
                <div className="table-wrap">
                  <table className="table">
                    <caption className="sr-only">{t('overview.journeys')}</caption>
                    <thead>
                      <tr>
                        <th scope="col">{t('overview.journeyName')}</th>
                        <th scope="col">{t('overview.journeyStatus')}</th>
                        <th scope="col" className="num">
                          {t('overview.entered')}
                        </th>
                        <th scope="col" className="num">
                          {t('overview.inside')}
                        </th>
                        <th scope="col" className="num">
                          {t('overview.goalReached')}
                        </th>
                        <th scope="col" className="num">
                          {t('overview.goalRate')}
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      {journeys.data.ran.map((j) => (
                        <tr key={j.id}>
                          <td>
                            {j.name} <span className="muted small">{j.id}</span>
                          </td>
                          <td>
                            <span className={`badge badge-${j.status}`}>{tx(`journeyStatus.${j.status}`, j.status)}</span>
                          </td>
                          <td className="num">{j.entered === undefined ? '—' : n(j.entered)}</td>
                          <td className="num">{n(j.customers_inside ?? 0)}</td>
                          <td className="num">{j.goal_reached === undefined ? '—' : n(j.goal_reached)}</td>
                          <td className="num">{j.entered && j.goal_reached !== undefined ? pct(j.goal_reached / j.entered) : '—'}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </>
          )}
        </div>
      )}
      {can('analysis.read') && (
        <p className="muted small">
          <Link to="/analysis/events">{t('overview.openAnalysis')}</Link>
        </p>
      )}
    </section>
  );
}
