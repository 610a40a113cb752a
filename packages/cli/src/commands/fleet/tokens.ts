/** `hotpatch` fleet commands: API and enrollment tokens. */
import { type Command, Option } from 'commander';
import { api, type ConnOptions, labelArg, print, table, withConn } from './client.js';

export function registerTokensCommands(program: Command): void {
  const tokens = program
    .command('tokens')
    .summary('API tokens (roles admin, operator, viewer) and device enrollment tokens');
  withConn(tokens.command('list', { isDefault: true }).description('List API tokens (never their secrets)'))
    .option('--json', 'machine-readable output')
    .action(async (o: ConnOptions & { json?: boolean }) => {
      const r = await api(o, 'GET', '/v1/tokens');
      type T = {
        id: string;
        name: string;
        role: string;
        createdAt: string;
        createdBy: string;
        revokedAt: string | null;
      };
      print(o.json, r, () =>
        table([
          ['ID', 'NAME', 'ROLE', 'CREATED', 'BY', 'STATE'],
          ...(r.tokens as T[]).map((t) => [
            t.id,
            t.name,
            t.role,
            String(t.createdAt).slice(0, 19),
            t.createdBy,
            t.revokedAt ? `revoked ${String(t.revokedAt).slice(0, 10)}` : 'active',
          ]),
        ]),
      );
    });
  withConn(
    tokens.command('create').argument('<name>').description('Create an API token; the secret is shown once'),
  )
    .addOption(
      new Option('--role <role>', 'role').choices(['admin', 'operator', 'viewer']).makeOptionMandatory(),
    )
    .action(async (name: string, o: ConnOptions & { role: string }) => {
      const r = await api(o, 'POST', '/v1/tokens', { name, role: o.role });
      process.stdout.write(`${String(r.token)}\n`);
    });
  withConn(
    tokens
      .command('enroll')
      .argument('<name>')
      .description(
        'Create a device enrollment token (HOTPATCH_ENROLL_TOKEN); --label adds labels to devices enrolling with it',
      ),
  )
    .option('--label <key=value>', 'label for enrolling devices (repeatable)', labelArg)
    .option(
      '--allow-device-labels',
      "devices may add labels of their own (HOTPATCH_LABELS); the token's labels always win",
    )
    .action(
      async (
        name: string,
        o: ConnOptions & { label?: Record<string, string>; allowDeviceLabels?: boolean },
      ) => {
        const r = await api(o, 'POST', '/v1/enroll-tokens', {
          name,
          labels: o.label ?? {},
          allowDeviceLabels: o.allowDeviceLabels ?? false,
        });
        process.stdout.write(`${String(r.token)}\n`);
      },
    );
  withConn(tokens.command('revoke').argument('<id>').description('Revoke an API token')).action(
    async (id: string, o: ConnOptions) => {
      await api(o, 'DELETE', `/v1/tokens/${encodeURIComponent(id)}`);
      process.stdout.write(`revoked ${id}\n`);
    },
  );
}
