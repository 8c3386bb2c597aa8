// One segment: its definition and refresh, members (paged, CSV export), size history,
// insight against all users or another segment (TGI), and lookalike expansion.
import { useMemo, useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router';
import { useAuth } from '../../auth/AuthContext';
import { useProject } from '../../auth/ProjectContext';
import { useI18n } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import {
  deleteSegment,
  getSegment,
  refreshSegment,
  segmentHistory,
  segmentInsight,
  segmentLookalike,
  segmentMembers,
  segmentMembersCsv,
  type InsightAnswer,
  type InsightDimension,
  type LookalikeAnswer,
  type RefreshAnswer,
  type SegmentFull,
} from '../../api/audience';
import { EmptyState, ErrorBox, Loading } from '../../components/Feedback';
import { Field } from '../../components/Field';
import { Tabs } from '../../components/Tabs';
import { EChart } from '../../components/EChart';
import { SourceBadge } from './SegmentsPage';
import { downloadText, scheduleText, useBuilderContext } from './shared';

type Tab = 'members' | 'history' | 'insight' | 'lookalike' | 'definition';
const PAGE = 50;

/** Profile properties a rule compares (the natural columns of its member list). */
function ruleProfiles(rule: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(rule)) rule.forEach((r) => ruleProfiles(r, out));
  else if (rule && typeof rule === 'object') {
    const o = rule as Record<string, unknown>;
    if (typeof o.profile === 'string') out.add(o.profile);
    Object.values(o).forEach((v) => ruleProfiles(v, out));
  }
  return out;
}

function Members({ project, segment }: { project: string; segment: SegmentFull }) {
  const { t, n } = useI18n();
  const { can } = useAuth();
  const [columnsText, setColumnsText] = useState(() => [...ruleProfiles(segment.rule)].join(', '));
  const [columns, setColumns] = useState<string[]>(() => [...ruleProfiles(segment.rule)]);
  const [offset, setOffset] = useState(0);
  const page = useAsync((s) => segmentMembers(project, segment.id, offset, PAGE, columns, s), [project, segment.id, offset, columns.join(',')]);
  const [exportError, setExportError] = useState<unknown>(null);
  const [exporting, setExporting] = useState(false);

  const apply = (e: FormEvent) => {
    e.preventDefault();
    setColumns(
      columnsText
        .split(/[,，\s]+/)
        .map((c) => c.trim())
        .filter(Boolean),
    );
    setOffset(0);
  };
  const exportCsv = async () => {
    setExporting(true);
    setExportError(null);
    try {
      downloadText(await segmentMembersCsv(project, segment.id, columns), `segment-${segment.id}-${segment.name}.csv`);
    } catch (err) {
      setExportError(err);
    } finally {
      setExporting(false);
    }
  };
  const d = page.data;
  return (
    <>
      <form className="form-row" onSubmit={apply}>
        <Field label={t('segments.columns')} hint={t('segments.columnsHint')} className="field grow">
          <input value={columnsText} onChange={(e) => setColumnsText(e.target.value)} placeholder="aum, city" spellCheck={false} />
        </Field>
        <div className="form-actions">
          <button type="submit" className="btn btn-small">
            {t('segments.showColumns')}
          </button>
          <button type="button" className="btn btn-small" onClick={() => void exportCsv()} disabled={exporting}>
            {t('segments.exportCsv')}
          </button>
        </div>
      </form>
      <ErrorBox error={exportError} />
      {page.error ? <ErrorBox error={page.error} onRetry={page.reload} /> : null}
      {page.loading && !d && <Loading />}
      {d &&
        (d.total === 0 ? (
          <EmptyState title={t('segments.noMembers')} />
        ) : (
          <>
            <p className="muted">{t('segments.membersRange', { total: n(d.total), from: n(d.offset + 1), to: n(d.offset + d.users.length) })}</p>
            <div className="table-wrap">
              <table className="table" aria-label={t('segments.members')}>
                <thead>
                  <tr>
                    <th scope="col">{t('segments.distinctId')}</th>
                    <th scope="col" className="num">
                      {t('segments.userId')}
                    </th>
                    {columns.map((c) => (
                      <th scope="col" key={c}>
                        {c}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {d.users.map((u) => (
                    <tr key={u.user_id}>
                      <td className="mono">{can('data.read') ? <Link to={`/users/${encodeURIComponent(u.distinct_id)}`}>{u.distinct_id}</Link> : u.distinct_id}</td>
                      <td className="num">{u.user_id}</td>
                      {columns.map((c) => (
                        <td key={c}>{u.profile?.[c] === undefined || u.profile?.[c] === null ? '—' : String(u.profile[c])}</td>
                      ))}
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
    </>
  );
}

function History({ project, id }: { project: string; id: string }) {
  const { t, tx, n, dt } = useI18n();
  const h = useAsync((s) => segmentHistory(project, id, s), [project, id]);
  const option = useMemo(() => {
    const rows = h.data || [];
    return {
      grid: { left: 56, right: 16, top: 32, bottom: 40 },
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      xAxis: { type: 'category', data: rows.map((r) => dt(r.time_ms)) },
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        { name: t('segments.size'), type: 'line', data: rows.map((r) => r.size), showSymbol: rows.length < 60 },
        { name: t('segments.entered'), type: 'bar', barMaxWidth: 56, data: rows.map((r) => r.entered) },
        { name: t('segments.exited'), type: 'bar', barMaxWidth: 56, data: rows.map((r) => r.exited) },
      ],
    };
  }, [h.data, dt, t]);
  if (h.error) return <ErrorBox error={h.error} onRetry={h.reload} />;
  if (!h.data) return <Loading />;
  if (h.data.length === 0) return <EmptyState title={t('segments.noHistory')} />;
  return (
    <>
      <EChart option={option} height={260} label={t('segments.historyChart')} />
      <div className="table-wrap">
        <table className="table" aria-label={t('segments.history')}>
          <thead>
            <tr>
              <th scope="col">{t('segments.time')}</th>
              <th scope="col">{t('segments.trigger')}</th>
              <th scope="col" className="num">
                {t('segments.size')}
              </th>
              <th scope="col" className="num">
                {t('segments.entered')}
              </th>
              <th scope="col" className="num">
                {t('segments.exited')}
              </th>
              <th scope="col" className="num">
                {t('segments.elapsed')}
              </th>
            </tr>
          </thead>
          <tbody>
            {[...h.data].reverse().map((r, i) => (
              <tr key={i}>
                <td className="nowrap">{dt(r.time_ms)}</td>
                <td>{tx(`segments.trigger.${r.trigger}`, r.trigger)}</td>
                <td className="num">{n(r.size)}</td>
                <td className="num">{n(r.entered)}</td>
                <td className="num">{n(r.exited)}</td>
                <td className="num">{n(r.elapsed_ms ?? null, { maximumFractionDigits: 1 })}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function Insight({ project, segment }: { project: string; segment: SegmentFull }) {
  const { t, n, pct } = useI18n();
  const { ctx } = useBuilderContext(project, segment.id);
  const [tags, setTags] = useState<string[]>([]);
  const [profiles, setProfiles] = useState<string[]>(() => [...ruleProfiles(segment.rule)].slice(0, 2));
  const [extra, setExtra] = useState('');
  const [buckets, setBuckets] = useState('5');
  const [against, setAgainst] = useState('all');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [answer, setAnswer] = useState<InsightAnswer | null>(null);

  const toggle = (list: string[], set: (v: string[]) => void, v: string) => set(list.includes(v) ? list.filter((x) => x !== v) : [...list, v]);
  const run = async (e: FormEvent) => {
    e.preventDefault();
    const extraProfiles = extra
      .split(/[,，\s]+/)
      .map((x) => x.trim())
      .filter(Boolean);
    const b = Math.max(2, Math.min(20, Number(buckets) || 5));
    const dims: InsightDimension[] = [
      ...tags.map((tag) => ({ tag })),
      ...[...new Set([...profiles, ...extraProfiles])].map((profile) => {
        const type = ctx.schema?.user_properties.find((p) => p.name === profile)?.type;
        return type === 'NUMBER' ? { profile, buckets: b } : { profile };
      }),
    ];
    if (dims.length === 0) {
      setError(new Error(t('segments.insightChoose')));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      setAnswer(await segmentInsight(project, segment.id, dims, against));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <p className="muted small">{t('segments.insightLead')}</p>
      <form onSubmit={run} className="form-stack" aria-label={t('segments.insight')}>
        {ctx.tags.length > 0 && (
          <fieldset>
            <legend>{t('segments.insightTags')}</legend>
            <div className="chips">
              {ctx.tags.map((tg) => (
                <label key={tg.name} className="field-check">
                  <input type="checkbox" checked={tags.includes(tg.name)} onChange={() => toggle(tags, setTags, tg.name)} />
                  <span>{tg.display_name || tg.name}</span>
                </label>
              ))}
            </div>
          </fieldset>
        )}
        {ctx.schema && (
          <fieldset>
            <legend>{t('segments.insightProfiles')}</legend>
            <div className="chips">
              {ctx.schema.user_properties.map((pp) => (
                <label key={pp.name} className="field-check">
                  <input type="checkbox" checked={profiles.includes(pp.name)} onChange={() => toggle(profiles, setProfiles, pp.name)} />
                  <span>{pp.name}</span>
                </label>
              ))}
            </div>
          </fieldset>
        )}
        <div className="form-row">
          {!ctx.schema && (
            <Field label={t('segments.insightProfilesText')}>
              <input value={extra} onChange={(e) => setExtra(e.target.value)} placeholder="aum, city" />
            </Field>
          )}
          <Field label={t('segments.buckets')} className="field field-narrow">
            <input type="number" min={2} max={20} value={buckets} onChange={(e) => setBuckets(e.target.value)} />
          </Field>
          <Field label={t('segments.against')}>
            <select value={against} onChange={(e) => setAgainst(e.target.value)}>
              <option value="all">{t('segments.againstAll')}</option>
              {ctx.segments
                .filter((s) => s.id !== segment.id)
                .map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name}
                  </option>
                ))}
            </select>
          </Field>
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" disabled={busy}>
              {busy ? t('segments.running') : t('segments.runInsight')}
            </button>
          </div>
        </div>
      </form>
      <ErrorBox error={error} />
      {answer && (
        <div>
          <p className="muted">
            {t('segments.insightSizes', { size: n(answer.segment_size), base: answer.against_name || answer.against, baseSize: n(answer.base_size) })}
          </p>
          {answer.dimensions.map((d, i) => {
            const name = d.tag ? `${t('segments.rb.kind.tag')}: ${d.tag}` : `${t('segments.rb.kind.profile')}: ${d.profile}`;
            const label = (v: unknown) => (v === null || v === undefined ? t('segments.noValue') : String(v));
            const option = {
              grid: { left: 56, right: 56, top: 32, bottom: 60 },
              tooltip: { trigger: 'axis' },
              legend: { top: 0 },
              xAxis: { type: 'category', data: d.rows.map((r) => label(r.value)), axisLabel: { rotate: d.rows.length > 6 ? 30 : 0 } },
              yAxis: [
                { type: 'value', axisLabel: { formatter: (v: number) => `${Math.round(v * 100)}%` } },
                { type: 'value', name: 'TGI' },
              ],
              series: [
                { name: t('segments.segmentShare'), type: 'bar', barMaxWidth: 56, data: d.rows.map((r) => r.segment_share) },
                { name: t('segments.baseShare'), type: 'bar', barMaxWidth: 56, data: d.rows.map((r) => r.base_share) },
                { name: 'TGI', type: 'line', yAxisIndex: 1, data: d.rows.map((r) => r.tgi) },
              ],
            };
            return (
              <div key={i} className="card">
                <h3 className="card-title">{name}</h3>
                <EChart option={option} height={260} label={t('segments.insightChart', { name })} />
                <div className="table-wrap">
                  <table className="table" aria-label={name}>
                    <thead>
                      <tr>
                        <th scope="col">{t('segments.value')}</th>
                        <th scope="col" className="num">
                          {t('segments.segmentCount')}
                        </th>
                        <th scope="col" className="num">
                          {t('segments.segmentShare')}
                        </th>
                        <th scope="col" className="num">
                          {t('segments.baseCount')}
                        </th>
                        <th scope="col" className="num">
                          {t('segments.baseShare')}
                        </th>
                        <th scope="col" className="num">
                          TGI
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      {d.rows.map((r, k) => (
                        <tr key={k}>
                          <td>{label(r.value)}</td>
                          <td className="num">{n(r.segment_count)}</td>
                          <td className="num">{pct(r.segment_share)}</td>
                          <td className="num">{n(r.base_count)}</td>
                          <td className="num">{pct(r.base_share)}</td>
                          <td className={`num ${r.tgi !== null && r.tgi >= 120 ? 'up' : r.tgi !== null && r.tgi <= 80 ? 'down' : ''}`}>{r.tgi === null ? '—' : n(Math.round(r.tgi))}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </div>
            );
          })}
          <p className="muted small">{t('segments.tgiHint')}</p>
        </div>
      )}
    </>
  );
}

function Lookalike({ project, segment }: { project: string; segment: SegmentFull }) {
  const { t, n, pct } = useI18n();
  const [name, setName] = useState(() => `${segment.name}_lookalike`);
  const [mode, setMode] = useState<'top' | 'min_score'>('top');
  const [top, setTop] = useState('1000');
  const [minScore, setMinScore] = useState('0.8');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [answer, setAnswer] = useState<LookalikeAnswer | null>(null);
  const run = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setAnswer(await segmentLookalike(project, segment.id, { name: name.trim(), ...(mode === 'top' ? { top: Number(top) } : { min_score: Number(minScore) }) }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const m = answer?.lookalike.model;
  return (
    <>
      <p className="muted small">{t('segments.lookalikeLead')}</p>
      <form className="form-row" onSubmit={run} aria-label={t('segments.lookalike')}>
        <Field label={t('segments.lookalikeName')}>
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
        </Field>
        <Field label={t('segments.lookalikeMode')}>
          <select value={mode} onChange={(e) => setMode(e.target.value as 'top' | 'min_score')}>
            <option value="top">{t('segments.lookalikeTop')}</option>
            <option value="min_score">{t('segments.lookalikeMinScore')}</option>
          </select>
        </Field>
        {mode === 'top' ? (
          <Field label={t('segments.lookalikeTopN')} className="field field-narrow">
            <input type="number" min={1} value={top} onChange={(e) => setTop(e.target.value)} />
          </Field>
        ) : (
          <Field label={t('segments.lookalikeScore')} className="field field-narrow">
            <input type="number" min={0} max={1} step={0.01} value={minScore} onChange={(e) => setMinScore(e.target.value)} />
          </Field>
        )}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? t('segments.running') : t('segments.runLookalike')}
          </button>
        </div>
      </form>
      <ErrorBox error={error} />
      {answer && m && (
        <div className="card">
          <p className="success" role="status">
            {t('segments.lookalikeDone', { name: answer.segment.name, n: n(answer.lookalike.expanded ?? answer.segment.size ?? 0) })}{' '}
            <Link to={`/segments/${encodeURIComponent(answer.segment.id)}`}>{t('segments.open')}</Link>
          </p>
          <dl className="kv-grid">
            <dt>AUC</dt>
            <dd>{n(m.auc, { maximumFractionDigits: 3 })}</dd>
            <dt>{t('segments.liftTop10')}</dt>
            <dd>{n(m.lift_at_top_10_percent ?? null, { maximumFractionDigits: 2 })}</dd>
            <dt>{t('segments.trainRows')}</dt>
            <dd>
              {n(m.train_positives ?? null)} / {n(m.train_negatives ?? null)}
            </dd>
            <dt>{t('segments.lowestScore')}</dt>
            <dd>{n(answer.lookalike.lowest_score ?? null, { maximumFractionDigits: 3 })}</dd>
          </dl>
          {m.auc < 0.6 && <p className="notice">{t('segments.lowAuc', { auc: pct(m.auc) })}</p>}
          {m.top_features && m.top_features.length > 0 && (
            <div className="table-wrap">
              <table className="table" aria-label={t('segments.topFeatures')}>
                <thead>
                  <tr>
                    <th scope="col">{t('segments.feature')}</th>
                    <th scope="col" className="num">
                      {t('segments.weight')}
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {m.top_features.map((f) => (
                    <tr key={f.name}>
                      <td className="mono">{f.name}</td>
                      <td className="num">{n(f.weight, { maximumFractionDigits: 3 })}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
      )}
    </>
  );
}

export function SegmentDetail() {
  const { t, n, dt } = useI18n();
  const { can } = useAuth();
  const { project } = useProject();
  const p = project!;
  const { id } = useParams();
  const navigate = useNavigate();
  const location = useLocation();
  const seg = useAsync((s) => getSegment(p, id!, s), [p, id]);
  const [tab, setTab] = useState<Tab>('members');
  const [actionError, setActionError] = useState<unknown>(null);
  const [refreshed, setRefreshed] = useState<RefreshAnswer | null>(null);
  const [busy, setBusy] = useState(false);
  const justSaved = (location.state as { saved?: boolean } | null)?.saved;

  if (seg.error) return <ErrorBox error={seg.error} onRetry={seg.reload} />;
  const s = seg.data;
  if (!s) return <Loading />;

  const refresh = async () => {
    setBusy(true);
    setActionError(null);
    try {
      setRefreshed(await refreshSegment(p, s.id));
      seg.reload();
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    if (!window.confirm(t('segments.confirmDelete', { name: s.name }))) return;
    setActionError(null);
    try {
      await deleteSegment(p, s.id);
      navigate('/segments');
    } catch (e) {
      setActionError(e);
    }
  };

  const tabs: { key: Tab; label: string }[] = [
    { key: 'members', label: t('segments.members') },
    { key: 'history', label: t('segments.history') },
    { key: 'insight', label: t('segments.insight') },
    ...(can('audience.write') ? [{ key: 'lookalike' as Tab, label: t('segments.lookalike') }] : []),
    { key: 'definition', label: t('segments.definition') },
  ];

  return (
    <section className="page">
      <header className="page-head">
        <h1>
          {s.name} <span className="muted small">#{s.id}</span>
        </h1>
        <div className="page-actions">
          <Link to="/segments" className="btn btn-small">
            {t('segments.back')}
          </Link>
          {can('audience.write') && s.kind === 'rule' && (
            <>
              <button type="button" className="btn btn-small" onClick={() => void refresh()} disabled={busy}>
                {t('segments.refreshNow')}
              </button>
              <Link to={`/segments/${encodeURIComponent(s.id)}/edit`} className="btn btn-small">
                {t('segments.edit')}
              </Link>
            </>
          )}
          {can('audience.write') && (
            <button type="button" className="btn btn-small btn-danger" onClick={() => void remove()}>
              {t('common.delete')}
            </button>
          )}
        </div>
      </header>
      {justSaved && (
        <p className="success" role="status">
          {t('segments.saved', { name: s.name, n: n(s.size ?? 0) })}
        </p>
      )}
      {refreshed && (
        <p className="success" role="status">
          {t('segments.refreshed', { size: n(refreshed.size), entered: n(refreshed.entered), exited: n(refreshed.exited) })}
        </p>
      )}
      <ErrorBox error={actionError} />
      <div className="card">
        <dl className="kv-grid">
          <dt>{t('segments.size')}</dt>
          <dd>
            <strong aria-label={t('segments.size')}>{n(s.size ?? 0)}</strong>
          </dd>
          <dt>{t('segments.kind')}</dt>
          <dd>
            <SourceBadge s={s} />
          </dd>
          {s.description && (
            <>
              <dt>{t('segments.description')}</dt>
              <dd>{s.description}</dd>
            </>
          )}
          {s.kind === 'rule' && (
            <>
              <dt>{t('segments.refresh')}</dt>
              <dd>
                {scheduleText(t, s.refresh)}
                {s.realtime ? ` · ${t('segments.realtime')}` : ''}
              </dd>
              <dt>{t('segments.lastRefresh')}</dt>
              <dd>
                {dt(s.last_refresh_ms)}
                {s.last_refresh_elapsed_ms !== undefined && <span className="muted small"> ({t('segments.ms', { ms: n(s.last_refresh_elapsed_ms, { maximumFractionDigits: 1 }) })})</span>}
              </dd>
              <dt>{t('segments.nextRefresh')}</dt>
              <dd>{dt(s.next_refresh_ms)}</dd>
            </>
          )}
          <dt>{t('segments.updated')}</dt>
          <dd>{dt(s.updated_ms)}</dd>
        </dl>
      </div>
      <div className="card">
        <Tabs<Tab> idPrefix="segment" label={s.name} value={tab} onChange={setTab} tabs={tabs} />
        <div id="segment-panel" role="tabpanel" aria-labelledby={`segment-tab-${tab}`} className="tab-panel">
          {tab === 'members' && <Members project={p} segment={s} />}
          {tab === 'history' && <History project={p} id={s.id} />}
          {tab === 'insight' && <Insight project={p} segment={s} />}
          {tab === 'lookalike' && <Lookalike project={p} segment={s} />}
          {tab === 'definition' && (s.rule ? <pre className="code">{JSON.stringify(s.rule, null, 2)}</pre> : <p className="muted">{t('segments.staticDefinition')}</p>)}
        </div>
      </div>
    </section>
  );
}
