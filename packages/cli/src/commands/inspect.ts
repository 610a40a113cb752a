import {
  type Bundle,
  HotpatchError,
  isHotpatchError,
  loadPublicKey,
  parseBundle,
  TrustStore,
  targetLabel,
  verifyBundle,
} from '@hotpatch/core';
import type { Command } from 'commander';
import { collect, pad, readTextFile } from './io.js';

interface InspectOptions {
  json?: boolean;
  trust?: string[];
}

export type SignatureState = 'valid' | 'untrusted' | 'invalid' | 'unsigned' | 'unverified';

export interface SignatureReport {
  state: SignatureState;
  keyId: string | null;
  /** One line for people. */
  text: string;
}

/** What the signature of a bundle says, checked against the trusted keys (if any were given). */
export function signatureReport(bundle: Bundle, trust: TrustStore | null): SignatureReport {
  const sig = bundle.signature;
  if (!sig) return { state: 'unsigned', keyId: null, text: 'unsigned' };
  if (!trust) {
    return {
      state: 'unverified',
      keyId: sig.keyId,
      text: `signed by key ${sig.keyId}, not verified (no --trust)`,
    };
  }
  try {
    verifyBundle(bundle, trust);
    return { state: 'valid', keyId: sig.keyId, text: `valid, trusted key ${sig.keyId}` };
  } catch (e) {
    if (!isHotpatchError(e)) throw e;
    if (e.code === 'E_UNTRUSTED_KEY') {
      return { state: 'untrusted', keyId: sig.keyId, text: `signed by untrusted key ${sig.keyId}` };
    }
    return { state: 'invalid', keyId: sig.keyId, text: `INVALID (altered): ${e.message}` };
  }
}

/** `hotpatch inspect FILE`: a readable (or JSON) summary of a bundle and its signature state. */
export function registerInspectCommand(program: Command): void {
  program
    .command('inspect')
    .summary("Show a bundle's contents, verdicts and signature state")
    .description(
      'Show what a hotpatch bundle contains: id, version identifier, advisories, target, files and baselines, ' +
        'changes with verdicts, and the signature state. With --trust, exits 2 unless the signature is valid.',
    )
    .argument('<file>', 'bundle file')
    .option('--json', 'print the summary as JSON on stdout')
    .option('--trust <pubfile>', 'trusted public key (PEM, from `hotpatch keygen`); repeatable', collect)
    .action((file: string, opts: InspectOptions) => {
      let trust: TrustStore | null = null;
      if (opts.trust?.length) {
        trust = new TrustStore();
        for (const f of opts.trust)
          trust.add(loadPublicKey(readTextFile(f, 'public key', 'E_KEY'), `public key ${f}`));
      }
      const bundle = parseBundle(readTextFile(file, 'bundle'), file);
      const sig = signatureReport(bundle, trust);
      const p = bundle.payload;
      if (opts.json) {
        const summary = {
          file,
          patchId: p.patchId,
          version: p.version,
          level: p.level,
          title: p.title,
          advisories: p.advisories,
          severity: p.severity,
          classification: p.classification,
          target: p.target,
          fixedIn: p.fixedIn,
          supersedes: p.supersedes,
          createdAt: p.createdAt,
          builder: p.builder,
          formatVersion: p.formatVersion,
          keyScheme: p.keyScheme,
          convention: p.convention,
          authorAssisted: p.files.some((f) => f.migrations.some((m) => m.author)),
          signature: sig,
          files: p.files.map((f) => ({
            path: f.path,
            sourceType: f.sourceType,
            baselineSha256: f.baselineSha256,
            patchedSha256: f.patchedSha256,
            edits: f.edits.length,
            functions: f.functions.map((fn) => fn.key),
            migrations: f.migrations.map((m) => ({
              kind: m.kind,
              ...(m.key ? { key: m.key } : {}),
              ...(m.target ? { target: m.target } : {}),
              author: m.author,
            })),
            liveEdit: f.liveEdit,
            changes: f.changes,
          })),
          newFiles: p.newFiles.map((f) => ({ path: f.path, sourceType: f.sourceType, sha256: f.sha256 })),
          ignored: p.ignored,
        };
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      } else {
        process.stdout.write(formatBundle(bundle, sig));
      }
      if (trust && sig.state !== 'valid') {
        throw new HotpatchError(
          sig.state === 'unsigned'
            ? 'E_SIGNATURE_MISSING'
            : sig.state === 'untrusted'
              ? 'E_UNTRUSTED_KEY'
              : 'E_SIGNATURE_INVALID',
          `${file}: signature ${sig.text}`,
        );
      }
    });
}

export function formatBundle(bundle: Bundle, sig: SignatureReport): string {
  const p = bundle.payload;
  const out: string[] = [];
  const field = (k: string, v: string) => out.push(`${pad(`${k}:`, 13)}${v}`);
  field('patch', p.patchId);
  field('version', `${p.version} (hotpatch level ${p.level} over ${targetLabel(p.target)})`);
  field('title', p.title || '(none)');
  field('advisories', p.advisories.length ? p.advisories.join(', ') : '(none)');
  field('severity', `${p.severity} (${p.classification})`);
  field('target', `${p.target.kind} ${targetLabel(p.target)}`);
  field(
    'fixed in',
    p.fixedIn ? `${p.fixedIn} (the release with the same fix; needs a restart)` : '(unknown)',
  );
  if (p.supersedes.length) field('supersedes', p.supersedes.join(', '));
  field('created', `${p.createdAt} by ${p.builder}`);
  field(
    'format',
    `bundle v${p.formatVersion}, key scheme ${p.keyScheme}, calling convention ${p.convention}`,
  );
  if (p.files.some((f) => f.migrations.some((m) => m.author)))
    field('assisted', 'carries migrations written by the patch author (--migrate)');
  field('signature', sig.text);
  out.push('');
  out.push(`files (${p.files.length}):`);
  for (const f of p.files) {
    const migrations = f.migrations.length ? `, ${f.migrations.length} migration(s)` : '';
    out.push(
      `  ${f.path}  baseline sha256 ${f.baselineSha256.slice(0, 12)}…  ${f.edits.length} edit(s), ${f.functions.length} function(s)${migrations}`,
    );
    if (f.liveEdit) out.push(`    (redirect engine only: ${f.liveEdit})`);
    for (const c of f.changes) {
      out.push(
        `    ${pad(c.verdict, 8)} ${pad(c.id, 22)} ${c.name}${c.line ? ` (line ${c.line})` : ''} — ${c.reason}`,
      );
    }
  }
  // A file the patch adds is carried in the bundle: listed here, not as "not patched".
  const added = new Set(p.newFiles.map((f) => f.path));
  if (p.newFiles.length) {
    out.push('');
    out.push(`added files (${p.newFiles.length}), loaded from the bundle when the patched code needs them:`);
    for (const f of p.newFiles) out.push(`  ${f.path}  ${f.sourceType}, sha256 ${f.sha256.slice(0, 12)}…`);
  }
  const ignored = p.ignored.filter((c) => !(c.verdict === 'live' && added.has(c.name)));
  if (ignored.length) {
    out.push('');
    out.push(`not patched (${ignored.length}):`);
    for (const c of ignored) out.push(`    ${pad(c.verdict, 8)} ${pad(c.id, 22)} ${c.name} — ${c.reason}`);
  }
  return `${out.join('\n')}\n`;
}
