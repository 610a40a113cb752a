/**
 * `--help` / `-h` for the benchmarks: print the usage and exit 0. A benchmark takes minutes to an
 * hour and installs packages from the registry; asking it how to run it must not start it.
 */
export function exitOnHelp(usage: string): void {
  if (!process.argv.includes('--help') && !process.argv.includes('-h')) return;
  process.stdout.write(`${usage.trim()}\n`);
  process.exit(0);
}
