import type { ModuleTable } from '@hotpatch/instrument';
import { heavy } from '../lazy.js';
import { derivedTable } from '../off-thread.js';
import { baselineSource } from './source.js';
import type { ModuleRecord } from './types.js';

/**
 * The calling convention a module was instrumented with (instrument.ts's table): kept from load
 * (in memory, or in the instrumentation cache until an apply first asks), else derived again
 * from its baseline source (which baselineSource checks against the hash it was loaded with).
 */
export function tableOf(record: ModuleRecord): ModuleTable {
  record.table ??= record.loadTable?.() ?? undefined;
  record.table ??= heavy().moduleTable(
    heavy().analyzeModule(baselineSource(record), { sourceType: record.sourceType }),
  );
  return record.table;
}

/** The same at apply: a table derived from the source is derived off this thread where possible. */
export async function tableAsync(record: ModuleRecord): Promise<ModuleTable> {
  record.table ??= record.loadTable?.() ?? undefined;
  record.table ??= (await derivedTable(record.filename, record.sha256, record.sourceType)) ?? undefined;
  return tableOf(record);
}
