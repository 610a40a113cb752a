import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { requireOption } from './commands/runtime.js';

const tmp = mkdtempSync(join(tmpdir(), 'hotpatch-require-option-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('the preload as NODE_OPTIONS gives it (hotpatch run)', () => {
  // [directory and file name of the preload]: Node must load exactly that file.
  const cases = ['plain', 'with space', 'with "quote"', 'with back\\slash'];
  for (const name of cases) {
    it(`a path ${name}`, () => {
      const dir = join(tmp, name);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${name}.cjs`);
      writeFileSync(file, `process.stdout.write(${JSON.stringify(`loaded ${name}`)});\n`);
      const r = spawnSync(process.execPath, ['-e', ''], {
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: `--no-warnings ${requireOption(file)}` },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `loaded ${name}`);
    });
  }
});
