import type { FunctionPatch } from '@hotpatch/core';
import type { ModuleTable } from '@hotpatch/instrument';
import { heavy } from '../lazy.js';
import { withNamespace } from './source.js';
import type { FileWork } from './types.js';

/** A replacement checked against the running instrumentation and compiled in its module, or why not. */
export type Compiled = { fn: unknown } | string;

/** Per module instance (two instances of one file share its FunctionPatch objects). */
export type Precompiled = Map<FileWork, Map<FunctionPatch, Compiled>>;

/** Checks a replacement against the module's calling convention (check.ts), then compiles it. */
export function compileReplacement(w: FileWork, table: ModuleTable, fp: FunctionPatch): Compiled {
  const problem = heavy().checkReplacement(table, fp, (n) => n in globalThis);
  return problem ? `${w.file.path}: ${problem}` : compileChecked(w, fp);
}

/** A replacement already checked, compiled through its module's gate. */
export function compileChecked(w: FileWork, fp: FunctionPatch): Compiled {
  const { record, file } = w;
  let fn: unknown;
  try {
    fn = record.gate!(`(${withNamespace(fp.source, w.namespace, w.packageNamespace)})`);
  } catch (e) {
    return `${file.path}: ${fp.key} does not compile here: ${(e as Error).message}`;
  }
  if (typeof fn !== 'function') return `${file.path}: ${fp.key} did not compile to a function`;
  return { fn };
}
