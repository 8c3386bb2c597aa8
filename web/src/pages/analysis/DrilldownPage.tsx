// The people behind one number of an analysis (docs/query.md "Users behind a number"): paged
// list, CSV export, and "save as segment" (a static segment from the same query).
import { useMemo, useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useAuth } from '../../auth/AuthContext';
import { useProject } from '../../auth/ProjectContext';
import { useI18n } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import { projectPath, request } from '../../api/client';
import { runUsers, type AnalysisQuery } from '../../api/query';
import { createSegmentFromQuery, type Segment } from '../../api/segments';
import { EmptyState, ErrorBox, Loading } from '../../components/Feedback';
import { DialogActions, Modal } from '../../components/Modal';
import { Field } from '../../components/Field';

const PAGE = 50;

export function DrilldownPage() {
  const { t, n } = useI18n();
  const { can } = useAuth();
  const { project } = useProject();
  const p = project!;
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const label = params.get('label') || '';
  const parsed = useMemo(() => {
    try {
      const q = JSON.parse(params.get('q') || '') as AnalysisQuery;
      return q && typeof q === 'object' && q.users ? q : null;
    } catch {
      return null;
    }
  }, [params]);
  const [offset, setOffset] = useState(0);
  const page = useAsync(
    (signal) => runUsers(p, { ...parsed!, users: { ...parsed!.users!, offset, limit: PAGE, format: 'json' } }, signal),
    [p, parsed, offset],
    !!parsed,
  );
  const [saveOpen, setSaveOpen] = useState(false);
  const [segName, setSegName] = useState('');
  const [segDesc, setSegDesc] = useState(label);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [saved, setSaved] = useState<Segment | null>(null);
  const [exportError, setExportError] = useState<unknown>(null);

  if (!parsed) {
    return (
      <div className="card">
        <EmptyState title={t('drill.badLink')}>
          <Link to="/analysis/events">{t('drill.back')}</Link>
        </EmptyState>
      </div>
    );
  }

  const saveSegment = async (e: FormEvent) => {
    e.preventDefault();
    setSaving(true);
    setSaveError(null);
    try {
      const q: AnalysisQuery = { ...parsed, users: { cell: parsed.users!.cell } };
      setSaved(await createSegmentFromQuery(p, segName.trim(), segDesc.trim(), q));
      setSaveOpen(false);
    } catch (err) {
      setSaveError(err);
    } finally {
      setSaving(false);
    }
  };

  const exportCsv = async () => {
    setExportError(null);
    try {
      const q = { ...parsed, users: { cell: parsed.users!.cell, format: 'csv', limit: 1000000 } };
      const text = await request<string>(projectPath(p, '/query'), { method: 'POST', body: q, headers: { Accept: 'text/csv' } });
      const blob = new Blob([typeof text === 'string' ? text : JSON.stringify(text)], { type: 'text/csv;charset=utf-8' });
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `sextant-users-${parsed.type}.csv`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    } catch (err) {
      setExportError(err);
    }
  };

  const d = page.data;
  return (
    <div className="card">
      <div className="card-head">
        <h2 className="card-title">{t('drill.title')}</h2>
        <div className="page-actions">
          <button
            type="button"
            className="btn btn-small"
            onClick={() => navigate(`/analysis/${parsed.type}`, { state: { query: { ...parsed, users: undefined } } })}
          >
            {t('drill.backToAnalysis')}
          </button>
          <button type="button" className="btn btn-small" onClick={() => void exportCsv()}>
            {t('drill.export')}
          </button>
          {can('audience.write') && (
            <button type="button" className="btn btn-small btn-primary" onClick={() => setSaveOpen(true)}>
              {t('drill.saveSegment')}
            </button>
          )}
        </div>
      </div>
      {label && <p className="lead">{label}</p>}
      <ErrorBox error={exportError} />
      {saved && (
        <p className="success" role="status">
          {t('drill.segmentSaved', { name: saved.name, id: saved.id, size: n(saved.size ?? 0) })}
        </p>
      )}
      {page.error ? <ErrorBox error={page.error} onRetry={page.reload} /> : null}
      {page.loading && !d && <Loading />}
      {d &&
        (d.total === 0 ? (
          <EmptyState title={t('drill.empty')} />
        ) : (
          <>
            <p className="muted">{t('drill.total', { n: n(d.total), from: n(d.offset + 1), to: n(d.offset + d.users.length) })}</p>
            <div className="table-wrap">
              <table className="table" aria-label={t('drill.title')}>
                <thead>
                  <tr>
                    <th scope="col">{t('drill.distinctId')}</th>
                    <th scope="col" className="num">
                      {t('drill.userId')}
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {d.users.map((u) => (
                    <tr key={u.user_id}>
                      <td>
                        <Link to={`/users/${encodeURIComponent(u.distinct_id)}`} className="mono">
                          {u.distinct_id}
                        </Link>
                      </td>
                      <td className="num">{u.user_id}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div className="pager">
              <button type="button" className="btn btn-small" disabled={offset === 0 || page.loading} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
                {t('common.previous')}
              </button>
              <button type="button" className="btn btn-small" disabled={offset + PAGE >= d.total || page.loading} onClick={() => setOffset(offset + PAGE)}>
                {t('common.next')}
              </button>
            </div>
          </>
        ))}
      {saveOpen && (
        <Modal title={t('drill.saveSegment')} onClose={() => setSaveOpen(false)}>
          <form onSubmit={saveSegment} className="form-stack">
            <p className="muted small">{t('drill.saveSegmentHint')}</p>
            <Field label={t('drill.segmentName')}>
              <input value={segName} onChange={(e) => setSegName(e.target.value)} required maxLength={200} />
            </Field>
            <Field label={t('drill.segmentDescription')}>
              <textarea value={segDesc} onChange={(e) => setSegDesc(e.target.value)} rows={3} />
            </Field>
            <ErrorBox error={saveError} />
            <DialogActions confirm={t('common.save')} onCancel={() => setSaveOpen(false)} busy={saving} />
          </form>
        </Modal>
      )}
    </div>
  );
}
