-- Clients of the firm. The record is the JSON body; generated columns exist only for fields that
-- are queried, filtered or sorted, and each has an index.
CREATE TABLE clients (
  id TEXT PRIMARY KEY NOT NULL,
  body TEXT NOT NULL CHECK (json_valid(body)),
  name TEXT GENERATED ALWAYS AS (json_extract(body, '$.name')) VIRTUAL,
  status TEXT GENERATED ALWAYS AS (json_extract(body, '$.status')) VIRTUAL,
  created_at TEXT GENERATED ALWAYS AS (json_extract(body, '$.tracking.createdAt')) VIRTUAL
);
CREATE INDEX clients_name ON clients (name, id);
CREATE INDEX clients_status ON clients (status, name, id);
CREATE INDEX clients_created_at ON clients (created_at, id);
