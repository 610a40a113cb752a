import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { audit } from './audit.js';
import type { Database } from './db/types.js';
import { newId, newToken } from './secrets.js';

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
    await tx.query('SELECT pg_advisory_xact_lock(7245003)');
    const out: BootstrapResult = { adminTokenFile: null, enrollTokenFile: null };
    if ((await tx.query('SELECT 1 FROM policies WHERE is_default LIMIT 1')).length === 0) {
      await tx.query(
        'INSERT INTO policies (id, name, allow_hotpatch, rings, is_default) VALUES ($1, $2, true, $3, true)',
        [newId('pol_'), 'default', JSON.stringify([{ name: 'all', selector: {}, deferralDays: 0 }])],
      );
      await audit(tx, 'system', 'policy.create', 'default', { isDefault: true });
    }
    if ((await tx.query('SELECT 1 FROM api_tokens LIMIT 1')).length === 0) {
      const t = newToken('hpt');
      await tx.query(
        'INSERT INTO api_tokens (id, name, role, token_hash, created_by) VALUES ($1, $2, $3, $4, $5)',
        [t.id, 'initial-admin', 'admin', t.hash, 'system'],
      );
      out.adminTokenFile = join(dataDir, 'admin-token');
      writeFileSync(out.adminTokenFile, `${t.token}\n`, { mode: 0o600 });
      await audit(tx, 'system', 'token.create', t.id, { name: 'initial-admin', role: 'admin' });
    }
    if ((await tx.query('SELECT 1 FROM enroll_tokens LIMIT 1')).length === 0) {
      const t = newToken('hpe');
      await tx.query('INSERT INTO enroll_tokens (id, name, token_hash) VALUES ($1, $2, $3)', [
        t.id,
        'initial',
        t.hash,
      ]);
      out.enrollTokenFile = join(dataDir, 'enroll-token');
      writeFileSync(out.enrollTokenFile, `${t.token}\n`, { mode: 0o600 });
      await audit(tx, 'system', 'enroll-token.create', t.id, { name: 'initial' });
    }
    return out;
  });
}
