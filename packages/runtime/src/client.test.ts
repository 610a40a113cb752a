import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { answerTimeoutMs, request } from './client.js';
import { ensurePrivateDir, socketDir, socketPath } from './paths.js';

const home = mkdtempSync(join(tmpdir(), 'hotpatch-client-'));
const saved = process.env.HOTPATCH_HOME;
before(() => {
  process.env.HOTPATCH_HOME = home;
  ensurePrivateDir(socketDir());
});
after(() => {
  process.env.HOTPATCH_HOME = saved;
  rmSync(home, { recursive: true, force: true });
});

/** A stand-in runtime on the control socket of a made-up pid: answers each request after `delayMs`. */
function fakeRuntime(pid: number, delayMs: number | null): Promise<Server> {
  const server = createServer((s) => {
    s.setEncoding('utf8');
    s.on('data', (line: string) => {
      const req = JSON.parse(line) as { id: string };
      if (delayMs === null) return; // never answers
      setTimeout(
        () => s.write(`${JSON.stringify({ ok: true, result: { late: true }, id: req.id })}\n`),
        delayMs,
      );
    });
    s.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(socketPath(pid), () => resolve(server)));
}

describe('client: waiting as long as asked', () => {
  it('waits for an apply or revert as long as its deadline, plus a margin, whatever the deadline', () => {
    for (const deadlineMs of [0, 10_000, 65_000, 600_000]) {
      assert.ok(answerTimeoutMs({ op: 'apply', bundle: '', deadlineMs }) >= deadlineMs + 10_000);
      assert.ok(answerTimeoutMs({ op: 'revert', patchId: 'x', deadlineMs }) >= deadlineMs + 10_000);
    }
    assert.ok(answerTimeoutMs({ op: 'apply', bundle: '' }) >= 20_000, 'the runtime default is 10 s');
  });

  it('an answer that comes after the deadline but within the margin is taken', async () => {
    const server = await fakeRuntime(900001, 1500);
    try {
      const r = await request(900001, { op: 'apply', bundle: '', deadlineMs: 100 });
      assert.deepEqual(r, { late: true });
    } finally {
      server.close();
    }
  });

  it('says so when it gives up, and that the runtime may still be working', async () => {
    const server = await fakeRuntime(900002, null);
    try {
      await assert.rejects(request(900002, { op: 'apply', bundle: '' }, 300), (e: Error) => {
        assert.match(
          e.message,
          /gave up waiting for process 900002 after 0 s; the runtime may still be working on the apply: see hotpatch status --pid 900002/,
        );
        return true;
      });
    } finally {
      server.close();
    }
  });
});
