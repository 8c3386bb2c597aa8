// The live event stream of the Data page: GET /events/recent polled every 2 s with `after` = the
// newest seq seen; new events are put on top, the latest KEEP are kept. The server keeps a
// project's events only while someone polls (every ≤ 30 s), so the first read starts the stream
// and is empty, and a long gap (a background tab) loses what came in meanwhile — the panel says
// so (`watching_since` changes). Pausing freezes the list but keeps polling, so nothing that
// arrives while paused is lost (up to KEEP events); resuming shows it.
import { useLayoutEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import { useAuth } from '../../auth/AuthContext';
import { useI18n } from '../../i18n';
import { ApiError } from '../../api/client';
import { getRecentEvents, type RecentEvent } from '../../api/data';
import { EmptyState, ErrorBox, Loading } from '../../components/Feedback';
import './data.css';

const POLL_MS = 2000;
const KEEP = 200;
const COMPACT_PROPS = 6;

type Value = RecentEvent['properties'][string];

function fmtValue(v: Value): string {
  if (v === null || v === undefined) return '—';
  if (Array.isArray(v)) return v.join(', ');
  return String(v);
}

/** Newest first, no seq twice, at most KEEP. */
function merge(fresh: RecentEvent[], old: RecentEvent[]): RecentEvent[] {
  if (fresh.length === 0) return old;
  const seen = new Set(fresh.map((e) => e.seq));
  return [...fresh, ...old.filter((e) => !seen.has(e.seq))].slice(0, KEEP);
}

function Properties({ properties }: { properties: RecentEvent['properties'] }) {
  const { t } = useI18n();
  // The event's own properties first (in the order sent), then the preset ($…) ones.
  const entries = Object.entries(properties || {}).sort(([a], [b]) => Number(a.startsWith('$')) - Number(b.startsWith('$')));
  if (entries.length === 0) return <span className="muted">—</span>;
  const compact = entries.slice(0, COMPACT_PROPS);
  return (
    <details className="live-props">
      <summary className="event-props">
        {compact.map(([k, v]) => (
          <span key={k} className="prop">
            {k}=<b>{fmtValue(v)}</b>
          </span>
        ))}
        {entries.length > compact.length && <span className="muted">{t('data.liveMoreProps', { n: entries.length - compact.length })}</span>}
      </summary>
      <pre className="code">{JSON.stringify(properties, null, 2)}</pre>
    </details>
  );
}

export function LiveEventStream({ project }: { project: string }) {
  const { t, dt } = useI18n();
  const { can } = useAuth();
  const [shown, setShown] = useState<RecentEvent[]>([]);
  const [pending, setPending] = useState<RecentEvent[]>([]);
  const [paused, setPaused] = useState(false);
  const pausedRef = useRef(false);
  const [started, setStarted] = useState(false);
  const [watchingSince, setWatchingSince] = useState(0);
  const [interruptedAt, setInterruptedAt] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);

  // The first read goes out with the page's other requests (a layout effect, as in useAsync),
  // not after the browser has painted the page.
  useLayoutEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let after: number | undefined;
    let watching = 0;
    const ctrl = new AbortController();
    const poll = async () => {
      let again = true;
      try {
        const r = await getRecentEvents(project, { limit: after === undefined ? 50 : KEEP, after }, ctrl.signal);
        if (!alive) return;
        setError(null);
        setStarted(true);
        if (watching && r.watching_since !== watching) setInterruptedAt(r.watching_since);
        watching = r.watching_since;
        setWatchingSince(watching);
        const fresh = after === undefined ? r.events : r.events.filter((e) => e.seq > (after as number));
        after = fresh.reduce((m, e) => Math.max(m, e.seq), after ?? 0);
        if (fresh.length) {
          if (pausedRef.current) setPending((p) => merge(fresh, p));
          else setShown((s) => merge(fresh, s));
        }
      } catch (e) {
        if (!alive || (e as Error).name === 'AbortError') return;
        setError(e);
        // Not allowed (or signed out): polling again would only repeat the refusal.
        if (e instanceof ApiError && (e.status === 401 || e.status === 403)) again = false;
      }
      if (alive && again) timer = setTimeout(poll, POLL_MS);
    };
    void poll();
    return () => {
      alive = false;
      ctrl.abort();
      if (timer) clearTimeout(timer);
    };
  }, [project, attempt]);

  const togglePause = () => {
    if (paused) {
      setShown((s) => merge(pending, s));
      setPending([]);
    }
    pausedRef.current = !paused;
    setPaused(!paused);
  };

  return (
    <div className="card live-stream">
      <div className="card-head">
        <h2 className="card-title">{t('data.liveTitle')}</h2>
        <div className="live-controls">
          <span className={`live-status ${paused ? 'is-paused' : error ? 'is-error' : 'is-live'}`} role="status">
            <span className="live-dot" aria-hidden="true" />
            {paused ? t('data.liveStatusPaused') : t('data.liveStatusLive')}
            {started && ` · ${t('data.liveShown', { n: shown.length })}`}
          </span>
          <button type="button" className="btn btn-small" onClick={togglePause} aria-pressed={paused}>
            {paused ? (pending.length ? t('data.liveResumeN', { n: pending.length }) : t('data.liveResume')) : t('data.livePause')}
          </button>
          <button type="button" className="btn btn-small" onClick={() => setShown([])} disabled={shown.length === 0}>
            {t('data.liveClear')}
          </button>
        </div>
      </div>
      <p className="muted small">{t('data.liveLead', { keep: KEEP })}</p>
      {!can('pii.read') && <p className="muted small pii-note">{t('data.piiMasked')}</p>}
      {error ? <ErrorBox error={error} onRetry={() => setAttempt((a) => a + 1)} /> : null}
      {interruptedAt !== null && <p className="notice small">{t('data.liveInterrupted', { time: dt(interruptedAt) })}</p>}
      {!started && !error && <Loading />}
      {started && shown.length === 0 && (
        <EmptyState title={t('data.liveWaiting')}>
          {t('data.liveWaitingHint', { time: dt(watchingSince) })}
          {paused && pending.length > 0 && <p>{t('data.livePendingHint', { n: pending.length })}</p>}
        </EmptyState>
      )}
      {shown.length > 0 && (
        <div className="table-wrap live-table-wrap">
          <table className="table live-table" aria-label={t('data.liveTitle')}>
            <thead>
              <tr>
                <th scope="col">{t('data.time')}</th>
                <th scope="col">{t('data.eventName')}</th>
                <th scope="col">{t('data.distinctId')}</th>
                <th scope="col">{t('data.properties')}</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((e) => (
                <tr key={e.seq}>
                  <td className="nowrap" title={t('data.liveReceived', { time: dt(e.received) })}>
                    {dt(e.time)}
                  </td>
                  <td className="mono event-name">{e.event}</td>
                  <td className="mono">
                    <Link to={`/users/${encodeURIComponent(e.distinct_id)}`}>{e.distinct_id}</Link>
                  </td>
                  <td>
                    <Properties properties={e.properties} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
