// Dashboards (看板): ordered lists of saved metrics. The list, a create / edit form, and the
// dashboard itself (GET /dashboards/{id}/run, each metric drawn the way its analysis draws it).
import { useId, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useAuth } from '../../auth/AuthContext';
import { useProject } from '../../auth/ProjectContext';
import { useI18n } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import { ApiError, projectPath } from '../../api/client';
import {
  createDashboard,
  deleteDashboard,
  listDashboards,
  listMetrics,
  runDashboard,
  updateDashboard,
  type Dashboard,
  type DashboardInput,
  type DashboardResult,
  type Metric,
} from '../../api/metrics';
import type { AnyQuery, QueryMeta } from '../../api/query';
import { EmptyState, ErrorBox, Loading } from '../../components/Feedback';
import { Field } from '../../components/Field';
import { DialogActions, Modal } from '../../components/Modal';
import { MetricResult } from './MetricResult';

const typeOf = (m: Metric | undefined) => String((m?.query as { type?: string } | undefined)?.type ?? '');

export function DashboardsPage() {
  const { t, dt } = useI18n();
  const { can, account } = useAuth();
  const { project } = useProject();
  const p = project!;
  const navigate = useNavigate();
  const list = useAsync((signal) => listDashboards(p, signal), [p]);
  const [editing, setEditing] = useState<Dashboard | 'new' | null>(null);
  const [error, setError] = useState<unknown>(null);
  const write = can('analysis.write');

  const remove = async (d: Dashboard) => {
    if (!window.confirm(t('dashboards.confirmDelete', { name: d.name }))) return;
    setError(null);
    try {
      await deleteDashboard(p, d.id);
      list.reload();
    } catch (e) {
      setError(e);
    }
  };

  return (
    <div className="card">
      <div className="card-head">
        <h2 className="card-title">{t('dashboards.title')}</h2>
        <div className="page-actions">
          <button type="button" className="btn btn-small" onClick={list.reload}>
            {t('common.refresh')}
          </button>
          {write && (
            <button type="button" className="btn btn-small btn-primary" onClick={() => setEditing('new')}>
              {t('dashboards.new')}
            </button>
          )}
        </div>
      </div>
      <p className="muted small">{t('dashboards.lead')}</p>
      <ErrorBox error={error} />
      {list.error ? <ErrorBox error={list.error} onRetry={list.reload} /> : null}
      {list.loading && !list.data && <Loading />}
      {list.data &&
        (list.data.length === 0 ? (
          <EmptyState title={t('dashboards.empty')}>{write ? t('dashboards.emptyHint') : t('dashboards.emptyHintReadOnly')}</EmptyState>
        ) : (
          <div className="table-wrap">
            <table className="table" aria-label={t('dashboards.title')}>
              <thead>
                <tr>
                  <th scope="col">{t('dashboards.name')}</th>
                  <th scope="col">{t('dashboards.description')}</th>
                  <th scope="col" className="num">
                    {t('dashboards.metricCount')}
                  </th>
                  <th scope="col">{t('metrics.owner')}</th>
                  <th scope="col">{t('metrics.updated')}</th>
                  <th scope="col">{t('common.actions')}</th>
                </tr>
              </thead>
              <tbody>
                {list.data.map((d) => (
                  <tr key={d.id}>
                    <td>
                      <Link to={`/analysis/dashboards/${d.id}`}>{d.name}</Link> <span className="muted small">#{d.id}</span>
                    </td>
                    <td>{d.description}</td>
                    <td className="num">{d.items.length}</td>
                    <td>{d.owner}</td>
                    <td className="nowrap">{dt(d.updated_at)}</td>
                    <td className="nowrap">
                      <button
                        type="button"
                        className="btn btn-small"
                        onClick={() => navigate(`/analysis/dashboards/${d.id}`)}
                        aria-label={t('dashboards.openNamed', { name: d.name })}
                      >
                        {t('dashboards.open')}
                      </button>{' '}
                      {write && (
                        <>
                          <button type="button" className="btn btn-small" onClick={() => setEditing(d)} aria-label={t('dashboards.editNamed', { name: d.name })}>
                            {t('dashboards.edit')}
                          </button>{' '}
                          <button
                            type="button"
                            className="btn btn-small btn-danger"
                            onClick={() => void remove(d)}
                            aria-label={t('dashboards.deleteNamed', { name: d.name })}
                          >
                            {t('common.delete')}
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      {editing && (
        <DashboardForm
          project={p}
          owner={account?.name}
          initial={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={(d) => {
            setEditing(null);
            if (editing === 'new') navigate(`/analysis/dashboards/${d.id}`);
            else list.reload();
          }}
        />
      )}
    </div>
  );
}

interface ItemState {
  metric_id: number;
  width: 1 | 2;
}

/** Create or edit a dashboard: name, description, and the metrics it shows, in order. */
function DashboardForm({
  project,
  owner,
  initial,
  onClose,
  onSaved,
}: {
  project: string;
  owner?: string;
  initial: Dashboard | null;
  onClose: () => void;
  onSaved: (d: Dashboard) => void;
}) {
  const { t, tx } = useI18n();
  const metrics = useAsync((signal) => listMetrics(project, signal), [project]);
  const [name, setName] = useState(initial?.name ?? '');
  const [description, setDescription] = useState(initial?.description ?? '');
  const [items, setItems] = useState<ItemState[]>(() => initial?.items.map((x) => ({ metric_id: x.metric_id, width: x.width === 2 ? 2 : 1 })) ?? []);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const hintId = useId();
  const byId = new Map((metrics.data ?? []).map((m) => [m.id, m]));
  const metricName = (id: number) => byId.get(id)?.name ?? t('dashboards.metricN', { id });

  const toggle = (id: number, on: boolean) => setItems((xs) => (on ? [...xs, { metric_id: id, width: 1 }] : xs.filter((x) => x.metric_id !== id)));
  const move = (i: number, d: number) =>
    setItems((xs) => {
      const j = i + d;
      if (j < 0 || j >= xs.length) return xs;
      const c = [...xs];
      [c[i], c[j]] = [c[j], c[i]];
      return c;
    });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setFormError(null);
    if (!name.trim()) return setFormError(t('dashboards.needName'));
    if (items.length === 0) return setFormError(t('dashboards.needMetrics'));
    const body: DashboardInput = {
      name: name.trim(),
      ...(description.trim() ? { description: description.trim() } : {}),
      ...(initial?.owner ? { owner: initial.owner } : owner ? { owner } : {}),
      items: items.map((x) => ({ metric_id: x.metric_id, width: x.width })),
    };
    setBusy(true);
    setError(null);
    try {
      onSaved(initial ? await updateDashboard(project, initial.id, body) : await createDashboard(project, body));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title={initial ? t('dashboards.editTitle', { name: initial.name }) : t('dashboards.new')} onClose={onClose}>
      <form onSubmit={submit} className="form-stack" aria-label={initial ? t('dashboards.editTitle', { name: initial.name }) : t('dashboards.new')}>
        <Field label={t('dashboards.name')}>
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} placeholder={t('dashboards.namePlaceholder')} />
        </Field>
        <Field label={t('dashboards.description')}>
          <textarea value={description} onChange={(e) => setDescription(e.target.value)} maxLength={2000} rows={2} />
        </Field>
        <fieldset aria-describedby={hintId}>
          <legend>{t('dashboards.pickMetrics')}</legend>
          <p id={hintId} className="muted small">
            {t('dashboards.pickHint')}
          </p>
          {metrics.error ? <ErrorBox error={metrics.error} onRetry={metrics.reload} /> : null}
          {metrics.loading && !metrics.data && <Loading />}
          {metrics.data && metrics.data.length === 0 && (
            <EmptyState title={t('dashboards.noMetrics')}>
              {t('dashboards.noMetricsHint')} <Link to="/analysis/events">{t('analysis.events')}</Link>
            </EmptyState>
          )}
          {metrics.data && metrics.data.length > 0 && (
            <ul className="plain-list" style={{ listStyle: 'none', paddingLeft: 0, margin: 0 }}>
              {metrics.data.map((m) => (
                <li key={m.id} style={{ display: 'flex', gap: 8, alignItems: 'baseline', flexWrap: 'wrap' }}>
                  <label className="field-check">
                    <input type="checkbox" checked={items.some((x) => x.metric_id === m.id)} onChange={(e) => toggle(m.id, e.target.checked)} />
                    <span>{m.name}</span>
                  </label>
                  <span className="muted small">
                    {tx(`analysisType.${typeOf(m)}`, typeOf(m))}
                    {m.description ? ` · ${m.description}` : ''}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </fieldset>
        {items.length > 0 && (
          <fieldset>
            <legend>{t('dashboards.order')}</legend>
            <ol className="step-list">
              {items.map((x, i) => (
                <li key={`${x.metric_id}-${i}`} className="form-row">
                  <span className="dashboard-item-name" style={{ minWidth: 160, paddingBottom: 8 }}>
                    {i + 1}. {metricName(x.metric_id)}
                  </span>
                  <Field label={t('dashboards.widthOf', { name: metricName(x.metric_id) })}>
                    <select value={x.width} onChange={(e) => setItems((xs) => xs.map((y, k) => (k === i ? { ...y, width: Number(e.target.value) === 2 ? 2 : 1 } : y)))}>
                      <option value={1}>{t('dashboards.widthHalf')}</option>
                      <option value={2}>{t('dashboards.widthFull')}</option>
                    </select>
                  </Field>
                  <button type="button" className="btn btn-small btn-ghost" onClick={() => move(i, -1)} disabled={i === 0} aria-label={t('dashboards.moveUp', { name: metricName(x.metric_id) })}>
                    ↑
                  </button>
                  <button
                    type="button"
                    className="btn btn-small btn-ghost"
                    onClick={() => move(i, 1)}
                    disabled={i === items.length - 1}
                    aria-label={t('dashboards.moveDown', { name: metricName(x.metric_id) })}
                  >
                    ↓
                  </button>
                </li>
              ))}
            </ol>
          </fieldset>
        )}
        {formError && (
          <p className="form-error" role="alert">
            {formError}
          </p>
        )}
        <ErrorBox error={error} />
        <DialogActions confirm={t('common.save')} onCancel={onClose} busy={busy} />
      </form>
    </Modal>
  );
}

/** The error of one metric of a dashboard run, shown like any API error. */
function resultError(project: string, dashboardId: number, r: DashboardResult): ApiError {
  const body = r.error ?? {};
  const status = body.code === 3008 ? 413 : body.code === 3007 || body.code === 3001 ? 400 : 500;
  return new ApiError(status, projectPath(project, `/dashboards/${dashboardId}/run`), body, body.message || 'error');
}

export function DashboardView() {
  const { t, tx, n } = useI18n();
  const { can, account } = useAuth();
  const { project } = useProject();
  const p = project!;
  const navigate = useNavigate();
  const params = useParams();
  const id = Number(params.id);
  const valid = Number.isInteger(id) && id > 0;
  const data = useAsync((signal) => Promise.all([runDashboard(p, id, signal), listMetrics(p, signal)]), [p, id], valid);
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<unknown>(null);

  if (!valid) {
    return (
      <div className="card">
        <EmptyState title={t('dashboards.notFound')}>
          <Link to="/analysis/dashboards">{t('dashboards.back')}</Link>
        </EmptyState>
      </div>
    );
  }

  const [run, metrics] = data.data ?? [undefined, undefined];
  const byId = new Map((metrics ?? []).map((m) => [m.id, m]));
  const d = run?.dashboard;

  const remove = async () => {
    if (!d || !window.confirm(t('dashboards.confirmDelete', { name: d.name }))) return;
    setError(null);
    try {
      await deleteDashboard(p, d.id);
      navigate('/analysis/dashboards');
    } catch (e) {
      setError(e);
    }
  };

  return (
    <div className="analysis">
      <div className="card">
        <div className="card-head">
          <div>
            <Link to="/analysis/dashboards" className="small">
              {t('dashboards.back')}
            </Link>
            <h2 className="card-title">{d ? d.name : t('dashboards.loadingTitle')}</h2>
          </div>
          <div className="page-actions">
            <button type="button" className="btn btn-small" onClick={data.reload} disabled={data.loading}>
              {data.loading ? t('analysis.running') : t('dashboards.rerun')}
            </button>
            {d && can('analysis.write') && (
              <>
                <button type="button" className="btn btn-small" onClick={() => setEditing(true)}>
                  {t('dashboards.edit')}
                </button>
                <button type="button" className="btn btn-small btn-danger" onClick={() => void remove()}>
                  {t('common.delete')}
                </button>
              </>
            )}
          </div>
        </div>
        {d?.description && <p className="lead">{d.description}</p>}
        {d && <p className="muted small">{t('dashboards.viewLead', { n: n(d.items.length) })}</p>}
        <ErrorBox error={error} />
        {data.error ? <ErrorBox error={data.error} onRetry={data.reload} /> : null}
        {data.loading && !run && <Loading label={t('dashboards.running')} />}
        {d && d.items.length === 0 && <EmptyState title={t('dashboards.noItems')} />}
      </div>
      {run && (
        <div className="chart-grid dashboard-grid">
          {run.results.map((r, i) => {
            const m = byId.get(r.metric_id);
            const item = d?.items[i];
            const query = m?.query as AnyQuery | undefined;
            const type = typeOf(m);
            const meta = (r.answer as { meta?: QueryMeta } | undefined)?.meta;
            const headingId = `dash-item-${i}`;
            return (
              <section
                key={`${r.metric_id}-${i}`}
                className="card dashboard-item"
                aria-labelledby={headingId}
                style={item?.width === 2 ? { gridColumn: '1 / -1' } : { minWidth: 0 }}
              >
                <div className="card-head">
                  <h3 id={headingId} className="card-title">
                    {m?.name ?? t('dashboards.metricN', { id: r.metric_id })}
                  </h3>
                  {m && query && (
                    <button
                      type="button"
                      className="btn btn-small"
                      onClick={() => navigate(`/analysis/${type}`, { state: { query } })}
                      aria-label={t('dashboards.openInAnalysisNamed', { name: m.name })}
                    >
                      {t('dashboards.openInAnalysis')}
                    </button>
                  )}
                </div>
                <p className="muted small">
                  {[tx(`analysisType.${type}`, type), m?.unit, meta ? `${meta.from} ~ ${meta.to}` : null].filter(Boolean).join(' · ')}
                </p>
                {m?.description && <p className="small">{m.description}</p>}
                {r.error ? (
                  <ErrorBox error={resultError(p, id, r)} title={t('dashboards.metricFailed')} />
                ) : query && r.answer ? (
                  <MetricResult query={query} answer={r.answer} />
                ) : (
                  <EmptyState title={t('dashboards.metricMissing')} />
                )}
              </section>
            );
          })}
        </div>
      )}
      {editing && d && (
        <DashboardForm
          project={p}
          owner={account?.name}
          initial={d}
          onClose={() => setEditing(false)}
          onSaved={() => {
            setEditing(false);
            data.reload();
          }}
        />
      )}
    </div>
  );
}
