// Segments (客群): the list, and the routes of the area (new, one segment, edit).
import { useState, type FormEvent } from 'react';
import { Link, Route, Routes, useNavigate } from 'react-router';
import { useAuth } from '../../auth/AuthContext';
import { useProject } from '../../auth/ProjectContext';
import { useI18n } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import { listSegmentsFull, uploadSegment, type SegmentFull, type UploadAnswer } from '../../api/audience';
import { EmptyState, ErrorBox, Loading } from '../../components/Feedback';
import { Field } from '../../components/Field';
import { DialogActions, Modal } from '../../components/Modal';
import { NotFoundPage } from '../notfound/NotFoundPage';
import { SegmentEditor } from './SegmentEditor';
import { SegmentDetail } from './SegmentDetail';
import { scheduleText } from './shared';
import './audience.css';

export function SegmentsArea() {
  return (
    <Routes>
      <Route index element={<SegmentsPage />} />
      <Route path="new" element={<SegmentEditor />} />
      <Route path=":id" element={<SegmentDetail />} />
      <Route path=":id/edit" element={<SegmentEditor />} />
      <Route path="*" element={<NotFoundPage />} />
    </Routes>
  );
}

export function SourceBadge({ s }: { s: SegmentFull }) {
  const { t, tx } = useI18n();
  if (s.kind === 'rule') return <span className="badge">{t('segments.kindRule')}</span>;
  return <span className="badge">{tx(`segments.source.${s.source || 'static'}`, s.source || t('segments.kindStatic'))}</span>;
}

function UploadModal({ project, onClose }: { project: string; onClose: () => void }) {
  const { t, n } = useI18n();
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<UploadAnswer | null>(null);

  const onFile = async (f: File | undefined) => {
    if (f) setText(await f.text());
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setDone(await uploadSegment(project, name.trim(), description.trim(), text));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const lines = text.split('\n').filter((l) => l.trim()).length;
  return (
    <Modal title={t('segments.upload')} onClose={onClose}>
      {done ? (
        <div className="form-stack">
          <p className="success" role="status">
            {t('segments.uploadDone', { name: done.segment.name, matched: n(done.upload.matched), unmatched: n(done.upload.unmatched) })}
          </p>
          {done.upload.unmatched_examples && done.upload.unmatched_examples.length > 0 && (
            <p className="muted small">{t('segments.uploadUnmatched', { ids: done.upload.unmatched_examples.join(', ') })}</p>
          )}
          <DialogActions confirm={t('segments.open')} onConfirm={() => navigate(`/segments/${encodeURIComponent(done.segment.id)}`)} cancelLabel={t('common.close')} onCancel={onClose} />
        </div>
      ) : (
        <form onSubmit={submit} className="form-stack">
          <p className="muted small">{t('segments.uploadHint')}</p>
          <Field label={t('segments.name')}>
            <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
          </Field>
          <Field label={t('segments.description')}>
            <input value={description} onChange={(e) => setDescription(e.target.value)} />
          </Field>
          <Field label={t('segments.uploadFile')}>
            <input type="file" accept=".csv,.txt,text/csv,text/plain" onChange={(e) => void onFile(e.target.files?.[0])} />
          </Field>
          <Field label={t('segments.uploadIds')} hint={t('segments.uploadLines', { n: n(lines) })}>
            <textarea rows={8} value={text} onChange={(e) => setText(e.target.value)} placeholder={'distinct_id\nu1001\nu1002'} spellCheck={false} />
          </Field>
          <ErrorBox error={error} />
          <DialogActions confirm={busy ? t('segments.uploading') : t('segments.uploadSubmit')} onCancel={onClose} busy={busy} disabled={!name.trim() || lines === 0} />
        </form>
      )}
    </Modal>
  );
}

export function SegmentsPage() {
  const { t, n, dt } = useI18n();
  const { can } = useAuth();
  const { project } = useProject();
  const p = project!;
  const list = useAsync((s) => listSegmentsFull(p, s), [p]);
  const [filter, setFilter] = useState('');
  const [uploading, setUploading] = useState(false);
  const shown = (list.data || []).filter((s) => `${s.name} ${s.description || ''}`.toLowerCase().includes(filter.toLowerCase()));

  return (
    <section className="page">
      <header className="page-head">
        <h1>{t('segments.title')}</h1>
        <div className="page-actions">
          <button type="button" className="btn btn-small" onClick={list.reload}>
            {t('common.refresh')}
          </button>
          {can('audience.write') && (
            <>
              <button type="button" className="btn btn-small" onClick={() => setUploading(true)}>
                {t('segments.upload')}
              </button>
              <Link to="/segments/new" className="btn btn-small btn-primary">
                {t('segments.new')}
              </Link>
            </>
          )}
        </div>
      </header>
      <p className="lead">{t('segments.lead')}</p>
      <div className="card">
        <Field className="field field-inline" label={t('segments.search')}>
          <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
        </Field>
        {list.error ? <ErrorBox error={list.error} onRetry={list.reload} /> : null}
        {list.loading && !list.data && <Loading />}
        {list.data &&
          (list.data.length === 0 ? (
            <EmptyState title={t('segments.empty')}>{can('audience.write') ? t('segments.emptyHint') : null}</EmptyState>
          ) : (
            <div className="table-wrap">
              <table className="table" aria-label={t('segments.title')}>
                <thead>
                  <tr>
                    <th scope="col">{t('segments.name')}</th>
                    <th scope="col">{t('segments.kind')}</th>
                    <th scope="col" className="num">
                      {t('segments.size')}
                    </th>
                    <th scope="col">{t('segments.refresh')}</th>
                    <th scope="col">{t('segments.lastRefresh')}</th>
                    <th scope="col">{t('segments.description')}</th>
                  </tr>
                </thead>
                <tbody>
                  {shown.map((s) => (
                    <tr key={s.id}>
                      <td>
                        <Link to={`/segments/${encodeURIComponent(s.id)}`}>{s.name}</Link> <span className="muted small">#{s.id}</span>
                      </td>
                      <td>
                        <SourceBadge s={s} />
                        {s.kind === 'rule' && s.realtime && <span className="muted small"> · {t('segments.realtime')}</span>}
                      </td>
                      <td className="num">{n(s.size ?? 0)}</td>
                      <td>{s.kind === 'rule' ? scheduleText(t, s.refresh) : '—'}</td>
                      <td className="nowrap">{dt(s.last_refresh_ms)}</td>
                      <td>{s.description}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {shown.length === 0 && <p className="muted">{t('common.noMatch')}</p>}
            </div>
          ))}
      </div>
      {uploading && (
        <UploadModal
          project={p}
          onClose={() => {
            setUploading(false);
            list.reload();
          }}
        />
      )}
    </section>
  );
}
