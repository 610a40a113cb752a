/** `hotpatch advisories`: import OSV records (file or directory), list what they affect, delete. */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { HotpatchError } from '@hotpatch/core';
import type { AdvisoryImportResponse, AdvisoryView } from '@hotpatch/protocol';
import type { Command } from 'commander';
import { readTextFile } from '../io.js';
import { api, type ConnOptions, print, table, withConn } from './client.js';

/** OSV records from a .json file (one record, an array, or {advisories: [...]}) or every .json file under a directory. */
export function readOsv(path: string): unknown[] {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (e) {
    throw new HotpatchError(
      'E_IO',
      `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  if (st.isDirectory()) {
    const files = readdirSync(path, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.json'))
      .sort();
    if (files.length === 0) throw new HotpatchError('E_IO', `${path}: no .json OSV files in this directory`);
    return files.flatMap((f) => readOsv(join(path, f)));
  }
  const text = readTextFile(path, 'OSV file');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new HotpatchError('E_IO', `${path} is not JSON: ${(e as Error).message}`);
  }
  if (Array.isArray(data)) return data;
  if (data && typeof data === 'object' && Array.isArray((data as { advisories?: unknown }).advisories))
    return (data as { advisories: unknown[] }).advisories;
  return [data];
}

export function registerAdvisoriesCommands(program: Command): void {
  const adv = program
    .command('advisories')
    .summary('Known vulnerabilities (OSV format): import, see affected devices and how to fix them');
  withConn(
    adv
      .command('list', { isDefault: true })
      .description(
        'List advisories with the devices each affects and whether a hotpatch exists or a baseline is needed',
      ),
  )
    .option('--json', 'machine-readable output')
    .action(async (o: ConnOptions & { json?: boolean }) => {
      const r = (await api(o, 'GET', '/v1/advisories')) as unknown as { advisories: AdvisoryView[] };
      print(o.json, r, () => {
        if (r.advisories.length === 0) return 'no advisories (hotpatch advisories import FILE|DIR)';
        const rows = [['ADVISORY', 'PACKAGES', 'AFFECTED', 'HOTPATCH', 'SUMMARY']];
        for (const a of r.advisories) {
          const patchable = a.affected.filter((x) => x.remedy === 'hotpatch available').length;
          rows.push([
            a.ids.join(' '),
            a.packages.join(',') || '-',
            a.affected.length
              ? `${a.affected.length} (${patchable} hotpatchable, ${a.affected.length - patchable} baseline)`
              : '0',
            a.hotpatches.map((h) => h.patchId).join(',') || 'none',
            a.summary,
          ]);
        }
        const build = r.advisories
          .filter((a) => a.buildCommand)
          .map((a) => `no hotpatch for ${a.ids[0]} yet; build one: ${a.buildCommand}`);
        return [table(rows), ...build].join('\n');
      });
    });
  withConn(
    adv
      .command('import')
      .argument('<path>', 'OSV .json file (one record, an array, or {advisories}) or a directory of them')
      .description(
        'Import OSV advisories (GitHub Advisory Database / osv.dev format); a newer `modified` replaces a record',
      ),
  )
    .option('--json', 'machine-readable output')
    .action(async (path: string, o: ConnOptions & { json?: boolean }) => {
      const records = readOsv(path);
      const r = (await api(o, 'POST', '/v1/advisories', {
        advisories: records,
      })) as unknown as AdvisoryImportResponse;
      print(
        o.json,
        r,
        () =>
          `imported ${records.length} record(s): ${r.added.length} added, ${r.updated.length} updated, ${r.unchanged.length} unchanged`,
      );
    });
  withConn(adv.command('delete').argument('<id>').description('Forget an advisory')).action(
    async (id: string, o: ConnOptions) => {
      await api(o, 'DELETE', `/v1/advisories/${encodeURIComponent(id)}`);
      process.stdout.write(`deleted ${id}\n`);
    },
  );
}
