import { type Change, changeOf, type FilePatch, type NewFile } from '@hotpatch/core';

/**
 * A property the fix adds to an object literal handed on at load is left off the running object
 * (diff/added-properties.ts, `property-added-unused`) only when leaving it off cannot change what
 * running code does: it is new API and nothing the hotpatch runs needs it. Otherwise the build is
 * refused (`property-added-needed`), naming why:
 *  - a name the language or the platform calls by itself (`toJSON`, `then`, `toString`, a name
 *    every object inherits, …): the fix may be that very hook (`toJSON` redacting a secret);
 *  - a name the running release already mentions: the new property may override one the object
 *    inherits or gets elsewhere (a subclass's fixed `format` over its parent's);
 *  - a name code the hotpatch runs reads (a replacement, a migration or a carried new file of any
 *    file of the package: the object travels, a prototype reaches every caller).
 * Names are matched as words, whatever object they belong to: a match on an unrelated object also
 * refuses, which errs on the side of a restart.
 */
export function checkAddedProperties(
  changes: Array<Change & { file: string }>,
  patches: FilePatch[],
  newFiles: NewFile[],
  runningCode: () => string,
): void {
  if (!changes.some((c) => c.id === 'property-added-unused')) return;
  const patchCode = [
    ...patches.flatMap((p) => [...p.functions.map((f) => f.source), ...p.migrations.map((m) => m.source)]),
    ...newFiles.map((f) => f.source),
  ].join('\n');
  const running = runningCode();
  for (const [i, c] of changes.entries()) {
    if (c.id !== 'property-added-unused') continue;
    const why = protocolName(c.name)
      ? 'a name the language or the platform calls by itself, and the fix may be that very hook'
      : mentions(running, c.name)
        ? 'the running release already has a property of that name, which the new one may override'
        : readsProperty(patchCode, c.name)
          ? 'patched code reads a property of that name'
          : null;
    if (why)
      changes[i] = { ...changeOf('property-added-needed', c.name, { detail: why }, c.line), file: c.file };
  }
}

/** Hooks that running code reaches without naming them (JSON, promises, iteration, util.inspect, conversions). */
const HOOKS = new Set([
  'toJSON',
  'then',
  'catch',
  'finally',
  'next',
  'return',
  'throw',
  'inspect',
  'length',
  'name',
  'message',
  'stack',
  'cause',
  'prototype',
  'default',
  '__proto__',
]);

function protocolName(name: string): boolean {
  return (
    HOOKS.has(name) ||
    name in Object.prototype ||
    name in Function.prototype ||
    name in Array.prototype ||
    name in Promise.prototype ||
    name in Error.prototype
  );
}

const literal = (name: string) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `name` as a word anywhere (an identifier, a key, inside a string). */
function mentions(code: string, name: string): boolean {
  return new RegExp(`(?<![\\w$])${literal(name)}(?![\\w$])`).test(code);
}

/** The pattern of a read of property `name`: `.name`, `?.name` or `['name']`. */
const access = (name: string) => {
  const id = literal(name);
  return `(?:\\?\\.|\\.)\\s*${id}(?![\\w$])|\\[\\s*(['"\`])${id}\\1\\s*\\]`;
};

/** `.name`, `?.name` or `['name']`. */
function readsProperty(code: string, name: string): boolean {
  return new RegExp(access(name)).test(code);
}

/** `object.name`, `object?.name` or `object['name']`, `object` as a word. */
export function readsMember(code: string, object: string, name: string): boolean {
  return new RegExp(`(?<![\\w$])${literal(object)}\\s*(?:${access(name)})`).test(code);
}
