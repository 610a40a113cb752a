import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generateSigningKey, HotpatchError } from '@hotpatch/core';
import type { Command } from 'commander';
import { writeFileAtomic } from './io.js';

interface KeygenOptions {
  out: string;
  force?: boolean;
}

/** `hotpatch keygen --out DIR [--force]`: a new Ed25519 signing key pair. */
export function registerKeygenCommand(program: Command): void {
  program
    .command('keygen')
    .summary('Create an Ed25519 signing key pair')
    .description(
      'Create an Ed25519 signing key pair: DIR/hotpatch.key (private, mode 0600) and DIR/hotpatch.pub',
    )
    .requiredOption('--out <dir>', 'directory for the key pair (created if missing)')
    .option('--force', 'overwrite an existing key pair')
    .action((opts: KeygenOptions) => {
      const keyFile = join(opts.out, 'hotpatch.key');
      const pubFile = join(opts.out, 'hotpatch.pub');
      if (!opts.force) {
        for (const f of [keyFile, pubFile]) {
          if (existsSync(f))
            throw new HotpatchError('E_USAGE', `${f} already exists; use --force to replace the key pair`);
        }
      }
      try {
        mkdirSync(opts.out, { recursive: true });
      } catch (e) {
        throw new HotpatchError(
          'E_IO',
          `cannot create ${opts.out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        );
      }
      const pair = generateSigningKey();
      writeFileAtomic(keyFile, pair.privateKeyPem, 0o600);
      chmodSync(keyFile, 0o600);
      writeFileAtomic(pubFile, pair.publicKeyPem, 0o644);
      process.stdout.write(
        `key id ${pair.keyId}\n  private key: ${keyFile} (keep secret; mode 0600)\n  public key:  ${pubFile} (give to runtimes as a trusted key)\n`,
      );
    });
}
