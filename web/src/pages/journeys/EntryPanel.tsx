// The journey's entry: how customers come in (the four touch timings and real-time moments:
// an event, a process that breaks off, entering or leaving a segment, a schedule, a one-off
// campaign, a key date, or the API), and the first step.
import type { JsonObject } from '../../api/journeys';
import { Field } from '../../components/Field';
import { useI18n } from '../../i18n';
import { Check, DurationInput, NodeSelect, NumberInput, SegmentSelect, SuggestInput, useRefs, WhereEditor } from './forms';
import { msToWall, wallToMs, type EntryType } from './model';

const GROUPS: { label: string; types: EntryType[] }[] = [
  { label: 'journeys.entryGroup.realtime', types: ['event', 'breakpoint', 'segment_enter', 'segment_exit'] },
  { label: 'journeys.entryGroup.proactive', types: ['schedule', 'once'] },
  { label: 'journeys.entryGroup.keyDate', types: ['key_date'] },
  { label: 'journeys.entryGroup.api', types: ['api'] },
];

export function newEntry(type: EntryType): JsonObject {
  switch (type) {
    case 'event':
      return { type, event: '' };
    case 'breakpoint':
      return { type, event: '', not_followed_by: '', wait: '30m' };
    case 'segment_enter':
    case 'segment_exit':
      return { type, segment: '' };
    case 'schedule':
      return { type, segment: '', every: 'daily', at: '09:00' };
    case 'once':
      return { type, segment: '', at: Math.ceil(Date.now() / 3600000) * 3600000 + 86400000 };
    case 'key_date':
      return { type, property: '', offset_days: 0, at: '09:00', annual: false };
    case 'api':
      return { type };
  }
}

interface Props {
  entry: JsonObject;
  start: string;
  problems: string[];
  errors: string[];
  journeyId?: string;
  timeZone: string | undefined;
  onChange: (entry: JsonObject) => void;
  onStart: (id: string) => void;
}

export function EntryPanel({ entry, start, problems, errors, journeyId, timeZone, onChange, onStart }: Props) {
  const { t, tx } = useI18n();
  const { editable, events, userProperties } = useRefs();
  const set = (k: string, v: unknown) => {
    const e = { ...entry };
    if (v === undefined || v === '') delete e[k];
    else e[k] = v;
    onChange(e);
  };
  const type = entry.type as EntryType;
  return (
    <div className="jn-panel-body" aria-label={t('journeys.entry.aria')}>
      <div className="jn-panel-title">
        <h3>{t('journeys.canvas.entry')}</h3>
      </div>
      <p className="muted small">{t('journeys.entry.help')}</p>
      {errors.length > 0 && (
        <ul className="jn-panel-errors" aria-label={t('journeys.canvas.errors')}>
          {errors.map((p, i) => (
            <li key={i}>{p}</li>
          ))}
        </ul>
      )}
      {problems.length > 0 && (
        <ul className="jn-panel-problems" aria-label={t('journeys.canvas.problems')}>
          {problems.map((p, i) => (
            <li key={i}>{p}</li>
          ))}
        </ul>
      )}
      <Field label={t('journeys.entry.type')}>
        <select value={type ?? ''} disabled={!editable} onChange={(e) => onChange(newEntry(e.target.value as EntryType))}>
          {!type && <option value="">—</option>}
          {GROUPS.map((g) => (
            <optgroup key={g.label} label={tx(g.label, g.label)}>
              {g.types.map((ty) => (
                <option key={ty} value={ty}>
                  {tx(`journeys.entryType.${ty}`, ty)}
                </option>
              ))}
            </optgroup>
          ))}
        </select>
      </Field>
      <p className="jn-explain">{tx(`journeys.entryHelp.${type}`, '')}</p>

      {(type === 'event' || type === 'breakpoint') && (
        <>
          <SuggestInput label={type === 'event' ? t('journeys.entry.event') : t('journeys.entry.breakEvent')} value={entry.event} options={events} onChange={(v) => set('event', v)} hint={t('journeys.entry.eventHint')} />
          <WhereEditor label={t('journeys.entry.where')} value={entry.where} onChange={(v) => set('where', v)} hint={t('journeys.entry.whereHint')} />
        </>
      )}
      {type === 'breakpoint' && (
        <>
          <NumberInput label={t('journeys.entry.count')} value={entry.count} min={1} onChange={(v) => set('count', v)} hint={t('journeys.entry.countHint')} />
          {(entry.count ?? 1) > 1 && <DurationInput label={t('journeys.entry.within')} value={entry.within} onChange={(v) => set('within', v)} />}
          <SuggestInput label={t('journeys.entry.notFollowedBy')} value={entry.not_followed_by} options={events} onChange={(v) => set('not_followed_by', v)} hint={t('journeys.entry.notFollowedByHint')} />
          <DurationInput label={t('journeys.entry.wait')} value={entry.wait} onChange={(v) => set('wait', v)} hint={t('journeys.entry.waitHint')} />
        </>
      )}
      {(type === 'segment_enter' || type === 'segment_exit' || type === 'schedule' || type === 'once') && (
        <SegmentSelect label={t('journeys.entry.segment')} value={entry.segment} onChange={(v) => set('segment', v)} hint={type === 'segment_enter' || type === 'segment_exit' ? t('journeys.entry.segmentRealtimeHint') : undefined} />
      )}
      {type === 'schedule' && (
        <>
          <Field label={t('journeys.entry.every')}>
            <select
              value={entry.every ?? 'daily'}
              disabled={!editable}
              onChange={(e) => {
                const next: JsonObject = { ...entry, every: e.target.value };
                delete next.weekday;
                delete next.day;
                if (e.target.value === 'weekly') next.weekday = 1;
                if (e.target.value === 'monthly') next.day = 1;
                onChange(next);
              }}
            >
              {['daily', 'weekly', 'monthly'].map((v) => (
                <option key={v} value={v}>
                  {tx(`journeys.every.${v}`, v)}
                </option>
              ))}
            </select>
          </Field>
          {entry.every === 'weekly' && (
            <Field label={t('journeys.entry.weekday')}>
              <select value={entry.weekday ?? 1} disabled={!editable} onChange={(e) => set('weekday', Number(e.target.value))}>
                {[1, 2, 3, 4, 5, 6, 7].map((d) => (
                  <option key={d} value={d}>
                    {tx(`journeys.weekday.${d}`, String(d))}
                  </option>
                ))}
              </select>
            </Field>
          )}
          {entry.every === 'monthly' && <NumberInput label={t('journeys.entry.day')} value={entry.day} min={1} max={31} onChange={(v) => set('day', v)} hint={t('journeys.entry.dayHint')} />}
          <Field label={t('journeys.entry.at')}>
            <input type="time" value={entry.at ?? ''} disabled={!editable} onChange={(e) => set('at', e.target.value)} />
          </Field>
        </>
      )}
      {type === 'once' && (
        <Field label={t('journeys.entry.onceAt')} hint={t('journeys.entry.zoneHint', { zone: timeZone || t('journeys.settings.projectZone') })}>
          <input
            type="datetime-local"
            value={msToWall(entry.at, timeZone)}
            disabled={!editable}
            onChange={(e) => {
              const ms = wallToMs(e.target.value, timeZone);
              set('at', Number.isFinite(ms) ? ms : undefined);
            }}
          />
        </Field>
      )}
      {type === 'key_date' && (
        <>
          <SuggestInput label={t('journeys.entry.dateProperty')} value={entry.property} options={userProperties} onChange={(v) => set('property', v)} hint={t('journeys.entry.datePropertyHint')} />
          <NumberInput label={t('journeys.entry.offsetDays')} value={entry.offset_days ?? 0} min={-366} max={366} onChange={(v) => set('offset_days', v ?? 0)} hint={t('journeys.entry.offsetDaysHint')} />
          <Field label={t('journeys.entry.at')}>
            <input type="time" value={entry.at ?? '09:00'} disabled={!editable} onChange={(e) => set('at', e.target.value)} />
          </Field>
          <Check label={t('journeys.entry.annual')} checked={!!entry.annual} onChange={(v) => set('annual', v)} />
          <p className="muted small">{t('journeys.entry.annualHint')}</p>
        </>
      )}
      {type === 'api' && (
        <p className="muted small">
          {t('journeys.entry.apiHint')} <code>POST /api/v1/projects/…/journeys/{journeyId || '{id}'}/trigger</code>
        </p>
      )}
      <NodeSelect label={t('journeys.entry.start')} value={start} onChange={onStart} />
    </div>
  );
}
