/** `hotpatch login` / `logout`: save the server URL and API token so that fleet commands need no flags. */
import { HotpatchError } from '@hotpatch/core';
import type { Command } from 'commander';
import { api, print, tokenFromEnv } from './client.js';
import { configPath, removeLogin, writeLogin } from './login-config.js';

export function registerLoginCommands(program: Command): void {
  program
    .command('login')
    .argument('<server>', 'control plane URL, e.g. https://hotpatch.example.com')
    .summary('Save a server URL and API token (0600 config file); flags and HOTPATCH_* env vars override it')
    .description(
      `Check the token against the server, then save both to ${configPath()} (mode 0600; $HOTPATCH_CONFIG moves it). ` +
        'The token comes from --token, else $HOTPATCH_TOKEN, else $HOTPATCH_TOKEN_FILE. --server/--token flags and ' +
        'HOTPATCH_SERVER/HOTPATCH_TOKEN still override the saved login.',
    )
    .option('--token <token>', 'API token (default $HOTPATCH_TOKEN or the file $HOTPATCH_TOKEN_FILE)')
    .option('--json', 'machine-readable output')
    .action(async (server: string, o: { token?: string; json?: boolean }) => {
      if (!/^https?:\/\/[^\s/]+/.test(server))
        throw new HotpatchError(
          'E_USAGE',
          `${server} is not a server URL (http://HOST:PORT or https://HOST)`,
        );
      const url = server.replace(/\/+$/, '');
      // Resolve the token the usual way, but against the URL given (not a saved or env server).
      const token = o.token ?? tokenFromEnv();
      if (!token)
        throw new HotpatchError(
          'E_USAGE',
          'no API token: pass --token or set HOTPATCH_TOKEN / HOTPATCH_TOKEN_FILE',
        );
      // Any role may list devices: a refused or unreachable server fails here, before anything is saved.
      await api({ server: url, token }, 'GET', '/v1/devices?limit=1');
      writeLogin({ server: url, token });
      print(
        o.json,
        { server: url, file: configPath() },
        () => `logged in to ${url}; saved to ${configPath()}`,
      );
    });
  program
    .command('logout')
    .summary('Forget the saved server URL and API token')
    .description(`Delete ${configPath()}.`)
    .action(() => {
      process.stdout.write(
        removeLogin() ? `removed ${configPath()}\n` : `not logged in (${configPath()} absent)\n`,
      );
    });
}
