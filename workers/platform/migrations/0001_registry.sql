-- The shared D1: registry data only. No client, user, case or document data lives here.
CREATE TABLE accounts (
  id TEXT PRIMARY KEY NOT NULL,
  body TEXT NOT NULL CHECK (json_valid(body)),
  slug TEXT GENERATED ALWAYS AS (json_extract(body, '$.slug')) VIRTUAL,
  status TEXT GENERATED ALWAYS AS (json_extract(body, '$.status')) VIRTUAL
);
CREATE UNIQUE INDEX accounts_slug ON accounts (slug);
CREATE INDEX accounts_status ON accounts (status);

CREATE TABLE providers (
  id TEXT PRIMARY KEY NOT NULL,
  body TEXT NOT NULL CHECK (json_valid(body)),
  category TEXT GENERATED ALWAYS AS (json_extract(body, '$.category')) VIRTUAL,
  region TEXT GENERATED ALWAYS AS (json_extract(body, '$.region')) VIRTUAL,
  name TEXT GENERATED ALWAYS AS (json_extract(body, '$.name')) VIRTUAL
);
CREATE INDEX providers_category_region ON providers (category, region, name);
