-- Settings that fix how every value is written as text, run on BOTH validation connections so a row's text (and its
-- md5) is the same on source and target whenever the values are equal. Without them a timestamptz, interval, date,
-- float, bytea or money value could print differently on two servers configured differently.
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET extra_float_digits = 3;
SET TimeZone = 'UTC';
SET bytea_output = 'hex';
SET lc_monetary = 'C';
SET statement_timeout = 0;
-- Values travel between the servers (--repair, the report) as UTF8 text, whatever each database's encoding.
SET client_encoding = 'UTF8';
