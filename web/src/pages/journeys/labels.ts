// Words for what a definition says: node types, one-line summaries drawn on the nodes, exit
// labels, durations and conditions in the reader's language.
import type { JsonObject } from '../../api/journeys';
import type { TFunction, Vars } from '../../i18n';
import { splitDuration, valueText, waitMode, type NodeExit } from './model';

type Tx = (key: string, fallback: string, vars?: Vars) => string;

export function nodeTypeLabel(type: unknown, tx: Tx): string {
  return tx(`journeys.nodeType.${String(type)}`, String(type ?? '?'));
}

/** "30m" → "30 分钟" / "30 minutes". */
export function durationText(v: unknown, tx: Tx): string {
  if (typeof v !== 'string' || !v) return '—';
  const { n, unit } = splitDuration(v);
  if (!n) return v;
  return tx(`journeys.duration.${unit}`, v, { n });
}

export function opText(op: unknown, tx: Tx): string {
  return tx(`journeys.op.${String(op)}`, String(op ?? ''));
}

function condRow(name: string, c: JsonObject, tx: Tx): string {
  if (c.op === 'is_set' || c.op === 'not_set') return `${name} ${opText(c.op, tx)}`;
  return `${name} ${opText(c.op, tx)} ${valueText(c.value)}`;
}

/** A `where` list or tree in a line. */
export function whereSummary(where: unknown, t: TFunction, tx: Tx): string {
  if (!where) return '';
  if (Array.isArray(where)) return where.map((w) => whereSummary(w, t, tx)).join(t('journeys.cond.andSep'));
  const w = where as JsonObject;
  if (Array.isArray(w.all)) return `(${w.all.map((x: unknown) => whereSummary(x, t, tx)).join(t('journeys.cond.andSep'))})`;
  if (Array.isArray(w.any)) return `(${w.any.map((x: unknown) => whereSummary(x, t, tx)).join(t('journeys.cond.orSep'))})`;
  if (w.not) return `${t('journeys.cond.not')} ${whereSummary(w.not, t, tx)}`;
  if (typeof w.property === 'string') return condRow(w.property, w, tx);
  return '';
}

/** A split condition in a line. */
export function conditionSummary(c: unknown, t: TFunction, tx: Tx): string {
  if (!c || typeof c !== 'object') return '';
  const x = c as JsonObject;
  if (Array.isArray(x.all)) return x.all.map((y: unknown) => conditionSummary(y, t, tx)).join(t('journeys.cond.andSep'));
  if (Array.isArray(x.any)) return x.any.map((y: unknown) => `(${conditionSummary(y, t, tx)})`).join(t('journeys.cond.orSep'));
  if (x.not) return `${t('journeys.cond.not')} (${conditionSummary(x.not, t, tx)})`;
  if (typeof x.segment === 'string') return t('journeys.cond.inSegment', { segment: x.segment });
  if (x.event && typeof x.event === 'object') return condRow(`${t('journeys.cond.eventPrefix')}${x.event.property ?? ''}`, x.event, tx);
  if (typeof x.profile === 'string') return condRow(x.profile || '?', x, tx);
  if (typeof x.tag === 'string') return condRow(`${t('journeys.cond.tagPrefix')}${x.tag || '?'}`, x, tx);
  return '';
}

export function nodeSummary(n: JsonObject, t: TFunction, tx: Tx): string {
  switch (n.type) {
    case 'send': {
      const channels = Array.isArray(n.channels) ? n.channels.join(' → ') : n.channel || '?';
      return `${channels} · ${n.template || '?'}`;
    }
    case 'webhook':
      return n.channel || '?';
    case 'task':
      return n.title || '';
    case 'wait': {
      const mode = waitMode(n);
      if (mode === 'duration') return t('journeys.summary.waitFor', { d: durationText(n.duration, tx) });
      if (mode === 'until') return t('journeys.summary.waitUntil', { time: n.until?.time ?? '?' });
      return t('journeys.summary.waitEvent', { event: n.event || '?', d: durationText(n.timeout, tx) });
    }
    case 'split':
      return conditionSummary(n.condition, t, tx);
    case 'ab':
      return (Array.isArray(n.branches) ? n.branches : []).map((b: JsonObject) => `${b?.name ?? '?'} ${b?.weight ?? ''}`).join(' / ');
    case 'update_profile':
      return Object.entries(n.set || {})
        .map(([k, v]) => `${k} = ${valueText(v)}`)
        .join(', ');
    case 'goal':
      return t('journeys.summary.goal');
    case 'exit':
      return t('journeys.summary.exit');
    default:
      return '';
  }
}

export function entrySummary(e: JsonObject, t: TFunction, tx: Tx): string {
  const type = tx(`journeys.entryType.${e.type}`, String(e.type ?? '?'));
  switch (e.type) {
    case 'event': {
      const w = whereSummary(e.where, t, tx);
      return `${type}: ${e.event || '?'}${w ? ` (${w})` : ''}`;
    }
    case 'breakpoint':
      return `${type}: ${e.event || '?'} ↛ ${e.not_followed_by || '?'} · ${durationText(e.wait, tx)}`;
    case 'segment_enter':
    case 'segment_exit':
    case 'once':
      return `${type}: ${e.segment || '?'}`;
    case 'schedule':
      return `${type}: ${e.segment || '?'} · ${tx(`journeys.every.${e.every}`, String(e.every ?? ''))} ${e.at ?? ''}`;
    case 'key_date':
      return `${type}: ${e.property || '?'} ${e.offset_days ? `${e.offset_days > 0 ? '+' : ''}${e.offset_days}d` : ''} ${e.at ?? '09:00'}`;
    default:
      return type;
  }
}

export function exitLabel(e: NodeExit, t: TFunction): string {
  switch (e.kind) {
    case 'yes':
      return t('journeys.exit.yes');
    case 'no':
      return t('journeys.exit.no');
    case 'event':
      return t('journeys.exit.event');
    case 'timeout':
      return t('journeys.exit.timeout');
    case 'branch':
      return e.weight !== undefined ? `${e.name || '?'} (${e.weight})` : e.name || '?';
    case 'start':
      return t('journeys.exit.start');
    default:
      return t('journeys.exit.next');
  }
}
