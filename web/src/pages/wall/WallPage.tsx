// Wall screen (数字大屏): a dark, large-type view of chosen metrics for a branch or head office,
// for a big screen. Built-in numbers of today (one POST /query: events, active customers,
// touches sent, goal conversions) and saved metrics (POST /metrics/{id}/run) refresh every
// 10 s; a live ticker polls GET /events/recent every 2 s (data.read). The choice is kept in the
// URL (`?project=…&m=events,users,metric:12`) so a screen can be bookmarked; the full-screen
// button uses the Fullscreen API on the wall itself.
import { useEffect, useMemo, useRef, useState } from 'react';
import { useSearchParams } from 'react-router';
import { useAuth } from '../../auth/AuthContext';
import { useProject } from '../../auth/ProjectContext';
import { useI18n, type MessageKey } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import { ApiError } from '../../api/client';
import { getRecentEvents, type RecentEvent } from '../../api/data';
import { listMetrics, runMetric, type Metric } from '../../api/metrics';
import { runQuery, type EventsAnswer, type EventsQuery, type FunnelAnswer } from '../../api/query';
import { ErrorBox } from '../../components/Feedback';
import './wall.css';

const REFRESH_MS = 10000;
const POLL_MS = 2000;
const TICKER_KEEP = 14;

const BUILTINS = ['events', 'users', 'touches', 'goals'] as const;
type Builtin = (typeof BUILTINS)[number];
const BUILTIN_LABEL: Record<Builtin, MessageKey> = {
  events: 'wall.builtin.events',
  users: 'wall.builtin.users',
  touches: 'wall.builtin.touches',
  goals: 'wall.builtin.goals',
};
// One query for every built-in number: today (`last: 1d`) in the project's time zone.
const BUILTIN_QUERY: EventsQuery = {
  type: 'events',
  last: '1d',
  unit: 'total',
  measures: [
    { event: '$any', aggregator: 'count' },
    { event: '$any', aggregator: 'uniq_users' },
    { event: '$touch_sent', aggregator: 'count' },
    { event: '$goal_reached', aggregator: 'count' },
  ],
};

/** A tile's content: a number (or a ratio), up to five groups, or why there is none. */
interface TileValue {
  value?: number;
  ratio?: boolean;
  groups?: { label: string; value: number }[];
  note?: MessageKey;
  error?: unknown;
}

/** The number a saved metric shows: the latest period of its first measure, or a funnel's conversion. */
function valueOf(answer: unknown): TileValue {
  const a = answer as Partial<EventsAnswer & FunnelAnswer>;
  if (a && Array.isArray(a.columns) && Array.isArray(a.rows)) {
    const measureAt = a.columns.indexOf('m0');
    const timeAt = a.columns.indexOf('time');
    if (measureAt < 0) return { note: 'wall.notANumber' };
    if (a.rows.length === 0) return { value: 0 };
    const latest = timeAt >= 0 ? a.rows.map((r) => String(r[timeAt])).sort().pop() : undefined;
    const rows = timeAt >= 0 ? a.rows.filter((r) => String(r[timeAt]) === latest) : a.rows;
    const num = (r: unknown[]) => Number(r[measureAt]) || 0;
    if (rows.length === 1) return { value: num(rows[0]) };
    const groupCols = a.columns.map((_c, i) => i).filter((i) => i !== timeAt && !/^m\d+$/.test(a.columns![i]));
    const groups = rows
      .map((r) => ({ label: groupCols.map((i) => String(r[i] ?? '—')).join(' · '), value: num(r) }))
      .sort((x, y) => y.value - x.value);
    return { value: groups.reduce((s, g) => s + g.value, 0), groups: groups.slice(0, 5) };
  }
  if (a && Array.isArray(a.steps)) {
    const last = a.steps[a.steps.length - 1];
    return last ? { value: last.conversion_from_first, ratio: true } : { note: 'wall.notANumber' };
  }
  return { note: 'wall.notANumber' };
}

// The `project` of the URL last applied (module state: the page remounts when the project changes).
let appliedFromUrl: string | null = null;

function parseChoice(raw: string | null): string[] {
  if (raw === null) return [...BUILTINS];
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => (BUILTINS as readonly string[]).includes(s) || /^metric:\d+$/.test(s));
}

function Ticker({ project }: { project: string }) {
  const { t, dt } = useI18n();
  const [events, setEvents] = useState<RecentEvent[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let after: number | undefined;
    const ctrl = new AbortController();
    const poll = async () => {
      let again = true;
      try {
        const r = await getRecentEvents(project, { limit: after === undefined ? TICKER_KEEP : 200, after }, ctrl.signal);
        if (!alive) return;
        setError(null);
        const fresh = after === undefined ? r.events : r.events.filter((e) => e.seq > (after as number));
        after = fresh.reduce((m, e) => Math.max(m, e.seq), after ?? 0);
        if (fresh.length) {
          setEvents((old) => {
            const seen = new Set(fresh.map((e) => e.seq));
            return [...fresh, ...old.filter((e) => !seen.has(e.seq))].slice(0, TICKER_KEEP);
          });
        }
      } catch (e) {
        if (!alive || (e as Error).name === 'AbortError') return;
        setError(e);
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
  }, [project]);

  return (
    <aside className="wall-ticker" aria-label={t('wall.ticker')}>
      <h2>
        <span className="wall-live-dot" aria-hidden="true" />
        {t('wall.ticker')}
      </h2>
      {error ? <ErrorBox error={error} /> : null}
      {events.length === 0 ? (
        <p className="wall-muted">{t('wall.tickerEmpty')}</p>
      ) : (
        <ol className="wall-ticker-list">
          {events.map((e) => (
            <li key={e.seq} data-seq={e.seq}>
              <span className="wall-ticker-time">{dt(e.time).slice(-8)}</span>
              <span className="wall-ticker-event">{e.event}</span>
              <span className="wall-ticker-user">{e.distinct_id}</span>
            </li>
          ))}
        </ol>
      )}
    </aside>
  );
}

function Clock() {
  const { locale, timeZone } = useI18n();
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(id);
  }, []);
  const f = useMemo(
    () => new Intl.DateTimeFormat(locale, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, timeZone }),
    [locale, timeZone],
  );
  return <time className="wall-clock">{f.format(new Date(now))}</time>;
}

export function WallPage() {
  const { t, n, pct, dt } = useI18n();
  const { can } = useAuth();
  const { project, projects, setProject } = useProject();
  const [params, setParams] = useSearchParams();
  const chosen = useMemo(() => parseChoice(params.get('m')), [params]);
  const wantedProject = params.get('project');
  const wallRef = useRef<HTMLDivElement>(null);
  const [full, setFull] = useState(false);
  const [picking, setPicking] = useState(false);
  const [values, setValues] = useState<Record<string, TileValue>>({});
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const [refreshError, setRefreshError] = useState<unknown>(null);

  // A bookmarked screen opens its project (once per URL value: a project picked in the header
  // afterwards wins); the URL always names the project shown.
  useEffect(() => {
    if (!project || projects.length === 0) return;
    if (wantedProject && wantedProject !== appliedFromUrl && projects.some((p) => p.name === wantedProject)) {
      appliedFromUrl = wantedProject;
      if (wantedProject !== project) {
        setProject(wantedProject);
        return;
      }
    }
    if (wantedProject !== project) {
      appliedFromUrl = project;
      const next = new URLSearchParams(params);
      next.set('project', project);
      setParams(next, { replace: true });
    }
  }, [wantedProject, project, projects, setProject, params, setParams]);

  const metrics = useAsync((s) => listMetrics(project as string, s), [project], !!project);
  const metricById = useMemo(() => new Map((metrics.data || []).map((m) => [m.id, m])), [metrics.data]);
  const chosenKey = chosen.join(',');

  // Refresh every REFRESH_MS, one round at a time.
  useEffect(() => {
    if (!project) return;
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ctrl = new AbortController();
    const round = async () => {
      const next: Record<string, TileValue> = {};
      let firstError: unknown = null;
      const builtins = chosen.filter((c) => (BUILTINS as readonly string[]).includes(c));
      const tasks: Promise<void>[] = [];
      if (builtins.length) {
        tasks.push(
          runQuery<EventsAnswer>(project, BUILTIN_QUERY, ctrl.signal)
            .then((a) => {
              const row = a.rows[a.rows.length - 1] || [];
              BUILTINS.forEach((b, i) => {
                const at = a.columns.indexOf(`m${i}`);
                next[b] = { value: at >= 0 ? Number(row[at]) || 0 : 0 };
              });
            })
            .catch((e) => {
              firstError = firstError || e;
              for (const b of builtins) next[b] = { error: e };
            }),
        );
      }
      for (const c of chosen) {
        if (!c.startsWith('metric:')) continue;
        const id = Number(c.slice(7));
        tasks.push(
          runMetric(project, id, ctrl.signal)
            .then((a) => {
              next[c] = valueOf(a);
            })
            .catch((e) => {
              next[c] = { error: e };
            }),
        );
      }
      await Promise.all(tasks);
      if (!alive) return;
      setValues(next);
      setRefreshError(firstError);
      setUpdatedAt(Date.now());
      const stop = firstError instanceof ApiError && (firstError.status === 401 || firstError.status === 403);
      if (!stop) timer = setTimeout(() => void round(), REFRESH_MS);
    };
    void round();
    return () => {
      alive = false;
      ctrl.abort();
      if (timer) clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [project, chosenKey]);

  useEffect(() => {
    const onChange = () => setFull(document.fullscreenElement === wallRef.current && !!wallRef.current);
    document.addEventListener('fullscreenchange', onChange);
    return () => document.removeEventListener('fullscreenchange', onChange);
  }, []);
  const toggleFull = async () => {
    try {
      if (document.fullscreenElement) await document.exitFullscreen();
      else await wallRef.current?.requestFullscreen();
    } catch {
      /* refused by the browser (no user gesture, not allowed): stay as we are */
    }
  };

  const setChosen = (list: string[]) => {
    const next = new URLSearchParams(params);
    next.set('m', list.join(','));
    setParams(next, { replace: true });
  };
  const toggle = (key: string) => setChosen(chosen.includes(key) ? chosen.filter((c) => c !== key) : [...chosen, key]);

  const label = (key: string): string => {
    if ((BUILTINS as readonly string[]).includes(key)) return t(BUILTIN_LABEL[key as Builtin]);
    const m: Metric | undefined = metricById.get(Number(key.slice(7)));
    return m ? m.name : t('wall.metricMissing', { id: key.slice(7) });
  };
  const unitOf = (key: string): string | undefined => metricById.get(Number(key.slice(7)))?.unit || undefined;

  return (
    <div ref={wallRef} className={full ? 'wall wall-full' : 'wall'}>
      <header className="wall-head">
        <div>
          <h1>{t('wall.title')}</h1>
          <p className="wall-sub">
            {t('wall.subtitle', { project: project || '—' })}
            {updatedAt && <span> · {t('wall.updated', { time: dt(updatedAt) })}</span>}
          </p>
        </div>
        <Clock />
        <div className="wall-actions">
          <button type="button" className="wall-btn" onClick={() => setPicking(!picking)} aria-expanded={picking} aria-controls="wall-picker">
            {t('wall.choose')}
          </button>
          <button type="button" className="wall-btn" onClick={() => void toggleFull()} aria-pressed={full}>
            {full ? t('wall.exitFullscreen') : t('wall.fullscreen')}
          </button>
        </div>
      </header>
      {picking && (
        <fieldset id="wall-picker" className="wall-picker">
          <legend>{t('wall.choose')}</legend>
          <div className="wall-picker-group">
            <span className="wall-muted">{t('wall.builtinGroup')}</span>
            {BUILTINS.map((b) => (
              <label key={b}>
                <input type="checkbox" checked={chosen.includes(b)} onChange={() => toggle(b)} /> {t(BUILTIN_LABEL[b])}
              </label>
            ))}
          </div>
          <div className="wall-picker-group">
            <span className="wall-muted">{t('wall.savedGroup')}</span>
            {metrics.error ? <ErrorBox error={metrics.error} /> : null}
            {metrics.data && metrics.data.length === 0 && <span className="wall-muted">{t('wall.noSaved')}</span>}
            {(metrics.data || []).map((m) => (
              <label key={m.id}>
                <input type="checkbox" checked={chosen.includes(`metric:${m.id}`)} onChange={() => toggle(`metric:${m.id}`)} /> {m.name}
              </label>
            ))}
          </div>
        </fieldset>
      )}
      {refreshError ? <ErrorBox error={refreshError} /> : null}
      <div className="wall-body">
        {chosen.length === 0 ? (
          <p className="wall-muted wall-nothing">{t('wall.nothingChosen')}</p>
        ) : (
          <div className="wall-tiles">
            {chosen.map((key) => {
              const v = values[key];
              const text = v?.value === undefined ? '—' : v.ratio ? pct(v.value) : n(v.value);
              return (
                <section key={key} className="wall-tile" role="group" aria-label={label(key)}>
                  <h2>{label(key)}</h2>
                  {v?.error ? (
                    <p className="wall-tile-error" role="alert">
                      {v.error instanceof Error ? v.error.message : String(v.error)}
                    </p>
                  ) : v?.note ? (
                    <p className="wall-muted">{t(v.note)}</p>
                  ) : (
                    <p className="wall-value" data-value={v?.value ?? ''} aria-live="polite">
                      {text}
                      {unitOf(key) && !v?.ratio && <small> {unitOf(key)}</small>}
                    </p>
                  )}
                  {v?.groups && (
                    <ol className="wall-groups">
                      {v.groups.map((g) => (
                        <li key={g.label}>
                          <span>{g.label}</span>
                          <b>{n(g.value)}</b>
                        </li>
                      ))}
                    </ol>
                  )}
                  {(BUILTINS as readonly string[]).includes(key) && <p className="wall-tile-note">{t('wall.today')}</p>}
                </section>
              );
            })}
          </div>
        )}
        {project && can('data.read') && <Ticker project={project} />}
      </div>
    </div>
  );
}
