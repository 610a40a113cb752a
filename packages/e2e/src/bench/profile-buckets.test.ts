import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketOf, bucketsOf } from './profile-buckets.js';

const root = '/repo/packages/runtime/';

describe('start-up profile buckets', () => {
  const cases: Array<[string, string, string | null]> = [
    ['(idle)', '', null],
    ['(garbage collector)', '', 'garbage collection'],
    ['(program)', '', 'V8 and native (compiling, parsing, builtins)'],
    ['install', 'file:///repo/packages/runtime/dist/bundle/runtime.cjs', 'the runtime: runtime.cjs'],
    ['x', 'file:///srv/app/node_modules/@hotpatch/runtime/dist/bundle/heavy.cjs', 'the runtime: heavy.cjs'],
    ['Module._load', 'node:internal/modules/cjs/loader', "Node's module loader"],
    ['listen', 'node:net', 'Node built-ins'],
    [
      'handle',
      'file:///srv/app/node_modules/express/lib/router/index.js',
      "the app's own code (Express, Fastify, its modules)",
    ],
    ['', '', 'eval and unnamed code (the modules’ gates, compiled text)'],
  ];
  for (const [functionName, url, bucket] of cases)
    it(`${functionName || '(anonymous)'} ${url || '(no url)'} → ${bucket}`, () => {
      assert.equal(bucketOf({ functionName, url }, root), bucket);
    });

  it('adds each sample’s time delta to its node’s bucket, idle left out', () => {
    const profile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(garbage collector)', url: '' } },
        {
          id: 2,
          callFrame: {
            functionName: 'install',
            url: 'file:///repo/packages/runtime/dist/bundle/runtime.cjs',
          },
        },
        { id: 3, callFrame: { functionName: '(idle)', url: '' } },
      ],
      samples: [1, 2, 2, 3],
      timeDeltas: [1000, 2000, 500, 9000],
    };
    assert.deepEqual(Object.fromEntries(bucketsOf(profile, root)), {
      'garbage collection': 1,
      'the runtime: runtime.cjs': 2.5,
    });
  });
});
