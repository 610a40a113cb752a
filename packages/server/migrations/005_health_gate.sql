-- Health-gated rings (issue 14): the policy's gate, a deployment halted by it, and each device's
-- before/after health report with the verdict.
ALTER TABLE policies ADD COLUMN health jsonb;
ALTER TABLE deployments ADD COLUMN halted_at timestamptz;
ALTER TABLE deployments ADD COLUMN halt_reason text;
CREATE TABLE deployment_health (
  deployment_id text NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
  device_id text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  ring text,
  verdict text NOT NULL CHECK (verdict IN ('pass', 'fail', 'inconclusive')),
  breaches jsonb NOT NULL DEFAULT '[]',
  before jsonb NOT NULL,
  after jsonb NOT NULL,
  reported_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (deployment_id, device_id)
);
