import type { KeyObject } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { bundleProblem } from './bundle-checks.js';
import { BundleError } from './errors.js';
import { sha256 } from './hash.js';
import { type Signature, signPayload, type TrustStore, verifyPayload } from './signing.js';
import { VERDICT_IDS, VERDICTS, type VerdictId, verdictMessage } from './verdicts.js';

/**
 * Hotpatch bundle format, version 2 (docs/bundle-format.md is the prose version of this file).
 * One definition: the TypeBox schema below is both the validator and, through Static<>, the type
 * every package uses.
 */
export const BUNDLE_FORMAT = 'hotpatch/bundle';
export const BUNDLE_FORMAT_VERSION = 2;
/** Version of the function-key scheme shared by the builder and the runtime (packages/instrument). */
export const KEY_SCHEME = 2;

export const Severity = Type.Union([
  Type.Literal('critical'),
  Type.Literal('high'),
  Type.Literal('moderate'),
  Type.Literal('low'),
  Type.Literal('unknown'),
]);
export type Severity = Static<typeof Severity>;

/** What kind of code a change is about (the catalogue's `kind`; verdicts.ts). */
export const ChangeKind = Type.Union(
  [...new Set(Object.values(VERDICTS).map((v) => v.kind))].map((k) => Type.Literal(k)),
);
export type ChangeKind = (typeof VERDICTS)[VerdictId]['kind'];

export const Verdict = Type.Union([
  Type.Literal('live'),
  Type.Literal('restart'),
  Type.Literal('deferred'),
  Type.Literal('ignored'),
]);
export type Verdict = Static<typeof Verdict>;

export const Change = Type.Object({
  /** Verdict id in the catalogue (verdicts.ts): what was found, and what it means. */
  id: Type.Union(VERDICT_IDS.map((id) => Type.Literal(id))),
  kind: ChangeKind,
  /** Function key (see packages/instrument) or binding / file name the change is about. */
  name: Type.String({ minLength: 1 }),
  verdict: Verdict,
  /** How it is applied (live) or why it cannot be (restart). One line. */
  reason: Type.String(),
  /** 1-based line in the new version, where known. */
  line: Type.Optional(Type.Integer({ minimum: 1 })),
});
export type Change = Omit<Static<typeof Change>, 'id' | 'kind'> & { id: VerdictId; kind: ChangeKind };

/** A change with its catalogue verdict and message. */
export function changeOf(
  id: VerdictId,
  name: string,
  place: { where?: string; detail?: string } = {},
  line?: number,
): Change {
  const v = VERDICTS[id];
  return {
    id,
    kind: v.kind,
    name,
    verdict: v.verdict,
    reason: verdictMessage(id, { name, ...place }),
    ...(line ? { line } : {}),
  };
}

/** A text replacement on the baseline source: [start, end) in UTF-16 code units. */
export const Edit = Type.Object({
  start: Type.Integer({ minimum: 0 }),
  end: Type.Integer({ minimum: 0 }),
  text: Type.String(),
});
export type Edit = Static<typeof Edit>;

/**
 * A replacement for one function, for the redirect engine (packages/instrument/src/convention.ts
 * is the calling convention it is built against).
 */
export const FunctionPatch = Type.Object({
  /** Function key in the baseline (stable across builder and runtime for KEY_SCHEME). */
  key: Type.String({ minLength: 1 }),
  /** How the guard calls the replacement. */
  call: Type.Union([
    Type.Literal('params'), // r.call(this, [self], [scope], ...own parameter bindings)
    Type.Literal('apply'), // uses `arguments`: r.apply(this, arguments), or r.call(this, [self], [scope], arguments)
    Type.Literal('arrow'), // arrow function: like params
    Type.Literal('construct'), // derived class constructor: Reflect.construct(r, arguments, new.target)
  ]),
  /** The replacement's parameters as the guard passes them (convention's replacementParams). */
  params: Type.Array(Type.String()),
  /** A JavaScript expression evaluating to the replacement, compiled in the module's own scope. */
  source: Type.String({ minLength: 1 }),
  /**
   * Globals the fixed code itself names (`document`, `Temporal`, …): free names the in-scope check
   * accepts even where this Node version lacks them (the fixed release would meet the same).
   */
  globals: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
});
export type FunctionPatch = Static<typeof FunctionPatch>;

/**
 * Module state set up when a patch is applied, in the module's own scope, in order, before any
 * replacement is reachable (kpatch's pre-patch callbacks; Erlang's code_change). All of a file's
 * migrations run, or none stays: each is undone on failure and on revert.
 *  - `cell`: a new or changed module-level value; `source` creates it in the module's hotpatch
 *    state (replacements also create it on first use, e.g. in modules loaded after the patch);
 *  - `import`: an ES module the new code imports, loaded with import() from the module (`source`
 *    is the specifier) into the cell `key`;
 *  - `assign`: a module-level assignment (`target[key] = source`, e.g. `exports.x = …`) re-run
 *    with the new value; revert restores the property as it was;
 *  - `define`: `Object.defineProperty(target, key, source)` (`source` is a property descriptor:
 *    e.g. a method added to a class); revert restores the property as it was;
 *  - `delete`: `delete target[key]` (a property the fix removed from a module-level object
 *    literal); `source` is unused (`void 0`); revert restores the property as it was;
 *  (`target` and `key` are expressions: the object, and the property key, e.g. `"x"`)
 *  - `rerun`: load-time statements that only fill new cells (`for (…) table[k] = …`), run again on
 *    them; nothing to undo (the cells go on revert) — or, with `snapshot` (module variables naming
 *    objects: registration tables, diff/registrations.ts), statements that fill those objects in
 *    place: their own properties are saved first and put back on revert;
 *  - `reset`: the module variable `target` (a memo a changed function builds once) set back to
 *    `source` (`undefined` or `null`) so that the new code builds it again; revert restores it;
 *  - `recompile`: the module variable `target` holds a RegExp the baseline created from `revert`
 *    (a regular-expression literal, or `new RegExp` of string literals); it is recompiled in place
 *    (`RegExp.prototype.compile`) to the pattern and flags of `source`, so that everything holding
 *    the object sees the fix; refused if the running object is not the baseline's (pattern, flags,
 *    class); revert compiles it back;
 *  - `script`: statements written by the patch author (`hotpatch build --migrate`), with `revert`
 *    statements if the author gave them.
 * `scope`: key of the run-once function (a UMD/IIFE wrapper) whose variables the code reaches
 * through the scope accessor; absent for module-level code.
 */
export const Migration = Type.Object({
  kind: Type.Union([
    Type.Literal('cell'),
    Type.Literal('import'),
    Type.Literal('assign'),
    Type.Literal('define'),
    Type.Literal('delete'),
    Type.Literal('reset'),
    Type.Literal('rerun'),
    Type.Literal('recompile'),
    Type.Literal('script'),
  ]),
  key: Type.Optional(Type.String({ minLength: 1 })),
  target: Type.Optional(Type.String({ minLength: 1 })),
  source: Type.String({ minLength: 1 }),
  revert: Type.Optional(Type.String()),
  scope: Type.Optional(Type.String({ minLength: 1 })),
  /** rerun: module variables holding objects the statements fill in place, saved and restored on revert. */
  snapshot: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z_$][\\w$]*$' }), { maxItems: 64 })),
  /** A cell of the package instance, not of the module (another file of the patch reads it). */
  shared: Type.Optional(Type.Boolean()),
  /** Written by a person, not derived by the builder: the bundle is author-assisted. */
  author: Type.Boolean(),
});
export type Migration = Static<typeof Migration>;

export const FilePatch = Type.Object({
  /** Path relative to the target root, '/'-separated. */
  path: Type.String({ minLength: 1 }),
  sourceType: Type.Union([Type.Literal('commonjs'), Type.Literal('module')]),
  /** sha256 of the exact baseline source this applies over. */
  baselineSha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  /** sha256 of the baseline with `edits` applied: the source LiveEdit installs. */
  patchedSha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  /** For the LiveEdit engine; empty when `liveEdit` says why it cannot take this patch. */
  edits: Type.Array(Edit),
  /** Null when LiveEdit can apply `edits`; else why not (the redirect engine still can). */
  liveEdit: Type.Union([Type.Null(), Type.String()]),
  functions: Type.Array(FunctionPatch),
  migrations: Type.Array(Migration),
  changes: Type.Array(Change),
});
export type FilePatch = Static<typeof FilePatch>;

/** A file the fix adds, carried whole: loaded as a module of the package when first required or imported. */
export const NewFile = Type.Object({
  path: Type.String({ minLength: 1 }),
  sourceType: Type.Union([Type.Literal('commonjs'), Type.Literal('module')]),
  source: Type.String(),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
});
export type NewFile = Static<typeof NewFile>;

export const Target = Type.Union([
  Type.Object({
    kind: Type.Literal('npm'),
    name: Type.String({ minLength: 1 }),
    version: Type.String({ minLength: 1 }),
  }),
  Type.Object({
    kind: Type.Literal('app'),
    name: Type.String({ minLength: 1 }),
    baseline: Type.String({ minLength: 1 }),
  }),
]);
export type Target = Static<typeof Target>;

export const BundlePayload = Type.Object({
  format: Type.Literal(BUNDLE_FORMAT),
  formatVersion: Type.Literal(BUNDLE_FORMAT_VERSION),
  keyScheme: Type.Integer({ minimum: 1 }),
  /** Version of the redirect engine's calling convention the replacements were built against. */
  convention: Type.Integer({ minimum: 1 }),
  /** Catalog identity, like a KB number. */
  patchId: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$' }),
  /** Version identifier shown per device: baseline version + hotpatch level, e.g. 4.17.20+hp.1. */
  version: Type.String({ minLength: 1 }),
  level: Type.Integer({ minimum: 1 }),
  title: Type.String(),
  advisories: Type.Array(Type.String({ minLength: 1 })),
  severity: Severity,
  classification: Type.Union([Type.Literal('security'), Type.Literal('other')]),
  createdAt: Type.String(),
  builder: Type.String(),
  target: Target,
  /** The release that carries the same fix with a restart (the `--to` version), if known. */
  fixedIn: Type.Union([Type.String(), Type.Null()]),
  /** Earlier cumulative hotpatches of the same baseline this one replaces. */
  supersedes: Type.Array(Type.String({ minLength: 1 })),
  files: Type.Array(FilePatch),
  /** Files the fix adds that patched code loads. */
  newFiles: Type.Array(NewFile),
  /** Files that changed between the versions but need nothing live (docs, comments, versions). */
  ignored: Type.Array(Change),
});
export type BundlePayload = Static<typeof BundlePayload>;

const SignatureSchema = Type.Object({
  alg: Type.Literal('Ed25519'),
  keyId: Type.String({ pattern: '^[0-9a-f]{16}$' }),
  value: Type.String({ minLength: 1 }),
});

export const Bundle = Type.Object({
  payload: BundlePayload,
  signature: Type.Optional(SignatureSchema),
});
export type Bundle = Static<typeof Bundle> & { signature?: Signature };

/** Signs a payload into a bundle. */
export function signBundle(payload: BundlePayload, privateKey: KeyObject): Bundle {
  return { payload, signature: signPayload(payload, privateKey) };
}

export function serializeBundle(bundle: Bundle): string {
  return `${JSON.stringify(bundle, null, 1)}\n`;
}

/**
 * Parses and validates bundle bytes. Does not check the signature (see verifyBundle): `inspect`
 * must be able to show an unsigned or untrusted bundle.
 */
export function parseBundle(data: string | Uint8Array, source = 'bundle'): Bundle {
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new BundleError(
      `${source} is not a hotpatch bundle: not valid JSON (${why}); truncated or corrupt?`,
    );
  }
  if (typeof raw !== 'object' || raw === null || !('payload' in raw)) {
    throw new BundleError(`${source} is not a hotpatch bundle: no payload`);
  }
  const payload = (raw as { payload: unknown }).payload as Record<string, unknown> | null;
  if (payload && payload.format === BUNDLE_FORMAT && payload.formatVersion !== BUNDLE_FORMAT_VERSION) {
    throw new BundleError(
      `${source} uses bundle format version ${String(payload.formatVersion)}; this build reads version ${BUNDLE_FORMAT_VERSION}`,
      'E_BUNDLE_VERSION',
    );
  }
  if (!Value.Check(Bundle, raw)) {
    const first = Value.Errors(Bundle, raw).First();
    const where = first ? `${first.path || '/'}: ${first.message}` : 'invalid';
    throw new BundleError(`${source} is not a valid hotpatch bundle: ${where}`);
  }
  const bundle = raw as Bundle;
  const problem = bundleProblem(bundle.payload);
  if (problem) throw new BundleError(`${source} is not a valid hotpatch bundle: ${problem}`);
  return bundle;
}

/** Verifies the bundle's signature against trusted keys; throws SignatureError otherwise. */
export function verifyBundle(bundle: Bundle, trust: TrustStore): void {
  verifyPayload(bundle.payload, bundle.signature, trust);
}

/** Applies a file's edits to its baseline source and checks the result's hash. */
export function applyEdits(
  baseline: string,
  file: Pick<FilePatch, 'edits' | 'path' | 'patchedSha256'>,
): string {
  let out = '';
  let pos = 0;
  for (const edit of file.edits) {
    if (edit.end > baseline.length) throw new BundleError(`edit beyond the end of ${file.path}`);
    out += baseline.slice(pos, edit.start) + edit.text;
    pos = edit.end;
  }
  out += baseline.slice(pos);
  if (sha256(out) !== file.patchedSha256) {
    throw new BundleError(`patched source of ${file.path} does not match its recorded sha256`);
  }
  return out;
}

/** Is the payload a security hotpatch the catalog may publish (advisory + security classification)? */
export function isSecurityHotpatch(payload: BundlePayload): boolean {
  return payload.classification === 'security' && payload.advisories.length > 0;
}

export function targetLabel(target: Target): string {
  return target.kind === 'npm' ? `${target.name}@${target.version}` : `${target.name}@${target.baseline}`;
}
