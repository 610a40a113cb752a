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
          signature: sig,
          files: p.files.map((f) => ({
            path: f.path,
            sourceType: f.sourceType,
            baselineSha256: f.baselineSha256,
            patchedSha256: f.patchedSha256,
            edits: f.edits.length,
            functions: f.functions.map((fn) => fn.key),
            changes: f.changes,
          })),
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
  field('signature', sig.text);
  out.push('');
  out.push(`files (${p.files.length}):`);
  for (const f of p.files) {
    out.push(
      `  ${f.path}  baseline sha256 ${f.baselineSha256.slice(0, 12)}…  ${f.edits.length} edit(s), ${f.functions.length} function(s)`,
    );
    for (const c of f.changes) {
      out.push(
        `    ${pad(c.verdict, 8)} ${pad(c.kind, 18)} ${c.name}${c.line ? ` (line ${c.line})` : ''} — ${c.reason}`,
      );
    }
  }
  if (p.ignored.length) {
    out.push('');
    out.push(`not patched (${p.ignored.length}):`);
    for (const c of p.ignored)
      out.push(`    ${pad(c.verdict, 8)} ${pad(c.kind, 18)} ${c.name} — ${c.reason}`);
  }
  return `${out.join('\n')}\n`;
}
