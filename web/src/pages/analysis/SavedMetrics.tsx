// Saved metrics (指标): the project's saved queries; open one in its analysis (every type), or
// delete it (a metric a dashboard shows cannot be: the server answers 409 naming the dashboards).
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { useAuth } from '../../auth/AuthContext';
import { useProject } from '../../auth/ProjectContext';
import { useI18n } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import { deleteMetric, listMetrics, type Metric } from '../../api/metrics';
import { EmptyState, ErrorBox, Loading } from '../../components/Feedback';

const OPENABLE = new Set(['events', 'funnel', 'retention', 'distribution', 'interval', 'paths', 'attribution', 'stages']);

export function SavedMetrics() {
  const { t, tx, dt } = useI18n();
  const { can } = useAuth();
  const { project } = useProject();
  const p = project!;
  const navigate = useNavigate();
  const list = useAsync(() => listMetrics(p), [p]);
  const [error, setError] = useState<unknown>(null);

  const remove = async (m: Metric) => {
    if (!window.confirm(t('metrics.confirmDelete', { name: m.name }))) return;
    setError(null);
    try {
      await deleteMetric(p, m.id);
      list.reload();
    } catch (e) {
      setError(e);
    }
  };

  const typeOf = (m: Metric) => String((m.query as { type?: string }).type ?? '');

  return (
    <div className="card">
      <div className="card-head">
        <h2 className="card-title">{t('metrics.title')}</h2>
        <button type="button" className="btn btn-small" onClick={list.reload}>
          {t('common.refresh')}
        </button>
      </div>
      <p className="muted small">{t('metrics.lead')}</p>
      <ErrorBox error={error} />
      {list.error ? <ErrorBox error={list.error} onRetry={list.reload} /> : null}
      {list.loading && !list.data && <Loading />}
      {list.data &&
        (list.data.length === 0 ? (
          <EmptyState title={t('metrics.empty')}>{t('metrics.emptyHint')}</EmptyState>
        ) : (
          <div className="table-wrap">
            <table className="table" aria-label={t('metrics.title')}>
              <thead>
                <tr>
                  <th scope="col">{t('metrics.name')}</th>
                  <th scope="col">{t('metrics.type')}</th>
                  <th scope="col">{t('metrics.description')}</th>
                  <th scope="col">{t('metrics.unit')}</th>
                  <th scope="col">{t('metrics.owner')}</th>
                  <th scope="col">{t('metrics.updated')}</th>
                  <th scope="col">{t('common.actions')}</th>
                </tr>
              </thead>
              <tbody>
                {list.data.map((m) => {
                  const type = typeOf(m);
                  return (
                    <tr key={m.id}>
                      <td>
                        {m.name} <span className="muted small">#{m.id}</span>
                      </td>
                      <td>{tx(`analysisType.${type}`, type)}</td>
                      <td>{m.description}</td>
                      <td>{m.unit}</td>
                      <td>{m.owner}</td>
                      <td className="nowrap">{dt(m.updated_at)}</td>
                      <td className="nowrap">
                        {OPENABLE.has(type) ? (
                          <button
                            type="button"
                            className="btn btn-small"
                            onClick={() => navigate(`/analysis/${type}`, { state: { query: m.query } })}
                            aria-label={t('metrics.openNamed', { name: m.name })}
                          >
                            {t('metrics.open')}
                          </button>
                        ) : (
                          <span className="muted small">{t('metrics.notOpenable')}</span>
                        )}{' '}
                        {can('analysis.write') && (
                          <button
                            type="button"
                            className="btn btn-small btn-danger"
                            onClick={() => void remove(m)}
                            aria-label={t('metrics.deleteNamed', { name: m.name })}
                          >
                            {t('common.delete')}
                          </button>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        ))}
    </div>
  );
}
