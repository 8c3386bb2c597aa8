// Create or edit a rule segment: name, description, refresh, realtime, the visual rule builder
// with its live size estimate (POST /segments/estimate, debounced), and the rule as JSON.
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useAuth } from '../../auth/AuthContext';
import { useProject } from '../../auth/ProjectContext';
import { useI18n } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import { createRuleSegment, getSegment, updateSegment } from '../../api/audience';
import { ErrorBox, Loading, NoPermission } from '../../components/Feedback';
import { Field } from '../../components/Field';
import { RuleBuilder } from './RuleBuilder';
import { emptyRoot, rootFromRule, type GroupNode } from './ruleModel';
import { EstimatePanel, ScheduleEditor, problemText, scheduleFrom, scheduleTo, useBuilderContext, useBuiltRule, type ScheduleState } from './shared';

export function SegmentEditor() {
  const { t } = useI18n();
  const { can } = useAuth();
  const { project } = useProject();
  const p = project!;
  const { id } = useParams();
  const navigate = useNavigate();
  const existing = useAsync((s) => getSegment(p, id!, s), [p, id], !!id);
  const { ctx, error: ctxError } = useBuilderContext(p, id);

  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [schedule, setSchedule] = useState<ScheduleState>(() => scheduleFrom(undefined, true));
  const [realtime, setRealtime] = useState(true);
  const [root, setRoot] = useState<GroupNode | null>(() => (id ? null : emptyRoot()));
  const [jsonOpen, setJsonOpen] = useState(false);
  const [jsonText, setJsonText] = useState('');
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [formError, setFormError] = useState<string | null>(null);

  useEffect(() => {
    const s = existing.data;
    if (!s) return;
    setName(s.name);
    setDescription(s.description || '');
    setSchedule(scheduleFrom(s.refresh, false));
    setRealtime(s.realtime !== false);
    setRoot(rootFromRule(s.rule || { all: [] }));
  }, [existing.data]);

  const { rule, problem } = useBuiltRule(root, ctx);

  if (!can('audience.write')) return <NoPermission permission="audience.write" />;
  if (id && existing.error) return <ErrorBox error={existing.error} onRetry={existing.reload} />;
  if (id && (!existing.data || !root)) return <Loading />;
  if (existing.data && existing.data.kind !== 'rule') {
    return (
      <section className="page">
        <p className="notice">{t('segments.staticNoEdit')}</p>
        <Link to={`/segments/${encodeURIComponent(id!)}`}>{t('segments.back')}</Link>
      </section>
    );
  }

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setFormError(null);
    if (!rule) {
      setFormError(problem ? problemText(t, problem) : t('segments.rb.emptyGroup'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const body = { name: name.trim(), description: description.trim(), rule, realtime, ...(scheduleTo(schedule) !== undefined ? { refresh: scheduleTo(schedule) } : {}) };
      const saved = id ? await updateSegment(p, id, body) : await createRuleSegment(p, body);
      navigate(`/segments/${encodeURIComponent(saved.id)}`, { state: { saved: true } });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const openJson = () => {
    setJsonText(JSON.stringify(rule ?? {}, null, 2));
    setJsonError(null);
    setJsonOpen(true);
  };
  const applyJson = () => {
    try {
      setRoot(rootFromRule(JSON.parse(jsonText)));
      setJsonOpen(false);
    } catch (err) {
      setJsonError((err as Error).message);
    }
  };

  return (
    <section className="page">
      <header className="page-head">
        <h1>{id ? t('segments.editTitle', { name: existing.data?.name ?? '' }) : t('segments.newTitle')}</h1>
        <div className="page-actions">
          <Link to={id ? `/segments/${encodeURIComponent(id)}` : '/segments'} className="btn btn-small">
            {t('common.cancel')}
          </Link>
        </div>
      </header>
      <p className="lead">{t('segments.editorLead')}</p>
      {ctxError ? <ErrorBox error={ctxError} title={t('segments.ctxError')} /> : null}
      <form onSubmit={save} aria-label={t('segments.formLabel')}>
        <div className="editor-grid">
          <div>
            <div className="card">
              <div className="form-row">
                <Field label={t('segments.name')}>
                  <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
                </Field>
                <Field label={t('segments.description')} className="field grow">
                  <input value={description} onChange={(e) => setDescription(e.target.value)} />
                </Field>
              </div>
              <ScheduleEditor label={t('segments.refresh')} value={schedule} onChange={setSchedule} allowDefault={!id} />
              <label className="field-check">
                <input type="checkbox" checked={realtime} onChange={(e) => setRealtime(e.target.checked)} />
                <span>{t('segments.realtimeLabel')}</span>
              </label>
              <p className="muted small">{t('segments.realtimeHint')}</p>
            </div>
            <div className="card">
              <div className="card-head">
                <h2 className="card-title">{t('segments.rule')}</h2>
                <button type="button" className="btn btn-small btn-ghost" onClick={() => (jsonOpen ? setJsonOpen(false) : openJson())} aria-expanded={jsonOpen}>
                  {jsonOpen ? t('segments.hideJson') : t('segments.editJson')}
                </button>
              </div>
              <p className="muted small">{t('segments.ruleHint')}</p>
              {jsonOpen ? (
                <div className="form-stack">
                  <Field label={t('segments.ruleJson')}>
                    <textarea className="rb-raw" rows={16} value={jsonText} onChange={(e) => setJsonText(e.target.value)} spellCheck={false} />
                  </Field>
                  {jsonError && (
                    <p className="form-error" role="alert">
                      {jsonError}
                    </p>
                  )}
                  <div className="form-actions">
                    <button type="button" className="btn btn-small btn-primary" onClick={applyJson}>
                      {t('segments.applyJson')}
                    </button>
                  </div>
                </div>
              ) : (
                root && <RuleBuilder root={root} onChange={setRoot} ctx={ctx} />
              )}
            </div>
            {formError && (
              <p className="form-error" role="alert">
                {formError}
              </p>
            )}
            <ErrorBox error={error} />
            <div className="form-actions">
              <button type="submit" className="btn btn-primary" disabled={busy || jsonOpen}>
                {busy ? t('segments.saving') : id ? t('segments.saveChanges') : t('segments.create')}
              </button>
            </div>
          </div>
          <EstimatePanel project={p} rule={jsonOpen ? null : rule} problem={jsonOpen ? null : problem} />
        </div>
      </form>
    </section>
  );
}
