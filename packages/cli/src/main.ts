import { readFileSync } from 'node:fs';
import { isHotpatchError } from '@hotpatch/core';
import { Command, CommanderError } from 'commander';
import { registerBuildCommand } from './commands/build.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerFleetCommands } from './commands/fleet.js';
import { registerInspectCommand } from './commands/inspect.js';
import { registerKeygenCommand } from './commands/keygen.js';
import { registerRuntimeCommands } from './commands/runtime.js';
import { registerVexCommand } from './commands/vex.js';

export const EXIT_CODES_HELP = `
Exit codes:
  0  ok
  1  unexpected error (a bug: please report it)
  2  bad input or refused (usage, unknown SPEC, registry unreachable, corrupt bundle,
     bad or untrusted signature, key problems)
  3  needs a restart: the builder cannot apply the fix live (no bundle written),
     or a hotpatch was not applied
  4  nothing to do (e.g. nothing to hotpatch between the two versions)`;

/** The CLI package's version (package.json sits next to dist/). */
export function cliVersion(): string {
  try {
    return (
      JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
    ).version;
  } catch {
    return 'unknown';
  }
}

/** Builds the `hotpatch` command tree. Commands come from ./commands/*.ts. */
export function createProgram(): Command {
  const program = new Command('hotpatch');
  program
    .description(
      'Windows-style hotpatching for Node.js fleets: build signed hotpatch bundles from a fix, ' +
        'inspect them, and apply them in memory to running processes without a restart.',
    )
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({
      outputError: (str, write) => write(str.replace(/^error: /, 'hotpatch: ')),
    })
    .version(cliVersion(), '-V, --version', 'print the hotpatch version')
    .addHelpText('after', EXIT_CODES_HELP);
  registerBuildCommand(program);
  registerKeygenCommand(program);
  registerInspectCommand(program);
  registerRuntimeCommands(program);
  registerFleetCommands(program);
  registerVexCommand(program);
  registerDemoCommand(program);
  // Commands added with addCommand() do not inherit settings: make every one behave the same.
  const visit = (cmd: Command) => {
    for (const sub of cmd.commands) {
      sub.exitOverride();
      // `--help` of a command declared with only a summary (or only a description) is never empty.
      if (!sub.description() && sub.summary()) sub.description(sub.summary());
      if (!sub.summary() && sub.description()) sub.summary(sub.description().split(/(?<=\.) /)[0] ?? '');
      visit(sub);
    }
  };
  visit(program);
  return program;
}

/** Runs the CLI on process.argv-style arguments and resolves to the exit status. Never throws. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    return exitCodeOf(e);
  }
}

function exitCodeOf(e: unknown): number {
  if (e instanceof CommanderError) {
    // Help and version requests are successes; everything else commander reports is a usage error
    // (it has already printed the message).
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
    if (e.code === 'commander.executeSubCommandAsync') return e.exitCode;
    return 2;
  }
  if (isHotpatchError(e)) {
    process.stderr.write(`hotpatch: ${e.message}\n`);
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  process.stderr.write(`hotpatch: unexpected error: ${err.message}\n`);
  if (process.env.HOTPATCH_DEBUG) process.stderr.write(`${err.stack ?? ''}\n`);
  else
    process.stderr.write(
      'hotpatch: (set HOTPATCH_DEBUG=1 for a stack trace; this is a bug, please report it)\n',
    );
  return 1;
}
