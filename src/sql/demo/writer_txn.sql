-- One transaction of the demo's application. $1: a transaction number (drives which rows are touched).
-- Statements are separated by ';;' and run one by one with $1 as a parameter (demo/writer.cc).
INSERT INTO customers (email, name) VALUES ('new' || $1 || '@example.com', 'New customer ' || $1);;
UPDATE customers SET email = 'changed' || $1 || '.' || id || '@example.com' WHERE id = 1 + ($1::bigint * 7919) % 1000;;
INSERT INTO orders (customer_id, status, total) VALUES (1 + ($1::bigint * 31) % 1000, 'new', ($1::bigint % 500) * 1.5);;
INSERT INTO order_items SELECT currval('orders_id_seq'), l, 1 + ($1::bigint * l) % 500, l FROM generate_series(1, 3) l;;
UPDATE orders SET status = 'paid' WHERE id = 1 + ($1::bigint * 104729) % 3000;;
UPDATE documents SET body = jsonb_set(body, '{edits}', to_jsonb($1::bigint)) WHERE id = 1 + ($1::bigint * 13) % 500;;
UPDATE documents SET attachment = decode(md5($1::text), 'hex') || attachment WHERE id = 1 + ($1::bigint * 17) % 500 AND $1::bigint % 5 = 0;;
INSERT INTO audit_log (actor, action) VALUES ('user' || ($1::bigint % 50), 'order');;
DELETE FROM audit_log WHERE ctid IN (SELECT ctid FROM audit_log WHERE actor = 'user' || ($1::bigint % 50) AND action = 'login' LIMIT 1);;
INSERT INTO "Reporting"."Daily Totals" VALUES (date '2025-01-01' + ($1::int % 365), 1, 10)
  ON CONFLICT (day) DO UPDATE SET "Order Count" = "Reporting"."Daily Totals"."Order Count" + 1, revenue = "Reporting"."Daily Totals".revenue + 10
