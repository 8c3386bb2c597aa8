import { useId, type ReactNode } from 'react';

export interface StatValue {
  label: string;
  value: string;
}

/** A key number: a title and one or more labelled values (e.g. today / last 30 days). */
export function StatCard({ title, values, note }: { title: string; values: StatValue[]; note?: ReactNode }) {
  const id = useId();
  return (
    <div className="stat-card" role="group" aria-labelledby={id}>
      <h3 id={id} className="stat-title">
        {title}
      </h3>
      <dl className="stat-values">
        {values.map((v) => (
          <div key={v.label} className="stat-value">
            <dt>{v.label}</dt>
            <dd>{v.value}</dd>
          </div>
        ))}
      </dl>
      {note && <p className="stat-note">{note}</p>}
    </div>
  );
}
