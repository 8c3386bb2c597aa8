// Paths: what people do after (or before) an event within one visit — a Sankey of the steps and
// the most frequent paths. docs/query.md "paths".
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { useProject } from '../../auth/ProjectContext';
import { useI18n } from '../../i18n';
import { runPaths, type PathsAnswer, type PathsQuery } from '../../api/query';
import { addDays, todayLocal } from '../../lib/dates';
import { EChart } from '../../components/EChart';
import { EmptyState, ErrorBox } from '../../components/Feedback';
import { Field } from '../../components/Field';
import {
  DrillLink,
  DurationInput,
  drillPath,
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
  splitSeconds,
  toSeconds,
  useOpenedQuery,
  useRunner,
  useSchema,
  type DurationState,
  type RangeState,
} from './shared';

export function PathsAnalysis() {
  const { t } = useI18n();
  const { project } = useProject();
  const p = project!;
  const schema = useSchema(p);
  const init = useOpenedQuery<PathsQuery>('paths');

  const [direction, setDirection] = useState<'after' | 'before'>(init?.direction ?? 'after');
  const [anchor, setAnchor] = useState(init?.anchor?.event ?? '');
  const [depth, setDepth] = useState(init?.depth ?? 5);
  const [gap, setGap] = useState<DurationState>(() => splitSeconds(init?.session_gap_seconds ?? 1800));
  const [top, setTop] = useState(init?.top ?? 20);
  const [only, setOnly] = useState<string[]>(init?.events ?? []);
  const [range, setRange] = useState<RangeState>(() => rangeFromQuery(init, { preset: '7d', from: addDays(todayLocal(), -6), to: todayLocal() }));
  const [formError, setFormError] = useState<string | null>(null);
  const runner = useRunner((q: PathsQuery, signal) => runPaths(p, q, signal));
  const { busy, error, result } = runner;

  const run = (e?: FormEvent) => {
    e?.preventDefault();
    setFormError(null);
    const problem = rangeProblem(range, t);
    if (problem) return setFormError(problem);
    if (direction === 'before' && !anchor) return setFormError(t('paths.needEndEvent'));
    if (!(depth >= 2 && depth <= 10)) return setFormError(t('paths.badDepth'));
    const gapSeconds = toSeconds(gap);
    if (!(gapSeconds >= 1 && gapSeconds <= 86400)) return setFormError(t('paths.badGap'));
    if (!(top >= 1 && top <= 1000)) return setFormError(t('paths.badTop'));
    const query: PathsQuery = {
      type: 'paths',
      ...rangeToQuery(range),
      ...(anchor ? { anchor: { event: anchor } } : {}),
      direction,
      depth,
      session_gap_seconds: gapSeconds,
      top,
      ...(only.length ? { events: only } : {}),
    };
    void runner.run(query);
  };

  useEffect(() => {
    if (init) run();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const eventNames = (schema.data?.events ?? []).map((e) => e.name).filter((n) => !n.startsWith('$segment_'));

  return (
    <div className="analysis">
      <form className="card query-form" onSubmit={run} aria-label={t('paths.formLabel')}>
        <FormLead>{t('paths.lead')}</FormLead>
        <div className="form-row">
          <Field label={t('paths.direction')} hint={t('paths.directionHint')}>
            <select value={direction} onChange={(e) => setDirection(e.target.value as 'after' | 'before')}>
              <option value="after">{t('paths.after')}</option>
              <option value="before">{t('paths.before')}</option>
            </select>
          </Field>
          <EventSelect
            label={direction === 'after' ? t('paths.startEvent') : t('paths.endEvent')}
            value={anchor}
            onChange={setAnchor}
            schema={schema.data}
            loading={schema.loading}
            emptyOption={direction === 'after' ? t('paths.sessionStart') : undefined}
          />
          <Field className="field field-narrow" label={t('paths.depth')} hint={t('paths.depthHint')}>
            <input type="number" min={2} max={10} value={depth} onChange={(e) => setDepth(Number(e.target.value))} required />
          </Field>
        </div>
        <div className="form-row">
          <DurationInput label={t('paths.gap')} value={gap} onChange={setGap} hint={t('paths.gapHint')} units={['seconds', 'minutes', 'hours']} />
          <Field className="field field-narrow" label={t('paths.top')} hint={t('paths.topHint')}>
            <input type="number" min={1} max={1000} value={top} onChange={(e) => setTop(Number(e.target.value))} required />
          </Field>
          <RangePicker value={range} onChange={setRange} />
        </div>
        {eventNames.length > 0 && (
          <details className="paths-only">
            <summary>{only.length ? t('paths.onlySome', { n: only.length }) : t('paths.onlyAll')}</summary>
            <p className="muted small">{t('paths.onlyHint')}</p>
            <fieldset className="form-row">
              <legend className="sr-only">{t('paths.only')}</legend>
              {eventNames.map((name) => (
                <label key={name} className="field-check">
                  <input
                    type="checkbox"
                    checked={only.includes(name)}
                    onChange={(e) => setOnly((o) => (e.target.checked ? [...o, name] : o.filter((x) => x !== name)))}
                  />
                  <span className="mono">{name}</span>
                </label>
              ))}
            </fieldset>
          </details>
        )}
        <FormError message={formError} />
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? t('analysis.running') : t('analysis.run')}
          </button>
          <SaveMetricButton query={result?.query ?? null} />
        </div>
      </form>
      {schema.error ? <ErrorBox error={schema.error} title={t('analysis.schemaError')} /> : null}
      <RunStatus busy={busy} error={error} hasResult={!!result} startHint={t('paths.startHint')} />
      {result && (
        <ResultCard meta={result.answer.meta}>
          <PathsResult query={result.query} answer={result.answer} />
        </ResultCard>
      )}
    </div>
  );
}

/** Rows of the top-path table on a dashboard (the analysis page shows them all). */
const EMBEDDED_ROWS = 10;

/** The Sankey of the steps and the table of the most frequent paths. */
export function PathsResult({ query, answer, embedded = false }: { query: PathsQuery; answer: PathsAnswer; embedded?: boolean }) {
  const { t, n, pct } = useI18n();
  const navigate = useNavigate();
  const eventOf = (id: string) => answer.nodes.find((x) => x.id === id)?.event ?? id;
  // A node or a flow of the Sankey opens into the people whose visits went through it.
  const onChartClick = (x: { dataType?: string; data?: unknown }) => {
    const d = x.data as { name?: string; source?: string; target?: string; step?: number; event?: string } | undefined;
    if (!d) return;
    if (x.dataType === 'edge' && d.source && d.target) {
      navigate(drillPath(query, { link: [d.source, d.target] }, t('paths.linkCell', { from: eventOf(d.source), to: eventOf(d.target) })));
    } else if (x.dataType === 'node' && d.name) {
      navigate(drillPath(query, { node: d.name }, t('paths.nodeCell', { event: d.event ?? '', step: (d.step ?? 0) + 1 })));
    }
  };
  const option = useMemo(() => {
    const minStep = Math.min(0, ...answer.nodes.map((x) => x.step));
    const byId = new Map(answer.nodes.map((x) => [x.id, x]));
    return {
      tooltip: {
        trigger: 'item',
        formatter: (x: { dataType: string; data: { source?: string; target?: string; value: number; event?: string; step?: number } }) => {
          if (x.dataType === 'edge') {
            const a = byId.get(x.data.source!)?.event ?? x.data.source;
            const b = byId.get(x.data.target!)?.event ?? x.data.target;
            return t('paths.linkTip', { from: a ?? '', to: b ?? '', n: n(x.data.value) });
          }
          return t('paths.nodeTip', { event: x.data.event ?? '', step: (x.data.step ?? 0) + 1, n: n(x.data.value) });
        },
      },
      series: [
        {
          type: 'sankey',
          left: 8,
          right: 120,
          top: 16,
          bottom: 16,
          nodeGap: 10,
          nodeAlign: query.direction === 'before' ? 'right' : 'left',
          layoutIterations: 32,
          emphasis: { focus: 'adjacency' },
          lineStyle: { color: 'gradient', opacity: 0.35 },
          label: { formatter: (x: { data: { event: string } }) => x.data.event },
          data: answer.nodes.map((x) => ({ name: x.id, event: x.event, step: x.step, value: x.sessions, depth: x.step - minStep })),
          links: answer.links.map((l) => ({ source: l.source, target: l.target, value: l.sessions })),
        },
      ],
    };
  }, [answer, query.direction, t, n]);

  if (answer.sessions === 0) {
    return <EmptyState title={t('paths.none')}>{t('analysis.noRowsHint')}</EmptyState>;
  }
  // Tall enough for the busiest step.
  const perStep = new Map<number, number>();
  for (const x of answer.nodes) perStep.set(x.step, (perStep.get(x.step) ?? 0) + 1);
  const height = Math.max(260, Math.min(600, 40 + Math.max(0, ...perStep.values()) * 44));
  return (
    <div className={embedded ? 'metric-result' : undefined}>
      <p className="muted">{t('paths.summary', { n: n(answer.sessions) })}</p>
      {answer.links.length > 0 && <EChart option={option} height={height} label={t('paths.chartLabel')} onClick={onChartClick} />}
      <div className="table-wrap">
        <table className="table" aria-label={t('paths.tableLabel')}>
          <thead>
            <tr>
              <th scope="col" className="num">
                #
              </th>
              <th scope="col">{t('paths.path')}</th>
              <th scope="col" className="num">
                {t('paths.sessions')}
              </th>
              <th scope="col" className="num">
                {t('paths.share')}
              </th>
            </tr>
          </thead>
          <tbody>
            {(embedded ? answer.paths.slice(0, EMBEDDED_ROWS) : answer.paths).map((x, i) => (
              <tr key={i}>
                <td className="num">{i + 1}</td>
                <td className="mono">{x.events.join(' → ')}</td>
                <td className="num">
                  <DrillLink query={query} cell={{ path: x.events }} label={t('paths.pathCell', { path: x.events.join(' → ') })}>
                    {n(x.sessions)}
                  </DrillLink>
                </td>
                <td className="num">{pct(x.sessions / answer.sessions)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {embedded && answer.paths.length > EMBEDDED_ROWS && <p className="muted small">{t('paths.more', { n: n(answer.paths.length - EMBEDDED_ROWS) })}</p>}
      {!embedded && <p className="muted small">{t('paths.drillHint')}</p>}
    </div>
  );
}
