// One tag: what it is, run it now, its value distribution (the latest snapshot), coverage
// history (one snapshot per day), CSV import for imported tags, the definition.
import { useMemo, useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router';
import { useAuth } from '../../auth/AuthContext';
import { useProject } from '../../auth/ProjectContext';
import { useI18n } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import { deleteTag, getTag, importTagValues, runTag, tagHistory, type TagImportAnswer, type TagRunAnswer, type TagSnapshot } from '../../api/audience';
import { EmptyState, ErrorBox, Loading } from '../../components/Feedback';
import { Field } from '../../components/Field';
import { DialogActions, Modal } from '../../components/Modal';
import { EChart } from '../../components/EChart';
import { scheduleText } from '../segments/shared';
import { StatusBadge } from './TagsPage';

function ImportModal({ project, id, onClose }: { project: string; id: string; onClose: (changed: boolean) => void }) {
  const { t, n } = useI18n();
  const [text, setText] = useState('');
  const [merge, setMerge] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<TagImportAnswer | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setDone(await importTagValues(project, id, text, merge));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={t('tags.import')} onClose={() => onClose(!!done)}>
      {done ? (
        <div className="form-stack">
          <p className="success" role="status">
            {t('tags.importDone', { imported: n(done.imported), unmatched: n(done.unmatched), coverage: n(done.coverage) })}
          </p>
          {done.unmatched_examples && done.unmatched_examples.length > 0 && <p className="muted small">{t('segments.uploadUnmatched', { ids: done.unmatched_examples.join(', ') })}</p>}
          <div className="form-actions">
            <button type="button" className="btn btn-primary" onClick={() => onClose(true)}>
              {t('common.close')}
            </button>
          </div>
        </div>
      ) : (
        <form className="form-stack" onSubmit={submit}>
          <p className="muted small">{t('tags.importHint')}</p>
          <Field label={t('segments.uploadFile')}>
            <input type="file" accept=".csv,text/csv,text/plain" onChange={async (e) => e.target.files?.[0] && setText(await e.target.files[0].text())} />
          </Field>
          <Field label={t('tags.importRows')}>
            <textarea rows={8} value={text} onChange={(e) => setText(e.target.value)} placeholder={'distinct_id,value\nu1001,C3'} spellCheck={false} />
          </Field>
          <label className="field-check">
            <input type="checkbox" checked={merge} onChange={(e) => setMerge(e.target.checked)} />
            <span>{t('tags.importMerge')}</span>
          </label>
          <ErrorBox error={error} />
          <DialogActions confirm={t('tags.importSubmit')} onCancel={() => onClose(false)} busy={busy} disabled={!text.trim()} />
        </form>
      )}
    </Modal>
  );
}

function Distribution({ snap }: { snap: TagSnapshot }) {
  const { t, n, pct } = useI18n();
  const label = (v: unknown) => (v === null || v === undefined ? t('segments.noValue') : String(v));
  const option = useMemo(
    () => ({
      grid: { left: 56, right: 16, top: 16, bottom: 56 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: snap.distribution.map((d) => label(d.value)), axisLabel: { rotate: snap.distribution.length > 6 ? 30 : 0 } },
      yAxis: { type: 'value', minInterval: 1 },
      series: [{ name: t('tags.users'), type: 'bar', barMaxWidth: 56, data: snap.distribution.map((d) => d.users) }],
    }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [snap, t],
  );
  if (snap.distribution.length === 0) return <EmptyState title={t('tags.noValues')} />;
  return (
    <>
      <EChart option={option} height={240} label={t('tags.distributionChart', { date: snap.date })} />
      <div className="table-wrap">
        <table className="table" aria-label={t('tags.distribution')}>
          <thead>
            <tr>
              <th scope="col">{t('tags.value')}</th>
              <th scope="col" className="num">
                {t('tags.users')}
              </th>
              <th scope="col" className="num">
                {t('tags.share')}
              </th>
            </tr>
          </thead>
          <tbody>
            {snap.distribution.map((d, i) => (
              <tr key={i}>
                <td>{label(d.value)}</td>
                <td className="num">{n(d.users)}</td>
                <td className="num">{pct(snap.coverage ? d.users / snap.coverage : null)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

export function TagDetail() {
  const { t, tx, n, dt } = useI18n();
  const { can } = useAuth();
  const { project } = useProject();
  const p = project!;
  const { id } = useParams();
  const navigate = useNavigate();
  const location = useLocation();
  const tag = useAsync((s) => getTag(p, id!, s), [p, id]);
  const history = useAsync((s) => tagHistory(p, id!, s), [p, id]);
  const [busy, setBusy] = useState(false);
  const [ran, setRan] = useState<TagRunAnswer | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [importing, setImporting] = useState(false);
  const [picked, setPicked] = useState<string | null>(null);
  const justSaved = (location.state as { saved?: boolean } | null)?.saved;

  const snaps = history.data || [];
  const coverageOption = useMemo(
    () => ({
      grid: { left: 56, right: 16, top: 16, bottom: 32 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: snaps.map((s) => s.date) },
      yAxis: { type: 'value', minInterval: 1 },
      series: [{ name: t('tags.coverage'), type: 'line', data: snaps.map((s) => s.coverage) }],
    }),
    [snaps, t],
  );

  if (tag.error) return <ErrorBox error={tag.error} onRetry={tag.reload} />;
  const tg = tag.data;
  if (!tg) return <Loading />;

  const run = async () => {
    setBusy(true);
    setActionError(null);
    try {
      setRan(await runTag(p, tg.id));
      tag.reload();
      history.reload();
      setPicked(null);
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    if (!window.confirm(t('tags.confirmDelete', { name: tg.display_name || tg.name }))) return;
    setActionError(null);
    try {
      await deleteTag(p, tg.id);
      navigate('/tags');
    } catch (e) {
      setActionError(e);
    }
  };
  const latest = snaps.length ? snaps[snaps.length - 1] : null;
  const shown = snaps.find((s) => s.date === picked) ?? latest;

  return (
    <section className="page">
      <header className="page-head">
        <h1>
          {tg.display_name || tg.name} <span className="muted small mono">{tg.name}</span>
        </h1>
        <div className="page-actions">
          <Link to="/tags" className="btn btn-small">
            {t('tags.back')}
          </Link>
          {can('audience.write') && (
            <>
              {tg.kind !== 'imported' && (
                <button type="button" className="btn btn-small btn-primary" onClick={() => void run()} disabled={busy}>
                  {busy ? t('tags.running') : t('tags.run')}
                </button>
              )}
              {tg.kind === 'imported' && (
                <button type="button" className="btn btn-small btn-primary" onClick={() => setImporting(true)}>
                  {t('tags.import')}
                </button>
              )}
              <Link to={`/tags/${encodeURIComponent(tg.id)}/edit`} className="btn btn-small">
                {t('tags.edit')}
              </Link>
              <button type="button" className="btn btn-small btn-danger" onClick={() => void remove()}>
                {t('common.delete')}
              </button>
            </>
          )}
        </div>
      </header>
      {justSaved && (
        <p className="success" role="status">
          {t('tags.saved', { name: tg.display_name || tg.name, n: n(tg.coverage ?? 0) })}
        </p>
      )}
      {ran && (
        <p className="success" role="status">
          {t('tags.ran', { coverage: n(ran.coverage), ms: n(ran.elapsed_ms, { maximumFractionDigits: 1 }), date: ran.date })}
        </p>
      )}
      <ErrorBox error={actionError} />
      <div className="card">
        <dl className="kv-grid">
          <dt>{t('tags.kind')}</dt>
          <dd>
            {tx(`tags.kind.${tg.kind}`, tg.kind)} · {tg.value_type}
            {tg.realtime ? ` · ${t('tags.realtime')}` : ''}
          </dd>
          <dt>{t('tags.statusLabel')}</dt>
          <dd>
            <StatusBadge status={tg.status} />
          </dd>
          <dt>{t('tags.category')}</dt>
          <dd>{tg.category || '—'}</dd>
          {tg.description && (
            <>
              <dt>{t('tags.description')}</dt>
              <dd>{tg.description}</dd>
            </>
          )}
          <dt>{t('tags.owner')}</dt>
          <dd>{tg.owner || '—'}</dd>
          <dt>{t('tags.schedule')}</dt>
          <dd>{tg.kind === 'imported' ? t('tags.importedSchedule') : scheduleText(t, tg.schedule)}</dd>
          <dt>{t('tags.coverage')}</dt>
          <dd>
            <strong>{n(tg.coverage ?? 0)}</strong>
          </dd>
          <dt>{t('tags.lastRun')}</dt>
          <dd>{dt(tg.last_run_ms)}</dd>
          {tg.next_run_ms ? (
            <>
              <dt>{t('tags.nextRun')}</dt>
              <dd>{dt(tg.next_run_ms)}</dd>
            </>
          ) : null}
        </dl>
      </div>
      <div className="card">
        <div className="card-head">
          <h2 className="card-title">{t('tags.distribution')}</h2>
          {snaps.length > 1 && (
            <Field className="field field-inline" label={t('tags.snapshotDate')}>
              <select value={shown?.date ?? ''} onChange={(e) => setPicked(e.target.value)}>
                {[...snaps].reverse().map((s) => (
                  <option key={s.date} value={s.date}>
                    {s.date}
                  </option>
                ))}
              </select>
            </Field>
          )}
        </div>
        {history.error ? <ErrorBox error={history.error} onRetry={history.reload} /> : null}
        {history.loading && !history.data && <Loading />}
        {history.data && !shown && <EmptyState title={t('tags.noSnapshots')}>{t('tags.noSnapshotsHint')}</EmptyState>}
        {shown && (
          <>
            <p className="muted small">{t('tags.snapshotMeta', { date: shown.date, coverage: n(shown.coverage), time: dt(shown.time_ms) })}</p>
            <Distribution snap={shown} />
            <p className="muted small">{t('tags.distributionHint')}</p>
          </>
        )}
      </div>
      {snaps.length > 0 && (
        <div className="card">
          <h2 className="card-title">{t('tags.history')}</h2>
          {snaps.length > 1 && <EChart option={coverageOption} height={200} label={t('tags.historyChart')} />}
          <div className="table-wrap">
            <table className="table" aria-label={t('tags.history')}>
              <thead>
                <tr>
                  <th scope="col">{t('tags.date')}</th>
                  <th scope="col" className="num">
                    {t('tags.coverage')}
                  </th>
                  <th scope="col">{t('tags.topValues')}</th>
                  <th scope="col" className="num">
                    {t('segments.elapsed')}
                  </th>
                </tr>
              </thead>
              <tbody>
                {[...snaps].reverse().map((s) => (
                  <tr key={s.date}>
                    <td className="nowrap">{s.date}</td>
                    <td className="num">{n(s.coverage)}</td>
                    <td>
                      {s.distribution
                        .slice(0, 3)
                        .map((d) => `${d.value === null ? t('segments.noValue') : String(d.value)} (${n(d.users)})`)
                        .join(' · ')}
                    </td>
                    <td className="num">{n(s.elapsed_ms ?? null, { maximumFractionDigits: 1 })}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
      <div className="card">
        <details>
          <summary>{t('tags.definitionJson')}</summary>
          <pre className="code">{JSON.stringify(tg.definition ?? {}, null, 2)}</pre>
        </details>
      </div>
      {importing && (
        <ImportModal
          project={p}
          id={tg.id}
          onClose={(changed) => {
            setImporting(false);
            if (changed) {
              tag.reload();
              history.reload();
            }
          }}
        />
      )}
    </section>
  );
}
