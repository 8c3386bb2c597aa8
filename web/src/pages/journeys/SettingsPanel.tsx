// The journey's settings: name, priority, time zone, re-entry, goal, exit events, frequency
// caps, control group and the period it accepts entries in.
import type { JourneyDefinition, JsonObject } from '../../api/journeys';
import { Field } from '../../components/Field';
import { useI18n } from '../../i18n';
import { Check, DurationInput, NumberInput, SuggestInput, useRefs, WhereEditor } from './forms';
import { msToWall, wallToMs } from './model';

function omit(o: JsonObject, key: string): JsonObject {
  const c = { ...o };
  delete c[key];
  return c;
}

const ZONES = ['Asia/Shanghai', 'Asia/Hong_Kong', 'Asia/Singapore', 'Asia/Tokyo', 'Europe/London', 'Europe/Berlin', 'America/New_York', 'UTC'];

interface Props {
  def: JourneyDefinition;
  onChange: (def: JourneyDefinition) => void;
  errors: string[];
  problems: string[];
  projectZone: string | undefined;
}

export function SettingsPanel({ def, onChange, errors, problems, projectZone }: Props) {
  const { t } = useI18n();
  const { editable, events } = useRefs();
  const set = (k: string, v: unknown) => {
    const d = { ...def };
    if (v === undefined || v === '') delete d[k];
    else d[k] = v;
    onChange(d);
  };
  const zone = (typeof def.time_zone === 'string' && def.time_zone) || projectZone;
  const reentry: JsonObject = def.reentry && typeof def.reentry === 'object' ? def.reentry : {};
  const goal: JsonObject | undefined = def.goal && typeof def.goal === 'object' ? def.goal : undefined;
  const caps: JsonObject[] = Array.isArray(def.caps) ? def.caps : [];
  const exitWhen: JsonObject[] = Array.isArray(def.exit_when) ? def.exit_when : [];
  const schedule: JsonObject = def.schedule && typeof def.schedule === 'object' ? def.schedule : {};
  const setSchedule = (k: string, v: number | undefined) => {
    const s = { ...schedule };
    if (v === undefined) delete s[k];
    else s[k] = v;
    set('schedule', Object.keys(s).length ? s : undefined);
  };
  const setReentry = (r: JsonObject) => set('reentry', Object.keys(r).length ? r : undefined);

  return (
    <div className="jn-settings" role="region" aria-label={t('journeys.tab.settings')}>
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
      <section className="card">
        <h2 className="card-title">{t('journeys.settings.basics')}</h2>
        <div className="form-stack">
          <Field label={t('journeys.settings.description')}>
            <textarea rows={2} value={def.description ?? ''} disabled={!editable} onChange={(e) => set('description', e.target.value)} />
          </Field>
          <div className="form-row">
            <NumberInput label={t('journeys.settings.priority')} value={def.priority} min={0} max={100} onChange={(v) => set('priority', v)} hint={t('journeys.settings.priorityHint')} />
            <SuggestInput
              label={t('journeys.settings.timeZone')}
              value={def.time_zone}
              options={ZONES}
              onChange={(v) => set('time_zone', v)}
              placeholder={projectZone}
              hint={t('journeys.settings.timeZoneHint', { zone: projectZone || '—' })}
            />
          </div>
        </div>
      </section>

      <section className="card">
        <h2 className="card-title">{t('journeys.settings.reentry')}</h2>
        <div className="form-row">
          <Field label={t('journeys.settings.reentryMode')}>
            <select
              value={reentry.mode ?? 'never'}
              disabled={!editable}
              onChange={(e) => {
                const r: JsonObject = { ...reentry, mode: e.target.value };
                if (e.target.value === 'cooldown') r.cooldown = r.cooldown || '30d';
                else delete r.cooldown;
                if (e.target.value === 'never' && !r.max_entries) return setReentry({});
                setReentry(r);
              }}
            >
              <option value="never">{t('journeys.settings.reentryNever')}</option>
              <option value="after_exit">{t('journeys.settings.reentryAfterExit')}</option>
              <option value="cooldown">{t('journeys.settings.reentryCooldown')}</option>
            </select>
          </Field>
          {reentry.mode === 'cooldown' && <DurationInput label={t('journeys.settings.cooldown')} value={reentry.cooldown} onChange={(v) => setReentry({ ...reentry, cooldown: v })} />}
          <NumberInput
            label={t('journeys.settings.maxEntries')}
            value={reentry.max_entries}
            min={1}
            onChange={(v) => {
              const r = { ...reentry };
              if (v === undefined) delete r.max_entries;
              else r.max_entries = v;
              if (!r.mode && r.max_entries) r.mode = 'never';
              setReentry(r.mode === 'never' && !r.max_entries ? {} : r);
            }}
            hint={t('journeys.settings.maxEntriesHint')}
          />
        </div>
      </section>

      <section className="card">
        <h2 className="card-title">{t('journeys.settings.goal')}</h2>
        <p className="muted small">{t('journeys.settings.goalHint')}</p>
        <Check label={t('journeys.settings.goalOn')} checked={!!goal} onChange={(on) => set('goal', on ? { event: '', within: '7d' } : undefined)} />
        {goal && (
          <div className="form-stack">
            <div className="form-row">
              <SuggestInput label={t('journeys.settings.goalEvent')} value={goal.event} options={events} onChange={(v) => set('goal', { ...goal, event: v })} />
              <DurationInput label={t('journeys.settings.goalWithin')} value={goal.within} onChange={(v) => set('goal', { ...goal, within: v })} hint={t('journeys.settings.goalWithinHint')} />
            </div>
            <WhereEditor label={t('journeys.settings.goalWhere')} value={goal.where} onChange={(v) => set('goal', v === undefined ? omit(goal, 'where') : { ...goal, where: v })} />
            <Check label={t('journeys.settings.goalExit')} checked={goal.exit !== false} onChange={(v) => set('goal', { ...goal, exit: v })} />
          </div>
        )}
      </section>

      <section className="card">
        <h2 className="card-title">{t('journeys.settings.exitWhen')}</h2>
        <p className="muted small">{t('journeys.settings.exitWhenHint')}</p>
        {exitWhen.map((x, i) => (
          <div className="jn-branch" key={i}>
            <SuggestInput label={t('journeys.settings.exitEvent', { n: i + 1 })} value={x.event} options={events} onChange={(v) => set('exit_when', exitWhen.map((y, j) => (j === i ? { ...y, event: v } : y)))} />
            <WhereEditor label={t('journeys.entry.where')} value={x.where} onChange={(v) => set('exit_when', exitWhen.map((y, j) => (j === i ? (v === undefined ? { event: y.event } : { ...y, where: v }) : y)))} />
            {editable && (
              <button type="button" className="btn btn-small btn-ghost" onClick={() => set('exit_when', exitWhen.length > 1 ? exitWhen.filter((_, j) => j !== i) : undefined)}>
                {t('journeys.cond.remove')}
              </button>
            )}
          </div>
        ))}
        {editable && (
          <button type="button" className="btn btn-small" onClick={() => set('exit_when', [...exitWhen, { event: '' }])}>
            {t('journeys.settings.addExitEvent')}
          </button>
        )}
      </section>

      <section className="card">
        <h2 className="card-title">{t('journeys.settings.caps')}</h2>
        <p className="muted small">{t('journeys.settings.capsHint')}</p>
        {caps.map((c, i) => (
          <div className="form-row" key={i}>
            <NumberInput label={t('journeys.settings.capCount')} value={c.count} min={1} onChange={(v) => set('caps', caps.map((y, j) => (j === i ? { ...y, count: v } : y)))} />
            <DurationInput label={t('journeys.settings.capPer')} value={c.per} onChange={(v) => set('caps', caps.map((y, j) => (j === i ? { ...y, per: v } : y)))} />
            {editable && (
              <button type="button" className="btn btn-small btn-ghost" onClick={() => set('caps', caps.length > 1 ? caps.filter((_, j) => j !== i) : undefined)}>
                {t('journeys.cond.remove')}
              </button>
            )}
          </div>
        ))}
        {editable && (
          <button type="button" className="btn btn-small" onClick={() => set('caps', [...caps, { count: 2, per: '7d' }])}>
            {t('journeys.settings.addCap')}
          </button>
        )}
      </section>

      <section className="card">
        <h2 className="card-title">{t('journeys.settings.control')}</h2>
        <p className="muted small">{t('journeys.settings.controlHint')}</p>
        <NumberInput label={t('journeys.settings.controlPercent')} value={def.control_percent ?? 0} min={0} max={50} onChange={(v) => set('control_percent', v || undefined)} />
      </section>

      <section className="card">
        <h2 className="card-title">{t('journeys.settings.schedule')}</h2>
        <p className="muted small">{t('journeys.settings.scheduleHint', { zone: zone || t('journeys.settings.projectZone') })}</p>
        <div className="form-row">
          <Field label={t('journeys.settings.startAt')}>
            <input
              type="datetime-local"
              value={msToWall(schedule.start_at, zone)}
              disabled={!editable}
              onChange={(e) => {
                const ms = wallToMs(e.target.value, zone);
                setSchedule('start_at', Number.isFinite(ms) ? ms : undefined);
              }}
            />
          </Field>
          <Field label={t('journeys.settings.endAt')}>
            <input
              type="datetime-local"
              value={msToWall(schedule.end_at, zone)}
              disabled={!editable}
              onChange={(e) => {
                const ms = wallToMs(e.target.value, zone);
                setSchedule('end_at', Number.isFinite(ms) ? ms : undefined);
              }}
            />
          </Field>
        </div>
      </section>
    </div>
  );
}
