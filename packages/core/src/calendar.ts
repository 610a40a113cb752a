/**
 * The quarterly hotpatch cadence (pure, no I/O): baseline months carry a restart-requiring
 * cumulative release; the months between carry restart-free hotpatches; out-of-band fixes may
 * ship any day. Dates are UTC calendar days.
 */
export interface CalendarOptions {
  /** Baseline months, 1-12. Default Jan, Apr, Jul, Oct. */
  baselineMonths?: readonly number[];
  /** Day of the month releases land on (1-28). Default: second Tuesday, like Patch Tuesday. */
  releaseDay?: number | 'second-tuesday';
}

export type ReleaseKind = 'baseline' | 'hotpatch';

export interface Release {
  /** YYYY-MM-DD (UTC). */
  date: string;
  kind: ReleaseKind;
  restart: boolean;
}

export interface PolicyCalendar {
  /** The next releases with, per ring, the day each ring gets them (release date + deferral). */
  next: Array<Release & { rings: Array<{ ring: string; date: string }> }>;
  /** Restarts a year the cadence implies: baseline months only. */
  restartsPerYear: number;
  /** What a monthly restart update would have needed. */
  monthlyRestartsPerYear: number;
  restartsAvoidedPerYear: number;
}

export const DEFAULT_BASELINE_MONTHS: readonly number[] = [1, 4, 7, 10];

export class CalendarError extends Error {
  readonly code = 'E_CALENDAR';
  constructor(message: string) {
    super(message);
    this.name = 'CalendarError';
  }
}

export function baselineMonths(opts: CalendarOptions = {}): number[] {
  const months = [...new Set(opts.baselineMonths ?? DEFAULT_BASELINE_MONTHS)].sort((a, b) => a - b);
  if (months.length === 0) throw new CalendarError('baselineMonths: at least one month is needed');
  for (const m of months) {
    if (!Number.isInteger(m) || m < 1 || m > 12)
      throw new CalendarError(`baselineMonths: ${m} is not a month 1-12`);
  }
  return months;
}

/** Kind of release a month (1-12) carries. */
export function monthKind(month: number, opts: CalendarOptions = {}): ReleaseKind {
  return baselineMonths(opts).includes(month) ? 'baseline' : 'hotpatch';
}

function ymd(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Release day of a month (UTC midnight). */
export function releaseDate(year: number, month: number, opts: CalendarOptions = {}): Date {
  const day = opts.releaseDay ?? 'second-tuesday';
  if (day === 'second-tuesday') {
    const first = new Date(Date.UTC(year, month - 1, 1));
    const offset = (2 - first.getUTCDay() + 7) % 7; // first Tuesday
    return new Date(Date.UTC(year, month - 1, 1 + offset + 7));
  }
  if (!Number.isInteger(day) || day < 1 || day > 28)
    throw new CalendarError(`releaseDay: ${day} is not a day 1-28`);
  return new Date(Date.UTC(year, month - 1, day));
}

/** The next `count` releases on or after `from`. */
export function nextReleases(from: Date, count = 6, opts: CalendarOptions = {}): Release[] {
  const out: Release[] = [];
  let year = from.getUTCFullYear();
  let month = from.getUTCMonth() + 1;
  const today = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
  while (out.length < count) {
    const d = releaseDate(year, month, opts);
    if (d.getTime() >= today) {
      const kind = monthKind(month, opts);
      out.push({ date: ymd(d), kind, restart: kind === 'baseline' });
    }
    month++;
    if (month > 12) {
      month = 1;
      year++;
    }
  }
  return out;
}

export function addDays(date: string | Date, days: number): string {
  const d = typeof date === 'string' ? new Date(`${date}T00:00:00Z`) : date;
  return ymd(new Date(d.getTime() + days * 86_400_000));
}

/** Next dates for a policy's rings, and the restarts a year the cadence implies (4 vs 12 by default). */
export function policyCalendar(
  rings: ReadonlyArray<{ name: string; deferralDays: number }>,
  from: Date,
  count = 6,
  opts: CalendarOptions = {},
): PolicyCalendar {
  const restarts = baselineMonths(opts).length;
  return {
    next: nextReleases(from, count, opts).map((r) => ({
      ...r,
      rings: rings.map((ring) => ({ ring: ring.name, date: addDays(r.date, ring.deferralDays) })),
    })),
    restartsPerYear: restarts,
    monthlyRestartsPerYear: 12,
    restartsAvoidedPerYear: 12 - restarts,
  };
}
