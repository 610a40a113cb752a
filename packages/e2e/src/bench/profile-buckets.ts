import { fileURLToPath } from 'node:url';

/** A V8 CPU profile (`--cpu-prof`), the parts read here. */
export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The bucket of a sample, by where its code is. */
export function bucketOf(frame: { functionName: string; url: string }, runtimeRoot: string): string | null {
  const { url, functionName } = frame;
  if (functionName === '(idle)') return null;
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(program)' || functionName === '(root)')
    return 'V8 and native (compiling, parsing, builtins)';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (path.startsWith(runtimeRoot) || path.includes('/@hotpatch/')) {
    const file = path.split('/').pop() ?? path;
    return `the runtime: ${file}`;
  }
  if (path.startsWith('node:internal/modules')) return "Node's module loader";
  if (path.startsWith('node:')) return 'Node built-ins';
  if (path.includes('/gen/') || path.includes('/node_modules/') || path.endsWith('small-app.cjs'))
    return "the app's own code (Express, Fastify, its modules)";
  return path === '' ? 'eval and unnamed code (the modules’ gates, compiled text)' : 'other';
}

/** Self time (ms) per bucket of one profile. */
export function bucketsOf(profile: Profile, runtimeRoot: string): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const out = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const bucket = node ? bucketOf(node.callFrame, runtimeRoot) : null;
    if (bucket) out.set(bucket, (out.get(bucket) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return out;
}
