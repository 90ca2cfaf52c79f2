-- control.dms_compatible_views: the status and apply_exceptions tables under the names the DMS playbook's
-- monitoring queries use.
CREATE OR REPLACE VIEW @SCHEMA@.awsdms_status AS SELECT * FROM @SCHEMA@.status;
CREATE OR REPLACE VIEW @SCHEMA@.awsdms_apply_exceptions AS
  SELECT task_name AS "TASK_NAME", table_owner AS "TABLE_OWNER", table_name AS "TABLE_NAME",
         error_time AS "ERROR_TIME", statement AS "STATEMENT", error AS "ERROR"
  FROM @SCHEMA@.apply_exceptions;
