-- On the TARGET: records for good that this control schema's migration named (and creates) slot $1 and
-- publication $2 on its source (control_schema.h, UpsertSet): walferry cleanup --orphans drops only these.
INSERT INTO @SCHEMA@.source_objects (kind, name)
VALUES ('slot', $1), ('publication', $2)
ON CONFLICT DO NOTHING
