import type { OsvRecord } from '@hotpatch/protocol';

/** CVE-2021-44906 as the GitHub Advisory Database publishes it (OSV). */
export const MINIMIST_OSV: OsvRecord = {
  id: 'GHSA-xvch-5gv4-984h',
  aliases: ['CVE-2021-44906'],
  modified: '2024-03-01T00:00:00Z',
  published: '2022-03-18T00:00:31Z',
  summary: 'Prototype Pollution in minimist',
  affected: [
    {
      package: { ecosystem: 'npm', name: 'minimist' },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '0.2.4' }] }],
    },
    {
      package: { ecosystem: 'npm', name: 'minimist' },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '1.0.0' }, { fixed: '1.2.6' }] }],
    },
  ],
};
