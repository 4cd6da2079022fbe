-- The audit trail is read by entity type or by one record, newest or oldest first. Each needs its
-- own index in time order: (entity, entity_id, at) served only both filters together, and listing
-- one entity type's events sorted every one of them in a temporary b-tree.
DROP INDEX audit_events_entity;
CREATE INDEX audit_events_entity_at ON audit_events (entity, at, id);
CREATE INDEX audit_events_entity_id_at ON audit_events (entity_id, at, id);
