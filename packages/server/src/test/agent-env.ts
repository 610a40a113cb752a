/** The agent's start-up with malformed settings (run by faults.pglite.test.ts; storage plays no part). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixture, startApp } from './fixture.js';

/** Agent start-up with malformed settings: the app runs, one warning, no agent (storage-independent). */
export function agentEnvSuite(): void {
  const fx = fixture();
  for (const [name, value] of [
    ['HOTPATCH_SERVER', 'not-a-url'],
    ['HOTPATCH_AGENT_BACKOFF_MAX_MS', 'soon'],
    ['HOTPATCH_LABELS', '=,==,x'],
  ] as const) {
    test(`agent: ${name}=${value} leaves the app running with one warning`, { timeout: 60_000 }, async () => {
      const home = mkdtempSync(join(tmpdir(), 'hotpatch-agent-env-'));
      const app = await startApp(fx, {
        server: name === 'HOTPATCH_SERVER' ? value : 'http://127.0.0.1:9',
        enrollToken: 'hpe_000000000000_xxxxxxxxxxxxxxxxxxxxxxxx',
        host: 'env',
        service: 'env',
        home,
        env: { [name]: value },
      });
      try {
        assert.equal((await app.get()).polluted, true);
        const warnings = app
          .stderr()
          .split('\n')
          .filter((l) => l.includes(name));
        assert.equal(warnings.length, 1, `one warning naming ${name}; stderr: ${app.stderr()}`);
        assert.doesNotMatch(app.stderr(), /\n\s+at /, 'no stack trace');
      } finally {
        await app.stop();
        rmSync(home, { recursive: true, force: true });
      }
    });
  }
}
