/**
 * The checks of an apply that are pure, run in a worker thread (off-thread.ts starts checker.js,
 * which loads this): bundle
 * validation and its signature, and each replacement against its module's calling convention
 * (a parse and a scope analysis). The service's event loop then never runs them, nor loads the
 * parser to do so; it only compiles the replacements and swaps the slots.
 */
import type { KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { type FunctionPatch, isHotpatchError, TrustStore } from '@hotpatch/core';
import type { ModuleTable, SourceType } from '@hotpatch/instrument';
import { assertRunnable } from './compat.js';
import { baselineSource } from './engines/source.js';
import {
  analyzeModule,
  checkReplacement,
  KEY_SCHEME,
  moduleTable,
  parseBundle,
  targetLabel,
  verifyBundle,
} from './heavy.js';

export type CheckOp =
  | { op: 'bundle'; bytes: Uint8Array; keys: KeyObject[] }
  | { op: 'replacements'; items: Array<{ table: ModuleTable; fp: FunctionPatch }>; globals: string[] }
  | { op: 'table'; filename: string; sha256: string; sourceType: SourceType };
export type CheckRequest = { id: number } & CheckOp;
export type CheckAnswer = { id: number } & (
  | { ok: true; result: unknown }
  | { ok: false; code: string; error: string }
);

function run(req: CheckRequest): unknown {
  if (req.op === 'bundle') {
    const bundle = parseBundle(req.bytes);
    verifyBundle(bundle, new TrustStore(req.keys));
    assertRunnable(bundle.payload, KEY_SCHEME);
    return { bundle, label: targetLabel(bundle.payload.target) };
  }
  if (req.op === 'replacements') {
    // The names the service's global object had as the apply asked (replacements may use them).
    const globals = new Set(req.globals);
    return req.items.map(({ table, fp }) => checkReplacement(table, fp, (n) => globals.has(n)));
  }
  const record = { filename: req.filename, sha256: req.sha256 } as Parameters<typeof baselineSource>[0];
  return moduleTable(analyzeModule(baselineSource(record), { sourceType: req.sourceType }));
}

parentPort?.on('message', (req: CheckRequest) => {
  let answer: CheckAnswer;
  try {
    answer = { id: req.id, ok: true, result: run(req) };
  } catch (e) {
    answer = {
      id: req.id,
      ok: false,
      code: isHotpatchError(e) ? e.code : 'E_APPLY',
      error: (e as Error).message,
    };
  }
  parentPort?.postMessage(answer);
});
