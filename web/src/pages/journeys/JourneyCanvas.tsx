// The canvas (@xyflow/react): the entry and the nodes of a definition, their exits as labelled
// edges, problems and live counters drawn on the nodes. The definition stays the source of
// truth: the canvas draws it and reports what the user did (moved, connected, deleted, dropped a
// node from the palette) to the editor.
import { memo, useCallback, useEffect, useMemo, useRef, useState, type DragEvent, type RefObject } from 'react';
import {
  Background,
  Controls,
  Handle,
  MarkerType,
  MiniMap,
  Position,
  ReactFlow,
  useNodesInitialized,
  useReactFlow,
  type Connection,
  type Edge,
  type EdgeChange,
  type Node,
  type NodeChange,
  type NodeProps,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import type { JourneyDefinition, JsonObject } from '../../api/journeys';
import { useI18n } from '../../i18n';
import { ENTRY_ID, graphEdges, NODE_H, NODE_W, nodeExits, nodesOf, positions, setExit, visibleCentre, type NodeExit, type XY } from './model';
import { entrySummary, exitLabel, nodeSummary, nodeTypeLabel } from './labels';

export const PALETTE_MIME = 'application/x-sextant-journey-node';
const MIN_READABLE_ZOOM = 0.65;

export interface CounterView {
  key: string;
  label: string;
  value: number;
  title?: string;
}

interface NodeData extends Record<string, unknown> {
  nodeId: string;
  kind: 'entry' | 'node';
  type: string;
  typeLabel: string;
  summary: string;
  exits: (NodeExit & { label: string })[];
  problems: string[];
  errors: string[];
  counters: CounterView[];
  countersLabel: string;
  pathSteps: number[];
  pathLabel: string;
  isStart: boolean;
  startLabel: string;
  problemsLabel: string;
  errorsLabel: string;
}

type FlowNode = Node<NodeData>;

const JourneyNodeView = memo(function JourneyNodeView({ data, selected }: NodeProps<FlowNode>) {
  const cls = ['jn-node', `jn-type-${data.type}`];
  if (data.kind === 'entry') cls.push('jn-entry');
  if (selected) cls.push('jn-selected');
  if (data.problems.length) cls.push('jn-has-problem');
  if (data.errors.length) cls.push('jn-has-error');
  if (data.pathSteps.length) cls.push('jn-on-path');
  return (
    <div className={cls.join(' ')}>
      {data.kind === 'node' && <Handle type="target" position={Position.Left} id="in" className="jn-handle-in" />}
      <div className="jn-node-head">
        <span className="jn-node-type">{data.typeLabel}</span>
        {data.kind === 'node' && <code className="jn-node-id">{data.nodeId}</code>}
        {data.isStart && <span className="jn-start-flag">{data.startLabel}</span>}
      </div>
      {data.summary && <div className="jn-node-summary">{data.summary}</div>}
      {data.pathSteps.length > 0 && (
        <div className="jn-path-flag" title={data.pathLabel}>
          {data.pathLabel}: {data.pathSteps.join(', ')}
        </div>
      )}
      {data.counters.length > 0 && (
        <dl className="jn-counts" aria-label={data.countersLabel}>
          {data.counters.map((c) => (
            <div key={c.key} className={`jn-count jn-count-${c.key}`} title={c.title}>
              <dt>{c.label}</dt>
              <dd>{c.value}</dd>
            </div>
          ))}
        </dl>
      )}
      {data.errors.length > 0 && (
        <ul className="jn-node-errors" aria-label={data.errorsLabel}>
          {data.errors.map((p, i) => (
            <li key={i}>{p}</li>
          ))}
        </ul>
      )}
      {data.problems.length > 0 && (
        <ul className="jn-node-problems" aria-label={data.problemsLabel}>
          {data.problems.map((p, i) => (
            <li key={i}>{p}</li>
          ))}
        </ul>
      )}
      {data.exits.length > 0 && (
        <div className="jn-exits">
          {data.exits.map((e) => (
            <div key={e.handle} className={`jn-exit jn-exit-${e.kind}`}>
              <span>{e.label}</span>
              <Handle type="source" position={Position.Right} id={e.handle} className="jn-handle-out" />
            </div>
          ))}
        </div>
      )}
    </div>
  );
});

const nodeTypes = { journey: JourneyNodeView };

/** What the editor may ask the canvas about its view. */
export interface CanvasView {
  /**
   * Where a new step shows in the middle of what the user sees of the canvas (the flow
   * position of its top-left corner), or null when the canvas is not on screen.
   */
  visibleSpot: () => XY | null;
}

/** The middle of the canvas's visible part, in window coordinates (null: not on screen). */
function visibleMiddle(el: HTMLElement): XY | null {
  return visibleCentre(el.getBoundingClientRect(), { width: window.innerWidth, height: window.innerHeight });
}

export interface CanvasProps {
  def: JourneyDefinition;
  editable: boolean;
  selected: string | null;
  onSelect: (id: string | null) => void;
  onChange: (update: (d: JourneyDefinition) => JourneyDefinition) => void;
  onMove: (entry: XY, nodes: Record<string, XY>) => void;
  onDelete: (id: string) => void;
  onDropNode: (type: string, at: XY) => void;
  /** What is still to do, by node id (ENTRY_ID for the entry), in words. */
  problems: Record<string, string[]>;
  /** The server's validation errors, by node id, in words. */
  errors: Record<string, string[]>;
  /** Live counters by node id. */
  counters?: Record<string, CounterView[]>;
  /** Steps of a dry run's path by node id (1-based). */
  path?: Record<string, number[]>;
  /** Set while the canvas is shown. */
  viewRef?: RefObject<CanvasView | null>;
}

export function JourneyCanvas(props: CanvasProps) {
  const { def, editable, selected, onSelect, onChange, onMove, onDelete, onDropNode, problems, errors, counters, path, viewRef } = props;
  const { t, tx } = useI18n();
  const rf = useReactFlow();
  const [measured, setMeasured] = useState<Record<string, { width: number; height: number }>>({});
  const [dragPos, setDragPos] = useState<Record<string, XY>>({});
  const dragRef = useRef<Record<string, XY>>({});
  const [selectedEdge, setSelectedEdge] = useState<string | null>(null);

  const pos = useMemo(() => positions(def), [def]);
  const nodes = nodesOf(def);

  const flowNodes: FlowNode[] = useMemo(() => {
    const startLabel = t('journeys.canvas.startFlag');
    const common = {
      countersLabel: t('journeys.canvas.counters'),
      pathLabel: t('journeys.canvas.pathStep'),
      startLabel,
      problemsLabel: t('journeys.canvas.problems'),
      errorsLabel: t('journeys.canvas.errors'),
    };
    const list: FlowNode[] = [];
    const entry: JsonObject = def.entry || {};
    list.push({
      id: ENTRY_ID,
      type: 'journey',
      position: dragPos[ENTRY_ID] ?? pos.entry,
      selected: selected === ENTRY_ID,
      deletable: false,
      ariaLabel: t('journeys.canvas.entryAria', { type: tx(`journeys.entryType.${entry.type}`, String(entry.type ?? '')) }),
      measured: measured[ENTRY_ID],
      data: {
        nodeId: ENTRY_ID,
        kind: 'entry',
        type: 'entry',
        typeLabel: t('journeys.canvas.entry'),
        summary: entrySummary(entry, t, tx),
        exits: [{ handle: 'start', target: def.start || '', kind: 'start', label: t('journeys.exit.start') }],
        problems: problems[ENTRY_ID] || [],
        errors: errors[ENTRY_ID] || [],
        counters: [],
        pathSteps: [],
        isStart: false,
        ...common,
      },
    });
    for (const [id, n] of Object.entries(nodes)) {
      const typeLabel = nodeTypeLabel(n?.type, tx);
      list.push({
        id,
        type: 'journey',
        position: dragPos[id] ?? pos.nodes[id],
        selected: selected === id,
        ariaLabel: t('journeys.canvas.nodeAria', { type: typeLabel, id }),
        measured: measured[id],
        data: {
          nodeId: id,
          kind: 'node',
          type: String(n?.type ?? 'unknown'),
          typeLabel,
          summary: nodeSummary(n || {}, t, tx),
          exits: nodeExits(n || {}).map((e) => ({ ...e, label: exitLabel(e, t) })),
          problems: problems[id] || [],
          errors: errors[id] || [],
          counters: counters?.[id] || [],
          pathSteps: path?.[id] || [],
          isStart: def.start === id,
          ...common,
        },
      });
    }
    return list;
  }, [def, nodes, pos, dragPos, selected, measured, problems, errors, counters, path, t, tx]);

  const flowEdges: Edge[] = useMemo(
    () =>
      graphEdges(def).map(({ id, source, target, exit: e, siblings }) => ({
        id,
        source,
        sourceHandle: e.handle,
        target,
        targetHandle: 'in',
        type: 'smoothstep',
        label: source === ENTRY_ID ? undefined : siblings > 1 || e.kind !== 'next' ? exitLabel(e, t) : undefined,
        ariaLabel: t('journeys.canvas.edgeAria', { from: source === ENTRY_ID ? t('journeys.canvas.entry') : source, to: target, exit: exitLabel(e, t) }),
        selected: selectedEdge === id,
        markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
        className: `jn-edge jn-edge-${e.kind}`,
        deletable: editable,
        labelBgPadding: [4, 2] as [number, number],
        labelBgBorderRadius: 3,
      })),
    [def, selectedEdge, editable, t],
  );

  const onNodesChange = useCallback(
    (changes: NodeChange<FlowNode>[]) => {
      const dims: Record<string, { width: number; height: number }> = {};
      const moving: Record<string, XY> = {};
      const finished: string[] = [];
      for (const c of changes) {
        if (c.type === 'dimensions' && c.dimensions) dims[c.id] = c.dimensions;
        else if (c.type === 'position') {
          if (c.position) moving[c.id] = c.position;
          if (c.dragging === false) finished.push(c.id);
        } else if (c.type === 'select') {
          if (c.selected) onSelect(c.id);
        } else if (c.type === 'remove') {
          if (editable && c.id !== ENTRY_ID) onDelete(c.id);
        }
      }
      if (Object.keys(dims).length) setMeasured((m) => ({ ...m, ...dims }));
      if (Object.keys(moving).length || finished.length) {
        const next = { ...dragRef.current, ...moving };
        if (finished.length) {
          // The drag ended: the editor stores every position in the definition.
          const all = { ...pos.nodes };
          let entry = pos.entry;
          for (const [id, p] of Object.entries(next)) {
            if (id === ENTRY_ID) entry = p;
            else if (id in all) all[id] = p;
          }
          dragRef.current = {};
          setDragPos({});
          onMove(entry, all);
        } else {
          dragRef.current = next;
          setDragPos(next);
        }
      }
    },
    [editable, onDelete, onMove, onSelect, pos],
  );

  const onEdgesChange = useCallback(
    (changes: EdgeChange[]) => {
      for (const c of changes) {
        if (c.type === 'select') setSelectedEdge(c.selected ? c.id : null);
        else if (c.type === 'remove' && editable) {
          const [source, handle] = c.id.split('::');
          onChange((d) => {
            if (source === ENTRY_ID) return { ...d, start: '' };
            const ns = nodesOf(d);
            if (!ns[source]) return d;
            return { ...d, nodes: { ...ns, [source]: setExit(ns[source], handle, '') } };
          });
        }
      }
    },
    [editable, onChange],
  );

  const onConnect = useCallback(
    (c: Connection) => {
      if (!editable || !c.source || !c.target || c.target === ENTRY_ID) return;
      onChange((d) => {
        if (c.source === ENTRY_ID) return { ...d, start: c.target };
        const ns = nodesOf(d);
        if (!ns[c.source]) return d;
        return { ...d, nodes: { ...ns, [c.source]: setExit(ns[c.source], c.sourceHandle || 'next', c.target) } };
      });
    },
    [editable, onChange],
  );

  const onDragOver = (e: DragEvent) => {
    if (!editable) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  };
  const onDrop = (e: DragEvent) => {
    if (!editable) return;
    const type = e.dataTransfer.getData(PALETTE_MIME);
    if (!type) return;
    e.preventDefault();
    const at = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    onDropNode(type, { x: at.x - 90, y: at.y - 30 });
  };

  // First view: the whole journey when it fits legibly; otherwise its start, at a readable zoom.
  const boxRef = useRef<HTMLDivElement>(null);
  const initialized = useNodesInitialized();
  const framed = useRef(false);
  useEffect(() => {
    if (!initialized || framed.current || !boxRef.current) return;
    framed.current = true;
    const box = boxRef.current.getBoundingClientRect();
    const bounds = rf.getNodesBounds(rf.getNodes());
    const fit = Math.min(1, box.width / (bounds.width + 80), box.height / (bounds.height + 80));
    if (fit >= MIN_READABLE_ZOOM) void rf.fitView({ padding: 0.15, maxZoom: 1 });
    else void rf.setViewport({ x: 30 - bounds.x * MIN_READABLE_ZOOM, y: box.height / 2 - (bounds.y + bounds.height / 2) * MIN_READABLE_ZOOM, zoom: MIN_READABLE_ZOOM });
  }, [initialized, rf]);

  useEffect(() => {
    if (!viewRef) return;
    viewRef.current = {
      visibleSpot: () => {
        const middle = boxRef.current && visibleMiddle(boxRef.current);
        if (!middle) return null;
        const at = rf.screenToFlowPosition(middle);
        return { x: at.x - NODE_W / 2, y: at.y - NODE_H / 2 };
      },
    };
    return () => {
      viewRef.current = null;
    };
  }, [viewRef, rf]);

  // A step added where the user cannot see it (next to a step outside the view, or under the
  // top of the window when the page is scrolled): move the view so that it is in the middle of
  // what is visible.
  const known = useRef<Set<string> | null>(null);
  useEffect(() => {
    const ids = Object.keys(nodes);
    const before = known.current;
    known.current = new Set(ids);
    if (!before || !framed.current || !boxRef.current) return;
    const added = ids.filter((id) => !before.has(id));
    if (added.length !== 1) return;
    const p = pos.nodes[added[0]];
    const middle = visibleMiddle(boxRef.current);
    if (!p || !middle) return;
    const box = boxRef.current.getBoundingClientRect();
    const vp = rf.getViewport();
    // The step's corners in window coordinates, against the visible part of the canvas.
    const left = box.left + p.x * vp.zoom + vp.x;
    const top = box.top + p.y * vp.zoom + vp.y;
    const visible = { left: Math.max(box.left, 0), top: Math.max(box.top, 0), right: Math.min(box.right, window.innerWidth), bottom: Math.min(box.bottom, window.innerHeight) };
    if (left >= visible.left && top >= visible.top && left + NODE_W * vp.zoom <= visible.right && top + NODE_H * vp.zoom <= visible.bottom) return;
    const x = middle.x - box.left - (p.x + NODE_W / 2) * vp.zoom;
    const y = middle.y - box.top - (p.y + NODE_H / 2) * vp.zoom;
    void rf.setViewport({ x, y, zoom: vp.zoom }, { duration: 200 });
  }, [nodes, pos, rf]);

  const ariaLabelConfig = useMemo(
    () => ({
      'controls.ariaLabel': t('journeys.canvas.controls'),
      'controls.zoomIn.ariaLabel': t('journeys.canvas.zoomIn'),
      'controls.zoomOut.ariaLabel': t('journeys.canvas.zoomOut'),
      'controls.fitView.ariaLabel': t('journeys.canvas.fitView'),
      'controls.interactive.ariaLabel': t('journeys.canvas.interactive'),
      'minimap.ariaLabel': t('journeys.canvas.minimap'),
      'handle.ariaLabel': t('journeys.canvas.handle'),
      'node.a11yDescription.default': t('journeys.canvas.nodeHelp'),
      'node.a11yDescription.keyboardDisabled': t('journeys.canvas.nodeHelp'),
      'edge.a11yDescription.default': t('journeys.canvas.edgeHelp'),
    }),
    [t],
  );

  return (
    <div className="jn-canvas" ref={boxRef} onDragOver={onDragOver} onDrop={onDrop}>
      <ReactFlow
        nodes={flowNodes}
        edges={flowEdges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        onNodeClick={(_, n) => onSelect(n.id)}
        onPaneClick={() => {
          onSelect(null);
          setSelectedEdge(null);
        }}
        nodesDraggable={editable}
        nodesConnectable={editable}
        elementsSelectable
        deleteKeyCode={editable ? ['Delete', 'Backspace'] : null}
        minZoom={0.2}
        maxZoom={1.5}
        proOptions={{ hideAttribution: true }}
        ariaLabelConfig={ariaLabelConfig}
      >
        <Background gap={20} size={1} />
        <Controls showInteractive={false} />
        <MiniMap pannable zoomable />
      </ReactFlow>
    </div>
  );
}
