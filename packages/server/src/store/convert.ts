/** Conversions for the store's row mappers: timestamps come as Date or text, JSON columns as values or text. */
export const iso = (v: unknown): string | null =>
  v === null || v === undefined
    ? null
    : v instanceof Date
      ? v.toISOString()
      : new Date(String(v)).toISOString();
export const isoReq = (v: unknown): string => iso(v) ?? '';
export const json = <T>(v: unknown, dflt: T): T =>
  v === null || v === undefined ? dflt : typeof v === 'string' ? (JSON.parse(v) as T) : (v as T);
