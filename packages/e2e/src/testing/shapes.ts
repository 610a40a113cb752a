/**
 * Hand-made fixes of every code shape, applied for real: each case is a tiny package in two
 * versions and a check that tells the old behaviour from the new (like the corpus's exploit
 * checks), so the same probe processes and apply path as the real advisories prove them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type BuildResult, buildPatch, resolveSpec } from '@hotpatch/builder';
import { type KeyPairPem, loadPrivateKey, serializeBundle, signBundle, type VerdictId } from '@hotpatch/core';

export type Files = Record<string, string>;

export interface ShapeCase {
  name: string;
  /** ES module package (package.json "type": "module"); the check imports it. */
  esm?: boolean;
  /** Package files of the running (vulnerable) version and of the fixed one. */
  a: Files;
  b: Files;
  /** Body of an async function of `pkg` (the package's exports) that is true while the old behaviour shows. */
  old: string;
  /** Body of an async function of `pkg` that is true when ordinary calls give the expected results. */
  normal: string;
  /** 'live', or the verdict id of the restart the builder must give. */
  expect: 'live' | VerdictId;
  /** Verdict ids the live build must report (the mechanism the case is about). */
  verdicts?: VerdictId[];
}

export interface PreparedShape {
  c: ShapeCase;
  pkg: string;
  build: BuildResult;
  bytes: Buffer;
  /** Check file (corpus format) for the probe. */
  check: string;
}

/** Writes both versions and the check, builds and signs the hotpatch; `app` gets version A installed. */
export async function prepareShape(
  c: ShapeCase,
  index: number,
  root: string,
  app: string,
  key: KeyPairPem,
): Promise<PreparedShape> {
  const pkg = `shape-${index}`;
  const write = (dir: string, files: Files, version: string) => {
    const all: Files = {
      'package.json': JSON.stringify({
        name: pkg,
        version,
        main: 'index.js',
        ...(c.esm ? { type: 'module' } : {}),
      }),
      ...files,
    };
    for (const [f, text] of Object.entries(all)) {
      mkdirSync(dirname(join(dir, f)), { recursive: true });
      writeFileSync(join(dir, f), text);
    }
  };
  const a = join(root, `${pkg}@1.0.0`);
  const b = join(root, `${pkg}@1.0.1`);
  write(a, c.a, '1.0.0');
  write(b, c.b, '1.0.1');
  write(join(app, 'node_modules', pkg), c.a, '1.0.0');
  const build = buildPatch({
    from: await resolveSpec(a),
    to: await resolveSpec(b),
    advisories: [`SHAPE-${index}`],
    patchId: `HP-SHAPE-${index}`,
  });
  const bytes = build.payload
    ? Buffer.from(serializeBundle(signBundle(build.payload, loadPrivateKey(key.privateKeyPem))))
    : Buffer.alloc(0);
  const load = c.esm ? `await imp(${JSON.stringify(pkg)})` : `load(${JSON.stringify(pkg)})`;
  const check = join(root, `${pkg}.check.cjs`);
  writeFileSync(
    check,
    `'use strict';\nmodule.exports = {\n  async exploit(load, imp) { const pkg = ${load}; ${c.old}\n  },\n  async normal(load, imp) { const pkg = ${load}; ${c.normal}\n  },\n};\n`,
  );
  return { c, pkg, build, bytes, check };
}
