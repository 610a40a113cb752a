import type { Command } from 'commander';

/** `run`, `ps`, `apply`, `revert`, `status`: local control of processes running the runtime. */
export function registerRuntimeCommands(_program: Command): void {}
