import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The preload for `node --import` (tests use it: it loads preloadFile, so both paths run). */
export const registerFile = fileURLToPath(import.meta.resolve('@hotpatch/runtime/register'));
/** The preload for `node --require`, as `hotpatch run` sets it up. */
export const preloadFile = fileURLToPath(import.meta.resolve('@hotpatch/runtime/preload'));
export const probeFile = fileURLToPath(new URL('./probe.js', import.meta.url));

export interface CheckResult {
  exploit: boolean;
  normal: boolean;
  ms: number;
  pid: number;
  /** False when the check ran in a worker thread. */
  main: boolean;
}

/** A probe process running under the runtime. */
export class Probe {
  readonly child: ChildProcess;
  #next = 1;
  #waiting = new Map<number, (m: Record<string, unknown>) => void>();
  readonly ready: Promise<void>;
  /** What the process wrote to stderr (kept for failure messages). */
  stderr = '';

  /**
   * `wrap` runs the probe through a command, e.g. ['prlimit', '--fsize=1024', '--'];
   * `preload: 'require'` preloads the runtime as `hotpatch run` does (`--require`).
   */
  constructor(
    nodeBin: string,
    env: NodeJS.ProcessEnv,
    opts: { runtime?: boolean; wrap?: string[]; preload?: 'import' | 'require' } = {},
  ) {
    const preload = opts.preload === 'require' ? ['--require', preloadFile] : ['--import', registerFile];
    const args = [...(opts.runtime === false ? [] : preload), probeFile];
    const [cmd, ...pre] = [...(opts.wrap ?? []), nodeBin];
    this.child = spawn(cmd!, [...pre, ...args], { env, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    this.child.stderr?.on('data', (d) => {
      this.stderr += String(d);
    });
    this.ready = new Promise((resolve, reject) => {
      this.child.once('exit', (code) => reject(new Error(`probe exited (${code}): ${this.stderr}`)));
      this.child.on('message', (m: Record<string, unknown>) => {
        if (m.ready) resolve();
        const cb = this.#waiting.get(m.id as number);
        if (cb) {
          this.#waiting.delete(m.id as number);
          cb(m);
        }
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  async check(check: string, dir: string, opts: { inWorker?: boolean } = {}): Promise<CheckResult> {
    await this.ready;
    const id = this.#next++;
    const reply = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const onExit = (code: number | null, signal: string | null) =>
        reject(
          new Error(`probe process exited (${code ?? signal}) during a check: ${this.stderr.slice(-2000)}`),
        );
      this.child.once('exit', onExit);
      this.#waiting.set(id, (m) => {
        this.child.off('exit', onExit);
        resolve(m);
      });
      this.child.send({ id, op: 'check', check, dir, inWorker: Boolean(opts.inWorker) });
    });
    if (reply.error) throw new Error(String(reply.error));
    return reply as unknown as CheckResult;
  }

  alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(): Promise<void> {
    if (!this.alive()) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await exited;
  }
}
