-- The demo's sample application database (source side). Parameter-free; scale is set by the session variable
-- walferry.demo_scale (customers = 1000 * scale). Deliberately includes what migrations trip over:
-- a table with a primary key AND a separate unique constraint (customers), a table without a primary key
-- (audit_log), jsonb and bytea values, mixed-case identifiers.
CREATE TABLE customers (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE products (
  id int PRIMARY KEY,
  sku text NOT NULL,
  price numeric(12, 2) NOT NULL,
  attributes jsonb NOT NULL
);
CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers (id),
  status text NOT NULL,
  total numeric(14, 2) NOT NULL,
  placed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE order_items (
  order_id bigint NOT NULL REFERENCES orders (id),
  line int NOT NULL,
  product_id int NOT NULL REFERENCES products (id),
  quantity int NOT NULL,
  PRIMARY KEY (order_id, line)
);
CREATE TABLE documents (
  id bigserial PRIMARY KEY,
  customer_id bigint REFERENCES customers (id),
  body jsonb NOT NULL,
  attachment bytea
);
CREATE TABLE audit_log (
  at timestamptz NOT NULL DEFAULT now(),
  actor text,
  action text NOT NULL
);
ALTER TABLE audit_log REPLICA IDENTITY FULL;
CREATE SCHEMA "Reporting";
CREATE TABLE "Reporting"."Daily Totals" (day date PRIMARY KEY, "Order Count" int NOT NULL, revenue numeric NOT NULL);

INSERT INTO customers (email, name)
SELECT 'customer' || g || '@example.com', 'Customer ' || g
FROM generate_series(1, 1000 * current_setting('walferry.demo_scale')::int) g;
INSERT INTO products
SELECT g, 'SKU-' || g, (g % 500) + 0.99, jsonb_build_object('color', (ARRAY['red','green','blue'])[1 + g % 3], 'weight', g % 40)
FROM generate_series(1, 500) g;
INSERT INTO orders (customer_id, status, total)
SELECT 1 + (g % (1000 * current_setting('walferry.demo_scale')::int)), (ARRAY['new','paid','shipped'])[1 + g % 3], (g % 1000) * 1.25
FROM generate_series(1, 3000 * current_setting('walferry.demo_scale')::int) g;
INSERT INTO order_items
SELECT o.id, l, 1 + ((o.id * l) % 500), 1 + l FROM orders o, generate_series(1, 3) l;
INSERT INTO documents (customer_id, body, attachment)
SELECT 1 + (g % (1000 * current_setting('walferry.demo_scale')::int)),
       jsonb_build_object('title', 'Document ' || g, 'tags', jsonb_build_array('a', 'b', g), 'text', repeat('lorem ipsum ', 20 + g % 200)),
       decode(repeat(md5(g::text), 8 + g % 64), 'hex')
FROM generate_series(1, 500 * current_setting('walferry.demo_scale')::int) g;
INSERT INTO audit_log (actor, action)
SELECT 'user' || (g % 50), 'login' FROM generate_series(1, 2000 * current_setting('walferry.demo_scale')::int) g;
INSERT INTO "Reporting"."Daily Totals"
SELECT d::date, 10 + (extract(doy FROM d)::int % 30), 1000 + extract(doy FROM d)::int
FROM generate_series(date '2024-01-01', date '2024-12-31', interval '1 day') d;
ANALYZE;
