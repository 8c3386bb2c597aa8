// Import jobs on the Data page (docs/import.md, "Import jobs"): upload a CSV or JSON-lines file,
// the server imports it in the background with the same importer as `sextant import`, and the
// table follows each job's progress (polled every second while one is queued or running), with
// its rejected rows, cancel and delete.
import { useEffect, useState } from 'react';
import { useAuth } from '../../auth/AuthContext';
import { useI18n } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import { ACTIVE_IMPORT, cancelImport, deleteImport, importErrors, listImports, startImport, type ImportJob } from '../../api/imports';
import { EmptyState, ErrorBox, Loading } from '../../components/Feedback';
import { Field } from '../../components/Field';

const KINDS: ImportJob['kind'][] = ['events', 'profiles', 'items', 'records'];

function JobErrors({ project, job }: { project: string; job: ImportJob }) {
  const { t } = useI18n();
  const text = useAsync((signal) => importErrors(project, job.id).then((s) => (signal.aborted ? '' : s)), [project, job.id, job.finished_ms]);
  if (text.error) return <ErrorBox error={text.error} onRetry={text.reload} />;
  if (text.loading && text.data === undefined) return <Loading />;
  return <pre className="code" aria-label={t('data.importRejectedRows')}>{text.data || t('data.importNoRejected')}</pre>;
}

export function ImportJobs({ project }: { project: string }) {
  const { t, n, dt } = useI18n();
  const { can } = useAuth();
  const jobs = useAsync((signal) => listImports(project, signal), [project]);
  const [file, setFile] = useState<File | null>(null);
  const [kind, setKind] = useState<ImportJob['kind']>('events');
  const [mapping, setMapping] = useState('');
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);
  const [inputKey, setInputKey] = useState(0);

  const active = (jobs.data || []).some((j) => ACTIVE_IMPORT.has(j.status));
  const { reload } = jobs;
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(reload, 1000);
    return () => clearInterval(timer);
  }, [active, reload]);

  const act = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setActionError(null);
    try {
      await fn();
      reload();
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <p className="muted small">{t('data.importsLead')}</p>
      {can('data.write') && (
        <form
          className="form-row"
          aria-label={t('data.importStart')}
          onSubmit={(e) => {
            e.preventDefault();
            if (!file) return;
            void act(async () => {
              await startImport(project, { file, kind, mapping });
              setFile(null);
              setInputKey((k) => k + 1);
            });
          }}
        >
          <Field label={t('data.importFile')} hint={t('data.importFileHint')}>
            <input key={inputKey} type="file" accept=".csv,.txt,.jsonl,.ndjson,.json,text/csv,text/plain,application/json" onChange={(e) => setFile(e.target.files?.[0] || null)} />
          </Field>
          <Field label={t('data.importKind')}>
            <select value={kind} onChange={(e) => setKind(e.target.value as ImportJob['kind'])}>
              {KINDS.map((k) => (
                <option key={k} value={k}>
                  {t(`data.importKind.${k}`)}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t('data.importMapping')} hint={t('data.importMappingHint')}>
            <textarea rows={2} value={mapping} onChange={(e) => setMapping(e.target.value)} placeholder='{"event_column": "event", "time_column": "time"}' />
          </Field>
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" disabled={!file || busy}>
              {t('data.importStart')}
            </button>
          </div>
        </form>
      )}
      {actionError ? <ErrorBox error={actionError} /> : null}
      {jobs.error ? <ErrorBox error={jobs.error} onRetry={reload} /> : null}
      {jobs.loading && !jobs.data && <Loading />}
      {jobs.data &&
        (jobs.data.length === 0 ? (
          <EmptyState title={t('data.importNone')}>{t('data.importNoneHint')}</EmptyState>
        ) : (
          <div className="table-wrap">
            <table className="table">
              <caption className="sr-only">{t('data.imports')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('data.importName')}</th>
                  <th scope="col">{t('data.importKind')}</th>
                  <th scope="col">{t('data.importStatus')}</th>
                  <th scope="col">{t('data.importProgress')}</th>
                  <th scope="col" className="num">
                    {t('data.importAccepted')}
                  </th>
                  <th scope="col" className="num">
                    {t('data.importDuplicates')}
                  </th>
                  <th scope="col" className="num">
                    {t('data.importFailed')}
                  </th>
                  <th scope="col">{t('data.importStarted')}</th>
                  <th scope="col">{t('common.actions')}</th>
                </tr>
              </thead>
              <tbody>
                {jobs.data.map((j) => {
                  const running = ACTIVE_IMPORT.has(j.status);
                  const percent = j.status === 'done' ? 100 : Math.min(100, Math.round(j.percent));
                  return (
                    <tr key={j.id} data-import-id={j.id}>
                      <td>
                        <span className="mono">{j.name}</span>
                        <div className="muted small">{j.created_by}</div>
                      </td>
                      <td>{t(`data.importKind.${j.kind}`)}</td>
                      <td>
                        <span className={`badge badge-${j.status === 'done' ? 'running' : j.status === 'failed' || j.status === 'interrupted' ? 'paused' : 'ended'}`} data-status={j.status}>
                          {t(`data.importStatus.${j.status}`)}
                        </span>
                        {j.message && <div className="muted small">{j.message}</div>}
                      </td>
                      <td>
                        <progress max={100} value={percent} aria-label={t('data.importProgressOf', { name: j.name })} />{' '}
                        <span className="small">{t('data.importPercent', { percent })}</span>
                        <div className="muted small">{t('data.importRecordsDone', { n: j.records_done })}</div>
                      </td>
                      <td className="num">{running ? '…' : n(j.accepted)}</td>
                      <td className="num">{running ? '…' : n(j.duplicates)}</td>
                      <td className="num">{n(running ? j.errors : j.failed)}</td>
                      <td className="nowrap">{dt(j.started_ms || j.created_ms)}</td>
                      <td>
                        {running && can('data.write') && (
                          <button type="button" className="btn btn-small" disabled={busy} onClick={() => void act(() => cancelImport(project, j.id))}>
                            {t('data.importCancel')}
                          </button>
                        )}
                        {!running && j.failed > 0 && (
                          <details>
                            <summary>{t('data.importShowRejected', { n: j.failed })}</summary>
                            <JobErrors project={project} job={j} />
                          </details>
                        )}
                        {!running && can('data.write') && (
                          <button type="button" className="btn btn-small" disabled={busy} onClick={() => void act(() => deleteImport(project, j.id))}>
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
    </>
  );
}
