-- Hotpatch control plane, schema 1. Timestamps are timestamptz; documents are jsonb.
CREATE TABLE api_tokens (
  id text PRIMARY KEY,
  name text NOT NULL,
  role text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
  token_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text,
  revoked_at timestamptz
);
CREATE TABLE enroll_tokens (
  id text PRIMARY KEY,
  name text NOT NULL,
  token_hash text NOT NULL,
  labels jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE TABLE policies (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  allow_hotpatch boolean NOT NULL,
  rings jsonb NOT NULL,
  deadline_days integer NOT NULL DEFAULT 7,
  paused boolean NOT NULL DEFAULT false,
  rollback jsonb NOT NULL DEFAULT '{}',
  is_default boolean NOT NULL DEFAULT false,
  position serial,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE devices (
  id text PRIMARY KEY,
  host text NOT NULL,
  service text NOT NULL,
  labels jsonb NOT NULL DEFAULT '{}',
  policy_id text REFERENCES policies (id) ON DELETE SET NULL,
  enrolled_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  last_seen timestamptz,
  connected boolean NOT NULL DEFAULT false,
  facts jsonb,
  UNIQUE (host, service)
);
CREATE TABLE device_credentials (
  id text PRIMARY KEY,
  device_id text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  token_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE TABLE instances (
  id bigserial PRIMARY KEY,
  device_id text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  pid integer NOT NULL,
  started_at timestamptz NOT NULL,
  first_seen timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz NOT NULL DEFAULT now(),
  node text,
  UNIQUE (device_id, pid, started_at)
);
CREATE TABLE baselines (
  target text NOT NULL,
  version text NOT NULL,
  is_current boolean NOT NULL DEFAULT false,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (target, version)
);
CREATE TABLE bundles (
  patch_id text PRIMARY KEY,
  version text NOT NULL,
  level integer NOT NULL,
  title text NOT NULL,
  severity text NOT NULL,
  advisories jsonb NOT NULL,
  target_name text NOT NULL,
  target_baseline text NOT NULL,
  fixed_in text,
  files jsonb NOT NULL,
  key_id text NOT NULL,
  sha256 text NOT NULL,
  body text NOT NULL,
  published_at timestamptz NOT NULL DEFAULT now(),
  published_by text NOT NULL,
  advisory_published_at timestamptz
);
CREATE TABLE deployments (
  id text PRIMARY KEY,
  patch_id text NOT NULL REFERENCES bundles (patch_id),
  policy_id text NOT NULL REFERENCES policies (id),
  state text NOT NULL CHECK (state IN ('active', 'reverted')),
  expedite boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL,
  reverted_at timestamptz,
  revert_reason text
);
CREATE UNIQUE INDEX deployments_one_active ON deployments (patch_id, policy_id) WHERE state = 'active';
CREATE TABLE deployment_devices (
  deployment_id text NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
  device_id text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  state text NOT NULL,
  ring text,
  reason text,
  action text,
  scheduled_for timestamptz,
  instance_id bigint,
  errors integer NOT NULL DEFAULT 0,
  applied_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (deployment_id, device_id)
);
CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  subject text NOT NULL,
  detail jsonb NOT NULL DEFAULT '{}'
);
