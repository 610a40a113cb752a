/** `hotpatch` fleet commands: Run the control plane. */
import { HotpatchError } from '@hotpatch/core';
import { type Command, Option } from 'commander';
import { intArg } from './client.js';

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .summary('Run the control plane (HTTP API + device WebSocket)')
    .description(
      'Run the Hotpatch control plane. Storage is embedded (PGlite under --data) unless --database-url names a PostgreSQL ' +
        'database; several servers on one PostgreSQL work as replicas. The first start writes an admin API token and a device ' +
        'enrollment token into the data directory. Stops cleanly on SIGTERM.',
    )
    .option('--data <dir>', 'data directory', process.env.HOTPATCH_DATA ?? './hotpatch-data')
    .option(
      '--database-url <url>',
      'PostgreSQL URL (default: embedded PGlite in --data)',
      process.env.HOTPATCH_DATABASE_URL,
    )
    .option('--database-schema <name>', 'PostgreSQL schema')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on', intArg, 4242)
    .option(
      '--workers <n>',
      'server processes behind the one port (PostgreSQL only): each is a full replica; use the cores, hold more connections than one process may open files',
      intArg,
      1,
    )
    .option(
      '--database-pool <n>',
      'PostgreSQL connections per server process (default 10, with --workers about 10 in all, at least 3 each)',
      intArg,
    )
    .option('--cert <file>', 'TLS certificate (PEM): serve HTTPS')
    .option('--key <file>', 'TLS private key (PEM)')
    .option(
      '--trusted-key <file>',
      'publisher public key bundles must be signed with; repeatable',
      (v: string, p: string[] = []) => [...p, v],
    )
    .addOption(
      new Option('--baseline-months <list>', 'baseline months, e.g. 1,4,7,10').argParser((v) =>
        v.split(',').map((m) => intArg(m.trim())),
      ),
    )
    .option(
      '--advisories-url <url>',
      'sync OSV advisories (one record, an array or {advisories}) from this URL at start and periodically',
      process.env.HOTPATCH_ADVISORIES_URL,
    )
    .option('--advisories-every <minutes>', 'advisory sync period in minutes', intArg, 360)
    .option('--log-level <level>', 'log level (info, warn, error, silent)', 'info')
    .action(
      async (o: {
        data: string;
        databaseUrl?: string;
        databaseSchema?: string;
        host: string;
        port: number;
        workers: number;
        databasePool?: number;
        cert?: string;
        key?: string;
        trustedKey?: string[];
        baselineMonths?: number[];
        advisoriesUrl?: string;
        advisoriesEvery: number;
        logLevel: string;
      }) => {
        if (o.advisoriesUrl && !/^https?:\/\//.test(o.advisoriesUrl))
          throw new HotpatchError('E_USAGE', `--advisories-url ${o.advisoriesUrl}: expected an http(s) URL`);
        if (o.workers < 1) throw new HotpatchError('E_USAGE', '--workers: expected 1 or more');
        if (o.workers > 1 && !o.databaseUrl)
          throw new HotpatchError(
            'E_USAGE',
            '--workers needs --database-url: the workers share PostgreSQL (embedded PGlite is one process)',
          );
        if (Boolean(o.cert) !== Boolean(o.key))
          throw new HotpatchError('E_USAGE', '--cert and --key go together');
        const trusted = o.trustedKey ?? (process.env.HOTPATCH_TRUSTED_KEYS ?? '').split(':').filter(Boolean);
        if (trusted.length === 0)
          process.stderr.write('hotpatch server: no --trusted-key: every publish will be refused\n');
        const { runServer } = await import('@hotpatch/server');
        await runServer({
          dataDir: o.data,
          ...(o.databaseUrl ? { databaseUrl: o.databaseUrl } : {}),
          ...(o.databaseSchema ? { databaseSchema: o.databaseSchema } : {}),
          host: o.host,
          port: o.port,
          workers: o.workers,
          ...(o.databasePool ? { databasePoolSize: o.databasePool } : {}),
          ...(o.cert && o.key ? { cert: o.cert, key: o.key } : {}),
          trustedKeys: trusted,
          ...(o.baselineMonths ? { calendar: { baselineMonths: o.baselineMonths } } : {}),
          logger: o.logLevel === 'silent' ? false : { level: o.logLevel },
          ...(o.advisoriesUrl
            ? { advisorySync: { url: o.advisoriesUrl, intervalMs: Math.max(1, o.advisoriesEvery) * 60_000 } }
            : {}),
        });
        await new Promise(() => {}); // runs until a signal
      },
    );
}
