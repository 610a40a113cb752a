import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FilePatch, NewFile } from '@hotpatch/core';
import { patchMayImport } from './new-files.js';

describe('whether a patch needs the ES module load hooks', () => {
  const file = (code: string) => ({ functions: [{ code }], migrations: [] }) as unknown as FilePatch;
  const added = { path: 'lib/x.mjs', sourceType: 'module', source: '', sha256: '0'.repeat(64) } as NewFile;

  it('yes when it adds files, or its code may call import()', () => {
    assert.equal(patchMayImport({ files: [], newFiles: [added] }), true);
    assert.equal(patchMayImport({ files: [file('return import("./x.mjs")')], newFiles: [] }), true);
    assert.equal(patchMayImport({ files: [file('return import ( x )')], newFiles: [] }), true);
  });

  it('no for replacements that only require() or name imports in other words', () => {
    assert.equal(
      patchMayImport({ files: [file('return require("./x.js").important(1)')], newFiles: [] }),
      false,
    );
    assert.equal(patchMayImport({ files: [], newFiles: [] }), false);
  });
});
