import { type Change, changeOf, type FilePatch, type NewFile } from '@hotpatch/core';

/**
 * A property the fix adds to an object literal handed on at load is left off the running object
 * (diff/added-properties.ts, `property-added-unused`) only while no code the hotpatch runs reads
 * a property of that name: a replacement, a migration or a carried new file of any file of the
 * package (the object travels: a prototype reaches every caller). Reads are found by name
 * (`.name`, `?.name`, `['name']`): a match on an unrelated object also refuses, which errs on the
 * side of a restart.
 */
export function checkAddedProperties(
  changes: Array<Change & { file: string }>,
  patches: FilePatch[],
  newFiles: NewFile[],
): void {
  const code = [
    ...patches.flatMap((p) => [...p.functions.map((f) => f.source), ...p.migrations.map((m) => m.source)]),
    ...newFiles.map((f) => f.source),
  ].join('\n');
  for (const [i, c] of changes.entries()) {
    if (c.id !== 'property-added-unused' || !readsProperty(code, c.name)) continue;
    changes[i] = { ...changeOf('property-added-needed', c.name, {}, c.line), file: c.file };
  }
}

function readsProperty(code: string, name: string): boolean {
  const id = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?:\\?\\.|\\.)\\s*${id}(?![\\w$])|\\[\\s*(['"\`])${id}\\1\\s*\\]`).test(code);
}
