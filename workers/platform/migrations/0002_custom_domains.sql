-- Tenants' own domains (Cloudflare for SaaS custom hostnames): which account a host name routes to,
-- and its status as Cloudflare last reported it. id is the custom hostname's id at Cloudflare.
CREATE TABLE domains (
  id TEXT PRIMARY KEY NOT NULL,
  body TEXT NOT NULL CHECK (json_valid(body)),
  hostname TEXT GENERATED ALWAYS AS (json_extract(body, '$.hostname')) VIRTUAL,
  account_id TEXT GENERATED ALWAYS AS (json_extract(body, '$.accountId')) VIRTUAL
);
CREATE UNIQUE INDEX domains_hostname ON domains (hostname);
CREATE INDEX domains_account ON domains (account_id, hostname);
