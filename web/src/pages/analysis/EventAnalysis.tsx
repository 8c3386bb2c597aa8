// Event analysis: measures (event × aggregator), an optional group-by, a time range and unit;
// line / bar / table; optionally the previous period of the same length for comparison.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useLocation, useSearchParams } from 'react-router';
import { useProject } from '../../auth/ProjectContext';
import { useI18n, type MessageKey } from '../../i18n';
import { runEvents, type Aggregator, type EventsAnswer, type EventsQuery, type TimeUnit, type Cell } from '../../api/query';
import { buckets, previousPeriod, todayLocal, addDays, isDate } from '../../lib/dates';
import { EChart } from '../../components/EChart';
import { EmptyState, ErrorBox } from '../../components/Feedback';
import {
  DrillLink,
  EventSelect,
  ResultCard,
  RunStatus,
  PropertySelect,
  RangePicker,
  SaveMetricButton,
  groupLabel,
  rangeFromQuery,
  rangeToQuery,
  useSchema,
  type RangeState,
} from './shared';
import { Field } from '../../components/Field';

interface MeasureState {
  event: string;
  aggregator: Aggregator;
  property: string;
}

export type View = 'line' | 'bar' | 'table';

const AGGREGATORS: [Aggregator, MessageKey][] = [
  ['count', 'agg.count'],
  ['uniq_users', 'agg.uniq_users'],
  ['per_user_avg', 'agg.per_user_avg'],
  ['sum', 'agg.sum'],
  ['avg', 'agg.avg'],
  ['min', 'agg.min'],
  ['max', 'agg.max'],
  ['distinct', 'agg.distinct'],
];
const NEEDS_PROPERTY = new Set<Aggregator>(['sum', 'avg', 'min', 'max', 'distinct']);
const UNITS: [TimeUnit, MessageKey][] = [
  ['hour', 'unit.hour'],
  ['day', 'unit.day'],
  ['week', 'unit.week'],
  ['month', 'unit.month'],
  ['total', 'unit.total'],
];

export interface EventsResultData {
  query: EventsQuery;
  answer: EventsAnswer;
  previous?: { query: EventsQuery; answer: EventsAnswer };
  unit: TimeUnit;
}
type Result = EventsResultData;

const groupKey = (values: Cell[]) => JSON.stringify(values);

export function EventAnalysis() {
  const { t, n, pct } = useI18n();
  const { project } = useProject();
  const p = project!;
  const schema = useSchema(p);
  const location = useLocation();
  const [params] = useSearchParams();
  const initial = (location.state as { query?: EventsQuery } | null)?.query;
  const init = initial?.type === 'events' ? initial : undefined;

  const [measures, setMeasures] = useState<MeasureState[]>(() =>
    init
      ? init.measures.map((m) => ({ event: m.event, aggregator: m.aggregator || 'count', property: m.property || '' }))
      : [{ event: params.get('event') || '$any', aggregator: 'count', property: '' }],
  );
  const [by, setBy] = useState<string>(init?.by?.[0] || '');
  const [range, setRange] = useState<RangeState>(() => rangeFromQuery(init, { preset: '7d', from: addDays(todayLocal(), -6), to: todayLocal() }));
  const [unit, setUnit] = useState<TimeUnit>(init?.unit || 'day');
  const [view, setView] = useState<View>('line');
  const [compare, setCompare] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<Result | null>(null);
  const [formError, setFormError] = useState<string | null>(null);

  const buildQuery = (): EventsQuery => ({
    type: 'events',
    ...rangeToQuery(range),
    unit,
    measures: measures.map((m) => ({
      event: m.event,
      aggregator: m.aggregator,
      ...(NEEDS_PROPERTY.has(m.aggregator) && m.property ? { property: m.property } : {}),
    })),
    ...(by ? { by: [by] } : {}),
  });

  const run = async (e?: FormEvent) => {
    e?.preventDefault();
    setFormError(null);
    if (range.preset === 'custom' && (!isDate(range.from) || !isDate(range.to) || range.from > range.to)) {
      setFormError(t('range.invalid'));
      return;
    }
    const missing = measures.findIndex((m) => NEEDS_PROPERTY.has(m.aggregator) && !m.property);
    if (missing >= 0) {
      setFormError(t('events.needProperty', { n: missing + 1 }));
      return;
    }
    const query = buildQuery();
    setBusy(true);
    setError(null);
    try {
      const answer = await runEvents(p, query);
      let previous: Result['previous'];
      if (compare) {
        const prev = previousPeriod(answer.meta.from, answer.meta.to);
        const pq: EventsQuery = { ...query, last: undefined, from: prev.from, to: prev.to };
        delete pq.last;
        previous = { query: pq, answer: await runEvents(p, pq) };
      }
      setResult({ query, answer, previous, unit });
    } catch (err) {
      setError(err);
      setResult(null);
    } finally {
      setBusy(false);
    }
  };

  // Opened from a saved metric or from "back to the analysis": run it at once.
  useEffect(() => {
    if (init) void run();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const setMeasure = (i: number, patch: Partial<MeasureState>) => setMeasures((ms) => ms.map((m, k) => (k === i ? { ...m, ...patch } : m)));

  return (
    <div className="analysis">
      <form className="card query-form" onSubmit={run} aria-label={t('events.formLabel')}>
        <fieldset>
          <legend>{t('events.measures')}</legend>
          {measures.map((m, i) => (
            <div key={i} className="form-row measure-row">
              <span className="measure-index" aria-hidden="true">
                {String.fromCharCode(65 + i)}
              </span>
              <EventSelect
                label={measures.length > 1 ? t('events.eventN', { n: i + 1 }) : t('events.event')}
                value={m.event}
                onChange={(v) => setMeasure(i, { event: v })}
                schema={schema.data}
                loading={schema.loading}
              />
              <Field label={measures.length > 1 ? t('events.aggregatorN', { n: i + 1 }) : t('events.aggregator')}>
                <select value={m.aggregator} onChange={(e) => setMeasure(i, { aggregator: e.target.value as Aggregator })}>
                  {AGGREGATORS.map(([k, l]) => (
                    <option key={k} value={k}>
                      {t(l)}
                    </option>
                  ))}
                </select>
              </Field>
              {NEEDS_PROPERTY.has(m.aggregator) && (
                <PropertySelect
                  label={measures.length > 1 ? t('events.propertyN', { n: i + 1 }) : t('events.property')}
                  value={m.property}
                  onChange={(v) => setMeasure(i, { property: v })}
                  schema={schema.data}
                  loading={schema.loading}
                  scopes={['bare']}
                  numericOnly={m.aggregator !== 'distinct'}
                  emptyLabel={t('analysis.chooseProperty')}
                />
              )}
              {measures.length > 1 && (
                <button
                  type="button"
                  className="btn btn-small btn-ghost"
                  onClick={() => setMeasures((ms) => ms.filter((_, k) => k !== i))}
                  aria-label={t('events.removeMeasure', { n: i + 1 })}
                >
                  {t('common.remove')}
                </button>
              )}
            </div>
          ))}
          {measures.length < 8 && (
            <button type="button" className="btn btn-small" onClick={() => setMeasures((ms) => [...ms, { event: '$any', aggregator: 'count', property: '' }])}>
              {t('events.addMeasure')}
            </button>
          )}
        </fieldset>
        <div className="form-row">
          <PropertySelect
            label={t('events.groupBy')}
            value={by}
            onChange={setBy}
            schema={schema.data}
            loading={schema.loading}
            scopes={['event', 'user']}
            emptyLabel={t('events.noGrouping')}
          />
          <RangePicker value={range} onChange={setRange} />
          <Field label={t('events.unit')}>
            <select value={unit} onChange={(e) => setUnit(e.target.value as TimeUnit)}>
              {UNITS.map(([k, l]) => (
                <option key={k} value={k}>
                  {t(l)}
                </option>
              ))}
            </select>
          </Field>
          <label className="field-check">
            <input type="checkbox" checked={compare} onChange={(e) => setCompare(e.target.checked)} />
            <span>{t('events.compare')}</span>
          </label>
        </div>
        {formError && (
          <p className="form-error" role="alert">
            {formError}
          </p>
        )}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? t('analysis.running') : t('analysis.run')}
          </button>
          <SaveMetricButton query={result?.query ?? null} />
        </div>
      </form>

      {schema.error ? <ErrorBox error={schema.error} title={t('analysis.schemaError')} /> : null}
      <RunStatus busy={busy} error={error} hasResult={!!result} startHint={t('events.startHint')} />
      {result && <EventsResult result={result} view={view} setView={setView} n={n} pct={pct} />}
    </div>
  );
}

/** The events chart and table with its line / bar / table switch (also on dashboards, `embedded`). */
export function EventsResult({
  result,
  view,
  setView,
  n,
  pct,
  embedded = false,
}: {
  result: Result;
  view: View;
  setView: (v: View) => void;
  n: (v: number | null | undefined) => string;
  pct: (v: number | null | undefined) => string;
  embedded?: boolean;
}) {
  const { t } = useI18n();
  const { answer, previous, unit, query } = result;
  const nm = answer.measure_labels.length;
  const nb = answer.columns.length - 1 - nm; // group-by columns
  const times = useMemo(() => buckets(unit, answer.meta.from, answer.meta.to), [unit, answer.meta.from, answer.meta.to]);
  const prevTimes = useMemo(() => (previous ? buckets(unit, previous.answer.meta.from, previous.answer.meta.to) : []), [unit, previous]);

  // value[measure][group][bucket index]
  const index = (a: EventsAnswer, ts: string[]) => {
    const pos = new Map(ts.map((x, i) => [x, i]));
    const groups = new Map<string, Cell[]>();
    const vals = new Map<string, (number | null)[][]>();
    for (const row of a.rows) {
      const g = row.slice(1, 1 + nb);
      const k = groupKey(g);
      if (!groups.has(k)) {
        groups.set(k, g);
        vals.set(
          k,
          Array.from({ length: nm }, () => ts.map(() => 0)),
        );
      }
      const i = pos.get(String(row[0]));
      if (i === undefined) continue;
      for (let m = 0; m < nm; m++) vals.get(k)![m][i] = row[1 + nb + m] as number | null;
    }
    return { groups, vals };
  };
  const cur = useMemo(() => index(answer, times), [answer, times]);
  const prev = useMemo(() => (previous ? index(previous.answer, prevTimes) : null), [previous, prevTimes]);

  const option = useMemo(() => {
    const series: object[] = [];
    // One bucket (the whole range) reads better as bars.
    const type = view === 'bar' || times.length === 1 ? 'bar' : 'line';
    for (const [k, g] of cur.groups) {
      for (let m = 0; m < nm; m++) {
        const name = g.length ? `${answer.measure_labels[m]} · ${groupLabel(g, t('analysis.nullValue'))}` : answer.measure_labels[m];
        series.push({ name, type, data: cur.vals.get(k)![m], showSymbol: times.length <= 60 });
        if (prev) {
          const pv = prev.vals.get(k)?.[m];
          series.push({
            name: `${name} (${t('events.previous')})`,
            type,
            data: pv ?? times.map(() => 0),
            lineStyle: { type: 'dashed' },
            itemStyle: { opacity: 0.6 },
            showSymbol: false,
          });
        }
      }
    }
    return {
      grid: { left: 56, right: 16, top: 40, bottom: 40 },
      tooltip: { trigger: 'axis' },
      legend: { type: 'scroll', top: 0 },
      xAxis: { type: 'category', data: times },
      yAxis: { type: 'value' },
      series: series.slice(0, 40),
    };
  }, [cur, prev, nm, times, view, answer.measure_labels, t]);

  const empty = answer.rows.length === 0 || answer.rows.every((r) => r.slice(1 + nb).every((v) => !v));
  const cellLabel = (time: string, g: Cell[], m: number) => [answer.measure_labels[m], time, ...g.map((v) => String(v))].join(' · ');

  return (
    <ResultCard
      meta={answer.meta}
      embedded={embedded}
      actions={
        <div role="group" aria-label={t('events.view')} className="segmented">
          {(['line', 'bar', 'table'] as View[]).map((v) => (
            <button key={v} type="button" aria-pressed={view === v} className={view === v ? 'active' : undefined} onClick={() => setView(v)}>
              {t(`view.${v}` as MessageKey)}
            </button>
          ))}
        </div>
      }
    >
      {previous && <p className="muted small">{t('events.comparedWith', { from: previous.answer.meta.from, to: previous.answer.meta.to })}</p>}
      {answer.groups_truncated && <p className="notice">{t('events.truncated', { shown: cur.groups.size, total: answer.groups_total ?? 0 })}</p>}
      {empty && <EmptyState title={t('analysis.noRows')}>{t('analysis.noRowsHint')}</EmptyState>}
      {!empty && view !== 'table' && <EChart option={option} height={320} label={t('analysis.chartLabel')} />}
      {!empty && (
        <div className="table-wrap">
          <table className="table" aria-label={t('events.tableLabel')}>
            <thead>
              <tr>
                <th scope="col">{t('events.time')}</th>
                {answer.columns.slice(1, 1 + nb).map((c) => (
                  <th scope="col" key={c}>
                    {c}
                  </th>
                ))}
                {answer.measure_labels.map((l, m) => (
                  <th scope="col" key={m} className="num">
                    {l}
                  </th>
                ))}
                {previous &&
                  answer.measure_labels.map((l, m) => (
                    <th scope="col" key={`p${m}`} className="num">
                      {t('events.previousOf', { label: l })}
                    </th>
                  ))}
                {previous &&
                  answer.measure_labels.map((_, m) => (
                    <th scope="col" key={`c${m}`} className="num">
                      {t('events.change', { label: String.fromCharCode(65 + m) })}
                    </th>
                  ))}
              </tr>
            </thead>
            <tbody>
              {[...cur.groups.entries()].flatMap(([k, g]) =>
                times.map((time, i) => {
                  const values = cur.vals.get(k)!.map((s) => s[i]);
                  if (nb > 0 && values.every((v) => !v)) return null;
                  const pv = prev ? prev.vals.get(k)?.map((s) => s[i]) : undefined;
                  return (
                    <tr key={`${k}-${time}`}>
                      <td className="nowrap">{unit === 'total' ? `${answer.meta.from} ~ ${answer.meta.to}` : time}</td>
                      {g.map((v, j) => (
                        <td key={j}>{v === null ? <span className="muted">{t('analysis.nullValue')}</span> : String(v)}</td>
                      ))}
                      {values.map((v, m) => (
                        <td key={m} className="num">
                          {v ? (
                            <DrillLink query={query} cell={{ time, measure: m, ...(nb ? { group: g } : {}) }} label={cellLabel(time, g, m)}>
                              {n(v)}
                            </DrillLink>
                          ) : (
                            n(v)
                          )}
                        </td>
                      ))}
                      {previous &&
                        values.map((_, m) => (
                          <td key={`p${m}`} className="num">
                            {n(pv?.[m] ?? 0)}
                          </td>
                        ))}
                      {previous &&
                        values.map((v, m) => {
                          const a = Number(v ?? 0);
                          const b = Number(pv?.[m] ?? 0);
                          const change = b ? (a - b) / b : null;
                          return (
                            <td key={`c${m}`} className={`num ${change === null ? '' : change >= 0 ? 'up' : 'down'}`}>
                              {change === null ? '—' : `${change >= 0 ? '+' : ''}${pct(change)}`}
                            </td>
                          );
                        })}
                    </tr>
                  );
                }),
              )}
            </tbody>
          </table>
        </div>
      )}
      <p className="muted small">{t('analysis.drillHint')}</p>
    </ResultCard>
  );
}
