/**
 * Behaviour oracle, the orchestration: for one corpus pair, three processes under the runtime
 * (P1: the vulnerable release, P2 and P3: the fixed release) answer the same generated calls.
 * P1 runs the plan (C), gets the hotpatch applied by the same client call as the coverage bench
 * (`applyTo`), and runs it again (A); P2 and P3 run it twice each (B1, B2). Everything is bounded
 * by one deadline per pair; the processes are killed at the end whatever happened.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyTo } from '@hotpatch/runtime';
import { type Advisory, corpusSet, label } from '../testing/advisories.js';
import { registerFile } from '../testing/processes.js';
import { comparePair, emptyCounts, type PairReport } from './classify.js';
import {
  type Call,
  DEFAULT_LIMITS,
  type EntryShape,
  entriesOf,
  mergeShapes,
  type PlanLimits,
  planCalls,
} from './inputs.js';

const probeFile = fileURLToPath(new URL('./probe.js', import.meta.url));

class TimeoutError extends Error {}

/** One oracle probe process (see probe.ts), spoken to over IPC with a deadline per request. */
export class OracleProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly scratch: string;
  stderr = '';
  #next = 1;
  #waiting = new Map<number, (m: Record<string, unknown>) => void>();

  constructor(nodeBin: string, env: NodeJS.ProcessEnv) {
    this.scratch = mkdtempSync(join(tmpdir(), 'hotpatch-oracle-'));
    this.child = spawn(nodeBin, ['--import', registerFile, probeFile], {
      cwd: this.scratch,
      env,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child.stderr?.on('data', (d) => {
      if (this.stderr.length < 20_000) this.stderr += String(d);
    });
    this.ready = new Promise((resolve, reject) => {
      this.child.once('exit', (code, signal) =>
        reject(new Error(`oracle probe exited (${code ?? signal}): ${this.tail()}`)),
      );
      this.child.on('message', (m: Record<string, unknown>) => {
        if (m.ready) resolve();
        const cb = this.#waiting.get(m.id as number);
        if (cb) {
          this.#waiting.delete(m.id as number);
          cb(m);
        }
      });
    });
    this.ready.catch(() => {});
  }

  get pid(): number {
    return this.child.pid!;
  }

  tail(): string {
    return this.stderr.trim().split('\n').slice(-3).join(' / ').slice(0, 400);
  }

  async request(msg: Record<string, unknown>, deadline: number): Promise<Record<string, unknown>> {
    await withDeadline(this.ready, deadline, 'start');
    const id = this.#next++;
    const reply = new Promise<Record<string, unknown>>((resolve, reject) => {
      const onExit = (code: number | null, signal: string | null) =>
        reject(new Error(`oracle probe exited (${code ?? signal}): ${this.tail()}`));
      this.child.once('exit', onExit);
      this.#waiting.set(id, (m) => {
        this.child.off('exit', onExit);
        resolve(m);
      });
      this.child.send({ ...msg, id });
    });
    const m = await withDeadline(reply, deadline, String(msg.op));
    if (m.error) throw new Error(String(m.error).split('\n')[0]);
    return m;
  }

  async load(dir: string, entries: { spec: string; how: string }[], deadline: number): Promise<EntryShape[]> {
    return (await this.request({ op: 'load', dir, entries }, deadline)).shape as EntryShape[];
  }

  async run(plan: Call[], opts: RunOptions, deadline: number): Promise<string[]> {
    return (await this.request({ op: 'run', plan, callMs: opts.callMs, asyncMs: opts.asyncMs }, deadline))
      .results as string[];
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGKILL');
      await exited;
    }
    rmSync(this.scratch, { recursive: true, force: true });
  }
}

function withDeadline<T>(p: Promise<T>, deadline: number, what: string): Promise<T> {
  const ms = deadline - Date.now();
  if (ms <= 0) return Promise.reject(new TimeoutError(`pair timeout (before ${what})`));
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`pair timeout (during ${what})`)), ms);
    }),
  ]);
}

export interface RunOptions {
  /** Synchronous time per call before the watchdog interrupts it. */
  callMs: number;
  /** How long a returned promise is awaited. */
  asyncMs: number;
  /** The whole pair, all three processes. */
  pairMs: number;
  limits: PlanLimits;
}

export const DEFAULT_RUN: RunOptions = { callMs: 250, asyncMs: 250, pairMs: 420_000, limits: DEFAULT_LIMITS };

export interface OraclePair {
  advisory: Advisory;
  /** The fixed release the hotpatch was built against. */
  fixed: string;
  /** Install directories of the vulnerable and fixed releases. */
  dir: string;
  fixedDir: string;
  /** The exploit check (only read, for the entries it loads). */
  check: string;
  /** The signed bundle, or why there is none. */
  bundle: Buffer | { refused: string };
}

export interface OracleEnv {
  nodeBin: string;
  node: number;
  /** Environment for the processes (HOTPATCH_HOME, HOTPATCH_TRUSTED_KEYS, ...). */
  env: NodeJS.ProcessEnv;
}

let runs = 0;

/** Runs the oracle on one pair. Never throws: failures are the report's status. */
export async function runPair(
  p: OraclePair,
  e: OracleEnv,
  opts: RunOptions = DEFAULT_RUN,
): Promise<PairReport> {
  const t0 = Date.now();
  const deadline = t0 + opts.pairMs;
  const a = p.advisory;
  const report: PairReport = {
    pair: label(a),
    fixed: p.fixed,
    advisory: a.advisory,
    set: corpusSet(a),
    node: e.node,
    status: 'error',
    detail: '',
    entries: [],
    calls: 0,
    counts: emptyCounts(),
    divergences: [],
    ms: 0,
  };
  let checkSource = '';
  try {
    checkSource = readFileSync(p.check, 'utf8');
  } catch {}
  const entries = entriesOf(a.name, a.format, checkSource);
  // A service of its own for every process: the runtime re-applies a service's patches when a
  // process of it starts, and C must be the unpatched release.
  const run = runs++;
  const start = (n: number) =>
    new OracleProcess(e.nodeBin, {
      ...e.env,
      HOTPATCH_SERVICE: `oracle-${e.node}-${label(a)}-${process.pid}.${run}-${n}`,
    });
  const procs = [start(1), start(2), start(3)];
  const [p1, p2, p3] = procs as [OracleProcess, OracleProcess, OracleProcess];
  try {
    // P3 loads too (its shape is the same as P2's: it only checks that P2's results are stable).
    const [s1, s2] = await Promise.all([
      p1.load(p.dir, entries, deadline),
      p2.load(p.fixedDir, entries, deadline),
      p3.load(p.fixedDir, entries, deadline),
    ]);
    report.entries = s2.map((x, i) => ({
      spec: x.spec,
      how: x.how,
      ...(x.error || s1[i]?.error ? { error: x.error ?? `vulnerable: ${s1[i]?.error}` } : {}),
    }));
    const plan = planCalls(mergeShapes(s1, s2), opts.limits);
    report.calls = plan.length;
    const b1 = await p2.run(plan, opts, deadline);
    const b2 = await p2.run(plan, opts, deadline);
    const b1Again = await p3.run(plan, opts, deadline);
    const b2Again = await p3.run(plan, opts, deadline);
    const c = await p1.run(plan, opts, deadline);
    let aRun: string[] | undefined;
    if (Buffer.isBuffer(p.bundle)) {
      const res = await withDeadline(applyTo(p1.pid, p.bundle), deadline, 'apply').catch((x: Error) =>
        x instanceof TimeoutError
          ? Promise.reject(x)
          : { state: 'refused by the runtime', reason: x.message, modules: 0 },
      );
      if (res.state === 'applied') {
        aRun = await p1.run(plan, opts, deadline);
        report.status = 'compared';
        report.detail = `applied (${res.modules} module instance(s))`;
      } else {
        report.status = 'apply-failed';
        report.detail = `${res.state}: ${res.reason ?? ''}`;
      }
    } else {
      report.status = 'refused';
      report.detail = `builder refused: ${p.bundle.refused}`;
    }
    const loadErrors = report.entries.filter((x) => x.error).map((x) => `${x.spec} (${x.how}): ${x.error}`);
    if (loadErrors.length) report.detail += `; not loaded: ${loadErrors.join('; ')}`;
    const runsSoFar = { ...(aRun ? { a: aRun } : {}), c, b1, b2, b1Again, b2Again };
    Object.assign(report, comparePair(plan, runsSoFar));
    // A diverged: again in a fresh process patched before its first call, to tell the patch from
    // state the unpatched code had left behind (classify.ts pre-patch-state).
    if (
      aRun &&
      Buffer.isBuffer(p.bundle) &&
      report.counts['patch-defect'] + report.counts['fix-not-applied'] > 0
    ) {
      const p4 = start(4);
      procs.push(p4);
      await p4.load(p.dir, entries, deadline);
      const res = await withDeadline(applyTo(p4.pid, p.bundle), deadline, 'apply');
      if (res.state === 'applied') {
        const aFresh = await p4.run(plan, opts, deadline);
        Object.assign(report, comparePair(plan, { ...runsSoFar, aFresh }));
      }
    }
  } catch (err) {
    report.status = err instanceof TimeoutError ? 'timeout' : 'error';
    report.detail = (err as Error).message.split('\n')[0]!.slice(0, 300);
  } finally {
    await Promise.all(procs.map((x) => x.stop()));
    report.ms = Date.now() - t0;
  }
  return report;
}
