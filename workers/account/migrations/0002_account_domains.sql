-- Every tenant domain of an account. Each table: id, the record as JSON in body, generated columns
-- only for fields that are queried, filtered or sorted, and an index for each of those.
-- Tracking fields (accountId, createdAt/By, updatedAt/By, version, deletedAt) live in body.tracking.

-- Clients: more queried fields than 0001 had, and soft delete.
ALTER TABLE clients ADD COLUMN email TEXT GENERATED ALWAYS AS (json_extract(body, '$.email')) VIRTUAL;
ALTER TABLE clients ADD COLUMN assigned_to TEXT GENERATED ALWAYS AS (json_extract(body, '$.assignedTo')) VIRTUAL;
ALTER TABLE clients ADD COLUMN updated_at TEXT GENERATED ALWAYS AS (json_extract(body, '$.tracking.updatedAt')) VIRTUAL;
ALTER TABLE clients ADD COLUMN deleted_at TEXT GENERATED ALWAYS AS (json_extract(body, '$.tracking.deletedAt')) VIRTUAL;
DROP INDEX clients_name;
DROP INDEX clients_status;
DROP INDEX clients_created_at;
CREATE INDEX clients_live_name ON clients (deleted_at, name, id);
CREATE INDEX clients_live_status_name ON clients (deleted_at, status, name, id);
CREATE INDEX clients_live_created_at ON clients (deleted_at, created_at, id);
CREATE INDEX clients_live_updated_at ON clients (deleted_at, updated_at, id);
CREATE INDEX clients_email ON clients (email, name, id);
CREATE INDEX clients_assigned_to ON clients (assigned_to, name, id);

-- Admin
CREATE TABLE users (
  id TEXT PRIMARY KEY NOT NULL,
  body TEXT NOT NULL CHECK (json_valid(body)),
  email TEXT GENERATED ALWAYS AS (json_extract(body, '$.email')) VIRTUAL,
  name TEXT GENERATED ALWAYS AS (json_extract(body, '$.name')) VIRTUAL,
  role TEXT GENERATED ALWAYS AS (json_extract(body, '$.role')) VIRTUAL,
  status TEXT GENERATED ALWAYS AS (json_extract(body, '$.status')) VIRTUAL
);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_name ON users (name, id);
CREATE INDEX users_role ON users (role, name, id);
CREATE INDEX users_status ON users (status, name, id);

CREATE TABLE groups (
  id TEXT PRIMARY KEY NOT NULL,
  body TEXT NOT NULL CHECK (json_valid(body)),
  name TEXT GENERATED ALWAYS AS (json_extract(body, '$.name')) VIRTUAL
);
CREATE UNIQUE INDEX groups_name ON groups (name);
CREATE INDEX groups_name_page ON groups (name, id);

CREATE TABLE group_members (
  id TEXT PRIMARY KEY NOT NULL,
  body TEXT NOT NULL CHECK (json_valid(body)),
  group_id TEXT GENERATED ALWAYS AS (json_extract(body, '$.groupId')) VIRTUAL,
  user_id TEXT GENERATED ALWAYS AS (json_extract(body, '$.userId')) VIRTUAL
);
CREATE UNIQUE INDEX group_members_group_user ON group_members (group_id, user_id);
CREATE INDEX group_members_group ON group_members (group_id, id);
CREATE INDEX group_members_user ON group_members (user_id, id);

-- Client
CREATE TABLE client_dependants (
  id TEXT PRIMARY KEY NOT NULL,
  body TEXT NOT NULL CHECK (json_valid(body)),
  client_id TEXT GENERATED ALWAYS AS (json_extract(body, '$.clientId')) VIRTUAL,
  name TEXT GENERATED ALWAYS AS (json_extract(body, '$.name')) VIRTUAL
);
CREATE INDEX client_dependants_client_name ON client_dependants (client_id, name, id);
CREATE INDEX client_dependants_name ON client_dependants (name, id);

CREATE TABLE client_dependant_clients (
  id TEXT PRIMARY KEY NOT NULL,
  body TEXT NOT NULL CHECK (json_valid(body)),
  dependant_id TEXT GENERATED ALWAYS AS (json_extract(body, '$.dependantId')) VIRTUAL,
  client_id TEXT GENERATED ALWAYS AS (json_extract(body, '$.clientId')) VIRTUAL
);
CREATE UNIQUE INDEX client_dependant_clients_pair ON client_dependant_clients (dependant_id, client_id);
CREATE INDEX client_dependant_clients_dependant ON client_dependant_clients (dependant_id, id);
CREATE INDEX client_dependant_clients_client ON client_dependant_clients (client_id, id);

-- Case
CREATE TABLE cases (
  id TEXT PRIMARY KEY NOT NULL,
  body TEXT NOT NULL CHECK (json_valid(body)),
  client_id TEXT GENERATED ALWAYS AS (json_extract(body, '$.clientId')) VIRTUAL,
  title TEXT GENERATED ALWAYS AS (json_extract(body, '$.title')) VIRTUAL,
  status TEXT GENERATED ALWAYS AS (json_extract(body, '$.status')) VIRTUAL,
  assigned_to TEXT GENERATED ALWAYS AS (json_extract(body, '$.assignedTo')) VIRTUAL,
  opened_at TEXT GENERATED ALWAYS AS (json_extract(body, '$.openedAt')) VIRTUAL,
  deleted_at TEXT GENERATED ALWAYS AS (json_extract(body, '$.tracking.deletedAt')) VIRTUAL
);
CREATE INDEX cases_live_client_opened ON cases (deleted_at, client_id, opened_at, id);
CREATE INDEX cases_live_status_opened ON cases (deleted_at, status, opened_at, id);
CREATE INDEX cases_live_opened ON cases (deleted_at, opened_at, id);
CREATE INDEX cases_live_title ON cases (deleted_at, title, id);
CREATE INDEX cases_assigned_to ON cases (assigned_to, opened_at, id);

CREATE TABLE case_tasks (
  id TEXT PRIMARY KEY NOT NULL,
  body TEXT NOT NULL CHECK (json_valid(body)),
  case_id TEXT GENERATED ALWAYS AS (json_extract(body, '$.caseId')) VIRTUAL,
  status TEXT GENERATED ALWAYS AS (json_extract(body, '$.status')) VIRTUAL,
  due_date TEXT GENERATED ALWAYS AS (json_extract(body, '$.dueDate')) VIRTUAL,
  assigned_to TEXT GENERATED ALWAYS AS (json_extract(body, '$.assignedTo')) VIRTUAL
);
CREATE INDEX case_tasks_case_due ON case_tasks (case_id, due_date, id);
CREATE INDEX case_tasks_status_due ON case_tasks (status, due_date, id);
CREATE INDEX case_tasks_due ON case_tasks (due_date, id);
CREATE INDEX case_tasks_assigned_to ON case_tasks (assigned_to, due_date, id);

-- Documents: metadata here, bytes in the account's R2 bucket under documents/<id>.
CREATE TABLE documents (
  id TEXT PRIMARY KEY NOT NULL,
  body TEXT NOT NULL CHECK (json_valid(body)),
  client_id TEXT GENERATED ALWAYS AS (json_extract(body, '$.clientId')) VIRTUAL,
  case_id TEXT GENERATED ALWAYS AS (json_extract(body, '$.caseId')) VIRTUAL,
  name TEXT GENERATED ALWAYS AS (json_extract(body, '$.name')) VIRTUAL,
  status TEXT GENERATED ALWAYS AS (json_extract(body, '$.status')) VIRTUAL,
  created_at TEXT GENERATED ALWAYS AS (json_extract(body, '$.tracking.createdAt')) VIRTUAL,
  deleted_at TEXT GENERATED ALWAYS AS (json_extract(body, '$.tracking.deletedAt')) VIRTUAL
);
CREATE INDEX documents_live_client_created ON documents (deleted_at, client_id, created_at, id);
CREATE INDEX documents_live_case_created ON documents (deleted_at, case_id, created_at, id);
CREATE INDEX documents_live_created ON documents (deleted_at, created_at, id);
CREATE INDEX documents_live_name ON documents (deleted_at, name, id);
CREATE INDEX documents_status_created ON documents (status, created_at, id);

-- Contacts
CREATE TABLE contact_companies (
  id TEXT PRIMARY KEY NOT NULL,
  body TEXT NOT NULL CHECK (json_valid(body)),
  name TEXT GENERATED ALWAYS AS (json_extract(body, '$.name')) VIRTUAL,
  kind TEXT GENERATED ALWAYS AS (json_extract(body, '$.kind')) VIRTUAL
);
CREATE INDEX contact_companies_name ON contact_companies (name, id);
CREATE INDEX contact_companies_kind_name ON contact_companies (kind, name, id);

CREATE TABLE contact_individuals (
  id TEXT PRIMARY KEY NOT NULL,
  body TEXT NOT NULL CHECK (json_valid(body)),
  last_name TEXT GENERATED ALWAYS AS (json_extract(body, '$.lastName')) VIRTUAL,
  company_id TEXT GENERATED ALWAYS AS (json_extract(body, '$.companyId')) VIRTUAL,
  email TEXT GENERATED ALWAYS AS (json_extract(body, '$.email')) VIRTUAL
);
CREATE INDEX contact_individuals_last_name ON contact_individuals (last_name, id);
CREATE INDEX contact_individuals_company ON contact_individuals (company_id, last_name, id);
CREATE INDEX contact_individuals_email ON contact_individuals (email, last_name, id);

CREATE TABLE client_contacts (
  id TEXT PRIMARY KEY NOT NULL,
  body TEXT NOT NULL CHECK (json_valid(body)),
  client_id TEXT GENERATED ALWAYS AS (json_extract(body, '$.clientId')) VIRTUAL,
  contact_id TEXT GENERATED ALWAYS AS (json_extract(body, '$.contactId')) VIRTUAL
);
CREATE UNIQUE INDEX client_contacts_pair ON client_contacts (client_id, contact_id);
CREATE INDEX client_contacts_client ON client_contacts (client_id, id);
CREATE INDEX client_contacts_contact ON client_contacts (contact_id, id);

-- Audit trail: one row per change to a client, case or document (append-only).
CREATE TABLE audit_events (
  id TEXT PRIMARY KEY NOT NULL,
  body TEXT NOT NULL CHECK (json_valid(body)),
  entity TEXT GENERATED ALWAYS AS (json_extract(body, '$.entity')) VIRTUAL,
  entity_id TEXT GENERATED ALWAYS AS (json_extract(body, '$.entityId')) VIRTUAL,
  at TEXT GENERATED ALWAYS AS (json_extract(body, '$.at')) VIRTUAL
);
CREATE INDEX audit_events_entity ON audit_events (entity, entity_id, at, id);
CREATE INDEX audit_events_at ON audit_events (at, id);
