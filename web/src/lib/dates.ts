// Calendar-date arithmetic on "YYYY-MM-DD" strings (no time zone involved: the server decides
// what "today" is in the project's zone; the console only shifts dates it was given).

export function parseDate(s: string): Date {
  const [y, m, d] = s.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d));
}

export function formatDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export function addDays(s: string, days: number): string {
  const d = parseDate(s);
  d.setUTCDate(d.getUTCDate() + days);
  return formatDate(d);
}

/** Number of days from `from` to `to`, both included. */
export function daysBetween(from: string, to: string): number {
  return Math.round((parseDate(to).getTime() - parseDate(from).getTime()) / 86400000) + 1;
}

/** The period of the same length right before [from, to]. */
export function previousPeriod(from: string, to: string): { from: string; to: string } {
  const n = daysBetween(from, to);
  return { from: addDays(from, -n), to: addDays(from, -1) };
}

/** Today's date in the browser (a default for date inputs only). */
export function todayLocal(): string {
  const d = new Date();
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export function isDate(s: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(parseDate(s).getTime());
}

/**
 * Every time bucket of an events analysis over [from, to], as the server labels them
 * (docs/query.md): days; Monday weeks labelled by their Monday; months by their first day;
 * hours "YYYY-MM-DD HH:00"; `total` is one bucket labelled `from`.
 */
export function buckets(unit: 'hour' | 'day' | 'week' | 'month' | 'total', from: string, to: string): string[] {
  if (unit === 'total') return [from];
  const out: string[] = [];
  const end = parseDate(to).getTime();
  if (unit === 'day' || unit === 'hour') {
    for (let d = parseDate(from); d.getTime() <= end; d.setUTCDate(d.getUTCDate() + 1)) {
      const day = formatDate(d);
      if (unit === 'day') out.push(day);
      else for (let h = 0; h < 24; h++) out.push(`${day} ${String(h).padStart(2, '0')}:00`);
    }
    return out;
  }
  if (unit === 'week') {
    const d = parseDate(from);
    d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
    for (; d.getTime() <= end; d.setUTCDate(d.getUTCDate() + 7)) out.push(formatDate(d));
    return out;
  }
  const d = parseDate(from);
  d.setUTCDate(1);
  for (; d.getTime() <= end; d.setUTCMonth(d.getUTCMonth() + 1)) out.push(formatDate(d));
  return out;
}

/** Adds `n` units (day / week / month) to a date. */
export function addUnits(s: string, unit: 'day' | 'week' | 'month', n: number): string {
  const d = parseDate(s);
  if (unit === 'day') d.setUTCDate(d.getUTCDate() + n);
  else if (unit === 'week') d.setUTCDate(d.getUTCDate() + 7 * n);
  else d.setUTCMonth(d.getUTCMonth() + n);
  return formatDate(d);
}
