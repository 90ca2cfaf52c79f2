// cdc::StreamSpill: spill files of streamed in-progress transactions, one per top-level xid, read back at the
// Stream Commit; a Stream Abort of a subtransaction cuts its records (and its own subtransactions') away.
#include "cdc/stream_spill.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"

namespace walferry::cdc {
namespace {

namespace fs = std::filesystem;

class StreamSpillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("walferry-spill-test-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::vector<std::string> ReadAll(StreamSpill& spill, Xid xid) {
    std::vector<std::string> out;
    StreamSpill::Reader r = spill.Read(xid);
    std::string rec;
    while (r.Next(rec)) out.push_back(rec);
    return out;
  }
  size_t FilesInDir() const {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir_)) n += e.path().extension() == ".spill";
    return n;
  }

  fs::path dir_;
};

constexpr Xid kTop{100};

TEST_F(StreamSpillTest, ReadsBackEveryRecordInOrderAcrossSegmentsThenRemovesTheFile) {
  StreamSpill spill(dir_);
  spill.Start(kTop, true);
  spill.Append(kTop, kTop, "first");
  spill.Append(kTop, kTop, "");  // an empty record stays a record
  spill.Start(kTop, false);      // a later segment appends
  spill.Append(kTop, kTop, std::string(300000, 'x'));
  EXPECT_EQ(FilesInDir(), 1u);
  std::vector<std::string> got = ReadAll(spill, kTop);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], "first");
  EXPECT_EQ(got[1], "");
  EXPECT_EQ(got[2], std::string(300000, 'x'));
  EXPECT_FALSE(spill.Has(kTop));
  EXPECT_EQ(FilesInDir(), 0u);
}

TEST_F(StreamSpillTest, KeepsInterleavedTransactionsApart) {
  StreamSpill spill(dir_);
  const Xid other{200};
  spill.Start(kTop, true);
  spill.Append(kTop, kTop, "a1");
  spill.Start(other, true);
  spill.Append(other, other, "b1");
  spill.Start(kTop, false);
  spill.Append(kTop, kTop, "a2");
  EXPECT_EQ(ReadAll(spill, other), std::vector<std::string>({"b1"}));
  EXPECT_EQ(ReadAll(spill, kTop), std::vector<std::string>({"a1", "a2"}));
}

TEST_F(StreamSpillTest, SubtransactionAbortCutsItsRecordsAndItsChildrens) {
  StreamSpill spill(dir_);
  const Xid sub1{101}, sub2{102}, sub3{103};
  spill.Start(kTop, true);
  spill.Append(kTop, kTop, "top1");
  spill.Append(kTop, sub1, "sub1-a");  // SAVEPOINT s1 ... RELEASE s1: kept
  spill.Append(kTop, sub2, "sub2-a");  // SAVEPOINT s2
  spill.Append(kTop, sub3, "sub3-a");  //   SAVEPOINT s3 (inside s2)
  spill.Start(kTop, false);
  spill.Append(kTop, sub2, "sub2-b");
  spill.Abort(kTop, sub2);  // ROLLBACK TO s2: s2 and s3 go
  spill.Append(kTop, kTop, "top2");
  spill.Append(kTop, sub3, "sub3-again");  // a record of a cut subxid starts it afresh
  spill.Abort(kTop, Xid{999});              // a subtransaction that sent nothing: nothing changes
  EXPECT_EQ(ReadAll(spill, kTop), std::vector<std::string>({"top1", "sub1-a", "top2", "sub3-again"}));
}

TEST_F(StreamSpillTest, TopLevelAbortDropsTheFile) {
  StreamSpill spill(dir_);
  spill.Start(kTop, true);
  spill.Append(kTop, kTop, "x");
  spill.Abort(kTop, kTop);
  EXPECT_FALSE(spill.Has(kTop));
  EXPECT_EQ(FilesInDir(), 0u);
  spill.Abort(Xid{555}, Xid{555});  // unknown: ignored
}

TEST_F(StreamSpillTest, FirstSegmentAgainStartsTheTransactionAfresh) {
  // After a reconnect the walsender sends the transaction again from its start.
  StreamSpill spill(dir_);
  spill.Start(kTop, true);
  spill.Append(kTop, kTop, "old");
  spill.Start(kTop, true);
  spill.Append(kTop, kTop, "new");
  EXPECT_EQ(ReadAll(spill, kTop), std::vector<std::string>({"new"}));
}

TEST_F(StreamSpillTest, ResetRemovesFilesOfAnEarlierProcess) {
  {
    StreamSpill killed(dir_);
    killed.Start(kTop, true);
    killed.Append(kTop, kTop, "never applied");
    // A process killed with -9 leaves its file behind: simulate by copying it before the destructor removes it.
    fs::copy_file(dir_ / "xid-100.spill", dir_ / "xid-7.spill");
  }
  ASSERT_EQ(FilesInDir(), 1u);
  StreamSpill spill(dir_);
  spill.Reset();
  EXPECT_EQ(FilesInDir(), 0u);
  EXPECT_FALSE(spill.Has(Xid{7}));
}

TEST_F(StreamSpillTest, RejectsChangesOfAnUnstartedTransaction) {
  StreamSpill spill(dir_);
  EXPECT_THROW(spill.Append(kTop, kTop, "x"), Error);
  EXPECT_THROW(spill.Start(kTop, false), Error);
  try {
    spill.Read(kTop);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kProtocol);
    EXPECT_NE(std::string(e.what()).find("never received"), std::string::npos) << e.what();
  }
}

TEST_F(StreamSpillTest, ATruncatedFileIsAClearError) {
  StreamSpill spill(dir_);
  spill.Start(kTop, true);
  spill.Append(kTop, kTop, "0123456789");
  StreamSpill::Reader r = spill.Read(kTop);
  fs::resize_file(dir_ / "xid-100.spill", 7);  // cut inside the record
  std::string rec;
  try {
    r.Next(rec);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("spill file"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace walferry::cdc
