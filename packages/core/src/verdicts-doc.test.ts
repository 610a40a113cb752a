import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { VERDICT_IDS, VERDICTS } from './verdicts.js';

// docs/verdicts.md is generated from the catalogue by scripts/verdicts-doc.mjs; these tests keep
// the page and the catalogue from drifting apart, and check that the page says what the catalogue does.
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const script = join(repoRoot, 'scripts', 'verdicts-doc.mjs');
const docPath = join(repoRoot, 'docs', 'verdicts.md');

type Catalogue = Record<string, { kind: string; verdict: string; message: string }>;
const { renderVerdictsDoc } = (await import(pathToFileURL(script).href)) as {
  renderVerdictsDoc: (verdicts: Catalogue) => string;
};

/** The page's table rows: id → the section's verdict, and the row's kind and message. */
function rowsOf(page: string): Map<string, { verdict: string; kind: string; message: string }> {
  const rows = new Map<string, { verdict: string; kind: string; message: string }>();
  let verdict = '';
  for (const line of page.split('\n')) {
    const heading = /^## .*\(`(\w+)`\)$/.exec(line);
    if (heading) verdict = heading[1]!;
    const row = /^\| `([\w-]+)` \| `([\w-]+)` \| (.*) \|$/.exec(line);
    if (!row) continue;
    assert.ok(!rows.has(row[1]!), `${row[1]} is listed twice`);
    rows.set(row[1]!, { verdict, kind: row[2]!, message: row[3]!.replaceAll('\\|', '|') });
  }
  return rows;
}

describe('docs/verdicts.md', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'hp-verdicts-doc-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('is up to date with the verdict catalogue (else: npm run build && npm run docs:verdicts)', () => {
    assert.equal(
      readFileSync(docPath, 'utf8'),
      renderVerdictsDoc(VERDICTS),
      'docs/verdicts.md is out of date with packages/core/src/verdicts.ts: run `npm run build && npm run docs:verdicts`',
    );
  });

  it('lists every verdict once, in the section of its verdict, with its kind and message', () => {
    const rows = rowsOf(renderVerdictsDoc(VERDICTS));
    assert.deepEqual([...rows.keys()].sort(), [...VERDICT_IDS].sort());
    for (const id of VERDICT_IDS) {
      const v = VERDICTS[id];
      assert.deepEqual(rows.get(id), { verdict: v.verdict, kind: v.kind, message: v.message }, id);
    }
  });

  it('keeps catalogue order within a section, sections live, restart, deferred, ignored', () => {
    const page = renderVerdictsDoc(VERDICTS);
    const headings = [...page.matchAll(/^## .*\(`(\w+)`\)$/gm)].map((m) => m[1]);
    assert.deepEqual(headings, ['live', 'restart', 'deferred', 'ignored']);
    const order = [...rowsOf(page).keys()];
    for (const verdict of headings) {
      const inPage = order.filter((id) => VERDICTS[id as keyof typeof VERDICTS].verdict === verdict);
      assert.deepEqual(
        inPage,
        VERDICT_IDS.filter((id) => VERDICTS[id].verdict === verdict),
      );
    }
  });

  it('changes with the catalogue: a new id, a changed message or kind shows', () => {
    const page = renderVerdictsDoc(VERDICTS);
    const added: Catalogue = {
      ...VERDICTS,
      'test-only': { kind: 'function-body', verdict: 'live', message: 'a | b' },
    };
    assert.equal(rowsOf(renderVerdictsDoc(added)).get('test-only')?.message, 'a | b');
    const id = VERDICT_IDS[0]!;
    for (const change of [{ message: 'changed' }, { kind: 'other-kind' }, { verdict: 'ignored' }]) {
      const changed: Catalogue = { ...VERDICTS, [id]: { ...VERDICTS[id], ...change } };
      assert.notEqual(renderVerdictsDoc(changed), page, JSON.stringify(change));
    }
  });

  it('refuses a verdict it has no section for', () => {
    assert.throws(
      () => renderVerdictsDoc({ x: { kind: 'k', verdict: 'maybe', message: 'm' } }),
      /verdict x has an unknown verdict maybe/,
    );
  });

  it('--check exits 0 on the page in the repo and 1, with one line, on a stale copy', () => {
    const ok = spawnSync(process.execPath, [script, '--check'], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    const stale = join(tmp, 'verdicts.md');
    writeFileSync(stale, readFileSync(docPath, 'utf8').replace('| `function-changed` |', '| `renamed` |'));
    const bad = spawnSync(process.execPath, [script, '--check', stale], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(
      bad.stderr,
      /^\S*verdicts\.md is out of date with the verdict catalogue: run npm run docs:verdicts\n$/,
    );
    assert.equal(readFileSync(stale, 'utf8').includes('| `renamed` |'), true, '--check wrote the file');
  });
});
