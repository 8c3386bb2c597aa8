// Backtest: replay the stored events of a date range through a saved version, without sending,
// and show what the journey would have done: entries, touches per node, suppressions, goals.
import { useState, type FormEvent } from 'react';
import { backtestJourney, type BacktestAnswer, type JourneyVersion } from '../../api/journeys';
import { ErrorBox } from '../../components/Feedback';
import { Field } from '../../components/Field';
import { useI18n } from '../../i18n';
import { CountersCell } from './EffectReport';
import { dayInZone } from './model';

export function BacktestPanel({ project, journeyId, versions, timeZone, dirty }: { project: string; journeyId: string; versions: JourneyVersion[]; timeZone: string | undefined; dirty: boolean }) {
  const { t, n } = useI18n();
  const [from, setFrom] = useState(() => dayInZone(-7, timeZone));
  const [to, setTo] = useState(() => dayInZone(0, timeZone));
  const [version, setVersion] = useState(0);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [answer, setAnswer] = useState<BacktestAnswer | null>(null);

  const run = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setAnswer(await backtestJourney(project, journeyId, { from, to, ...(version ? { version } : {}) }));
    } catch (err) {
      setError(err);
      setAnswer(null);
    } finally {
      setBusy(false);
    }
  };
  const p = answer?.predicted;
  return (
    <section className="card" aria-labelledby="jn-bt-title">
      <h2 className="card-title" id="jn-bt-title">
        {t('journeys.bt.title')}
      </h2>
      <p className="muted small">{t('journeys.bt.help')}</p>
      {dirty && <p className="notice small">{t('journeys.bt.unsaved')}</p>}
      <form className="form-row" onSubmit={(e) => void run(e)}>
        <Field label={t('journeys.bt.from')}>
          <input type="date" value={from} required onChange={(e) => setFrom(e.target.value)} />
        </Field>
        <Field label={t('journeys.bt.to')}>
          <input type="date" value={to} required onChange={(e) => setTo(e.target.value)} />
        </Field>
        <Field label={t('journeys.bt.version')}>
          <select value={version} onChange={(e) => setVersion(Number(e.target.value))}>
            <option value={0}>{t('journeys.bt.current')}</option>
            {versions.map((v) => (
              <option key={v.version} value={v.version}>
                {t('journeys.versions.vN', { n: v.version })}
                {v.live ? ` · ${t('journeys.versions.live')}` : ''}
              </option>
            ))}
          </select>
        </Field>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? t('journeys.bt.running') : t('journeys.bt.run')}
        </button>
      </form>
      {error ? <ErrorBox error={error} /> : null}
      {answer && p && (
        <div role="region" aria-label={t('journeys.bt.result')}>
          <p>
            {t('journeys.bt.summary', {
              events: n(answer.events_replayed),
              ms: n(answer.elapsed_ms, { maximumFractionDigits: 0 }),
              entered: n(p.entered),
              goal: n(p.goal_reached),
            })}
          </p>
          <div className="table-wrap">
            <table className="table">
              <caption className="sr-only">{t('journeys.bt.result')}</caption>
              <thead>
                <tr>
                  <th scope="col" className="num">
                    {t('journeys.report.entered')}
                  </th>
                  <th scope="col" className="num">
                    {t('journeys.report.inside')}
                  </th>
                  <th scope="col" className="num">
                    {t('journeys.report.exited')}
                  </th>
                  <th scope="col" className="num">
                    {t('journeys.report.goal')}
                  </th>
                </tr>
              </thead>
              <tbody>
                <tr>
                  <td className="num">{n(p.entered)}</td>
                  <td className="num">{n(p.inside)}</td>
                  <td className="num">{n(p.exited)}</td>
                  <td className="num">{n(p.goal_reached)}</td>
                </tr>
              </tbody>
            </table>
          </div>
          <h3>{t('journeys.bt.perNode')}</h3>
          <div className="table-wrap">
            <table className="table">
              <caption className="sr-only">{t('journeys.bt.perNode')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('journeys.dry.node')}</th>
                  <th scope="col">{t('journeys.bt.counters')}</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(p.nodes || {}).map(([id, c]) => (
                  <tr key={id}>
                    <td>
                      <code>{id}</code>
                    </td>
                    <td>
                      <CountersCell counters={c} />
                    </td>
                  </tr>
                ))}
                {Object.keys(p.nodes || {}).length === 0 && (
                  <tr>
                    <td colSpan={2} className="muted">
                      {t('journeys.bt.nothing')}
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </section>
  );
}
