// Retention: cohorts by the period of their initial event, and how many returned in each
// following period — a heat table; every cell links to its people.
import { useEffect, useState, type FormEvent } from 'react';
import { useLocation } from 'react-router';
import { useProject } from '../../auth/ProjectContext';
import { useI18n } from '../../i18n';
import { runRetention, type Cell, type Cohort, type RetentionAnswer, type RetentionQuery } from '../../api/query';
import { addDays, addUnits, isDate, todayLocal } from '../../lib/dates';
import { EmptyState, ErrorBox } from '../../components/Feedback';
import { DrillLink, EventSelect, PropertySelect, ResultCard, RunStatus, RangePicker, SaveMetricButton, groupLabel, rangeFromQuery, rangeToQuery, useSchema, type RangeState } from './shared';
import { Field } from '../../components/Field';

type RUnit = 'day' | 'week' | 'month';

function heat(rate: number): string {
  // White to the brand blue.
  const a = Math.max(0, Math.min(1, rate));
  return `rgba(31, 95, 168, ${0.08 + a * 0.8})`;
}

export function RetentionAnalysis() {
  const { t } = useI18n();
  const { project } = useProject();
  const p = project!;
  const schema = useSchema(p);
  const location = useLocation();
  const initial = (location.state as { query?: RetentionQuery } | null)?.query;
  const init = initial?.type === 'retention' ? initial : undefined;

  const [initialEvent, setInitialEvent] = useState(init?.initial.event ?? '$any');
  const [returnEvent, setReturnEvent] = useState(init?.return.event ?? '$any');
  const [unit, setUnit] = useState<RUnit>(init?.unit ?? 'day');
  const [periods, setPeriods] = useState(init?.periods ?? 7);
  const [firstTime, setFirstTime] = useState(init?.first_time ?? false);
  const [by, setBy] = useState(init?.by?.[0] ?? '');
  const [range, setRange] = useState<RangeState>(() => rangeFromQuery(init, { preset: '14d', from: addDays(todayLocal(), -13), to: todayLocal() }));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [result, setResult] = useState<{ query: RetentionQuery; answer: RetentionAnswer } | null>(null);

  const run = async (e?: FormEvent) => {
    e?.preventDefault();
    setFormError(null);
    if (!initialEvent || !returnEvent) return setFormError(t('retention.chooseEvents'));
    if (!(periods >= 1 && periods <= 365)) return setFormError(t('retention.badPeriods'));
    if (range.preset === 'custom' && (!isDate(range.from) || !isDate(range.to) || range.from > range.to)) return setFormError(t('range.invalid'));
    const query: RetentionQuery = {
      type: 'retention',
      ...rangeToQuery(range),
      unit,
      periods,
      initial: { event: initialEvent },
      return: { event: returnEvent },
      ...(firstTime ? { first_time: true } : {}),
      ...(by ? { by: [by] } : {}),
    };
    setBusy(true);
    setError(null);
    try {
      setResult({ query, answer: await runRetention(p, query) });
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

  return (
    <div className="analysis">
      <form className="card query-form" onSubmit={run} aria-label={t('retention.formLabel')}>
        <div className="form-row">
          <EventSelect label={t('retention.initial')} value={initialEvent} onChange={setInitialEvent} schema={schema.data} loading={schema.loading} />
          <EventSelect label={t('retention.return')} value={returnEvent} onChange={setReturnEvent} schema={schema.data} loading={schema.loading} />
          <label className="field-check">
            <input type="checkbox" checked={firstTime} onChange={(e) => setFirstTime(e.target.checked)} />
            <span>{t('retention.firstTime')}</span>
          </label>
        </div>
        <div className="form-row">
          <Field label={t('retention.unit')}>
            <select value={unit} onChange={(e) => setUnit(e.target.value as RUnit)}>
              <option value="day">{t('unit.day')}</option>
              <option value="week">{t('unit.week')}</option>
              <option value="month">{t('unit.month')}</option>
            </select>
          </Field>
          <Field className="field field-narrow" label={t('retention.periods')}>
            <input type="number" min={1} max={365} value={periods} onChange={(e) => setPeriods(Number(e.target.value))} required />
          </Field>
          <PropertySelect
            label={t('retention.groupBy')}
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
      <RunStatus busy={busy} error={error} hasResult={!!result} startHint={t('retention.startHint')} />
      {result && <RetentionResult key={JSON.stringify(result.query)} query={result.query} answer={result.answer} />}
    </div>
  );
}


/** The ungrouped table, or with `by` one group's table chosen from a list of the groups. */
function RetentionResult({ query, answer }: { query: RetentionQuery; answer: RetentionAnswer }) {
  const { t, n } = useI18n();
  // -1 = every customer (the ungrouped cohorts); otherwise an index into answer.groups.
  const [groupIndex, setGroupIndex] = useState(-1);
  if (!query.by?.length || answer.groups.length === 0) return <RetentionTable query={query} answer={answer} />;
  const group = groupIndex >= 0 ? answer.groups[groupIndex] : undefined;
  const groupUsers = (cohorts: Cohort[]) => cohorts.reduce((a, c) => a + c.users, 0);
  return (
    <>
      <div className="card retention-groups">
        <Field label={t('retention.showGroup', { by: query.by[0] })}>
          <select value={groupIndex} onChange={(e) => setGroupIndex(Number(e.target.value))} aria-label={t('retention.showGroup', { by: query.by[0] })}>
            <option value={-1}>{t('retention.allGroups')}</option>
            {answer.groups.map((g, gi) => (
              <option key={gi} value={gi}>
                {groupLabel(g.values, t('analysis.nullValue'))} ({n(groupUsers(g.cohorts))})
              </option>
            ))}
          </select>
        </Field>
        {query.by.some((b) => b.startsWith('event.')) && <p className="muted small">{t('retention.byEntryHint')}</p>}
      </div>
      <RetentionTable query={query} answer={answer} group={group} />
    </>
  );
}

/** The cohort heat table (also on dashboards, `embedded`); with `group`, that group's cohorts,
 * and its cells drill into that group's people. */
export function RetentionTable({
  query,
  answer,
  group,
  embedded = false,
}: {
  query: RetentionQuery;
  answer: RetentionAnswer;
  group?: { values: Cell[]; cohorts: Cohort[] };
  embedded?: boolean;
}) {
  const { t, tx, n, pct } = useI18n();
  const cohorts = group ? group.cohorts : answer.cohorts;
  const unit = (query.unit ?? 'day') as RUnit;
  const periods = query.periods ?? 7;
  const to = answer.meta.to;
  // A cell whose period starts after the end of the range may not have happened yet: it is
  // shown, but left out of the average.
  const complete = (c: Cohort, k: number) => addUnits(c.period, unit, k) <= to;
  const avg = Array.from({ length: periods + 1 }, (_, k) => {
    let base = 0;
    let kept = 0;
    for (const c of cohorts) {
      if (!c.users || !complete(c, k)) continue;
      base += c.users;
      kept += c.retained[k] ?? 0;
    }
    return base ? kept / base : null;
  });
  const total = cohorts.reduce((a, c) => a + c.users, 0);
  const unitLabel = tx(`unit.${unit}`, unit);
  return (
    <ResultCard meta={answer.meta} embedded={embedded}>
      {total === 0 ? (
        <EmptyState title={t('retention.nobody')}>{t('analysis.noRowsHint')}</EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table heat" aria-label={t('retention.tableLabel')}>
            <thead>
              <tr>
                <th scope="col">{t('retention.cohort')}</th>
                <th scope="col" className="num">
                  {t('retention.users')}
                </th>
                {Array.from({ length: periods + 1 }, (_, k) => (
                  <th scope="col" key={k} className="num">
                    {k === 0 ? t('retention.period0') : t('retention.periodN', { n: k, unit: unitLabel })}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              <tr className="avg-row">
                <th scope="row">{t('retention.average')}</th>
                <td className="num">{n(total)}</td>
                {avg.map((a, k) => (
                  <td key={k} className="num">
                    {pct(a)}
                  </td>
                ))}
              </tr>
              {cohorts.map((c) => (
                <tr key={c.period}>
                  <th scope="row" className="nowrap">
                    {c.period}
                  </th>
                  <td className="num">{n(c.users)}</td>
                  {c.retained.map((r, k) => {
                    const rate = c.users ? r / c.users : 0;
                    const done = complete(c, k);
                    return (
                      <td
                        key={k}
                        className={`num heat-cell${done ? '' : ' pending'}`}
                        style={c.users && done ? { background: heat(rate), color: rate > 0.55 ? '#fff' : undefined } : undefined}
                        title={`${n(r)} / ${n(c.users)}`}
                      >
                        {c.users === 0 ? (
                          '—'
                        ) : r > 0 ? (
                          <DrillLink query={query} cell={group ? { cohort: c.period, period: k, group: group.values } : { cohort: c.period, period: k }} label={t('retention.cellLabel', { cohort: c.period, n: k })}>
                            {k === 0 ? n(r) : pct(rate)}
                          </DrillLink>
                        ) : k === 0 ? (
                          n(r)
                        ) : (
                          pct(rate)
                        )}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="muted small">{t('retention.legend')}</p>
      <p className="muted small">{t('analysis.drillHint')}</p>
    </ResultCard>
  );
}
