-- Hardening (issue 13): replica liveness, what was sent to which device, enrollment label rules.
CREATE TABLE replicas (
  id text PRIMARY KEY,
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);
-- The replica holding a connected device's channel; its heartbeat expiring means disconnected.
ALTER TABLE devices ADD COLUMN replica_id text;
-- When the server sent this deployment (deploy or revert) to the device: only then are the device's reports accepted.
ALTER TABLE deployment_devices ADD COLUMN sent_at timestamptz;
-- Whether devices enrolling with this token may add labels of their own (never override the token's).
ALTER TABLE enroll_tokens ADD COLUMN allow_device_labels boolean NOT NULL DEFAULT false;
-- The liveness sweep looks only at connected devices.
CREATE INDEX devices_connected_replica ON devices (replica_id) WHERE connected;
