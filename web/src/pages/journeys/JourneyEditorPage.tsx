// One journey (or a new one): the canvas editor with its palette and side panel, the settings,
// dry run and backtest, the effect report and the versions; the lifecycle buttons the signed-in
// account may use in the journey's state (maker-checker: docs/journeys.md).
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router';
import { ReactFlowProvider } from '@xyflow/react';
import { ApiError } from '../../api/client';
import {
  createJourney,
  deleteJourney,
  getJourney,
  getJourneyReport,
  journeyAction,
  listChannels,
  listJourneyVersions,
  listTemplates,
  updateJourney,
  type Journey,
  type JourneyAction,
  type JourneyDefinition,
  type JourneyReport,
  type JsonObject,
  type MigrationPolicy,
} from '../../api/journeys';
import { listSegments } from '../../api/segments';
import { getSchema } from '../../api/data';
import { useAuth } from '../../auth/AuthContext';
import { useProject } from '../../auth/ProjectContext';
import { ErrorBox, Loading } from '../../components/Feedback';
import { Field } from '../../components/Field';
import { DialogActions, Modal } from '../../components/Modal';
import { Tabs } from '../../components/Tabs';
import { isMsg, msg, useI18n, type MessageKey, type Msg } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import { JourneyCanvas, PALETTE_MIME, type CanvasView, type CounterView } from './JourneyCanvas';
import { NodePanel } from './NodePanel';
import { EntryPanel } from './EntryPanel';
import { SettingsPanel } from './SettingsPanel';
import { DryRunPanel } from './DryRunPanel';
import { BacktestPanel } from './BacktestPanel';
import { counterViews, EffectReport } from './EffectReport';
import { VersionsPanel } from './VersionsPanel';
import { RefsContext, type EditorRefs } from './forms';
import {
  checkDefinition,
  COL_W,
  ENTRY_ID,
  fieldTarget,
  freeSpot,
  freshId,
  newDefinition,
  newNode,
  nodeExits,
  nodesOf,
  NODE_TYPES,
  positions,
  removeNode,
  renameNode,
  ROW_H,
  setExit,
  SETTINGS_ID,
  stableJson,
  withLayout,
  type NodeType,
  type Problem,
  type XY,
} from './model';
import { nodeTypeLabel } from './labels';
import './journeys.css';

type TabKey = 'design' | 'settings' | 'test' | 'effect' | 'versions';

interface ServerProblem extends Problem {
  /** The part of the definition the error was about, when it was given (shown while unchanged). */
  snapshot: string;
}

function partOf(def: JourneyDefinition, target: string): string {
  if (target === ENTRY_ID) return stableJson([def.entry, def.start]);
  if (target === SETTINGS_ID) {
    const rest: JsonObject = { ...def };
    delete rest.nodes;
    delete rest.entry;
    delete rest.layout;
    return stableJson(rest);
  }
  return stableJson(nodesOf(def)[target]);
}

/** The definition with every position stored, so that moving nothing changes nothing. */
function materialize(def: JourneyDefinition): JourneyDefinition {
  const p = positions(def);
  return withLayout(def, p.entry, p.nodes);
}

const REPORT_EVERY_MS = 5000;

/** What each lifecycle action says once done. */
const DONE: Record<JourneyAction, MessageKey> = {
  submit: 'journeys.done.submit',
  approve: 'journeys.done.approve',
  reject: 'journeys.done.reject',
  start: 'journeys.done.start',
  publish: 'journeys.done.publish',
  pause: 'journeys.done.pause',
  resume: 'journeys.done.resume',
  stop: 'journeys.done.stop',
};

export function JourneyEditorPage() {
  const { id } = useParams();
  const isNew = !id;
  const { t, tx, tm, dt, n, timeZone } = useI18n();
  const { can, account } = useAuth();
  const { project, current } = useProject();
  const p = project!;
  const navigate = useNavigate();
  const location = useLocation();
  const canWrite = can('journey.write');
  const canApprove = can('journey.approve');

  const loaded = useAsync((signal) => getJourney(p, id!, signal), [p, id], !isNew);
  const versions = useAsync((signal) => listJourneyVersions(p, id!, signal), [p, id], !isNew);
  const refsData = useAsync(
    async (signal) => {
      const [channels, templates, segments, schema] = await Promise.allSettled([
        can('rules.read') ? listChannels(p, signal) : Promise.resolve({}),
        can('rules.read') ? listTemplates(p, signal) : Promise.resolve([]),
        can('audience.read') ? listSegments(p) : Promise.resolve([]),
        can('data.read') ? getSchema(p) : Promise.resolve({ events: [], properties: [], user_properties: [] }),
      ]);
      const failed = [channels, templates, segments, schema].find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
      return {
        channels: channels.status === 'fulfilled' ? channels.value : {},
        templates: templates.status === 'fulfilled' ? templates.value : [],
        segments: segments.status === 'fulfilled' ? segments.value : [],
        schema: schema.status === 'fulfilled' ? schema.value : { events: [], properties: [], user_properties: [] },
        error: failed?.reason,
      };
    },
    [p],
  );

  const [journey, setJourney] = useState<Journey | null>(null);
  const [def, setDef] = useState<JourneyDefinition>(() => materialize(newDefinition('')));
  const [saved, setSaved] = useState<string>(() => stableJson(materialize(newDefinition(''))));
  const [selected, setSelected] = useState<string | null>(isNew ? ENTRY_ID : null);
  const [tab, setTab] = useState<TabKey>('design');
  const [busy, setBusy] = useState<string | null>(null);
  const [serverProblem, setServerProblem] = useState<ServerProblem | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  // Notices are kept as message keys: they follow the language switch.
  const [notice, setNotice] = useState<Msg | null>(() => {
    const sent = (location.state as { notice?: unknown } | null)?.notice;
    return isMsg(sent) ? sent : null;
  });
  const [dryPath, setDryPath] = useState<string[] | null>(null);
  const [report, setReport] = useState<JourneyReport | undefined>(undefined);
  const [reportAt, setReportAt] = useState<number>(0);
  const [showCounts, setShowCounts] = useState(true);
  const [dialog, setDialog] = useState<null | { kind: 'approve' | 'reject' | 'stop' | 'delete' | 'json' | 'publish' }>(null);

  // A loaded journey replaces the editor's definition.
  useEffect(() => {
    if (!loaded.data) return;
    setJourney(loaded.data);
    const d = materialize(loaded.data.definition || newDefinition(loaded.data.name));
    setDef(d);
    setSaved(stableJson(d));
    setServerProblem(null);
  }, [loaded.data]);

  // Another project: back to the list.
  const firstProject = useRef(p);
  useEffect(() => {
    if (p !== firstProject.current) navigate('/journeys');
  }, [p, navigate]);

  const dirty = stableJson(def) !== saved;
  useEffect(() => {
    if (!dirty) return;
    const h = (e: BeforeUnloadEvent) => {
      e.preventDefault();
    };
    window.addEventListener('beforeunload', h);
    return () => window.removeEventListener('beforeunload', h);
  }, [dirty]);

  // Live numbers: the report, every few seconds, once the journey has gone live.
  const liveId = journey && (journey.live_version ?? 0) > 0 ? journey.id : null;
  useEffect(() => {
    if (!liveId) {
      setReport(undefined);
      return;
    }
    let stopped = false;
    const load = () =>
      getJourneyReport(p, liveId)
        .then((r) => {
          if (stopped) return;
          setReport(r);
          setReportAt(Date.now());
        })
        .catch(() => {
          /* the next tick tries again */
        });
    void load();
    const timer = window.setInterval(() => {
      if (document.visibilityState === 'visible') void load();
    }, REPORT_EVERY_MS);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, [p, liveId, journey?.status]);

  const status = journey?.status ?? 'draft';
  const editable = canWrite && (isNew || (status !== 'submitted' && status !== 'ended'));
  const nodes = nodesOf(def);
  const nodeIds = Object.keys(nodes);

  const refs: EditorRefs = useMemo(
    () => ({
      project: p,
      channels: refsData.data?.channels ?? {},
      templates: refsData.data?.templates ?? [],
      segments: refsData.data?.segments ?? [],
      events: (refsData.data?.schema.events ?? []).map((e) => e.name).filter((e) => !e.startsWith('$') || e === '$task_completed'),
      eventProperties: (refsData.data?.schema.properties ?? []).map((x) => x.name).filter((x) => !x.startsWith('$')),
      userProperties: (refsData.data?.schema.user_properties ?? []).map((x) => x.name).filter((x) => !x.startsWith('$')),
      nodeIds,
      editable,
      timeZone: (typeof def.time_zone === 'string' && def.time_zone) || current?.time_zone || timeZone,
    }),
    [p, refsData.data, nodeIds.join('\u0001'), editable, def.time_zone, current?.time_zone, timeZone],
  );

  // ---- Problems: the editor's checks and the server's answer, in words, by target ----
  const clientProblems = useMemo(() => checkDefinition(def), [def]);
  const problemText = useCallback((pr: Problem) => (pr.key ? tx(pr.key, pr.key, pr.vars) : pr.message || ''), [tx]);
  const byTarget = useMemo(() => {
    const m: Record<string, string[]> = {};
    for (const pr of clientProblems) (m[pr.target] ||= []).push(problemText(pr));
    return m;
  }, [clientProblems, problemText]);
  const liveServerProblem = serverProblem && partOf(def, serverProblem.target) === serverProblem.snapshot ? serverProblem : null;
  const serverText = useCallback(
    (sp: Problem): string => {
      // The server's message usually starts with the field already ("nodes.x.template: required").
      const message = sp.field && sp.message?.startsWith(`${sp.field}: `) ? sp.message.slice(sp.field.length + 2) : (sp.message ?? '');
      return sp.field ? t('journeys.problem.serverField', { field: sp.field, message }) : message;
    },
    [t],
  );
  const errorsByTarget = useMemo(() => {
    const m: Record<string, string[]> = {};
    if (liveServerProblem) m[liveServerProblem.target] = [serverText(liveServerProblem)];
    return m;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [liveServerProblem?.message, liveServerProblem?.target, liveServerProblem?.field, serverText]);

  const counters = useMemo(() => {
    if (!report || !showCounts) return undefined;
    const m: Record<string, CounterView[]> = {};
    for (const [nid, c] of Object.entries(report.nodes || {})) m[nid] = counterViews(c, tx);
    return m;
  }, [report, showCounts, tx]);

  const pathMap = useMemo(() => {
    if (!dryPath) return undefined;
    const m: Record<string, number[]> = {};
    dryPath.forEach((nid, i) => (m[nid] ||= []).push(i + 1));
    return m;
  }, [dryPath]);

  // ---- Editing ----
  const canvasView = useRef<CanvasView | null>(null);
  const change = useCallback((update: (d: JourneyDefinition) => JourneyDefinition) => setDef((d) => update(d)), []);
  const onMove = useCallback((entry: XY, ns: Record<string, XY>) => setDef((d) => withLayout(d, entry, ns)), []);

  const addNode = useCallback(
    (type: NodeType, at?: XY) => {
      const d = def;
      const nid = freshId(d, type);
      const pos = positions(d);
      const ns = { ...nodesOf(d) };
      let place = at;
      let connectFrom: { id: string; handle: string } | null = null;
      if (!at && selected) {
        // Attach the new step to the selected step's first free exit.
        if (selected === ENTRY_ID && !d.start) connectFrom = { id: ENTRY_ID, handle: 'start' };
        else if (ns[selected]) {
          const free = nodeExits(ns[selected]).findIndex((e) => !e.target);
          if (free >= 0) connectFrom = { id: selected, handle: nodeExits(ns[selected])[free].handle };
        }
        if (connectFrom) {
          const from = connectFrom.id === ENTRY_ID ? pos.entry : pos.nodes[connectFrom.id];
          const index = connectFrom.id === ENTRY_ID ? 0 : nodeExits(ns[connectFrom.id]).findIndex((e) => e.handle === connectFrom!.handle);
          place = { x: from.x + COL_W, y: from.y + index * ROW_H };
        }
      }
      if (!place) {
        // Not attached to a step: in the middle of what the user sees of the canvas.
        const spot = canvasView.current?.visibleSpot();
        if (spot) place = freeSpot(spot, [pos.entry, ...Object.values(pos.nodes)]);
      }
      if (!place) {
        const all = [pos.entry, ...Object.values(pos.nodes)];
        const maxX = Math.max(...all.map((q) => q.x));
        const inLast = all.filter((q) => q.x === maxX);
        place = nodeIdsCount(ns) === 0 ? { x: pos.entry.x + COL_W, y: pos.entry.y } : { x: maxX, y: Math.max(...inLast.map((q) => q.y)) + ROW_H };
      }
      // Avoid dropping exactly on another node.
      while ([pos.entry, ...Object.values(pos.nodes)].some((q) => Math.abs(q.x - place!.x) < 40 && Math.abs(q.y - place!.y) < 60)) place = { x: place.x, y: place.y + ROW_H };
      ns[nid] = newNode(type);
      let next: JourneyDefinition = { ...d, nodes: ns };
      if (connectFrom) {
        if (connectFrom.id === ENTRY_ID) next.start = nid;
        else ns[connectFrom.id] = setExit(ns[connectFrom.id], connectFrom.handle, nid);
      }
      if (!next.start) next.start = nid;
      next = withLayout(next, pos.entry, { ...pos.nodes, [nid]: place });
      setDef(next);
      setSelected(nid);
      setNotice(null);
    },
    [def, selected],
  );

  const deleteNode = useCallback(
    (nid: string) => {
      setDef((d) => removeNode(d, nid));
      setSelected((s) => (s === nid ? null : s));
    },
    [setDef],
  );

  const rename = (from: string, to: string): Msg | null => {
    if (to in nodes) return msg('journeys.panel.idTaken', { id: to });
    setDef((d) => renameNode(d, from, to));
    setSelected(to);
    return null;
  };

  // ---- Saving and lifecycle ----
  const handleError = (e: unknown) => {
    if (e instanceof ApiError && e.code === 3007) {
      const target = fieldTarget(def, e.field);
      setServerProblem({ target, field: e.field, message: e.message, fromServer: true, snapshot: partOf(def, target) });
      if (target !== SETTINGS_ID) setSelected(target);
      setActionError(null);
    } else {
      setActionError(e);
    }
  };

  const save = async (): Promise<Journey | null> => {
    setBusy('save');
    setServerProblem(null);
    setActionError(null);
    setNotice(null);
    try {
      const j = isNew ? await createJourney(p, def) : await updateJourney(p, id!, def);
      const done = msg('journeys.done.saved', { version: j.current_version ?? 1 });
      if (isNew) {
        setSaved(stableJson(def));
        setNotice(done);
        navigate(`/journeys/${encodeURIComponent(j.id)}`, { replace: true, state: { notice: done } });
        return j;
      }
      setJourney(j);
      setSaved(stableJson(def));
      setNotice(done);
      versions.reload();
      return j;
    } catch (e) {
      handleError(e);
      return null;
    } finally {
      setBusy(null);
    }
  };

  const act = async (a: JourneyAction, comment?: string, migration?: MigrationPolicy) => {
    if (!journey) return;
    if (a === 'submit' && dirty) {
      const ok = await save();
      if (!ok) return;
    }
    setBusy(a);
    setActionError(null);
    setServerProblem(null);
    setNotice(null);
    try {
      const j = await journeyAction(p, journey.id, a, comment, migration);
      setJourney((prev) => ({ ...(prev || j), ...j, definition: prev?.definition }));
      // A move migration's counts come in the answer's comment (docs/journeys.md).
      const moved = a === 'publish' && migration === 'move' ? /(\d+) moved, (\d+) stayed/.exec(j.comment ?? '') : null;
      setNotice(moved ? msg('journeys.done.publishMove', { moved: Number(moved[1]), stayed: Number(moved[2]) }) : msg(DONE[a]));
      versions.reload();
    } catch (e) {
      handleError(e);
    } finally {
      setBusy(null);
    }
  };

  const remove = async () => {
    if (!journey) return;
    setBusy('delete');
    try {
      await deleteJourney(p, journey.id);
      setSaved(stableJson(def));
      navigate('/journeys', { state: { notice: msg('journeys.done.deleted', { name: journey.name }) } });
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(null);
    }
  };

  if (!isNew && loaded.loading && !journey) return <Loading />;
  if (!isNew && loaded.error && !journey) return <ErrorBox error={loaded.error} onRetry={loaded.reload} />;

  const cur = journey?.current_version ?? 0;
  const approved = journey?.approved_version ?? 0;
  const live = journey?.live_version ?? 0;
  const runningish = status === 'running' || status === 'paused';
  const reviewPending = !!journey && !!journey.submitted_by && cur > approved && (status === 'submitted' || runningish);
  const ownSubmission = reviewPending && !!account && account.name === journey?.submitted_by;
  const adminToken = account?.kind === 'admin_token';
  const showSubmit = canWrite && !isNew && (status === 'draft' || (runningish && (cur > approved || dirty)));

  const problemsList = [...(liveServerProblem ? [liveServerProblem] : []), ...clientProblems];
  const entry: JsonObject = def.entry || {};
  const selNode = selected && selected !== ENTRY_ID ? nodes[selected] : undefined;
  const title = (typeof def.name === 'string' && def.name.trim()) || (isNew ? t('journeys.newTitle') : journey?.name) || t('journeys.untitled');

  const tabs = [
    { key: 'design' as const, label: t('journeys.tab.design') },
    { key: 'settings' as const, label: t('journeys.tab.settings') },
    { key: 'test' as const, label: t('journeys.tab.test') },
    ...(!isNew ? [{ key: 'effect' as const, label: t('journeys.tab.effect') }, { key: 'versions' as const, label: t('journeys.tab.versions') }] : []),
  ];

  const btn = (a: JourneyAction, label: string, primary = false, onClick?: () => void) => (
    <button type="button" className={primary ? 'btn btn-primary' : 'btn'} disabled={!!busy} onClick={onClick ?? (() => void act(a))}>
      {busy === a ? t('journeys.working') : label}
    </button>
  );

  return (
    <RefsContext.Provider value={refs}>
      <section className="page jn-page">
        <nav className="muted small" aria-label={t('journeys.breadcrumb')}>
          <Link to="/journeys">{t('journeys.title')}</Link> / {isNew ? t('journeys.newTitle') : journey?.id}
        </nav>
        <header className="page-head">
          <div className="jn-title-row">
            <h1>{title}</h1>
            {!isNew && <span className={`badge badge-${status}`}>{tx(`journeyStatus.${status}`, status)}</span>}
            {!isNew && (
              <span className="muted small">
                {t('journeys.versionLine', { current: cur, live: live ? t('journeys.versions.vN', { n: live }) : t('journeys.notLive') })}
              </span>
            )}
            {dirty && <span className="badge badge-submitted">{t('journeys.unsaved')}</span>}
          </div>
          <div className="page-actions" role="toolbar" aria-label={t('journeys.actions')}>
            {editable && (
              <button type="button" className="btn btn-primary" disabled={!!busy || (!dirty && !isNew)} onClick={() => void save()}>
                {busy === 'save' ? t('journeys.working') : isNew ? t('journeys.action.create') : t('journeys.action.save')}
              </button>
            )}
            {showSubmit && btn('submit', t('journeys.action.submit'), !dirty)}
            {canApprove && reviewPending && (
              <>
                <button type="button" className="btn btn-primary" disabled={!!busy || ownSubmission} onClick={() => setDialog({ kind: 'approve' })}>
                  {t('journeys.action.approve')}
                </button>
                <button type="button" className="btn" disabled={!!busy || ownSubmission} onClick={() => setDialog({ kind: 'reject' })}>
                  {t('journeys.action.reject')}
                </button>
              </>
            )}
            {canWrite && status === 'approved' && btn('start', t('journeys.action.start'), true)}
            {canWrite && runningish && approved > live && btn('publish', t('journeys.action.publish', { n: approved }), true, () => setDialog({ kind: 'publish' }))}
            {canWrite && status === 'running' && btn('pause', t('journeys.action.pause'))}
            {canWrite && status === 'paused' && btn('resume', t('journeys.action.resume'), true)}
            {canWrite && runningish && (
              <button type="button" className="btn btn-danger" disabled={!!busy} onClick={() => setDialog({ kind: 'stop' })}>
                {t('journeys.action.stop')}
              </button>
            )}
            {canWrite && !isNew && live === 0 && (
              <button type="button" className="btn btn-ghost" disabled={!!busy} onClick={() => setDialog({ kind: 'delete' })}>
                {t('common.delete')}
              </button>
            )}
            <button type="button" className="btn btn-ghost" onClick={() => setDialog({ kind: 'json' })}>
              {t('journeys.action.json')}
            </button>
          </div>
        </header>

        {journey && (
          <p className="muted small jn-people">
            {t('journeys.people', {
              created: journey.created_by || '—',
              submitted: journey.submitted_by || '—',
              approved: journey.approved_by || '—',
              updated: dt(journey.updated_ms),
            })}
            {journey.comment ? ` · ${t('journeys.comment', { comment: journey.comment })}` : ''}
          </p>
        )}
        {notice && (
          <p className="success" role="status">
            {tm(notice)}
          </p>
        )}
        {ownSubmission && canApprove && <p className="notice">{t('journeys.ownSubmission')}</p>}
        {reviewPending && !canApprove && <p className="notice">{t('journeys.waitingReview', { who: journey?.submitted_by ?? '' })}</p>}
        {adminToken && <p className="notice">{t('journeys.adminToken')}</p>}
        {!canWrite && <p className="notice">{t('journeys.readOnly')}</p>}
        {canWrite && status === 'submitted' && <p className="notice">{t('journeys.lockedReview')}</p>}
        {status === 'ended' && <p className="notice">{t('journeys.lockedEnded')}</p>}
        {canWrite && runningish && <p className="notice">{t('journeys.newVersionNote', { n: cur > Math.max(approved, live) ? cur : cur + 1 })}</p>}
        {actionError ? <ErrorBox error={actionError} /> : null}
        {refsData.data?.error ? <p className="notice small">{t('journeys.refsError')}</p> : null}
        {editable && (
          <div className="jn-name-row">
            <Field label={t('journeys.settings.name')} hint={isNew ? t('journeys.nameHint') : undefined}>
              <input type="text" value={typeof def.name === 'string' ? def.name : ''} onChange={(e) => setDef((d) => ({ ...d, name: e.target.value }))} />
            </Field>
          </div>
        )}

        <Tabs tabs={tabs} value={tab} onChange={setTab} label={t('journeys.tabs')} idPrefix="jn" />
        <div id="jn-panel" role="tabpanel" aria-labelledby={`jn-tab-${tab}`} className="tab-panel">
          {tab === 'design' && (
            <>
              {report && (
                <div className="jn-live" role="status" aria-label={t('journeys.live.aria')}>
                  <strong>{t('journeys.live.title')}</strong>
                  <span>
                    {t('journeys.report.entered')} {n(report.entered)}
                  </span>
                  <span>
                    {t('journeys.report.inside')} {n(report.inside)}
                  </span>
                  <span>
                    {t('journeys.report.goal')} {n(report.goal_reached)}
                  </span>
                  <span className="muted small">{t('journeys.live.updated', { time: dt(reportAt) })}</span>
                  <label className="field-check">
                    <input type="checkbox" checked={showCounts} onChange={(e) => setShowCounts(e.target.checked)} /> {t('journeys.live.showCounts')}
                  </label>
                </div>
              )}
              {dryPath && (
                <p className="jn-path-note">
                  {t('journeys.dry.pathShown', { path: dryPath.join(' → ') || '—' })}{' '}
                  <button type="button" className="btn btn-small btn-ghost" onClick={() => setDryPath(null)}>
                    {t('journeys.dry.clear')}
                  </button>
                </p>
              )}
              <div className="jn-editor">
                <Palette editable={editable} onAdd={(ty) => addNode(ty)} selected={selected} />
                <div className="jn-canvas-col">
                  <ReactFlowProvider>
                    <JourneyCanvas
                      def={def}
                      editable={editable}
                      selected={selected}
                      onSelect={setSelected}
                      onChange={change}
                      onMove={onMove}
                      onDelete={deleteNode}
                      onDropNode={(ty, at) => (NODE_TYPES as readonly string[]).includes(ty) && addNode(ty as NodeType, at)}
                      problems={byTarget}
                      errors={errorsByTarget}
                      counters={counters}
                      path={pathMap}
                      viewRef={canvasView}
                    />
                  </ReactFlowProvider>
                </div>
                <aside className="jn-side" aria-label={t('journeys.panel.aria')}>
                  {selected === ENTRY_ID ? (
                    <EntryPanel
                      entry={entry}
                      start={def.start || ''}
                      problems={byTarget[ENTRY_ID] || []}
                      errors={errorsByTarget[ENTRY_ID] || []}
                      journeyId={journey?.id}
                      timeZone={refs.timeZone}
                      onChange={(e) => setDef((d) => ({ ...d, entry: e }))}
                      onStart={(s) => setDef((d) => ({ ...d, start: s }))}
                    />
                  ) : selNode && selected ? (
                    <NodePanel
                      key={selected}
                      id={selected}
                      node={selNode}
                      problems={[...(errorsByTarget[selected] || []), ...(byTarget[selected] || [])]}
                      isStart={def.start === selected}
                      onChange={(nn) => setDef((d) => ({ ...d, nodes: { ...nodesOf(d), [selected]: nn } }))}
                      onRename={(to) => rename(selected, to)}
                      onDelete={() => deleteNode(selected)}
                    />
                  ) : (
                    <div className="jn-panel-body">
                      <h3>{t('journeys.panel.nothing')}</h3>
                      <p className="muted small">{t('journeys.panel.nothingHint')}</p>
                      <button type="button" className="btn btn-small" onClick={() => setSelected(ENTRY_ID)}>
                        {t('journeys.panel.openEntry')}
                      </button>
                    </div>
                  )}
                </aside>
              </div>
              <ProblemList problems={problemsList} text={(pr) => (pr.fromServer ? serverText(pr) : problemText(pr))} onGo={(pr) => {
                  if (pr.field === 'name') document.querySelector<HTMLInputElement>('.jn-name-row input')?.focus();
                  else if (pr.target === SETTINGS_ID) setTab('settings');
                  else setSelected(pr.target);
                }}
              />
            </>
          )}
          {tab === 'settings' && (
            <SettingsPanel
              def={def}
              onChange={setDef}
              errors={errorsByTarget[SETTINGS_ID] || []}
              problems={byTarget[SETTINGS_ID] || []}
              projectZone={current?.time_zone || timeZone}
            />
          )}
          {tab === 'test' && (
            <div className="form-stack">
              <DryRunPanel
                project={p}
                def={def}
                onPath={(path) => {
                  setDryPath(path);
                }}
                onDefinitionError={handleError}
              />
              {!isNew && journey && <BacktestPanel project={p} journeyId={journey.id} versions={versions.data || []} timeZone={refs.timeZone} dirty={dirty} />}
            </div>
          )}
          {tab === 'effect' && <EffectReport report={report} />}
          {tab === 'versions' && journey && (
            <>
              {versions.error ? <ErrorBox error={versions.error} onRetry={versions.reload} /> : null}
              <VersionsPanel
                journey={journey}
                versions={versions.data || []}
                editable={editable}
                onLoad={(d, v) => {
                  setDef(materialize(d));
                  setTab('design');
                  setNotice(msg('journeys.versions.loaded', { n: v }));
                }}
              />
            </>
          )}
        </div>

        {dialog?.kind === 'approve' && (
          <CommentDialog
            title={t('journeys.dialog.approveTitle')}
            help={t('journeys.dialog.approveHelp', { who: journey?.submitted_by ?? '' })}
            confirm={t('journeys.action.approve')}
            onClose={() => setDialog(null)}
            onConfirm={(c) => {
              setDialog(null);
              void act('approve', c);
            }}
          />
        )}
        {dialog?.kind === 'reject' && (
          <CommentDialog
            title={t('journeys.dialog.rejectTitle')}
            help={t('journeys.dialog.rejectHelp')}
            confirm={t('journeys.action.reject')}
            onClose={() => setDialog(null)}
            onConfirm={(c) => {
              setDialog(null);
              void act('reject', c);
            }}
          />
        )}
        {dialog?.kind === 'publish' && (
          <PublishDialog
            version={approved}
            onClose={() => setDialog(null)}
            onConfirm={(migration) => {
              setDialog(null);
              void act('publish', undefined, migration);
            }}
          />
        )}
        {dialog?.kind === 'stop' && (
          <ConfirmDialog
            title={t('journeys.dialog.stopTitle')}
            help={t('journeys.dialog.stopHelp')}
            confirm={t('journeys.action.stop')}
            onClose={() => setDialog(null)}
            onConfirm={() => {
              setDialog(null);
              void act('stop');
            }}
          />
        )}
        {dialog?.kind === 'delete' && (
          <ConfirmDialog
            title={t('journeys.dialog.deleteTitle')}
            help={t('journeys.dialog.deleteHelp')}
            confirm={t('common.delete')}
            onClose={() => setDialog(null)}
            onConfirm={() => {
              setDialog(null);
              void remove();
            }}
          />
        )}
        {dialog?.kind === 'json' && (
          <JsonDialog
            def={def}
            editable={editable}
            onClose={() => setDialog(null)}
            onApply={(d) => {
              setDef(materialize(d));
              setDialog(null);
            }}
          />
        )}
      </section>
    </RefsContext.Provider>
  );
}

function nodeIdsCount(ns: Record<string, unknown>): number {
  return Object.keys(ns).length;
}

function Palette({ editable, onAdd, selected }: { editable: boolean; onAdd: (t: NodeType) => void; selected: string | null }) {
  const { t, tx } = useI18n();
  return (
    <aside className="jn-palette" aria-label={t('journeys.palette.aria')}>
      <h3>{t('journeys.palette.title')}</h3>
      <p className="muted small">{editable ? (selected ? t('journeys.palette.hintSelected') : t('journeys.palette.hint')) : t('journeys.palette.readOnly')}</p>
      <ul>
        {NODE_TYPES.map((type) => (
          <li key={type}>
            <button
              type="button"
              className={`jn-palette-item jn-type-${type}`}
              draggable={editable}
              disabled={!editable}
              aria-label={t('journeys.palette.add', { type: nodeTypeLabel(type, tx) })}
              title={tx(`journeys.help.${type}`, '')}
              onDragStart={(e) => {
                e.dataTransfer.setData(PALETTE_MIME, type);
                e.dataTransfer.effectAllowed = 'copy';
              }}
              onClick={() => onAdd(type)}
            >
              <span className="jn-palette-name">{nodeTypeLabel(type, tx)}</span>
              <span className="jn-palette-help">{tx(`journeys.paletteHelp.${type}`, '')}</span>
            </button>
          </li>
        ))}
      </ul>
    </aside>
  );
}

function ProblemList({ problems, text, onGo }: { problems: Problem[]; text: (p: Problem) => string; onGo: (p: Problem) => void }) {
  const { t } = useI18n();
  if (problems.length === 0)
    return (
      <p className="success jn-ready" role="status">
        {t('journeys.problems.none')}
      </p>
    );
  const where = (target: string) => (target === ENTRY_ID ? t('journeys.canvas.entry') : target === SETTINGS_ID ? t('journeys.tab.settings') : target);
  return (
    <section className="card jn-problems" aria-labelledby="jn-problems-title">
      <h2 className="card-title" id="jn-problems-title">
        {t('journeys.problems.title', { n: problems.length })}
      </h2>
      <ul aria-label={t('journeys.problems.title', { n: problems.length })}>
        {problems.map((pr, i) => (
          <li key={i} className={pr.fromServer ? 'jn-problem-server' : undefined} role={pr.fromServer ? 'alert' : undefined}>
            <button type="button" className="btn-link" onClick={() => onGo(pr)}>
              {pr.field === 'name' ? t('journeys.settings.name') : where(pr.target)}
            </button>
            : {text(pr)}
          </li>
        ))}
      </ul>
    </section>
  );
}

function CommentDialog({ title, help, confirm, onClose, onConfirm }: { title: string; help: string; confirm: string; onClose: () => void; onConfirm: (comment: string) => void }) {
  const { t } = useI18n();
  const [comment, setComment] = useState('');
  return (
    <Modal title={title} onClose={onClose}>
      <form
        className="form-stack"
        onSubmit={(e) => {
          e.preventDefault();
          onConfirm(comment.trim());
        }}
      >
        <p>{help}</p>
        <div className="field">
          <label htmlFor="jn-comment">{t('journeys.dialog.comment')}</label>
          <textarea id="jn-comment" rows={3} value={comment} onChange={(e) => setComment(e.target.value)} />
        </div>
        <DialogActions confirm={confirm} onCancel={onClose} />
      </form>
    </Modal>
  );
}

function ConfirmDialog({ title, help, confirm, onClose, onConfirm }: { title: string; help: string; confirm: string; onClose: () => void; onConfirm: () => void }) {
  return (
    <Modal title={title} onClose={onClose}>
      <p>{help}</p>
      <DialogActions confirm={confirm} onConfirm={onConfirm} onCancel={onClose} danger />
    </Modal>
  );
}

/** Publish a new version: the customers inside stay on their version or move to the new one. */
function PublishDialog({ version, onClose, onConfirm }: { version: number; onClose: () => void; onConfirm: (migration: MigrationPolicy) => void }) {
  const { t } = useI18n();
  const [migration, setMigration] = useState<MigrationPolicy>('stay');
  return (
    <Modal title={t('journeys.dialog.publishTitle', { n: version })} onClose={onClose}>
      <fieldset className="jn-migration">
        <legend>{t('journeys.dialog.migration')}</legend>
        {(['stay', 'move'] as const).map((m) => (
          <label key={m} className="radio">
            <input type="radio" name="migration" value={m} checked={migration === m} onChange={() => setMigration(m)} />
            <span>
              {t(m === 'stay' ? 'journeys.dialog.migrationStay' : 'journeys.dialog.migrationMove')}
              <br />
              <span className="muted small">{t(m === 'stay' ? 'journeys.dialog.migrationStayHelp' : 'journeys.dialog.migrationMoveHelp')}</span>
            </span>
          </label>
        ))}
      </fieldset>
      <DialogActions confirm={t('journeys.action.publish', { n: version })} onConfirm={() => onConfirm(migration)} onCancel={onClose} />
    </Modal>
  );
}

function JsonDialog({ def, editable, onClose, onApply }: { def: JourneyDefinition; editable: boolean; onClose: () => void; onApply: (d: JourneyDefinition) => void }) {
  const { t, tm } = useI18n();
  const [text, setText] = useState(() => JSON.stringify(def, null, 2));
  const [error, setError] = useState<Msg | null>(null);
  const apply = () => {
    let d: unknown;
    try {
      d = JSON.parse(text);
    } catch (e) {
      setError(msg('journeys.form.badJson', { message: (e as Error).message }));
      return;
    }
    if (!d || typeof d !== 'object' || Array.isArray(d)) {
      setError(msg('journeys.dialog.jsonNotObject'));
      return;
    }
    // A template bundle of examples/journeys/: its journey.
    const o = d as JsonObject;
    onApply(o.journey && typeof o.journey === 'object' && !o.nodes ? (o.journey as JourneyDefinition) : (o as JourneyDefinition));
  };
  return (
    <Modal title={t('journeys.dialog.jsonTitle')} onClose={onClose}>
      <p className="muted small">{t('journeys.dialog.jsonHelp')}</p>
      <div className="field">
        <label htmlFor="jn-json">{t('journeys.dialog.jsonLabel')}</label>
        <textarea id="jn-json" className="mono jn-json" rows={20} value={text} readOnly={!editable} onChange={(e) => setText(e.target.value)} />
      </div>
      {error && (
        <p className="form-error" role="alert">
          {tm(error)}
        </p>
      )}
      <DialogActions confirm={editable ? t('journeys.dialog.jsonApply') : undefined} onConfirm={apply} cancelLabel={t('common.close')} onCancel={onClose} />
    </Modal>
  );
}
