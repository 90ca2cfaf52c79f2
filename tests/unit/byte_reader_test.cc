#include "common/byte_reader.h"

#include <gtest/gtest.h>

#include <string>

#include "common/error.h"

namespace walferry {
namespace {

TEST(ByteReader, ReadsBigEndianIntegersAndStrings) {
  const std::string data("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f" "abc\0xyz", 22);
  ByteReader r(data.data(), data.size());
  EXPECT_EQ(r.U8("a"), 0x01);
  EXPECT_EQ(r.U16("b"), 0x0203);
  EXPECT_EQ(r.U32("c"), 0x04050607u);
  EXPECT_EQ(r.U64("d"), 0x08090a0b0c0d0e0full);
  EXPECT_EQ(r.CString("e"), "abc");
  EXPECT_EQ(r.Bytes(3, "f"), "xyz");
  EXPECT_TRUE(r.AtEnd());
  EXPECT_NO_THROW(r.ExpectEnd("all"));
}

TEST(ByteReader, NegativeValuesKeepTheirSign) {
  const std::string data("\xff\xff\xff\xfe", 4);
  ByteReader r(data.data(), data.size());
  EXPECT_EQ(r.I32("x"), -2);
}

TEST(ByteReader, EveryOverrunThrowsProtocolErrorNamingTheField) {
  const std::string data("\x01\x02\x03", 3);
  ByteReader r(data.data(), data.size());
  try {
    r.U32("relation id");
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kProtocol);
    EXPECT_NE(std::string(e.what()).find("relation id"), std::string::npos);
  }
  EXPECT_EQ(r.offset(), 0u) << "a failed read consumes nothing";
  EXPECT_THROW(r.U64("x"), Error);
  EXPECT_THROW(r.Bytes(4, "x"), Error);
  EXPECT_THROW(r.CString("unterminated"), Error);
  EXPECT_EQ(r.U16("ok"), 0x0102);
  EXPECT_THROW(r.ExpectEnd("message"), Error);
}

}  // namespace
}  // namespace walferry
