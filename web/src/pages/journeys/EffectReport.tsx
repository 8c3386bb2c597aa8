// The effect report (docs/effect-evaluation.md): treatment against the control group, and each
// A/B branch against the first — entered, converted, rate, uplift with its 95% interval, the
// p-value, the sample-ratio check, and a sentence in plain words. Only what the API computes.
import { useMemo } from 'react';
import type { EffectArm, EffectComparison, JourneyReport, SampleRatio } from '../../api/journeys';
import { EChart } from '../../components/EChart';
import { EmptyState } from '../../components/Feedback';
import { useI18n, type TFunction } from '../../i18n';
import { nodeCounters } from './model';
import type { CounterView } from './JourneyCanvas';

type Tx = (key: string, fallback: string, vars?: Record<string, string | number>) => string;

/** The counters of one node in words (canvas badges and tables). */
export function counterViews(counters: Record<string, number> | undefined, tx: Tx): CounterView[] {
  return nodeCounters(counters).map((c) => ({
    key: c.key,
    label: tx(`journeys.counter.${c.key}`, c.key),
    value: c.value,
    title: c.detail
      ? Object.entries(c.detail)
          .map(([r, v]) => `${tx(`journeys.reason.${r}`, r)}: ${v}`)
          .join('\n')
      : undefined,
  }));
}

export function CountersCell({ counters }: { counters: Record<string, number> }) {
  const { tx } = useI18n();
  const views = counterViews(counters, tx);
  const suppressed = nodeCounters(counters).find((c) => c.key === 'suppressed');
  return (
    <span className="jn-counter-cell">
      {views.map((c) => (
        <span key={c.key} className="chip">
          {c.label} {c.value}
        </span>
      ))}
      {suppressed?.detail && (
        <span className="muted small">
          {' '}
          ({Object.entries(suppressed.detail)
            .map(([r, v]) => `${tx(`journeys.reason.${r}`, r)} ${v}`)
            .join(', ')}
          )
        </span>
      )}
    </span>
  );
}

/** Percentage points with a sign, from a difference of rates. */
export function points(d: number, locale: string): string {
  const v = d * 100;
  const s = new Intl.NumberFormat(locale, { maximumFractionDigits: 1, minimumFractionDigits: 1, signDisplay: 'exceptZero' }).format(v);
  return s;
}

function pValue(p: number, locale: string): string {
  if (p < 0.001) return '< 0.001';
  return new Intl.NumberFormat(locale, { maximumFractionDigits: 3, minimumFractionDigits: 3 }).format(p);
}

/** The comparison in a sentence a newcomer can act on. */
export function effectSentence(
  c: EffectComparison | undefined,
  arm: EffectArm | undefined,
  base: EffectArm | undefined,
  t: TFunction,
  locale: string,
  pct: (v: number, d?: number) => string,
  kind: 'control' | 'branch',
): string {
  if (!c || !arm || !base) return t('journeys.effect.noData');
  if (arm.entered === 0 || base.entered === 0) return kind === 'control' ? t('journeys.effect.noControlYet') : t('journeys.effect.noBranchYet');
  const vars = {
    arm: c.arm,
    baseline: c.baseline,
    rate: pct(c.rate),
    baseRate: pct(c.baseline_rate),
    low: points(Math.abs(c.uplift_absolute >= 0 ? c.ci95[0] : c.ci95[1]), locale).replace(/^[+-]/, ''),
    high: points(Math.abs(c.uplift_absolute >= 0 ? c.ci95[1] : c.ci95[0]), locale).replace(/^[+-]/, ''),
    d: points(c.uplift_absolute, locale),
    ciLow: points(c.ci95[0], locale),
    ciHigh: points(c.ci95[1], locale),
    p: pValue(c.p_value, locale),
  };
  const converted = arm.converted + base.converted;
  const total = arm.entered + base.entered;
  if (converted === 0) return t('journeys.effect.nobodyConverted');
  if (converted === total) return t('journeys.effect.everybodyConverted');
  const prefix = kind === 'control' ? 'journeys.effect.control' : 'journeys.effect.branch';
  if (c.significant) {
    // The interval's ends are on the same side of 0 as the uplift when significant (or nearly:
    // see "borderline" in docs/effect-evaluation.md).
    const sameSide = c.uplift_absolute >= 0 ? c.ci95[0] >= 0 : c.ci95[1] <= 0;
    if (!sameSide) return t(`${prefix}.borderline` as 'journeys.effect.control.borderline', vars);
    return t(c.uplift_absolute >= 0 ? (`${prefix}.up` as 'journeys.effect.control.up') : (`${prefix}.down` as 'journeys.effect.control.down'), vars);
  }
  return t(`${prefix}.notYet` as 'journeys.effect.control.notYet', vars);
}

function SrmNote({ s }: { s?: SampleRatio }) {
  const { t, locale } = useI18n();
  if (!s || s.degrees_of_freedom === 0) return null;
  if (s.mismatch)
    return (
      <p className="error-box" role="alert">
        {t('journeys.effect.srmMismatch', { p: pValue(s.p_value, locale) })}
      </p>
    );
  return <p className="muted small">{t('journeys.effect.srmOk', { p: pValue(s.p_value, locale) })}</p>;
}

function ComparisonTable({ arms, comparisons, caption }: { arms: EffectArm[]; comparisons: EffectComparison[]; caption: string }) {
  const { t, tx, n, pct, locale } = useI18n();
  return (
    <div className="table-wrap">
      <table className="table">
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{t('journeys.effect.arm')}</th>
            <th scope="col" className="num">
              {t('journeys.effect.entered')}
            </th>
            <th scope="col" className="num">
              {t('journeys.effect.converted')}
            </th>
            <th scope="col" className="num">
              {t('journeys.effect.rate')}
            </th>
            <th scope="col" className="num">
              {t('journeys.effect.uplift')}
            </th>
            <th scope="col" className="num">
              {t('journeys.effect.relative')}
            </th>
            <th scope="col">{t('journeys.effect.ci')}</th>
            <th scope="col" className="num">
              {t('journeys.effect.z')}
            </th>
            <th scope="col" className="num">
              {t('journeys.effect.p')}
            </th>
            <th scope="col">{t('journeys.effect.significant')}</th>
          </tr>
        </thead>
        <tbody>
          {arms.map((a) => {
            const c = comparisons.find((x) => x.arm === a.name);
            return (
              <tr key={a.name}>
                <th scope="row">{tx(`journeys.arm.${a.name}`, a.name)}</th>
                <td className="num">{n(a.entered)}</td>
                <td className="num">{n(a.converted)}</td>
                <td className="num">{pct(a.rate)}</td>
                <td className="num">{c ? t('journeys.effect.pointsValue', { v: points(c.uplift_absolute, locale) }) : t('journeys.effect.baseline')}</td>
                <td className="num">{c ? (c.uplift_relative === null ? '—' : pct(c.uplift_relative)) : ''}</td>
                <td className="nowrap">{c ? `${points(c.ci95[0], locale)} … ${points(c.ci95[1], locale)}` : ''}</td>
                <td className="num">{c ? n(c.z, { maximumFractionDigits: 2 }) : ''}</td>
                <td className="num">{c ? pValue(c.p_value, locale) : ''}</td>
                <td>{c ? (c.significant ? t('journeys.effect.yes') : t('journeys.effect.no')) : ''}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function EffectReport({ report }: { report: JourneyReport | undefined }) {
  const { t, tx, pct, n, locale } = useI18n();
  const cg = report?.control_group;
  const treatment = cg?.arms.find((a) => a.name === 'treatment');
  const control = cg?.arms.find((a) => a.name === 'control');
  const option = useMemo(() => {
    if (!cg) return null;
    return {
      grid: { left: 56, right: 16, top: 28, bottom: 32 },
      tooltip: { trigger: 'axis', valueFormatter: (v: number) => `${v.toFixed(2)}%` },
      xAxis: { type: 'category', data: cg.arms.map((a) => tx(`journeys.arm.${a.name}`, a.name)) },
      yAxis: { type: 'value', axisLabel: { formatter: '{value}%' }, min: 0 },
      series: [
        {
          name: t('journeys.effect.rate'),
          type: 'bar',
          barMaxWidth: 80,
          data: cg.arms.map((a, i) => ({ value: Math.round(a.rate * 10000) / 100, itemStyle: { color: i === 0 ? '#1f5fa8' : '#9aa8b8' } })),
          label: { show: true, position: 'top', formatter: (p: { value: number; dataIndex: number }) => `${p.value}% (${cg.arms[p.dataIndex].converted}/${cg.arms[p.dataIndex].entered})` },
        },
      ],
    };
  }, [cg, t, tx]);

  if (!report) return <EmptyState title={t('journeys.effect.notRun')}>{t('journeys.effect.notRunHint')}</EmptyState>;
  return (
    <div className="form-stack">
      <section className="card" aria-labelledby="jn-effect-title">
        <h2 className="card-title" id="jn-effect-title">
          {t('journeys.effect.title')}
        </h2>
        <p className="muted small">{t('journeys.effect.help')}</p>
        <div className="stat-grid jn-totals">
          {(['entered', 'inside', 'exited', 'goal_reached'] as const).map((k) => (
            <div key={k} className="stat-card">
              <h3 className="stat-title">{t(`journeys.report.${k === 'goal_reached' ? 'goal' : k}` as 'journeys.report.entered')}</h3>
              <p className="jn-big">{n(report[k])}</p>
            </div>
          ))}
        </div>
        {!cg || cg.percent === 0 ? (
          <p className="notice">{t('journeys.effect.noControl')}</p>
        ) : (
          <>
            <p className="jn-verdict" role="status">
              {effectSentence(cg.comparison, treatment, control, t, locale, pct, 'control')}
            </p>
            <SrmNote s={cg.sample_ratio} />
            <div className="jn-effect-grid">
              {option && <EChart option={option} height={260} label={t('journeys.effect.chart')} />}
              <ComparisonTable arms={cg.arms} comparisons={cg.comparison ? [cg.comparison] : []} caption={t('journeys.effect.tableCaption')} />
            </div>
            <p className="muted small">{t('journeys.effect.controlShare', { percent: cg.percent })}</p>
          </>
        )}
        <details className="jn-caveats">
          <summary>{t('journeys.effect.howToRead')}</summary>
          <ul>
            <li>{t('journeys.effect.caveatCi')}</li>
            <li>{t('journeys.effect.caveatPeeking')}</li>
            <li>{t('journeys.effect.caveatWindow')}</li>
            <li>{t('journeys.effect.caveatNotSignificant')}</li>
          </ul>
        </details>
      </section>
      {(report.experiments || []).map((x) => (
        <section className="card" key={x.node} aria-label={t('journeys.effect.abTitle', { node: x.node })}>
          <h2 className="card-title">{t('journeys.effect.abTitle', { node: x.node })}</h2>
          {x.comparisons.map((c) => (
            <p key={c.arm} className="jn-verdict">
              {effectSentence(
                c,
                x.arms.find((a) => a.name === c.arm),
                x.arms.find((a) => a.name === c.baseline),
                t,
                locale,
                pct,
                'branch',
              )}
            </p>
          ))}
          <SrmNote s={x.sample_ratio} />
          <ComparisonTable arms={x.arms} comparisons={x.comparisons} caption={t('journeys.effect.abTitle', { node: x.node })} />
          {x.comparisons.length > 1 && <p className="muted small">{t('journeys.effect.multiple', { k: x.comparisons.length, alpha: (0.05 / x.comparisons.length).toFixed(3) })}</p>}
        </section>
      ))}
    </div>
  );
}
