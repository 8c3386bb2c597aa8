// Advisor inbox (客户经理待办): moment-of-truth tasks with an SLA countdown, the customer, claim
// and complete with an outcome. Advisors get only their own tasks (the server filters). With
// journey.read: the service-process board — tasks per advisor, pool and (for admins, from the
// accounts' org units) branch, SLA kept, outcomes.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { useAuth } from '../../auth/AuthContext';
import { useProject } from '../../auth/ProjectContext';
import { useI18n, type MessageKey } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import { claimTask, completeTask, listTasks, type AdvisorTask } from '../../api/tasks';
import { listJourneys } from '../../api/journeys';
import { listAccounts } from '../../api/accounts';
import { EmptyState, ErrorBox, Loading } from '../../components/Feedback';
import { Field } from '../../components/Field';
import { DialogActions, Modal } from '../../components/Modal';
import { Tabs } from '../../components/Tabs';
import { EChart } from '../../components/EChart';
import '../segments/audience.css';

type Tab = 'inbox' | 'board';
type StatusFilter = 'pending' | 'all' | 'open' | 'claimed' | 'escalated' | 'completed';
const PENDING = new Set(['open', 'claimed', 'escalated']);
const OUTCOMES = ['interested', 'not_interested', 'no_answer', 'callback_later', 'converted'];

/** The current time, ticking. */
function useNow(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(id);
  }, [intervalMs]);
  return now;
}

/** "3 h 12 min" style duration. */
function duration(t: (k: MessageKey, v?: Record<string, string | number>) => string, ms: number): string {
  const s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return t('tasks.dur.dh', { d, h });
  if (h > 0) return t('tasks.dur.hm', { h, m });
  if (m > 0) return t('tasks.dur.ms', { m, s: s % 60 });
  return t('tasks.dur.s', { s });
}

export function SlaCell({ task, now }: { task: AdvisorTask; now: number }) {
  const { t } = useI18n();
  if (!task.due_ms) return <span className="muted">—</span>;
  if (task.status === 'completed') {
    const kept = (task.completed_ms ?? 0) <= task.due_ms;
    return <span className={kept ? 'muted' : 'sla-late'}>{kept ? t('tasks.slaKept') : t('tasks.slaMissed')}</span>;
  }
  const left = task.due_ms - now;
  if (left < 0) return <span className="sla-late">{t('tasks.overdue', { d: duration(t, left) })}</span>;
  return <span className={left < 3600000 ? 'sla-soon' : undefined}>{t('tasks.left', { d: duration(t, left) })}</span>;
}

export function TaskStatus({ status }: { status: string }) {
  const { tx } = useI18n();
  const cls = status === 'completed' ? 'badge badge-ended' : status === 'escalated' ? 'badge badge-paused' : status === 'claimed' ? 'badge badge-running' : 'badge';
  return <span className={cls}>{tx(`tasks.status.${status}`, status)}</span>;
}

function CompleteModal({ project, task, onClose }: { project: string; task: AdvisorTask; onClose: (done: boolean) => void }) {
  const { t, tx } = useI18n();
  const [outcome, setOutcome] = useState('interested');
  const [other, setOther] = useState('');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await completeTask(project, task.id, outcome === 'other' ? other.trim() : outcome, note.trim() || undefined);
      onClose(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={t('tasks.completeNamed', { title: task.title || task.id, customer: task.distinct_id })} onClose={() => onClose(false)}>
      <form className="form-stack" onSubmit={submit}>
        <Field label={t('tasks.outcome')}>
          <select value={outcome} onChange={(e) => setOutcome(e.target.value)}>
            {OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {tx(`tasks.outcome.${o}`, o)}
              </option>
            ))}
            <option value="other">{t('tasks.outcomeOther')}</option>
          </select>
        </Field>
        {outcome === 'other' && (
          <Field label={t('tasks.outcomeText')}>
            <input value={other} onChange={(e) => setOther(e.target.value)} required />
          </Field>
        )}
        <Field label={t('tasks.note')}>
          <textarea rows={3} value={note} onChange={(e) => setNote(e.target.value)} />
        </Field>
        <p className="muted small">{t('tasks.completeHint')}</p>
        <ErrorBox error={error} />
        <DialogActions confirm={t('tasks.complete')} onCancel={() => onClose(false)} busy={busy} />
      </form>
    </Modal>
  );
}

function Inbox({ project, tasks, reload, journeyNames }: { project: string; tasks: AdvisorTask[]; reload: () => void; journeyNames: Map<string, string> }) {
  const { t, tx, dt } = useI18n();
  const { can, account } = useAuth();
  const me = account?.name || '';
  const now = useNow(1000);
  const [status, setStatus] = useState<StatusFilter>('pending');
  const [completing, setCompleting] = useState<AdvisorTask | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const shown = tasks
    .filter((x) => (status === 'all' ? true : status === 'pending' ? PENDING.has(x.status) : x.status === status))
    .sort((a, b) => (PENDING.has(a.status) && PENDING.has(b.status) ? (a.due_ms ?? 0) - (b.due_ms ?? 0) : (b.created_ms ?? 0) - (a.created_ms ?? 0)));
  const claim = async (x: AdvisorTask) => {
    setError(null);
    setDone(null);
    try {
      await claimTask(project, x.id, me);
      setDone(t('tasks.claimed', { title: x.title || x.id }));
      reload();
    } catch (e) {
      setError(e);
    }
  };
  const filters: StatusFilter[] = ['pending', 'open', 'claimed', 'escalated', 'completed', 'all'];
  return (
    <>
      <div className="form-row">
        <Field label={t('tasks.show')}>
          <select value={status} onChange={(e) => setStatus(e.target.value as StatusFilter)}>
            {filters.map((f) => (
              <option key={f} value={f}>
                {t(`tasks.filter.${f}`)}
              </option>
            ))}
          </select>
        </Field>
        <p className="muted small">{can('journey.read') ? t('tasks.allHint') : t('tasks.ownHint', { name: me })}</p>
      </div>
      {done && (
        <p className="success" role="status">
          {done}
        </p>
      )}
      <ErrorBox error={error} />
      {shown.length === 0 ? (
        <EmptyState title={status === 'pending' ? t('tasks.nothingPending') : t('tasks.none')} />
      ) : (
        <div className="table-wrap">
          <table className="table" aria-label={t('tasks.inbox')}>
            <thead>
              <tr>
                <th scope="col">{t('tasks.customer')}</th>
                <th scope="col">{t('tasks.task')}</th>
                <th scope="col">{t('tasks.statusLabel')}</th>
                <th scope="col">{t('tasks.sla')}</th>
                <th scope="col">{t('tasks.assignee')}</th>
                <th scope="col">{t('tasks.created')}</th>
                <th scope="col">{t('common.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((x) => (
                <tr key={x.id} aria-label={t('tasks.rowLabel', { customer: x.distinct_id, title: x.title || x.id })}>
                  <td>
                    {can('data.read') ? (
                      <Link to={`/users/${encodeURIComponent(x.distinct_id)}`} className="mono">
                        {x.distinct_id}
                      </Link>
                    ) : (
                      <span className="mono">{x.distinct_id}</span>
                    )}
                  </td>
                  <td>
                    <strong>{x.title || x.id}</strong>
                    <div className="muted small">
                      {t('tasks.from', { journey: journeyNames.get(x.journey) || x.journey, node: x.node || '' })}
                    </div>
                    {x.status === 'completed' && (
                      <div className="small">
                        {t('tasks.outcome')}: {tx(`tasks.outcome.${x.outcome}`, x.outcome || '—')}
                        {x.note ? ` · ${x.note}` : ''}
                      </div>
                    )}
                  </td>
                  <td>
                    <TaskStatus status={x.status} />
                  </td>
                  <td className="nowrap">
                    <SlaCell task={x} now={now} />
                    <div className="muted small">{dt(x.due_ms)}</div>
                  </td>
                  <td>
                    {x.assignee || <span className="muted">{t('tasks.unassigned')}</span>}
                    {x.pool && <div className="muted small">{t('tasks.pool', { pool: x.pool })}</div>}
                  </td>
                  <td className="nowrap">{dt(x.created_ms)}</td>
                  <td className="nowrap">
                    {can('task.work') && x.status !== 'completed' && (x.status !== 'claimed' || x.assignee !== me) && (
                      <button type="button" className="btn btn-small" onClick={() => void claim(x)} aria-label={t('tasks.claimNamed', { customer: x.distinct_id })}>
                        {t('tasks.claim')}
                      </button>
                    )}{' '}
                    {can('task.work') && x.status !== 'completed' && (
                      <button type="button" className="btn btn-small btn-primary" onClick={() => setCompleting(x)} aria-label={t('tasks.completeFor', { customer: x.distinct_id })}>
                        {t('tasks.complete')}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {completing && (
        <CompleteModal
          project={project}
          task={completing}
          onClose={(ok) => {
            if (ok) setDone(t('tasks.completed', { title: completing.title || completing.id, customer: completing.distinct_id }));
            setCompleting(null);
            if (ok) reload();
          }}
        />
      )}
    </>
  );
}

interface Tally {
  key: string;
  total: number;
  open: number;
  claimed: number;
  escalated: number;
  completed: number;
  due: number;
  kept: number;
}

/** Tasks grouped by `keyOf`: counts per status and SLA kept (done on time ÷ done or already late). */
function tally(tasks: AdvisorTask[], keyOf: (x: AdvisorTask) => string, now: number): Tally[] {
  const m = new Map<string, Tally>();
  for (const x of tasks) {
    const k = keyOf(x);
    const row = m.get(k) ?? { key: k, total: 0, open: 0, claimed: 0, escalated: 0, completed: 0, due: 0, kept: 0 };
    row.total++;
    if (x.status === 'open' || x.status === 'claimed' || x.status === 'escalated' || x.status === 'completed') row[x.status]++;
    if (x.status === 'completed') {
      row.due++;
      if (x.due_ms && (x.completed_ms ?? 0) <= x.due_ms) row.kept++;
    } else if (x.due_ms && x.due_ms < now) row.due++;
    m.set(k, row);
  }
  return [...m.values()].sort((a, b) => b.total - a.total || a.key.localeCompare(b.key));
}

function TallyTable({ rows, caption, keyLabel }: { rows: Tally[]; caption: string; keyLabel: string }) {
  const { t, n, pct } = useI18n();
  return (
    <div className="table-wrap">
      <table className="table" aria-label={caption}>
        <thead>
          <tr>
            <th scope="col">{keyLabel}</th>
            <th scope="col" className="num">
              {t('tasks.total')}
            </th>
            <th scope="col" className="num">
              {t('tasks.status.open')}
            </th>
            <th scope="col" className="num">
              {t('tasks.status.claimed')}
            </th>
            <th scope="col" className="num">
              {t('tasks.status.escalated')}
            </th>
            <th scope="col" className="num">
              {t('tasks.status.completed')}
            </th>
            <th scope="col" className="num">
              {t('tasks.slaRate')}
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}>
              <td>{r.key}</td>
              <td className="num">{n(r.total)}</td>
              <td className="num">{n(r.open)}</td>
              <td className="num">{n(r.claimed)}</td>
              <td className="num">{n(r.escalated)}</td>
              <td className="num">{n(r.completed)}</td>
              <td className="num">{r.due ? pct(r.kept / r.due) : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Board({ tasks }: { tasks: AdvisorTask[] }) {
  const { t, tx, n, pct } = useI18n();
  const { can } = useAuth();
  const now = useNow(30000);
  const accounts = useAsync((s) => listAccounts(s), [], can('admin'));
  const orgOf = useMemo(() => new Map((accounts.data?.accounts || []).map((a) => [a.name, a.org_unit || ''])), [accounts.data]);
  const unassigned = t('tasks.unassigned');
  const byAssignee = useMemo(() => tally(tasks, (x) => x.assignee || unassigned, now), [tasks, now, unassigned]);
  const byPool = useMemo(() => tally(tasks, (x) => x.pool || '—', now), [tasks, now]);
  const byBranch = useMemo(() => (accounts.data ? tally(tasks, (x) => (x.assignee && orgOf.get(x.assignee)) || t('tasks.noBranch'), now) : null), [tasks, now, orgOf, accounts.data, t]);
  const all = useMemo(() => tally(tasks, () => 'all', now)[0], [tasks, now]);
  const outcomes = useMemo(() => {
    const m = new Map<string, number>();
    for (const x of tasks) if (x.status === 'completed') m.set(x.outcome || '—', (m.get(x.outcome || '—') ?? 0) + 1);
    return [...m.entries()].sort((a, b) => b[1] - a[1]);
  }, [tasks]);
  const option = useMemo(
    () => ({
      grid: { left: 48, right: 16, top: 16, bottom: 48 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: outcomes.map(([o]) => tx(`tasks.outcome.${o}`, o)) },
      yAxis: { type: 'value', minInterval: 1 },
      series: [{ name: t('tasks.completedCount'), type: 'bar', barMaxWidth: 56, data: outcomes.map(([, c]) => c) }],
    }),
    [outcomes, t, tx],
  );
  if (tasks.length === 0) return <EmptyState title={t('tasks.none')} />;
  const completedTotal = outcomes.reduce((s, [, c]) => s + c, 0);
  return (
    <>
      <div className="stat-grid">
        <div className="stat-card" role="group" aria-label={t('tasks.total')}>
          <h3 className="stat-title">{t('tasks.total')}</h3>
          <dl className="stat-values">
            <div className="stat-value">
              <dt>{t('tasks.filter.pending')}</dt>
              <dd>{n(all ? all.open + all.claimed + all.escalated : 0)}</dd>
            </div>
            <div className="stat-value">
              <dt>{t('tasks.status.completed')}</dt>
              <dd>{n(all?.completed ?? 0)}</dd>
            </div>
          </dl>
        </div>
        <div className="stat-card" role="group" aria-label={t('tasks.slaRate')}>
          <h3 className="stat-title">{t('tasks.slaRate')}</h3>
          <dl className="stat-values">
            <div className="stat-value">
              <dt>{t('tasks.slaKeptOf', { due: n(all?.due ?? 0) })}</dt>
              <dd>{all && all.due ? pct(all.kept / all.due) : '—'}</dd>
            </div>
          </dl>
        </div>
      </div>
      <p className="muted small">{t('tasks.slaHint')}</p>
      <h3 className="card-subtitle">{t('tasks.byAssignee')}</h3>
      <TallyTable rows={byAssignee} caption={t('tasks.byAssignee')} keyLabel={t('tasks.assignee')} />
      {byBranch ? (
        <>
          <h3 className="card-subtitle">{t('tasks.byBranch')}</h3>
          <TallyTable rows={byBranch} caption={t('tasks.byBranch')} keyLabel={t('tasks.branch')} />
        </>
      ) : (
        <p className="muted small">{t('tasks.branchNeedsAdmin')}</p>
      )}
      <h3 className="card-subtitle">{t('tasks.byPool')}</h3>
      <TallyTable rows={byPool} caption={t('tasks.byPool')} keyLabel={t('tasks.poolLabel')} />
      <h3 className="card-subtitle">{t('tasks.outcomes')}</h3>
      {outcomes.length === 0 ? (
        <p className="muted">{t('tasks.noOutcomes')}</p>
      ) : (
        <>
          <EChart option={option} height={220} label={t('tasks.outcomesChart')} />
          <div className="table-wrap">
            <table className="table" aria-label={t('tasks.outcomes')}>
              <thead>
                <tr>
                  <th scope="col">{t('tasks.outcome')}</th>
                  <th scope="col" className="num">
                    {t('tasks.completedCount')}
                  </th>
                  <th scope="col" className="num">
                    {t('tasks.share')}
                  </th>
                </tr>
              </thead>
              <tbody>
                {outcomes.map(([o, c]) => (
                  <tr key={o}>
                    <td>{tx(`tasks.outcome.${o}`, o)}</td>
                    <td className="num">{n(c)}</td>
                    <td className="num">{pct(c / completedTotal)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </>
  );
}

export function TasksPage() {
  const { t } = useI18n();
  const { can } = useAuth();
  const { project } = useProject();
  const p = project!;
  const manager = can('journey.read');
  const [assignee, setAssignee] = useState('');
  const [applied, setApplied] = useState('');
  const tasks = useAsync((s) => listTasks(p, applied ? { assignee: applied } : {}, s), [p, applied]);
  const journeys = useAsync(() => listJourneys(p), [p], manager);
  const journeyNames = useMemo(() => new Map((journeys.data || []).map((j) => [j.id, j.name])), [journeys.data]);
  const [tab, setTab] = useState<Tab>('inbox');

  // Tasks change as customers move: refresh every 30 s.
  useEffect(() => {
    const id = setInterval(() => tasks.reload(), 30000);
    return () => clearInterval(id);
  }, [tasks.reload]);

  return (
    <section className="page">
      <header className="page-head">
        <h1>{t('tasks.title')}</h1>
        <div className="page-actions">
          <button type="button" className="btn btn-small" onClick={tasks.reload}>
            {t('common.refresh')}
          </button>
        </div>
      </header>
      <p className="lead">{manager ? t('tasks.leadManager') : t('tasks.lead')}</p>
      {manager && (
        <form
          className="form-row"
          onSubmit={(e) => {
            e.preventDefault();
            setApplied(assignee.trim());
          }}
        >
          <Field label={t('tasks.assigneeFilter')} hint={t('tasks.assigneeFilterHint')}>
            <input value={assignee} onChange={(e) => setAssignee(e.target.value)} />
          </Field>
          <div className="form-actions">
            <button type="submit" className="btn btn-small">
              {t('tasks.apply')}
            </button>
          </div>
        </form>
      )}
      <div className="card">
        {manager && (
          <Tabs<Tab>
            idPrefix="tasks"
            label={t('tasks.title')}
            value={tab}
            onChange={setTab}
            tabs={[
              { key: 'inbox', label: t('tasks.inbox') },
              { key: 'board', label: t('tasks.board') },
            ]}
          />
        )}
        <div id="tasks-panel" role={manager ? 'tabpanel' : undefined} aria-labelledby={manager ? `tasks-tab-${tab}` : undefined} className="tab-panel">
          {tasks.error ? <ErrorBox error={tasks.error} onRetry={tasks.reload} /> : null}
          {tasks.loading && !tasks.data && <Loading />}
          {tasks.data && (tab === 'inbox' || !manager) && <Inbox project={p} tasks={tasks.data} reload={tasks.reload} journeyNames={journeyNames} />}
          {tasks.data && tab === 'board' && manager && <Board tasks={tasks.data} />}
        </div>
      </div>
    </section>
  );
}
