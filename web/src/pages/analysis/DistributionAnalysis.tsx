// Distribution: how often each person did an event in the range (times, or distinct days), as a
// histogram over buckets; every bucket opens into its people. docs/query.md "distribution".
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useProject } from '../../auth/ProjectContext';
import { useI18n, type TFunction } from '../../i18n';
import { runDistribution, type DistributionAnswer, type DistributionQuery } from '../../api/query';
import { addDays, todayLocal } from '../../lib/dates';
import { EChart } from '../../components/EChart';
import { EmptyState, ErrorBox } from '../../components/Feedback';
import { Field } from '../../components/Field';
import {
  DrillLink,
  EventSelect,
  FormError,
  FormLead,
  ResultCard,
  RunStatus,
  RangePicker,
  SaveMetricButton,
  parseNumberList,
  rangeFromQuery,
  rangeProblem,
  rangeToQuery,
  useOpenedQuery,
  useRunner,
  useSchema,
  type RangeState,
} from './shared';

/** The server's default bounds (docs/query.md). */
const DEFAULT_BOUNDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 50, 100];

/** "3", "3–4", "100 or more" for the bucket [from, to). */
export function bucketLabel(from: number, to: number | null, t: TFunction): string {
  if (to === null) return t('distribution.bucketOpen', { from });
  if (to === from + 1) return String(from);
  return t('distribution.bucketRange', { from, to: to - 1 });
}

export function DistributionAnalysis() {
  const { t } = useI18n();
  const { project } = useProject();
  const p = project!;
  const schema = useSchema(p);
  const init = useOpenedQuery<DistributionQuery>('distribution');

  const [event, setEvent] = useState(init ? (typeof init.event === 'string' ? init.event : init.event.event) : '');
  const [measure, setMeasure] = useState<'times' | 'days'>(init?.measure ?? 'times');
  const [bounds, setBounds] = useState((init?.buckets ?? DEFAULT_BOUNDS).join(', '));
  const [range, setRange] = useState<RangeState>(() => rangeFromQuery(init, { preset: '30d', from: addDays(todayLocal(), -29), to: todayLocal() }));
  const [formError, setFormError] = useState<string | null>(null);
  const runner = useRunner((q: DistributionQuery, signal) => runDistribution(p, q, signal));
  const { busy, error, result } = runner;

  const run = (e?: FormEvent) => {
    e?.preventDefault();
    setFormError(null);
    if (!event) return setFormError(t('distribution.chooseEvent'));
    const problem = rangeProblem(range, t);
    if (problem) return setFormError(problem);
    const b = parseNumberList(bounds, 1);
    if (!b) return setFormError(t('distribution.badBuckets'));
    const query: DistributionQuery = {
      type: 'distribution',
      ...rangeToQuery(range),
      event: init && typeof init.event !== 'string' && init.event.event === event ? init.event : { event },
      measure,
      buckets: b,
    };
    void runner.run(query);
  };

  useEffect(() => {
    if (init) run();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  return (
    <div className="analysis">
      <form className="card query-form" onSubmit={run} aria-label={t('distribution.formLabel')}>
        <FormLead>{t('distribution.lead')}</FormLead>
        <div className="form-row">
          <EventSelect label={t('distribution.event')} value={event} onChange={setEvent} schema={schema.data} loading={schema.loading} />
          <Field label={t('distribution.measure')} hint={measure === 'times' ? t('distribution.timesHint') : t('distribution.daysHint')}>
            <select value={measure} onChange={(e) => setMeasure(e.target.value as 'times' | 'days')}>
              <option value="times">{t('distribution.times')}</option>
              <option value="days">{t('distribution.days')}</option>
            </select>
          </Field>
          <Field label={t('distribution.buckets')} hint={t('distribution.bucketsHint')}>
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
      <RunStatus busy={busy} error={error} hasResult={!!result} startHint={t('distribution.startHint')} />
      {result && (
        <ResultCard meta={result.answer.meta}>
          <DistributionResult query={result.query} answer={result.answer} />
        </ResultCard>
      )}
    </div>
  );
}

/** The histogram and the bucket table; each count opens into its people. */
export function DistributionResult({ query, answer, embedded = false }: { query: DistributionQuery; answer: DistributionAnswer; embedded?: boolean }) {
  const { t, n, pct } = useI18n();
  const days = (query.measure ?? answer.measure) === 'days';
  const eventName = typeof query.event === 'string' ? query.event : query.event.event;
  const labels = answer.buckets.map((b) => bucketLabel(b.from, b.to, t));
  const option = useMemo(
    () => ({
      grid: { left: 56, right: 16, top: 24, bottom: 48 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: labels, axisLabel: { interval: 0 }, name: days ? t('distribution.daysAxis') : t('distribution.timesAxis'), nameLocation: 'middle', nameGap: 30 },
      yAxis: { type: 'value', minInterval: 1, name: t('distribution.people') },
      series: [{ type: 'bar', name: t('distribution.people'), data: answer.buckets.map((b) => b.users), barMaxWidth: 56, label: { show: true, position: 'top' } }],
    }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [answer, days, t],
  );
  if (answer.users === 0) return <EmptyState title={t('distribution.nobody', { event: eventName })}>{t('analysis.noRowsHint')}</EmptyState>;
  return (
    <div className={embedded ? 'metric-result' : undefined}>
      <p className="muted">{t(days ? 'distribution.summaryDays' : 'distribution.summaryTimes', { n: n(answer.users), event: eventName })}</p>
      <EChart option={option} height={embedded ? 240 : 300} label={t('analysis.chartLabel')} />
      <div className="table-wrap">
        <table className="table" aria-label={t('distribution.tableLabel')}>
          <thead>
            <tr>
              <th scope="col">{days ? t('distribution.daysColumn') : t('distribution.timesColumn')}</th>
              <th scope="col" className="num">
                {t('distribution.people')}
              </th>
              <th scope="col" className="num">
                {t('distribution.share')}
              </th>
            </tr>
          </thead>
          <tbody>
            {answer.buckets.map((b, i) => (
              <tr key={i}>
                <th scope="row">{labels[i]}</th>
                <td className="num">
                  {b.users ? (
                    <DrillLink query={query} cell={{ bucket: i }} label={t('distribution.cellLabel', { event: eventName, bucket: labels[i] })}>
                      {n(b.users)}
                    </DrillLink>
                  ) : (
                    n(0)
                  )}
                </td>
                <td className="num">{pct(b.users / answer.users)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {!embedded && <p className="muted small">{t('analysis.drillHint')}</p>}
    </div>
  );
}
