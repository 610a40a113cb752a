import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { debuglog } from 'node:util';
import * as vm from 'node:vm';
import { isMainThread } from 'node:worker_threads';
import { writeFileAtomic } from './atomic-file.js';
import { fnv1a } from './code-cache.js';
import { type Crc32, zlibCrc32 } from './crc32.js';

/**
 * A V8 code cache for the instrumented CommonJS modules, where Node has no module compile cache
 * (Node 20, and 22 before 22.8): compiling the instrumented text at every start was the largest
 * part of what the runtime added to a service's start there (BENCHMARKS.md §3). The runtime
 * compiles a module's wrapped text itself, as a `vm.Script` with V8's cached data, and Node's
 * loader runs it through a one-line stub (`compileThrough`), so that `require`, `module`, the
 * loader's state and errors stay Node's own.
 *
 * - Which entry: V8 checks a cache's version, flags and the source's length, not the source, so an
 *   entry is named by the text compiled: the sha256 of the module's source (computed for every
 *   module already: the baseline a patch names), the CRC-32 and the length of the instrumented
 *   text (what the instrumentation made of that source, the module's id in it), in a directory
 *   per Node version, architecture and the process's flags (V8 rejects a cache made under other
 *   flags). A second sha256, of the instrumented text, cost 12.8 ms for this repository's
 *   1,131-module benchmark app (2 MB), its CRC-32 1 ms (BENCHMARKS.md §3, fifth pass).
 * - Whole or not at all: written atomically, and each entry carries a CRC-32 of V8's data, checked
 *   before V8 sees it (V8 checks no checksum of a code cache in a release build: a corrupt one would
 *   run). Anything wrong (missing, corrupt, rejected by V8, unwritable home) only costs the compile.
 * - When: entries missing or rejected are written once start-up settles (no module compiled for a
 *   second), or at exit if sooner, with `createCachedData()`: by then they hold the functions
 *   start-up compiled lazily, not only the top level. Only the main thread writes.
 * - Stack traces and the inspector see the module's own file: the script is named by it, and the
 *   wrapper is on a line of its own compiled at line offset -1 (every line and column is where
 *   Node's own compile puts it).
 * - No import() in these scripts: Node 20's V8 (11.3) drops a script's host-defined options when it
 *   comes from a code cache, so its import() throws ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING (seen
 *   from a second process; 22+ keep them), and vm's public way to Node's loader
 *   (USE_MAIN_CONTEXT_DEFAULT_LOADER) prints an ExperimentalWarning into the service's stderr. So a
 *   module that may call import() (its text says so: dynamic-import.ts) is compiled by Node, as are
 *   modules loading while an active patch may call import(); a patch that may, for a module
 *   compiled here, is refused and the module's entry declined (a restart then compiles it by Node).
 * Where this is not used, Node compiles the module as before: source maps on (vm.Script would not
 * register the module's map), --inspect-brk (Node pauses at the module it runs), no zlib.crc32.
 * NODE_DEBUG=hotpatch logs each module's cache state.
 */
const FORMAT = 1;
const MAGIC = 0x68706331; // "hpc1"
const HEADER = 12; // magic, CRC-32 of the data, length of the data (uint32 LE each)
/** Node's CommonJS wrapper's parameters, on a line of their own (compiled at line offset -1). */
const HEAD = '(function (exports, require, module, __filename, __dirname) {\n';
const TAIL = '\n})';
/** Start-up has settled when a period this long compiled no module. */
const SETTLE_MS = 1000;
/** Longest a turn of the event loop spends writing entries (the rest waits for the next turn). */
const WRITE_BUDGET_MS = 10;

const debug = debuglog('hotpatch');
export type CacheState = 'accepted' | 'missing' | 'corrupt' | 'rejected';

/** The text compiled for a module: Node's wrapper around its code, the code's lines unmoved. */
export function wrapModule(code: string): string {
  return HEAD + code + TAIL;
}

/** An entry's bytes: a header (magic, CRC-32 and length of V8's data), then the data. */
export function sealEntry(data: Uint8Array, crc: Crc32): Buffer {
  const out = Buffer.allocUnsafe(HEADER + data.length);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(crc(data) >>> 0, 4);
  out.writeUInt32LE(data.length, 8);
  out.set(data, HEADER);
  return out;
}

/** V8's data from an entry's bytes, or null when they are not a whole, intact entry. */
export function openEntry(bytes: Buffer, crc: Crc32): Buffer | null {
  if (bytes.length < HEADER || bytes.readUInt32LE(0) !== MAGIC) return null;
  if (bytes.readUInt32LE(8) !== bytes.length - HEADER) return null;
  const data = bytes.subarray(HEADER);
  return crc(data) >>> 0 === bytes.readUInt32LE(4) ? data : null;
}

/**
 * The directory of this process's entries: V8 rejects a cache made by another V8 or under other
 * flags, so each Node version, architecture and set of flags keeps its own.
 */
export function cacheDirectory(home: string): string {
  const flags = [process.version, process.arch, process.execArgv.join(' '), process.env.NODE_OPTIONS ?? ''];
  return join(
    home,
    'compiled',
    `cjs${FORMAT}-${process.version}-${process.arch}-${fnv1a(flags.join('\u0000'))}`,
  );
}

/** Whether a module's code may be compiled here rather than by Node (see the file's comment). */
export function compilesHere(mayImport: boolean): boolean {
  if (!zlibCrc32()) return false;
  if ((process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled) return false;
  return !mayImport && !inspectBrk;
}
const inspectBrk = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((o) =>
  o.startsWith('--inspect-brk'),
);

interface Unwritten {
  script: vm.Script;
  file: string;
}
const unwritten: Unwritten[] = [];
let timer: NodeJS.Timeout | null = null;
let compiles = 0;
let exitHook = false;

/**
 * The module's wrapper function, compiled from its entry in `dir` where there is a good one
 * (an entry missing or refused is written later); null when the entry was declined (Node
 * compiles the module). Throws what V8 throws for text it cannot compile.
 */
export function compileModule(
  code: string,
  filename: string,
  sourceSha: string,
  dir: string,
): { wrapper: (...args: unknown[]) => unknown; state: CacheState; entry: string } | null {
  const entry = join(dir, entryName(sourceSha, code, zlibCrc32()!));
  let cachedData: Buffer | undefined;
  let state: CacheState = 'missing';
  try {
    const data = openEntry(readFileSync(entry), zlibCrc32()!);
    if (data?.length === 0) {
      debug('%s: code cache declined', filename);
      return null;
    }
    cachedData = data ?? undefined;
    if (!cachedData) state = 'corrupt';
  } catch {
    // none yet (or unreadable): compiled from the text
  }
  const script = new vm.Script(wrapModule(code), { filename, lineOffset: -1, cachedData });
  if (cachedData) state = script.cachedDataRejected ? 'rejected' : 'accepted';
  debug('%s: code cache %s', filename, state);
  if (state !== 'accepted' && isMainThread) writeLater({ script, file: entry });
  else noteCompile();
  return { wrapper: script.runInThisContext() as (...args: unknown[]) => unknown, state, entry };
}

/** An entry's file name: the module's source (its sha256) and the text compiled from it. */
export function entryName(sourceSha: string, code: string, crc: Crc32): string {
  return `${sourceSha}-${(crc(code) >>> 0).toString(16).padStart(8, '0')}-${code.length}.bin`;
}

/** From now on, the module of this entry is compiled by Node (an empty entry says so). Never throws. */
export function declineEntry(entry: string): void {
  try {
    writeFileAtomic(entry, sealEntry(new Uint8Array(0), zlibCrc32()!));
  } catch {
    // an unwritable home: the next start compiles it here again, and the patch is refused again
  }
}

/** Queues an entry; the queue is written once start-up settles (or at exit). */
function writeLater(entry: Unwritten): void {
  unwritten.push(entry);
  noteCompile();
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => writeEntries(Number.POSITIVE_INFINITY));
  }
}

/** Counts a compile; a period of SETTLE_MS without one is the end of start-up's burst. */
function noteCompile(): void {
  compiles++;
  if (timer || unwritten.length === 0) return;
  timer = setTimeout(function check() {
    if (compiles > 0) {
      compiles = 0;
      timer = setTimeout(check, SETTLE_MS).unref();
      return;
    }
    timer = null;
    writeInTurns();
  }, SETTLE_MS).unref();
}

/** Writes the queue a budget at a time, so no turn of the event loop stalls long. */
function writeInTurns(): void {
  if (writeEntries(WRITE_BUDGET_MS)) setImmediate(writeInTurns).unref();
}

/** Writes queued entries for up to `budgetMs`; true when some are left. Never throws. */
function writeEntries(budgetMs: number): boolean {
  const until = performance.now() + budgetMs;
  let made = false;
  while (unwritten.length > 0 && performance.now() < until) {
    const { script, file } = unwritten.shift()!;
    try {
      if (!made) mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      made = true;
      writeFileAtomic(file, sealEntry(script.createCachedData(), zlibCrc32()!));
    } catch {
      // an unwritable or full home only costs the compile at the next start (no partial file)
    }
  }
  return unwritten.length > 0;
}

/** The wrapper the next stub runs (set just around Node's compile of the stub). */
let pending: ((...args: unknown[]) => unknown) | null = null;

/** The wrapper for the stub to call (taken, so that it runs once). */
export function takePending(): (...args: unknown[]) => unknown {
  const wrapper = pending;
  pending = null;
  if (!wrapper) throw new Error('hotpatch: no compiled module to run');
  return wrapper;
}

/**
 * Runs `wrapper` as a module through Node's own compile of a one-line stub that calls it with
 * Node's `this`, `require`, `module` and the rest: the loader's state and errors stay Node's.
 * The stub takes the wrapper first and then calls it, so a stack trace through a module's top
 * level has one frame more than Node's own, the stub's, at line 1 of the same file.
 */
export function compileThrough(
  compileStub: (stub: string) => unknown,
  global: string,
  wrapper: (...args: unknown[]) => unknown,
): unknown {
  pending = wrapper;
  try {
    return compileStub(`return Reflect.apply(${global}.compiled(), this, arguments);`);
  } finally {
    pending = null;
  }
}
