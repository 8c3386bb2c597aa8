// Stage map: ordered journey stages (awareness → interest → first loan...), each reached by any
// of its events; how many people stood in each stage at the start and at the end of the range,
// how many moved up, and the flow between stages. docs/query.md "stages".
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useProject } from '../../auth/ProjectContext';
import { useI18n } from '../../i18n';
import { runStages, type StagesAnswer, type StagesQuery } from '../../api/query';
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
  rangeFromQuery,
  rangeProblem,
  rangeToQuery,
  useOpenedQuery,
  useRunner,
  useSchema,
  type RangeState,
} from './shared';

interface StageState {
  name: string;
  events: string[];
}

export function StagesAnalysis() {
  const { t } = useI18n();
  const { project } = useProject();
  const p = project!;
  const schema = useSchema(p);
  const init = useOpenedQuery<StagesQuery>('stages');

  const [stages, setStages] = useState<StageState[]>(
    () =>
      init?.stages.map((s) => ({ name: s.name, events: s.events.map((e) => e.event) })) ?? [
        { name: '', events: [''] },
        { name: '', events: [''] },
      ],
  );
  const [range, setRange] = useState<RangeState>(() => rangeFromQuery(init, { preset: '30d', from: addDays(todayLocal(), -29), to: todayLocal() }));
  const [formError, setFormError] = useState<string | null>(null);
  const runner = useRunner((q: StagesQuery, signal) => runStages(p, q, signal));
  const { busy, error, result } = runner;

  const setStage = (i: number, patch: Partial<StageState>) => setStages((ss) => ss.map((s, k) => (k === i ? { ...s, ...patch } : s)));

  const run = (e?: FormEvent) => {
    e?.preventDefault();
    setFormError(null);
    if (stages.some((s) => !s.name.trim())) return setFormError(t('stagemap.nameAll'));
    if (new Set(stages.map((s) => s.name.trim())).size !== stages.length) return setFormError(t('stagemap.namesUnique'));
    if (stages.some((s) => s.events.some((x) => !x))) return setFormError(t('stagemap.chooseAll'));
    const problem = rangeProblem(range, t);
    if (problem) return setFormError(problem);
    const query: StagesQuery = {
      type: 'stages',
      ...rangeToQuery(range),
      stages: stages.map((s, i) => ({
        name: s.name.trim(),
        // Keep the filters of a saved stage whose events are unchanged.
        events: s.events.map((event, j) => {
          const old = init?.stages[i]?.events[j];
          return old && old.event === event ? old : { event };
        }),
      })),
    };
    void runner.run(query);
  };

  useEffect(() => {
    if (init) run();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const move = (i: number, d: number) =>
    setStages((s) => {
      const j = i + d;
      if (j < 0 || j >= s.length) return s;
      const c = [...s];
      [c[i], c[j]] = [c[j], c[i]];
      return c;
    });

  return (
    <div className="analysis">
      <form className="card query-form" onSubmit={run} aria-label={t('stagemap.formLabel')}>
        <FormLead>{t('stagemap.lead')}</FormLead>
        <fieldset>
          <legend>{t('stagemap.stages')}</legend>
          <ol className="step-list">
            {stages.map((s, i) => (
              <li key={i}>
                <div className="form-row">
                  <Field label={t('stagemap.stageName', { n: i + 1 })}>
                    <input value={s.name} onChange={(e) => setStage(i, { name: e.target.value })} required maxLength={200} placeholder={t('stagemap.namePlaceholder')} />
                  </Field>
                  {s.events.map((ev, j) => (
                    <span key={j} className="form-row">
                      <EventSelect
                        label={t('stagemap.stageEvent', { n: i + 1, k: j + 1 })}
                        value={ev}
                        onChange={(v) => setStage(i, { events: s.events.map((x, k) => (k === j ? v : x)) })}
                        schema={schema.data}
                        loading={schema.loading}
                      />
                      {s.events.length > 1 && (
                        <button
                          type="button"
                          className="btn btn-small btn-ghost"
                          onClick={() => setStage(i, { events: s.events.filter((_, k) => k !== j) })}
                          aria-label={t('stagemap.removeEvent', { n: i + 1, k: j + 1 })}
                        >
                          {t('common.remove')}
                        </button>
                      )}
                    </span>
                  ))}
                  <button
                    type="button"
                    className="btn btn-small"
                    onClick={() => setStage(i, { events: [...s.events, ''] })}
                    aria-label={t('stagemap.addEventTo', { n: i + 1 })}
                  >
                    {t('stagemap.addEvent')}
                  </button>
                  <button type="button" className="btn btn-small btn-ghost" onClick={() => move(i, -1)} disabled={i === 0} aria-label={t('stagemap.moveUp', { n: i + 1 })}>
                    ↑
                  </button>
                  <button
                    type="button"
                    className="btn btn-small btn-ghost"
                    onClick={() => move(i, 1)}
                    disabled={i === stages.length - 1}
                    aria-label={t('stagemap.moveDown', { n: i + 1 })}
                  >
                    ↓
                  </button>
                  {stages.length > 2 && (
                    <button
                      type="button"
                      className="btn btn-small btn-ghost"
                      onClick={() => setStages((ss) => ss.filter((_, k) => k !== i))}
                      aria-label={t('stagemap.removeStage', { n: i + 1 })}
                    >
                      {t('stagemap.removeStageShort')}
                    </button>
                  )}
                </div>
              </li>
            ))}
          </ol>
          {stages.length < 32 && (
            <button type="button" className="btn btn-small" onClick={() => setStages((ss) => [...ss, { name: '', events: [''] }])}>
              {t('stagemap.addStage')}
            </button>
          )}
          <p className="muted small">{t('stagemap.stagesHint')}</p>
        </fieldset>
        <div className="form-row">
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
      <RunStatus busy={busy} error={error} hasResult={!!result} startHint={t('stagemap.startHint')} />
      {result && (
        <ResultCard meta={result.answer.meta}>
          <StagesResult query={result.query} answer={result.answer} />
        </ResultCard>
      )}
    </div>
  );
}

/** Stage counts (bars + table) and the flow from the stage at the start to the one at the end. */
export function StagesResult({ query, answer, embedded = false }: { query: StagesQuery; answer: StagesAnswer; embedded?: boolean }) {
  const { t, n } = useI18n();
  // A count opens into its people; zero has nobody to show.
  const drill = (count: number, cell: Record<string, unknown>, label: string) =>
    count ? (
      <DrillLink query={query} cell={cell} label={label}>
        {n(count)}
      </DrillLink>
    ) : (
      n(0)
    );
  const none = t('stagemap.noStage');
  const bars = useMemo(
    () => ({
      grid: { left: 56, right: 16, top: 40, bottom: 40 },
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      xAxis: { type: 'category', data: answer.stages.map((s, i) => `${i + 1}. ${s.name}`), axisLabel: { interval: 0 } },
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        { type: 'bar', name: t('stagemap.atStart'), data: answer.stages.map((s) => s.users_at_start), barMaxWidth: 40 },
        { type: 'bar', name: t('stagemap.atEnd'), data: answer.stages.map((s) => s.users_at_end), barMaxWidth: 40 },
        { type: 'line', name: t('stagemap.entered'), data: answer.stages.map((s) => s.entered), symbolSize: 8 },
      ],
    }),
    [answer, t],
  );
  const flow = useMemo(() => {
    const start = (s: string | null) => `${t('stagemap.start')} · ${s ?? none}`;
    const end = (s: string | null) => `${t('stagemap.end')} · ${s ?? none}`;
    const names = new Set<string>();
    for (const x of answer.transitions) {
      names.add(start(x.from));
      names.add(end(x.to));
    }
    return {
      tooltip: { trigger: 'item' },
      series: [
        {
          type: 'sankey',
          left: 8,
          right: 140,
          top: 16,
          bottom: 16,
          emphasis: { focus: 'adjacency' },
          lineStyle: { color: 'gradient', opacity: 0.35 },
          data: [...names].map((name) => ({ name, depth: name.startsWith(t('stagemap.start')) ? 0 : 1 })),
          links: answer.transitions.map((x) => ({ source: start(x.from), target: end(x.to), value: x.users })),
        },
      ],
    };
  }, [answer, t, none]);
  const anyone = answer.stages.some((s) => s.users_at_start || s.users_at_end);
  if (!anyone) return <EmptyState title={t('stagemap.nobody')}>{t('analysis.noRowsHint')}</EmptyState>;
  return (
    <div className={embedded ? 'metric-result' : undefined}>
      <EChart option={bars} height={embedded ? 240 : 300} label={t('stagemap.chartLabel')} />
      <div className="table-wrap">
        <table className="table" aria-label={t('stagemap.tableLabel')}>
          <thead>
            <tr>
              <th scope="col">{t('stagemap.stage')}</th>
              <th scope="col" className="num">
                {t('stagemap.atStart')}
              </th>
              <th scope="col" className="num">
                {t('stagemap.atEnd')}
              </th>
              <th scope="col" className="num">
                {t('stagemap.change')}
              </th>
              <th scope="col" className="num">
                {t('stagemap.entered')}
              </th>
            </tr>
          </thead>
          <tbody>
            {answer.stages.map((s, i) => {
              const d = s.users_at_end - s.users_at_start;
              return (
                <tr key={s.name}>
                  <th scope="row">
                    {i + 1}. {s.name}
                  </th>
                  <td className="num">{drill(s.users_at_start, { stage: s.name, at: 'start' }, t('stagemap.cellAtStart', { stage: s.name }))}</td>
                  <td className="num">{drill(s.users_at_end, { stage: s.name, at: 'end' }, t('stagemap.cellAtEnd', { stage: s.name }))}</td>
                  <td className={`num ${d > 0 ? 'up' : d < 0 ? 'down' : ''}`}>{d > 0 ? `+${n(d)}` : n(d)}</td>
                  <td className="num">{drill(s.entered, { stage: s.name, at: 'entered' }, t('stagemap.cellEntered', { stage: s.name }))}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {!embedded && <p className="muted small">{t('stagemap.legend')}</p>}
      <h3 className="card-subtitle">{t('stagemap.transitions')}</h3>
      {answer.transitions.length === 0 ? (
        <p className="muted">{t('stagemap.noTransitions')}</p>
      ) : (
        <>
          <EChart option={flow} height={Math.max(220, Math.min(520, 40 + answer.transitions.length * 36))} label={t('stagemap.flowLabel')} />
          <div className="table-wrap">
            <table className="table" aria-label={t('stagemap.transitionsLabel')}>
              <thead>
                <tr>
                  <th scope="col">{t('stagemap.from')}</th>
                  <th scope="col">{t('stagemap.to')}</th>
                  <th scope="col" className="num">
                    {t('stagemap.people')}
                  </th>
                </tr>
              </thead>
              <tbody>
                {answer.transitions.map((x, i) => (
                  <tr key={i}>
                    <td>{x.from ?? <span className="muted">{none}</span>}</td>
                    <td>{x.to ?? <span className="muted">{none}</span>}</td>
                    <td className="num">{drill(x.users, { transition: { from: x.from, to: x.to } }, t('stagemap.cellTransition', { from: x.from ?? none, to: x.to ?? none }))}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}
