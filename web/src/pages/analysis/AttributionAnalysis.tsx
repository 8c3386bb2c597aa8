// Attribution: which touches (campaign clicks, article reads, advisor calls...) get the credit for
// conversions, by a chosen model — a bar of credit per touch and a table.
// docs/query.md "attribution".
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useProject } from '../../auth/ProjectContext';
import { useI18n, type MessageKey } from '../../i18n';
import { runAttribution, type AttributionAnswer, type AttributionModel, type AttributionQuery, type AttributionTouch } from '../../api/query';
import { addDays, todayLocal } from '../../lib/dates';
import { EChart } from '../../components/EChart';
import { EmptyState, ErrorBox } from '../../components/Feedback';
import { Field } from '../../components/Field';
import { StatCard } from '../../components/StatCard';
import {
  DrillLink,
  DurationInput,
  EventSelect,
  FormError,
  FormLead,
  ResultCard,
  RunStatus,
  PropertySelect,
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

export const MODELS: AttributionModel[] = ['last', 'first', 'linear', 'position', 'time_decay'];

export function AttributionAnalysis() {
  const { t } = useI18n();
  const { project } = useProject();
  const p = project!;
  const schema = useSchema(p);
  const init = useOpenedQuery<AttributionQuery>('attribution');

  const [conversion, setConversion] = useState(init?.conversion.event ?? '');
  const [touches, setTouches] = useState<string[]>(() => init?.touches.map((x) => x.event) ?? ['']);
  const [touchProperty, setTouchProperty] = useState(init?.touch_property ?? '');
  const [valueProperty, setValueProperty] = useState(init?.value_property ?? '');
  const [model, setModel] = useState<AttributionModel>(init?.model ?? 'position');
  const [win, setWin] = useState<DurationState>(() => splitSeconds(init?.window_seconds ?? 7 * 86400));
  const [halfLife, setHalfLife] = useState<DurationState>(() => splitSeconds(init?.half_life_seconds ?? 7 * 86400));
  const [range, setRange] = useState<RangeState>(() => rangeFromQuery(init, { preset: '30d', from: addDays(todayLocal(), -29), to: todayLocal() }));
  const [formError, setFormError] = useState<string | null>(null);
  const runner = useRunner((q: AttributionQuery, signal) => runAttribution(p, q, signal));
  const { busy, error, result } = runner;

  const run = (e?: FormEvent) => {
    e?.preventDefault();
    setFormError(null);
    if (!conversion) return setFormError(t('attribution.chooseConversion'));
    if (touches.some((x) => !x)) return setFormError(t('attribution.chooseTouches'));
    const problem = rangeProblem(range, t);
    if (problem) return setFormError(problem);
    const windowSeconds = toSeconds(win);
    if (!(windowSeconds >= 1 && windowSeconds <= 366 * 86400)) return setFormError(t('attribution.badWindow'));
    const halfLifeSeconds = toSeconds(halfLife);
    if (model === 'time_decay' && !(halfLifeSeconds >= 1 && halfLifeSeconds <= 366 * 86400)) return setFormError(t('attribution.badHalfLife'));
    const query: AttributionQuery = {
      type: 'attribution',
      ...rangeToQuery(range),
      conversion: init?.conversion.event === conversion ? init.conversion : { event: conversion },
      touches: touches.map((event) => ({ event })),
      ...(touchProperty ? { touch_property: touchProperty } : {}),
      ...(valueProperty ? { value_property: valueProperty } : {}),
      window_seconds: windowSeconds,
      model,
      ...(model === 'time_decay' ? { half_life_seconds: halfLifeSeconds } : {}),
    };
    void runner.run(query);
  };

  useEffect(() => {
    if (init) run();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  return (
    <div className="analysis">
      <form className="card query-form" onSubmit={run} aria-label={t('attribution.formLabel')}>
        <FormLead>{t('attribution.lead')}</FormLead>
        <div className="form-row">
          <EventSelect
            label={t('attribution.conversion')}
            value={conversion}
            onChange={setConversion}
            schema={schema.data}
            loading={schema.loading}
            hint={t('attribution.conversionHint')}
          />
          <PropertySelect
            label={t('attribution.valueProperty')}
            value={valueProperty}
            onChange={setValueProperty}
            schema={schema.data}
            loading={schema.loading}
            scopes={['bare']}
            numericOnly
            emptyLabel={t('attribution.noValue')}
          />
        </div>
        <fieldset>
          <legend>{t('attribution.touches')}</legend>
          <p className="muted small">{t('attribution.touchesHint')}</p>
          {touches.map((x, i) => (
            <div key={i} className="form-row">
              <EventSelect
                label={t('attribution.touchN', { n: i + 1 })}
                value={x}
                onChange={(v) => setTouches((ts) => ts.map((y, k) => (k === i ? v : y)))}
                schema={schema.data}
                loading={schema.loading}
                allowAny={false}
              />
              {touches.length > 1 && (
                <button
                  type="button"
                  className="btn btn-small btn-ghost"
                  onClick={() => setTouches((ts) => ts.filter((_, k) => k !== i))}
                  aria-label={t('attribution.removeTouch', { n: i + 1 })}
                >
                  {t('common.remove')}
                </button>
              )}
            </div>
          ))}
          {touches.length < 32 && (
            <button type="button" className="btn btn-small" onClick={() => setTouches((ts) => [...ts, ''])}>
              {t('attribution.addTouch')}
            </button>
          )}
          <div className="form-row">
            <PropertySelect
              label={t('attribution.touchProperty')}
              value={touchProperty}
              onChange={setTouchProperty}
              schema={schema.data}
              loading={schema.loading}
              scopes={['bare']}
              emptyLabel={t('attribution.noTouchProperty')}
            />
          </div>
        </fieldset>
        <div className="form-row">
          <Field label={t('attribution.model')} hint={t(`attribution.modelHint.${model}` as MessageKey)}>
            <select value={model} onChange={(e) => setModel(e.target.value as AttributionModel)}>
              {MODELS.map((m) => (
                <option key={m} value={m}>
                  {t(`attribution.model.${m}` as MessageKey)}
                </option>
              ))}
            </select>
          </Field>
          {model === 'time_decay' && <DurationInput label={t('attribution.halfLife')} value={halfLife} onChange={setHalfLife} hint={t('attribution.halfLifeHint')} />}
          <DurationInput label={t('attribution.window')} value={win} onChange={setWin} hint={t('attribution.windowHint')} />
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
      <RunStatus busy={busy} error={error} hasResult={!!result} startHint={t('attribution.startHint')} />
      {result && (
        <ResultCard meta={result.answer.meta}>
          <AttributionResult query={result.query} answer={result.answer} />
        </ResultCard>
      )}
    </div>
  );
}

/** "ViewAd · spring" — the touch event and its touch_property value. */
function touchLabel(x: AttributionTouch, property: string | undefined, none: string): string {
  if (!property) return x.event;
  const key = property.startsWith('event.') ? property.slice(6) : property;
  const v = x[key];
  return `${x.event} · ${v === null || v === undefined ? none : String(v)}`;
}

/** The drill-down cell of a touch row: its event and, with a touch property, its value. */
function touchCell(x: AttributionTouch, property: string | undefined): Record<string, unknown> {
  if (!property) return { event: x.event };
  const key = property.startsWith('event.') ? property.slice(6) : property;
  return { event: x.event, value: x[key] ?? null };
}

/** Key numbers, a bar of credited conversions per touch, and the table. */
export function AttributionResult({ query, answer, embedded = false }: { query: AttributionQuery; answer: AttributionAnswer; embedded?: boolean }) {
  const { t, n, pct } = useI18n();
  const withValue = !!query.value_property;
  const labels = answer.touches.map((x) => touchLabel(x, query.touch_property, t('analysis.nullValue')));
  const option = useMemo(() => {
    const rows = answer.touches.slice(0, 30);
    return {
      grid: { left: 16, right: 48, top: 16, bottom: 24, containLabel: true },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      xAxis: { type: 'value', name: t('attribution.credited') },
      yAxis: { type: 'category', data: labels.slice(0, 30), inverse: true },
      series: [
        {
          type: 'bar',
          name: t('attribution.credited'),
          data: rows.map((x) => Math.round(x.conversions * 100) / 100),
          barMaxWidth: 28,
          label: { show: true, position: 'right' },
        },
      ],
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [answer, t]);
  const share = (x: number) => (answer.attributed ? x / answer.attributed : null);
  return (
    <div className={embedded ? 'metric-result' : undefined}>
      <div className="stat-grid">
        <StatCard title={t('attribution.conversions')} values={[{ label: t('attribution.inRange'), value: n(answer.conversions) }]} />
        <StatCard
          title={t('attribution.attributed')}
          values={[
            { label: t('attribution.withTouch'), value: n(answer.attributed) },
            { label: t('attribution.withoutTouch'), value: n(answer.unattributed) },
          ]}
        />
        {withValue && <StatCard title={t('attribution.valueTotal', { property: query.value_property ?? '' })} values={[{ label: t('attribution.inRange'), value: n(answer.value_total) }]} />}
        <StatCard title={t('attribution.model')} values={[{ label: t('attribution.modelUsed'), value: t(`attribution.model.${answer.model}` as MessageKey) }]} />
      </div>
      {answer.conversions > 0 && (
        <p className="small">
          {t('attribution.peopleLead')}{' '}
          {(['all', 'attributed', 'unattributed'] as const).map((which, i) => (
            <span key={which}>
              {i > 0 && ' · '}
              <DrillLink query={query} cell={{ conversions: which }} label={t(`attribution.people.${which}` as MessageKey)}>
                {t(`attribution.people.${which}` as MessageKey)}
              </DrillLink>
            </span>
          ))}
        </p>
      )}
      {answer.touches.length === 0 ? (
        <EmptyState title={t('attribution.noTouches')}>{t('attribution.noTouchesHint')}</EmptyState>
      ) : (
        <>
          {answer.attributed > 0 && (
            <EChart option={option} height={Math.max(160, 40 + Math.min(30, answer.touches.length) * 36)} label={t('attribution.chartLabel')} />
          )}
          <div className="table-wrap">
            <table className="table" aria-label={t('attribution.tableLabel')}>
              <thead>
                <tr>
                  <th scope="col">{t('attribution.touch')}</th>
                  <th scope="col" className="num">
                    {t('attribution.touchCount')}
                  </th>
                  <th scope="col" className="num">
                    {t('attribution.credited')}
                  </th>
                  <th scope="col" className="num">
                    {t('attribution.share')}
                  </th>
                  {withValue && (
                    <th scope="col" className="num">
                      {t('attribution.value', { property: query.value_property ?? '' })}
                    </th>
                  )}
                </tr>
              </thead>
              <tbody>
                {answer.touches.map((x, i) => (
                  <tr key={i}>
                    <th scope="row" className="mono">
                      {labels[i]}
                    </th>
                    <td className="num">{n(x.touch_count)}</td>
                    <td className="num">
                      {x.conversions > 0 ? (
                        <DrillLink query={query} cell={{ touch: touchCell(x, query.touch_property) }} label={t('attribution.touchCell', { touch: labels[i] })}>
                          {n(x.conversions)}
                        </DrillLink>
                      ) : (
                        n(0)
                      )}
                    </td>
                    <td className="num">{pct(share(x.conversions))}</td>
                    {withValue && <td className="num">{n(x.value)}</td>}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      {!embedded && <p className="muted small">{t('attribution.legend')}</p>}
    </div>
  );
}
