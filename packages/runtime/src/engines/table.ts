import { analyzeModule, type ModuleTable, moduleTable } from '@hotpatch/instrument';
import { baselineSource } from './source.js';
import type { ModuleRecord } from './types.js';

/**
 * The calling convention a module was instrumented with (instrument.ts's table): kept from load
 * when the module was instrumented on this thread, else derived again from its baseline source
 * (which baselineSource checks against the hash it was loaded with).
 */
export function tableOf(record: ModuleRecord): ModuleTable {
  record.table ??= moduleTable(analyzeModule(baselineSource(record), { sourceType: record.sourceType }));
  return record.table;
}
