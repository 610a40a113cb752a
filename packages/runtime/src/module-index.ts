import { sep } from 'node:path';
import type { SourceType } from '@hotpatch/instrument';
import type { ModuleRecord } from './engines/types.js';
import { newRecord } from './inventory.js';

/** Every module instance the runtime can patch, by id, by file name and by slot holder. */
export class ModuleIndex {
  readonly records: ModuleRecord[] = [];
  readonly #byId = new Map<string, ModuleRecord>();
  /** Records by file name (last path part): an apply's plan looks at these, not at every module. */
  readonly #byName = new Map<string, ModuleRecord[]>();
  readonly #byHolder = new WeakMap<unknown[], ModuleRecord>();

  /** A new record for a module loading now (a second instance of a file gets `file#2`). */
  add(filename: string, sha: string, sourceType: SourceType, id = this.#uniqueId(filename)): ModuleRecord {
    const record = newRecord(id, filename, sha, sourceType);
    this.records.push(record);
    this.#byId.set(id, record);
    const name = lastPart(filename);
    const same = this.#byName.get(name);
    if (same) same.push(record);
    else this.#byName.set(name, [record]);
    return record;
  }

  byId(id: string): ModuleRecord | undefined {
    return this.#byId.get(id);
  }

  /** Records whose file name (last path part) is `name`. */
  named(name: string): readonly ModuleRecord[] {
    return this.#byName.get(name) ?? [];
  }

  /** The record a slot holder was made for (instrumented code passes its holder back). */
  byHolder(holder: unknown[]): ModuleRecord | undefined {
    return this.#byHolder.get(holder);
  }

  setHolder(record: ModuleRecord, holder: unknown[]): void {
    record.holder = holder;
    this.#byHolder.set(holder, record);
  }

  #uniqueId(filename: string): string {
    let id = filename;
    for (let n = 2; this.#byId.has(id); n++) id = `${filename}#${n}`;
    return id;
  }
}

/** The last part of a path, '/'- or platform-separated. */
export function lastPart(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf(sep)) + 1);
}
