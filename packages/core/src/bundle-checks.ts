import type { BundlePayload, FilePatch, Migration } from './bundle.js';
import { sha256 } from './hash.js';

/**
 * Checks of a bundle's structure the JSON schema cannot express. A bundle that passes them can be
 * planned file by file without surprises: no two entries for one file, edits in order, every
 * redirect replacement backed by a live change. Runtimes and the server's catalog both refuse a
 * bundle that fails them, before anything is changed or stored. Pure: returns the first problem.
 */
export function bundleProblem(payload: BundlePayload): string | null {
  if (payload.supersedes.includes(payload.patchId)) return `patch ${payload.patchId} supersedes itself`;
  const paths = new Set<string>();
  for (const [i, file] of payload.files.entries()) {
    const where = `files[${i}] (${file.path})`;
    if (paths.has(file.path)) return `${where}: a second entry for the same file`;
    paths.add(file.path);
    const pathProblem = relativePathProblem(file.path);
    if (pathProblem) return `${where}: path ${pathProblem}`;
    const problem = fileProblem(file);
    if (problem) return `${where}: ${problem}`;
  }
  for (const [i, file] of payload.newFiles.entries()) {
    const where = `newFiles[${i}] (${file.path})`;
    if (paths.has(file.path)) return `${where}: a second entry for the same file`;
    paths.add(file.path);
    const pathProblem = relativePathProblem(file.path);
    if (pathProblem) return `${where}: path ${pathProblem}`;
    if (sha256(file.source) !== file.sha256) return `${where}: source does not match its sha256`;
  }
  return null;
}

function relativePathProblem(path: string): string | null {
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'is absolute';
  if (path.includes('\\')) return 'uses backslashes';
  if (path.split('/').some((part) => part === '' || part === '.' || part === '..'))
    return 'has an empty, . or .. segment';
  return null;
}

function fileProblem(file: FilePatch): string | null {
  if (file.functions.length === 0 && file.migrations.length === 0)
    return 'changes nothing (no replacement functions, no migrations)';
  let last = 0;
  for (const [k, edit] of file.edits.entries()) {
    if (edit.end < edit.start) return `edit ${k} ends (${edit.end}) before it starts (${edit.start})`;
    if (edit.start < last) return `edit ${k} overlaps the one before or is out of order`;
    last = edit.end;
  }
  const live = new Set(file.changes.filter((c) => c.verdict === 'live').map((c) => c.name));
  const keys = new Set<string>();
  for (const fn of file.functions) {
    if (keys.has(fn.key)) return `two replacements for function ${fn.key}`;
    keys.add(fn.key);
    if (!live.has(fn.key)) return `replacement for ${fn.key}, which no live change names`;
  }
  for (const [k, m] of file.migrations.entries()) {
    const problem = migrationProblem(m);
    if (problem) return `migration ${k} (${m.kind}): ${problem}`;
  }
  if (file.liveEdit === null) {
    if (file.edits.length === 0) return 'no edits for LiveEdit, and no reason why LiveEdit cannot take it';
    if (file.functions.length === 0)
      return 'edits without replacement functions (the redirect engine would change nothing)';
  } else if (file.edits.length > 0) return 'edits for LiveEdit, which the bundle says cannot take it';
  return null;
}

function migrationProblem(m: Migration): string | null {
  switch (m.kind) {
    case 'cell':
    case 'import':
      return m.key ? null : 'no key';
    case 'assign':
    case 'define':
    case 'delete':
      return m.target && m.key ? null : 'no target or key';
    case 'rerun':
      return null;
    case 'reset':
      return m.target && /^[A-Za-z_$][\w$]*$/.test(m.target) ? null : 'no variable to reset';
    case 'recompile':
      if (!m.target || !/^[A-Za-z_$][\w$]*$/.test(m.target)) return 'no variable to recompile';
      return m.revert ? null : 'no baseline expression (revert) to check the running object against';
    case 'script':
      return m.author ? null : 'a script not marked as written by the patch author';
  }
}
