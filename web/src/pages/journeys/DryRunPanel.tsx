// Dry run: the journey on the editor's canvas, for one customer, on simulated time in a scratch
// store — nothing is sent or stored. Shows the path, every step with its time, each touch
// decision (and why a touch was held back), the messages and tasks it would create.
import { useEffect, useState, type FormEvent } from 'react';
import { ApiError } from '../../api/client';
import { dryRunJourney, type DryRunAnswer, type DryRunEvent, type JourneyDefinition, type JsonObject } from '../../api/journeys';
import { ErrorBox } from '../../components/Feedback';
import { Field } from '../../components/Field';
import { msg, useI18n, type Msg } from '../../i18n';
import { nodesOf } from './model';
import { nodeTypeLabel } from './labels';

interface EventRow {
  event: string;
  properties: string;
  offset: string;
}

function defaultEvents(def: JourneyDefinition): EventRow[] {
  const e: JsonObject = def.entry || {};
  if ((e.type === 'event' || e.type === 'breakpoint') && e.event) {
    const n = e.type === 'breakpoint' ? Math.max(1, Number(e.count) || 1) : 1;
    return Array.from({ length: n }, (_, i) => ({ event: e.event, properties: '', offset: i === 0 ? '0' : `${i}m` }));
  }
  return [];
}

export function DryRunPanel({
  project,
  def,
  onPath,
  onDefinitionError,
}: {
  project: string;
  def: JourneyDefinition;
  onPath: (path: string[] | null) => void;
  /** A validation error in the definition (field `definition.…`): the editor marks the node. */
  onDefinitionError?: (e: ApiError) => void;
}) {
  const { t, tx, tm, dt } = useI18n();
  const [who, setWho] = useState('');
  const [events, setEvents] = useState<EventRow[]>(() => defaultEvents(def));
  const [until, setUntil] = useState('');
  const [profile, setProfile] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [formError, setFormError] = useState<Msg | null>(null);
  const [answer, setAnswer] = useState<DryRunAnswer | null>(null);
  const entryEvent = def.entry?.event;
  useEffect(() => {
    // Follow the entry event while the user has not written events of their own.
    setEvents((cur) => (cur.length === 0 || (cur.length === 1 && !cur[0].properties) ? defaultEvents(def) : cur));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [entryEvent, def.entry?.type]);

  const run = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setFormError(null);
    let evs: DryRunEvent[];
    let prof: JsonObject | undefined;
    try {
      evs = events
        .filter((r) => r.event.trim())
        .map((r) => ({ event: r.event.trim(), offset: r.offset.trim() || '0', ...(r.properties.trim() ? { properties: JSON.parse(r.properties) } : {}) }));
      prof = profile.trim() ? JSON.parse(profile) : undefined;
    } catch (err) {
      setFormError(msg('journeys.form.badJson', { message: (err as Error).message }));
      return;
    }
    setBusy(true);
    try {
      const body = { definition: def, events: evs, ...(who.trim() ? { distinct_id: who.trim() } : {}), ...(until.trim() ? { until: until.trim() } : {}), ...(prof ? { profile: prof } : {}) };
      const a = await dryRunJourney(project, body);
      setAnswer(a);
      onPath(a.path);
    } catch (err) {
      setError(err);
      setAnswer(null);
      onPath(null);
      if (err instanceof ApiError && err.code === 3007 && err.field?.startsWith('definition')) onDefinitionError?.(err);
    } finally {
      setBusy(false);
    }
  };

  const nodes = nodesOf(def);
  return (
    <section className="card" aria-labelledby="jn-dry-title">
      <h2 className="card-title" id="jn-dry-title">
        {t('journeys.dry.title')}
      </h2>
      <p className="muted small">{t('journeys.dry.help')}</p>
      <form className="form-stack" onSubmit={(e) => void run(e)}>
        <div className="form-row">
          <Field label={t('journeys.dry.customer')} hint={t('journeys.dry.customerHint')}>
            <input type="text" value={who} onChange={(e) => setWho(e.target.value)} placeholder="distinct_id" />
          </Field>
          <Field label={t('journeys.dry.until')} hint={t('journeys.dry.untilHint')}>
            <input type="text" value={until} onChange={(e) => setUntil(e.target.value)} placeholder="30d" />
          </Field>
        </div>
        <fieldset className="jn-fieldset">
          <legend>{t('journeys.dry.events')}</legend>
          <p className="muted small">{t('journeys.dry.eventsHint')}</p>
          {events.map((r, i) => (
            <div className="jn-cond-row" key={i}>
              <input type="text" aria-label={t('journeys.dry.eventName')} placeholder={t('journeys.dry.eventName')} value={r.event} onChange={(e) => setEvents(events.map((x, j) => (j === i ? { ...x, event: e.target.value } : x)))} />
              <input type="text" aria-label={t('journeys.dry.offset')} placeholder={t('journeys.dry.offset')} className="jn-short" value={r.offset} onChange={(e) => setEvents(events.map((x, j) => (j === i ? { ...x, offset: e.target.value } : x)))} />
              <input
                type="text"
                className="mono"
                aria-label={t('journeys.dry.properties')}
                placeholder='{"amount": 200000}'
                value={r.properties}
                onChange={(e) => setEvents(events.map((x, j) => (j === i ? { ...x, properties: e.target.value } : x)))}
              />
              <button type="button" className="btn btn-small btn-ghost" onClick={() => setEvents(events.filter((_, j) => j !== i))}>
                {t('journeys.cond.remove')}
              </button>
            </div>
          ))}
          <button type="button" className="btn btn-small" onClick={() => setEvents([...events, { event: '', properties: '', offset: events.length ? '1h' : '0' }])}>
            {t('journeys.dry.addEvent')}
          </button>
        </fieldset>
        <details>
          <summary>{t('journeys.dry.profile')}</summary>
          <Field label={t('journeys.dry.profileJson')} hint={t('journeys.dry.profileHint')}>
            <textarea className="mono" rows={3} value={profile} onChange={(e) => setProfile(e.target.value)} placeholder='{"name": "张伟", "aum": 600000}' />
          </Field>
        </details>
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? t('journeys.dry.running') : t('journeys.dry.run')}
          </button>
          {answer && (
            <button
              type="button"
              className="btn btn-small btn-ghost"
              onClick={() => {
                setAnswer(null);
                onPath(null);
              }}
            >
              {t('journeys.dry.clear')}
            </button>
          )}
        </div>
      </form>
      {formError && (
        <p className="form-error" role="alert">
          {tm(formError)}
        </p>
      )}
      {error ? <ErrorBox error={error} /> : null}
      {error instanceof ApiError && error.code === 3007 && error.field?.startsWith('definition') ? <p className="muted small">{t('journeys.dry.fixOnCanvas')}</p> : null}
      {answer && (
        <div className="jn-dry-result" role="region" aria-label={t('journeys.dry.result')}>
          <h3>{t('journeys.dry.pathTitle', { who: answer.distinct_id })}</h3>
          {answer.path.length === 0 ? (
            <p className="notice">{t('journeys.dry.noEntry')}</p>
          ) : (
            <ol className="jn-path" aria-label={t('journeys.dry.path')}>
              {answer.path.map((id, i) => (
                <li key={i}>
                  <code>{id}</code> <span className="muted small">{nodeTypeLabel(nodes[id]?.type, tx)}</span>
                </li>
              ))}
            </ol>
          )}
          {answer.path.length > 0 && <p className="muted small">{t('journeys.dry.onCanvas')}</p>}

          <h4>{t('journeys.dry.steps')}</h4>
          <div className="table-wrap">
            <table className="table">
              <caption className="sr-only">{t('journeys.dry.steps')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('journeys.dry.time')}</th>
                  <th scope="col">{t('journeys.dry.step')}</th>
                  <th scope="col">{t('journeys.dry.detail')}</th>
                </tr>
              </thead>
              <tbody>
                {answer.trace.map((s, i) => (
                  <tr key={i}>
                    <td className="nowrap">{s.local_time}</td>
                    <td>{tx(`journeys.step.${s.step}`, s.step)}</td>
                    <td>{stepDetail(s.step, s.detail, tx)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>

          {answer.decisions.length > 0 && (
            <>
              <h4>{t('journeys.dry.decisions')}</h4>
              <div className="table-wrap">
                <table className="table">
                  <caption className="sr-only">{t('journeys.dry.decisions')}</caption>
                  <thead>
                    <tr>
                      <th scope="col">{t('journeys.dry.node')}</th>
                      <th scope="col">{t('journeys.dry.channel')}</th>
                      <th scope="col">{t('journeys.dry.decision')}</th>
                      <th scope="col">{t('journeys.dry.content')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {[...answer.decisions].reverse().map((d, i) => (
                      <tr key={i}>
                        <td>
                          <code>{d.node}</code>
                        </td>
                        <td>{d.channel}</td>
                        <td>
                          {d.decision === 'suppressed' ? (
                            <>
                              <span className="badge badge-submitted">{t('journeys.dry.suppressed')}</span> {tx(`journeys.reason.${d.reason}`, d.reason || '')}
                              {d.detail ? <span className="muted small"> ({d.detail})</span> : null}
                            </>
                          ) : (
                            <span className="badge badge-running">{d.kind === 'task' ? t('journeys.dry.taskCreated') : t('journeys.dry.sent')}</span>
                          )}
                          {d.arm === 'control' && <span className="muted small"> · {t('journeys.dry.controlArm')}</span>}
                        </td>
                        <td>
                          {d.subject && <strong>{d.subject} </strong>}
                          {d.content}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          )}
          {answer.messages.length + answer.in_app.length > 0 && (
            <>
              <h4>{t('journeys.dry.messages')}</h4>
              <ul className="jn-messages">
                {[...answer.messages, ...answer.in_app].map((m, i) => (
                  <li key={i}>
                    <span className="chip">{m.channel}</span> → {m.recipient || m.distinct_id} · <span className="muted small">{dt(m.time)}</span>
                    <pre className="code">{[m.subject, m.body].filter(Boolean).join('\n')}</pre>
                  </li>
                ))}
              </ul>
            </>
          )}
          {answer.tasks.length > 0 && (
            <>
              <h4>{t('journeys.dry.tasks')}</h4>
              <ul>
                {answer.tasks.map((k) => (
                  <li key={k.id}>
                    {k.title} — {k.assignee || k.pool} ({t('journeys.dry.due', { time: dt(k.due_ms) })})
                  </li>
                ))}
              </ul>
            </>
          )}
          <p className="muted small">
            {t('journeys.dry.finalState', {
              state: tx(`journeys.customerState.${answer.state?.state}`, answer.state?.state ?? '—'),
              reason: answer.state?.exit_reason ? tx(`journeys.exitReason.${answer.state.exit_reason.split(':')[0]}`, answer.state.exit_reason) : '—',
            })}
          </p>
        </div>
      )}
    </section>
  );
}

function stepDetail(step: string, detail: string, tx: (k: string, f: string) => string): string {
  if (step === 'suppressed' || step === 'deferred') return tx(`journeys.reason.${detail.split(':')[0]}`, detail);
  if (step === 'exit') return tx(`journeys.exitReason.${detail.split(':')[0]}`, detail) + (detail.includes(':') ? ` (${detail.split(':').slice(1).join(':')})` : '');
  if (step === 'enter') return tx(`journeys.entryType.${detail}`, detail);
  return detail;
}
