-- Issue 11: each device's status and the columns the Devices list sorts and filters on, kept with
-- the device so that a page of 10,000 devices is one indexed query that reads no facts.
-- Written by src/fleet/status-columns.ts. A device is stale while status_clean < status_dirty:
-- whatever changes a status input bumps status_dirty; a refresh writes the dirty value it computed
-- from into status_clean. New rows start stale (1 > 0), whichever path inserts them.
ALTER TABLE devices ADD COLUMN status_dirty integer NOT NULL DEFAULT 1;
ALTER TABLE devices ADD COLUMN status_clean integer NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN status_kind text;
ALTER TABLE devices ADD COLUMN status_rank integer;
ALTER TABLE devices ADD COLUMN status_label text;
ALTER TABLE devices ADD COLUMN status_cves jsonb;
ALTER TABLE devices ADD COLUMN status_action text;
ALTER TABLE devices ADD COLUMN status_vulnerable boolean;
ALTER TABLE devices ADD COLUMN status_eligible boolean;
ALTER TABLE devices ADD COLUMN status_reasons jsonb;
ALTER TABLE devices ADD COLUMN status_policy text;
ALTER TABLE devices ADD COLUMN status_ring text;
-- From the facts, what device eligibility reads (fleet-wide reports read these, not the facts).
ALTER TABLE devices ADD COLUMN status_node text;
ALTER TABLE devices ADD COLUMN status_engine text;
ALTER TABLE devices ADD COLUMN status_signature_enforcement boolean;
-- Loaded npm packages, {"name": ["version", ...]}: which devices an advisory or a hotpatch concerns.
ALTER TABLE devices ADD COLUMN status_versions jsonb;
-- Lower-cased search text (id, host, service, policy, label, labels, CVE ids), and the name sort key.
ALTER TABLE devices ADD COLUMN status_search text;
ALTER TABLE devices ADD COLUMN sort_name text COLLATE "C";
CREATE INDEX devices_status_stale ON devices (id) WHERE status_clean < status_dirty;
CREATE INDEX devices_by_status ON devices (status_rank, sort_name);
CREATE INDEX devices_by_name ON devices (sort_name);
CREATE INDEX devices_by_last_seen ON devices (last_seen);
-- Facts (kilobytes per device) out of the heap rows: list scans and status writes stay small;
-- the columns every list query reads stay plain (not compressed).
ALTER TABLE devices SET (toast_tuple_target = 256);
ALTER TABLE devices ALTER COLUMN status_search SET STORAGE PLAIN;
ALTER TABLE devices ALTER COLUMN sort_name SET STORAGE PLAIN
