import type { CalendarOptions, TrustStore } from '@hotpatch/core';
import type { Actor, Role } from '@hotpatch/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from './db/types.js';
import type { Bus } from './fleet/bus.js';
import type { Hub } from './fleet/hub.js';

// Roles and the actor are the protocol's (the /v1/me view).
export type { Actor, Role };
export const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** What every route plugin gets. */
export interface Ctx {
  db: Database;
  bus: Bus;
  hub: Hub;
  trust: TrustStore;
  dataDir: string;
  calendar: CalendarOptions;
  /** onRequest hook (runs before the body is read) requiring an API token with at least this role; sets request.actor. */
  requireRole(role: Role): (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
  }
}

export function actorName(req: FastifyRequest): string {
  return req.actor ? `${req.actor.name} (${req.actor.tokenId})` : 'anonymous';
}
