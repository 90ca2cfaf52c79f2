#include "matrix/types.h"

namespace walferry::matrix {

const std::vector<TypeFamily>& TypeFamilies() {
  // Raw strings: what is between R"( and )" is SQL exactly as the source receives it.
  static const std::vector<TypeFamily> families = {
      {"numeric", "numeric",
       {R"('1.0')", R"('1.00')", R"('NaN')", R"('-0.000')", R"('123456789012345678901234567890.000000000000001')",
        R"('1e-30')", R"('-7')"}},
      {"float8", "double precision",
       {R"('NaN')", R"('-0')", R"('0')", R"('Infinity')", R"('-Infinity')", R"('1.0000000000000002')",
        R"('5e-324')", R"('0.1')"}},
      {"float4", "real", {R"('NaN')", R"('-0')", R"('3.4028235e+38')", R"('1.1754944e-38')", R"('0.3')"}},
      {"int8", "bigint", {R"('-9223372036854775808')", R"('9223372036854775807')", R"('0')"}},
      {"int2", "smallint", {R"('-32768')", R"('32767')"}},
      {"interval", "interval",
       {R"('1 day')", R"('24 hours')", R"('1 mon -1 day')", R"('P1Y2M3DT4H5M6.789S')", R"('-1 microseconds')",
        R"('0')"}},
      {"timestamptz", "timestamptz",
       {R"('2026-03-29 02:30:00+02')", R"('infinity')", R"('-infinity')", R"('0099-12-31 23:59:59.999999 BC')",
        R"('2000-02-29 12:00:00.5+14')"}},
      {"timestamp", "timestamp", {R"('2026-03-29 02:30:00')", R"('infinity')", R"('1999-12-31 23:59:59.999999')"}},
      {"date", "date", {R"('2000-02-29')", R"('infinity')", R"('4713-01-01 BC')"}},
      {"time", "time", {R"('24:00:00')", R"('00:00:00.000001')"}},
      {"timetz", "timetz", {R"('12:00:00.123456+14')", R"('23:59:59-12')"}},
      {"bool", "boolean", {"true", "false"}},
      {"bytea", "bytea", {R"('\x00ff')", R"('')", R"('\x5c00')", R"(decode(repeat('00ff5c', 300), 'hex'))"}},
      {"json", "json",
       {R"('{"a": 1,  "a": 2}')", R"('[1, 2.50, 1e3]')", R"('"\u00e9"')", R"('null')", R"(' {} ')"}},
      {"jsonb", "jsonb", {R"('{"b": 1.10, "a": [null, true]}')", R"('{}')", R"('[1e3, -0, 1.0]')", R"('"é"')"}},
      {"uuid", "uuid", {R"('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')", R"('00000000-0000-0000-0000-000000000000')"}},
      {"inet", "inet", {R"('192.168.0.1/24')", R"('::1')", R"('10.0.0.0/8')"}},
      {"cidr", "cidr", {R"('10.0.0.0/8')", R"('2001:db8::/32')"}},
      {"macaddr", "macaddr", {R"('08:00:2b:01:02:03')"}},
      {"macaddr8", "macaddr8", {R"('08:00:2b:01:02:03:04:05')"}},
      {"point", "point", {R"('(1.5,-0)')", R"('(NaN,Infinity)')", R"('(0.1,1e-300)')"}},
      {"line", "line", {R"('{1,-1,0}')", R"('{0,1,-2.5}')"}},
      {"lseg", "lseg", {R"('[(0,0),(1,1)]')"}},
      {"box", "box", {R"('(1,1),(0,0)')", R"('(-0,-0),(-0,-0)')"}},
      {"path", "path", {R"('[(0,0),(1,1),(2,0)]')", R"('((0,0),(1,1),(1,0))')"}},
      {"polygon", "polygon", {R"('((0,0),(1,1),(1,0))')"}},
      {"circle", "circle", {R"('<(0,0),1.5>')"}},
      {"bit", "bit(4)", {R"(B'1010')", R"(B'0000')"}},
      {"varbit", "bit varying(16)", {R"(B'1')", R"(B'')"}},
      {"int_array", "int[]", {R"('{1,NULL,3}')", R"('{{1,2},{3,4}}')", R"('[0:1]={7,8}')", R"('{}')"}},
      {"text_array", "text[]", {R"('{"a b","NULL",NULL,""}')", R"('{"\\","\""}')"}},
      {"int4range", "int4range", {R"('[1,5)')", R"('empty')", R"('(,3]')"}},
      {"numrange", "numrange", {R"('(1.50,2.500]')"}},
      {"tstzrange", "tstzrange", {R"('[2026-01-01 00:00+00,infinity)')"}},
      {"tsvector", "tsvector", {R"('a:1A fat:2B,4C cat:5D')", R"('')"}},
      {"tsquery", "tsquery", {R"('fat & (rat | cat)')"}},
      {"money", "money", {R"('1234.56')", R"('-0.01')"}},
      {"xml", "xml", {R"('<a b="1">x</a>')", R"('text only')"}},
      {"regtype", "regtype", {R"('integer')", R"('text[]')"}},
      {"regclass", "regclass", {R"('pg_class')", R"('pg_catalog.pg_proc')"}},
      {"oid", "oid", {R"('4294967295')", R"('0')"}},
      {"pg_lsn", "pg_lsn", {R"('0/0')", R"('FFFFFFFF/FFFFFFFF')"}},
      {"enum", "mood", {R"('sad')", R"('happy')"}},
      {"composite", "pair", {R"(ROW(1, 'x')::pair)", R"(ROW(NULL, '')::pair)"}},
      {"domain", "posint", {R"('5')", R"('2147483647')"}},
      {"char", "char(5)", {R"('ab')", R"('')"}},
      {"varchar", "varchar(20)", {R"('x ')", R"('')"}},
      {"name", "name", {R"('a name')"}},
      {"text", "text",
       {R"('')", R"(E'tab\there')", R"('back\slash')", R"('quote''s')", R"(E'new\nline')", R"('é ß ÿ ¤ ½ À')",
        R"((SELECT string_agg(chr(c), '' ORDER BY c) FROM generate_series(160, 255) c))"},
       // NFC and NFD of the same letter, CJK, a character outside the BMP.
       {"'\xc3\xa9'", "'e\xcc\x81'", "'\xe6\x97\xa5\xe6\x9c\xac'", "'\xf0\x9f\x98\x80'"}},
  };
  return families;
}

std::string TypeDdl() {
  return "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');\n"
         "CREATE TYPE pair AS (a int, b text);\n"
         "CREATE DOMAIN posint AS int CHECK (VALUE > 0);\n";
}

}  // namespace walferry::matrix
