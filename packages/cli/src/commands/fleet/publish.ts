/** `hotpatch` fleet commands: Publish signed hotpatches. */
import { readFileSync } from 'node:fs';
import { HotpatchError } from '@hotpatch/core';
import type { Command } from 'commander';
import { api, type ConnOptions, print, withConn } from './client.js';

export function registerPublishCommand(program: Command): void {
  withConn(
    program
      .command('publish')
      .argument('<file>', 'signed hotpatch bundle')
      .summary('Publish a signed security hotpatch to the catalog'),
  )
    .description(
      'Publish a signed hotpatch bundle. The server verifies the signature against its trusted keys and accepts only security fixes with an advisory.',
    )
    .option('--advisory-published <date>', 'when the advisory was published (ISO date), for exposure reports')
    .option('--json', 'machine-readable output')
    .action(async (file: string, o: ConnOptions & { json?: boolean; advisoryPublished?: string }) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        throw new HotpatchError('E_IO', `${file} cannot be read`);
      }
      const q = o.advisoryPublished
        ? `?advisoryPublishedAt=${encodeURIComponent(new Date(o.advisoryPublished).toISOString())}`
        : '';
      const r = await api(o, 'POST', `/v1/bundles${q}`, undefined, text);
      const b = r.bundle as {
        patchId: string;
        version: string;
        targetName: string;
        targetBaseline: string;
        advisories: string[];
      };
      print(
        o.json,
        r,
        () =>
          `${r.created ? 'published' : 'already published'}: ${b.patchId} ${b.version} (${b.targetName}@${b.targetBaseline}; ${b.advisories.join(', ')})`,
      );
    });
}
