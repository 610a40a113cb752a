import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FilePatch } from '@hotpatch/core';
import { analyzeModule, moduleTable } from '@hotpatch/instrument';
import { newRecord } from '../inventory.js';
import { commitAll } from '../transaction.js';
import { RedirectEngine } from './redirect.js';
import type { FileWork } from './types.js';

const source = "var tag = 'baseline';\nfunction f() { return tag; }\nmodule.exports = f;\n";

/** A module instance: its own `tag`, its own gate (replacements compile in its scope). */
function instance(id: string, tag: string): FileWork['record'] {
  const record = newRecord(id, `/app/node_modules/demo/${id}.js`, 'sha', 'commonjs');
  record.holder = [undefined];
  // The module's gate: a direct eval in a scope where `tag` is this instance's.
  record.gate = new Function('tag', 'return (code) => eval(code);')(tag);
  record.table = moduleTable(analyzeModule(source, { sourceType: 'commonjs' }));
  return record;
}

test('one file patch over two instances of a module: each slot holds a function compiled in its own instance', async () => {
  const file = {
    path: 'index.js',
    functions: [
      { key: 'f', call: 'params', params: [], source: "(function () { return 'patched ' + tag; })" },
    ],
    migrations: [],
  } as unknown as FilePatch;
  const work: FileWork[] = [instance('one', 'one'), instance('two', 'two')].map((record) => ({
    record,
    file,
    namespace: `${record.id}@p`,
    packageNamespace: '/app/node_modules/demo/@p',
  }));
  const prepared = await new RedirectEngine().prepareAsync(work);
  assert.ok(prepared.ok, prepared.ok ? '' : prepared.reason);
  assert.equal(commitAll([prepared]), null);
  assert.deepEqual(
    work.map((w) => (w.record.holder![0] as () => string)()),
    ['patched one', 'patched two'],
  );
});
