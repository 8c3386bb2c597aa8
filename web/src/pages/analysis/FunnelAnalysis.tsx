// Funnel: ordered steps within a conversion window; bars per step with the step conversion,
// lost users, median time to convert. Every count links to its people.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useLocation } from 'react-router';
import { useProject } from '../../auth/ProjectContext';
import { useI18n } from '../../i18n';
import { runFunnel, type FunnelAnswer, type FunnelQuery } from '../../api/query';
import { addDays, isDate, todayLocal } from '../../lib/dates';
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
  formatDuration,
  groupLabel,
  rangeFromQuery,
  rangeToQuery,
  useSchema,
  type RangeState,
} from './shared';
import { Field } from '../../components/Field';

type WindowUnit = 'minutes' | 'hours' | 'days';
const UNIT_SECONDS: Record<WindowUnit, number> = { minutes: 60, hours: 3600, days: 86400 };

function splitWindow(seconds: number | undefined): { value: number; unit: WindowUnit } {
  const s = seconds ?? 86400;
  if (s % 86400 === 0) return { value: s / 86400, unit: 'days' };
  if (s % 3600 === 0) return { value: s / 3600, unit: 'hours' };
  return { value: Math.max(1, Math.round(s / 60)), unit: 'minutes' };
}

export function FunnelAnalysis() {
  const { t } = useI18n();
  const { project } = useProject();
  const p = project!;
  const schema = useSchema(p);
  const location = useLocation();
  const initial = (location.state as { query?: FunnelQuery } | null)?.query;
  const init = initial?.type === 'funnel' ? initial : undefined;

  const [steps, setSteps] = useState<string[]>(() => init?.steps.map((s) => s.event) ?? ['', '']);
  const [win, setWin] = useState(() => splitWindow(init?.window_seconds));
  const [mode, setMode] = useState<'default' | 'strict'>(init?.mode ?? 'default');
  const [by, setBy] = useState(init?.by?.[0] ?? '');
  const [range, setRange] = useState<RangeState>(() => rangeFromQuery(init, { preset: '30d', from: addDays(todayLocal(), -29), to: todayLocal() }));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [result, setResult] = useState<{ query: FunnelQuery; answer: FunnelAnswer } | null>(null);

  const run = async (e?: FormEvent) => {
    e?.preventDefault();
    setFormError(null);
    if (steps.some((s) => !s)) return setFormError(t('funnel.chooseAllSteps'));
    if (range.preset === 'custom' && (!isDate(range.from) || !isDate(range.to) || range.from > range.to)) return setFormError(t('range.invalid'));
    const windowSeconds = Math.round(win.value * UNIT_SECONDS[win.unit]);
    if (!(windowSeconds >= 1 && windowSeconds <= 366 * 86400)) return setFormError(t('funnel.badWindow'));
    const query: FunnelQuery = {
      type: 'funnel',
      ...rangeToQuery(range),
      window_seconds: windowSeconds,
      mode,
      steps: steps.map((event) => ({ event })),
      ...(by ? { by: [by] } : {}),
    };
    setBusy(true);
    setError(null);
    try {
      setResult({ query, answer: await runFunnel(p, query) });
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

  const move = (i: number, d: number) =>
    setSteps((s) => {
      const c = [...s];
      const j = i + d;
      if (j < 0 || j >= c.length) return s;
      [c[i], c[j]] = [c[j], c[i]];
      return c;
    });

  return (
    <div className="analysis">
      <form className="card query-form" onSubmit={run} aria-label={t('funnel.formLabel')}>
        <fieldset>
          <legend>{t('funnel.steps')}</legend>
          <ol className="step-list">
            {steps.map((s, i) => (
              <li key={i} className="form-row">
                <EventSelect
                  label={t('funnel.stepN', { n: i + 1 })}
                  value={s}
                  onChange={(v) => setSteps((x) => x.map((y, k) => (k === i ? v : y)))}
                  schema={schema.data}
                  loading={schema.loading}
                />
                <button
                  type="button"
                  className="btn btn-small btn-ghost"
                  onClick={() => move(i, -1)}
                  disabled={i === 0}
                  aria-label={t('funnel.moveUp', { n: i + 1 })}
                >
                  ↑
                </button>
                <button
                  type="button"
                  className="btn btn-small btn-ghost"
                  onClick={() => move(i, 1)}
                  disabled={i === steps.length - 1}
                  aria-label={t('funnel.moveDown', { n: i + 1 })}
                >
                  ↓
                </button>
                {steps.length > 2 && (
                  <button
                    type="button"
                    className="btn btn-small btn-ghost"
                    onClick={() => setSteps((x) => x.filter((_, k) => k !== i))}
                    aria-label={t('funnel.removeStep', { n: i + 1 })}
                  >
                    {t('common.remove')}
                  </button>
                )}
              </li>
            ))}
          </ol>
          {steps.length < 32 && (
            <button type="button" className="btn btn-small" onClick={() => setSteps((x) => [...x, ''])}>
              {t('funnel.addStep')}
            </button>
          )}
        </fieldset>
        <div className="form-row">
          <Field className="field field-narrow" label={t('funnel.window')}>
            <input type="number" min={1} value={win.value} onChange={(e) => setWin({ ...win, value: Number(e.target.value) })} required />
          </Field>
          <Field label={t('funnel.windowUnit')}>
            <select value={win.unit} onChange={(e) => setWin({ ...win, unit: e.target.value as WindowUnit })}>
              <option value="minutes">{t('funnel.minutes')}</option>
              <option value="hours">{t('funnel.hours')}</option>
              <option value="days">{t('funnel.days')}</option>
            </select>
          </Field>
          <Field label={t('funnel.mode')}>
            <select value={mode} onChange={(e) => setMode(e.target.value as 'default' | 'strict')}>
              <option value="default">{t('funnel.modeDefault')}</option>
              <option value="strict">{t('funnel.modeStrict')}</option>
            </select>
          </Field>
          <PropertySelect
            label={t('funnel.groupBy')}
            value={by}
            onChange={setBy}
            schema={schema.data}
            loading={schema.loading}
            scopes={['event', 'user']}
            emptyLabel={t('events.noGrouping')}
          />
          <RangePicker value={range} onChange={setRange} />
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
      <RunStatus busy={busy} error={error} hasResult={!!result} startHint={t('funnel.startHint')} />
      {result && <FunnelResult query={result.query} answer={result.answer} />}
    </div>
  );
}

/** The funnel's chart and tables (also on dashboards, `embedded`). */
export function FunnelResult({ query, answer, embedded = false }: { query: FunnelQuery; answer: FunnelAnswer; embedded?: boolean }) {
  const { t, n, pct } = useI18n();
  const option = useMemo(() => {
    const st = answer.steps;
    return {
      grid: { left: 56, right: 16, top: 24, bottom: 48 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: st.map((s, i) => `${i + 1}. ${s.event}`), axisLabel: { interval: 0, overflow: 'truncate', width: 120 } },
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        {
          type: 'bar',
          name: t('funnel.users'),
          data: st.map((s) => s.users),
          barMaxWidth: 64,
          label: {
            show: true,
            position: 'top',
            formatter: (x: { dataIndex: number }) => (x.dataIndex === 0 ? '100%' : pct(st[x.dataIndex].conversion_from_first)),
          },
        },
      ],
    };
  }, [answer, t, pct]);

  return (
    <ResultCard meta={answer.meta} embedded={embedded}>
      {answer.steps[0]?.users === 0 ? (
        <EmptyState title={t('funnel.nobody')}>{t('analysis.noRowsHint')}</EmptyState>
      ) : (
        option && <EChart option={option} height={300} label={t('analysis.chartLabel')} />
      )}
      <div className="table-wrap">
        <table className="table" aria-label={t('funnel.tableLabel')}>
          <thead>
            <tr>
              <th scope="col">{t('funnel.step')}</th>
              <th scope="col" className="num">
                {t('funnel.users')}
              </th>
              <th scope="col" className="num">
                {t('funnel.fromPrevious')}
              </th>
              <th scope="col" className="num">
                {t('funnel.fromFirst')}
              </th>
              <th scope="col" className="num">
                {t('funnel.lost')}
              </th>
              <th scope="col" className="num">
                {t('funnel.median')}
              </th>
            </tr>
          </thead>
          <tbody>
            {answer.steps.map((s, i) => (
              <tr key={i}>
                <td>
                  {i + 1}. <span className="mono">{s.event}</span>
                </td>
                <td className="num">
                  {s.users ? (
                    <DrillLink query={query} cell={{ step: i }} label={t('funnel.reachedLabel', { n: i + 1, event: s.event })}>
                      {n(s.users)}
                    </DrillLink>
                  ) : (
                    n(0)
                  )}
                </td>
                <td className="num">{i === 0 ? '—' : pct(s.conversion_from_previous)}</td>
                <td className="num">{pct(s.conversion_from_first)}</td>
                <td className="num">
                  {i < answer.steps.length - 1 && s.lost ? (
                    <DrillLink query={query} cell={{ step: i, lost: true }} label={t('funnel.lostLabel', { n: i + 1, event: s.event })}>
                      {n(s.lost)}
                    </DrillLink>
                  ) : (
                    n(s.lost)
                  )}
                </td>
                <td className="num">{i === 0 ? '—' : formatDuration(s.median_seconds_to_convert, t)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {answer.groups.length > 0 && (
        <div className="table-wrap">
          <h3 className="card-subtitle">{t('funnel.byGroup', { by: query.by?.[0] ?? '' })}</h3>
          {query.by?.some((b) => b.startsWith('event.')) && <p className="muted small">{t('funnel.byEntryHint')}</p>}
          <table className="table" aria-label={t('funnel.groupTableLabel')}>
            <thead>
              <tr>
                <th scope="col">{query.by?.[0]}</th>
                {answer.steps.map((s, i) => (
                  <th scope="col" key={i} className="num">
                    {i + 1}. {s.event}
                  </th>
                ))}
                <th scope="col" className="num">
                  {t('funnel.overall')}
                </th>
              </tr>
            </thead>
            <tbody>
              {answer.groups.map((g, gi) => (
                <tr key={gi}>
                  <td>{groupLabel(g.values, t('analysis.nullValue'))}</td>
                  {g.steps.map((s, i) => (
                    <td key={i} className="num">
                      {s.users ? (
                        <DrillLink query={query} cell={{ step: i, group: g.values }} label={t('funnel.reachedLabel', { n: i + 1, event: s.event })}>
                          {n(s.users)}
                        </DrillLink>
                      ) : (
                        n(0)
                      )}
                    </td>
                  ))}
                  <td className="num">{pct(g.steps[g.steps.length - 1]?.conversion_from_first)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="muted small">{t('analysis.drillHint')}</p>
    </ResultCard>
  );
}
