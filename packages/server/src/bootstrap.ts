import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from './db/types.js';
import { newId, newToken } from './secrets.js';
import { audit } from './store/audit.js';
import { lock } from './store/locks.js';
import { hasDefaultPolicy, insertPolicy } from './store/policies.js';
import { anyToken, insertApiToken, insertEnrollToken } from './store/tokens.js';

export interface BootstrapResult {
  adminTokenFile: string | null;
  enrollTokenFile: string | null;
}

/**
 * First start: an admin token, an enrollment token (written 0600 into the data directory) and
 * the tenant default policy. Replicas starting together serialize on an advisory lock; only the
 * first creates anything.
 */
export async function bootstrap(db: Database, dataDir: string): Promise<BootstrapResult> {
  return db.transaction(async (tx) => {
    await lock(tx, 'bootstrap');
    const out: BootstrapResult = { adminTokenFile: null, enrollTokenFile: null };
    if (!(await hasDefaultPolicy(tx))) {
      await insertPolicy(tx, {
        id: newId('pol_'),
        name: 'default',
        allowHotpatch: true,
        rings: [{ name: 'all', selector: {}, deferralDays: 0 }],
        deadlineDays: 7,
        rollback: {},
        isDefault: true,
        health: null,
      });
      await audit(tx, 'system', 'policy.create', 'default', { isDefault: true });
    }
    if (!(await anyToken(tx, 'api'))) {
      const t = newToken('hpt');
      await insertApiToken(tx, {
        id: t.id,
        name: 'initial-admin',
        role: 'admin',
        hash: t.hash,
        createdBy: 'system',
      });
      out.adminTokenFile = join(dataDir, 'admin-token');
      writeFileSync(out.adminTokenFile, `${t.token}\n`, { mode: 0o600 });
      await audit(tx, 'system', 'token.create', t.id, { name: 'initial-admin', role: 'admin' });
    }
    if (!(await anyToken(tx, 'enroll'))) {
      const t = newToken('hpe');
      await insertEnrollToken(tx, {
        id: t.id,
        name: 'initial',
        hash: t.hash,
        labels: {},
        allowDeviceLabels: false,
      });
      out.enrollTokenFile = join(dataDir, 'enroll-token');
      writeFileSync(out.enrollTokenFile, `${t.token}\n`, { mode: 0o600 });
      await audit(tx, 'system', 'enroll-token.create', t.id, { name: 'initial' });
    }
    return out;
  });
}
