// Interval: the time from an event A to the person's next event B — quantiles (a box plot and a
// table with exact seconds) and how the intervals spread over duration buckets.
// docs/query.md "interval".
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useProject } from '../../auth/ProjectContext';
import { useI18n, type MessageKey } from '../../i18n';
import { runInterval, type IntervalAnswer, type IntervalQuery } from '../../api/query';
import { addDays, todayLocal } from '../../lib/dates';
import { EChart } from '../../components/EChart';
import { EmptyState, ErrorBox } from '../../components/Feedback';
import { Field } from '../../components/Field';
import {
  DrillLink,
  DurationInput,
  EventSelect,
  FormError,
  FormLead,
  ResultCard,
  RunStatus,
  RangePicker,
  SaveMetricButton,
  durationToken,
  formatDuration,
  parseDurationList,
  rangeFromQuery,
  rangeProblem,
  rangeToQuery,
  splitSeconds,
  toSeconds,
  useOpenedQuery,
  useRunner,
  useSchema,
  type DurationState,
  type RangeState,
} from './shared';

/** The server's default bucket bounds (seconds). */
const DEFAULT_BOUNDS = [0, 60, 300, 1800, 3600, 21600, 86400, 259200, 604800];

const STATS: [keyof IntervalAnswer, MessageKey][] = [
  ['min', 'interval.min'],
  ['p25', 'interval.p25'],
  ['median', 'interval.median'],
  ['p75', 'interval.p75'],
  ['p90', 'interval.p90'],
  ['p99', 'interval.p99'],
  ['max', 'interval.max'],
  ['avg', 'interval.avg'],
];

export function IntervalAnalysis() {
  const { t } = useI18n();
  const { project } = useProject();
  const p = project!;
  const schema = useSchema(p);
  const init = useOpenedQuery<IntervalQuery>('interval');

  const [fromEvent, setFromEvent] = useState(init?.from_event.event ?? '');
  const [toEvent, setToEvent] = useState(init?.to_event.event ?? '');
  const [win, setWin] = useState<DurationState>(() => splitSeconds(init?.window_seconds ?? 30 * 86400));
  const [bounds, setBounds] = useState((init?.buckets_seconds ?? DEFAULT_BOUNDS).map(durationToken).join(', '));
  const [range, setRange] = useState<RangeState>(() => rangeFromQuery(init, { preset: '30d', from: addDays(todayLocal(), -29), to: todayLocal() }));
  const [formError, setFormError] = useState<string | null>(null);
  const runner = useRunner((q: IntervalQuery, signal) => runInterval(p, q, signal));
  const { busy, error, result } = runner;

  const run = (e?: FormEvent) => {
    e?.preventDefault();
    setFormError(null);
    if (!fromEvent || !toEvent) return setFormError(t('interval.chooseEvents'));
    const problem = rangeProblem(range, t);
    if (problem) return setFormError(problem);
    const windowSeconds = toSeconds(win);
    if (!(windowSeconds >= 1 && windowSeconds <= 366 * 86400)) return setFormError(t('interval.badWindow'));
    const b = parseDurationList(bounds);
    if (!b) return setFormError(t('interval.badBuckets'));
    const query: IntervalQuery = {
      type: 'interval',
      ...rangeToQuery(range),
      from_event: init?.from_event.event === fromEvent ? init.from_event : { event: fromEvent },
      to_event: init?.to_event.event === toEvent ? init.to_event : { event: toEvent },
      window_seconds: windowSeconds,
      buckets_seconds: b,
    };
    void runner.run(query);
  };

  useEffect(() => {
    if (init) run();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  return (
    <div className="analysis">
      <form className="card query-form" onSubmit={run} aria-label={t('interval.formLabel')}>
        <FormLead>{t('interval.lead')}</FormLead>
        <div className="form-row">
          <EventSelect label={t('interval.fromEvent')} value={fromEvent} onChange={setFromEvent} schema={schema.data} loading={schema.loading} />
          <EventSelect label={t('interval.toEvent')} value={toEvent} onChange={setToEvent} schema={schema.data} loading={schema.loading} />
          <DurationInput label={t('interval.window')} value={win} onChange={setWin} hint={t('interval.windowHint')} />
        </div>
        <div className="form-row">
          <Field label={t('interval.buckets')} hint={t('interval.bucketsHint')}>
            <input value={bounds} onChange={(e) => setBounds(e.target.value)} spellCheck={false} required />
          </Field>
          <RangePicker value={range} onChange={setRange} />
        </div>
        <FormError message={formError} />
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? t('analysis.running') : t('analysis.run')}
          </button>
          <SaveMetricButton query={result?.query ?? null} />
        </div>
      </form>
      {schema.error ? <ErrorBox error={schema.error} title={t('analysis.schemaError')} /> : null}
      <RunStatus busy={busy} error={error} hasResult={!!result} startHint={t('interval.startHint')} />
      {result && (
        <ResultCard meta={result.answer.meta}>
          <IntervalResult query={result.query} answer={result.answer} />
        </ResultCard>
      )}
    </div>
  );
}

/** Quantiles (box plot + exact table) and the duration histogram. */
export function IntervalResult({ query, answer, embedded = false }: { query: IntervalQuery; answer: IntervalAnswer; embedded?: boolean }) {
  const { t, n } = useI18n();
  const bucketLabel = (from: number, to: number | null) =>
    to === null ? t('interval.bucketOpen', { from: formatDuration(from, t) }) : t('interval.bucketRange', { from: formatDuration(from, t), to: formatDuration(to, t) });
  const box = useMemo(
    () => ({
      grid: { left: 24, right: 24, top: 16, bottom: 40 },
      tooltip: {
        trigger: 'item',
        formatter: () =>
          [answer.min, answer.p25, answer.median, answer.p75, answer.max]
            .map((v, i) => `${t((['interval.min', 'interval.p25', 'interval.median', 'interval.p75', 'interval.max'] as MessageKey[])[i])}: ${formatDuration(v, t)}`)
            .join('<br/>'),
      },
      xAxis: { type: 'value', axisLabel: { formatter: (v: number) => formatDuration(v, t) } },
      yAxis: { type: 'category', data: [`${query.from_event.event} → ${query.to_event.event}`], axisLabel: { show: false } },
      series: [{ type: 'boxplot', data: [[answer.min, answer.p25, answer.median, answer.p75, answer.max]], boxWidth: [24, 48] }],
    }),
    [answer, query, t],
  );
  const hist = useMemo(
    () => ({
      grid: { left: 56, right: 16, top: 24, bottom: 56 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: answer.buckets.map((b) => bucketLabel(b.from, b.to)), axisLabel: { interval: 0, rotate: answer.buckets.length > 6 ? 30 : 0 } },
      yAxis: { type: 'value', minInterval: 1, name: t('interval.intervals') },
      series: [{ type: 'bar', name: t('interval.intervals'), data: answer.buckets.map((b) => b.intervals), barMaxWidth: 56, label: { show: true, position: 'top' } }],
    }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [answer, t],
  );
  if (answer.intervals === 0) {
    return <EmptyState title={t('interval.none', { from: query.from_event.event, to: query.to_event.event })}>{t('interval.noneHint')}</EmptyState>;
  }
  return (
    <div className={embedded ? 'metric-result' : undefined}>
      <p className="muted">
        {t('interval.summary', { n: n(answer.intervals), users: n(answer.users), from: query.from_event.event, to: query.to_event.event, median: formatDuration(answer.median, t) })}
      </p>
      <p>
        {t('interval.people')}:{' '}
        <DrillLink query={query} cell={{}} label={t('interval.peopleLabel', { from: query.from_event.event, to: query.to_event.event })}>
          {n(answer.users)}
        </DrillLink>
      </p>
      <EChart option={box} height={embedded ? 110 : 130} label={t('interval.boxLabel')} />
      <div className="table-wrap">
        <table className="table" aria-label={t('interval.statsLabel')}>
          <thead>
            <tr>
              <th scope="col">{t('interval.statistic')}</th>
              <th scope="col" className="num">
                {t('interval.duration')}
              </th>
              <th scope="col" className="num">
                {t('interval.seconds')}
              </th>
            </tr>
          </thead>
          <tbody>
            {STATS.map(([k, label]) => (
              <tr key={k}>
                <th scope="row">{t(label)}</th>
                <td className="num">{formatDuration(answer[k] as number | null, t)}</td>
                <td className="num">{n(answer[k] as number | null)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h3 className="card-subtitle">{t('interval.histogram')}</h3>
      <EChart option={hist} height={embedded ? 220 : 280} label={t('analysis.chartLabel')} />
      <div className="table-wrap">
        <table className="table" aria-label={t('interval.bucketsLabel')}>
          <thead>
            <tr>
              <th scope="col">{t('interval.bucket')}</th>
              <th scope="col" className="num">
                {t('interval.intervals')}
              </th>
            </tr>
          </thead>
          <tbody>
            {answer.buckets.map((b, i) => (
              <tr key={i}>
                <th scope="row">{bucketLabel(b.from, b.to)}</th>
                <td className="num">
                  {b.intervals ? (
                    <DrillLink query={query} cell={{ bucket: i }} label={t('interval.cellLabel', { bucket: bucketLabel(b.from, b.to) })}>
                      {n(b.intervals)}
                    </DrillLink>
                  ) : (
                    n(0)
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {!embedded && <p className="muted small">{t('interval.legend')} {t('interval.drillHint')}</p>}
    </div>
  );
}
