-- Vulnerability awareness (issue 11): known advisories in OSV format, matched against device inventories.
-- Numbered 011 to leave 003-010 to concurrent work on other tables.
CREATE TABLE advisories (
  id text PRIMARY KEY,
  aliases jsonb NOT NULL DEFAULT '[]',
  -- npm package names the record affects: the matcher loads only records for loaded packages.
  packages jsonb NOT NULL DEFAULT '[]',
  summary text NOT NULL DEFAULT '',
  modified timestamptz NOT NULL,
  published timestamptz,
  withdrawn timestamptz,
  record jsonb NOT NULL,
  source text NOT NULL,
  imported_at timestamptz NOT NULL DEFAULT now()
);
