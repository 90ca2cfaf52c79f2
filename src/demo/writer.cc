#include "demo/writer.h"

#include <chrono>
#include <vector>

#include "common/error.h"
#include "pg/connection.h"
#include "sql/sql.h"

namespace walferry::demo {

namespace {
// The statements of src/sql/demo/writer_txn.sql: comment lines dropped, split at ";;".
std::vector<std::string> Statements() {
  std::string text;
  std::string_view all = sql::Get("demo/writer_txn");
  for (size_t pos = 0; pos < all.size();) {
    size_t eol = all.find('\n', pos);
    std::string_view line = all.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (!line.starts_with("--")) text.append(line).append("\n");
    pos = eol == std::string_view::npos ? all.size() : eol + 1;
  }
  std::vector<std::string> out;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find(";;", start);
    std::string stmt = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (stmt.find_first_not_of(" \n") != std::string::npos) out.push_back(stmt);
    start = end == std::string::npos ? text.size() : end + 2;
  }
  return out;
}
}  // namespace

void Writer::Start(int per_second) {
  stop_ = false;
  thread_ = std::thread([this, per_second] { Loop(per_second); });
}

void Writer::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Writer::Loop(int per_second) {
  try {
    pg::Connection conn = pg::Connection::Open(conninfo_, {.role = "demo writer"});
    std::vector<std::string> statements = Statements();
    auto pause = std::chrono::microseconds(1000000 / std::max(1, per_second));
    for (int64_t n = 1; !stop_; ++n) {
      auto next = std::chrono::steady_clock::now() + pause;
      pg::Param p(std::to_string(n));
      conn.Exec("BEGIN");
      for (const auto& s : statements) conn.Exec(s, {p});
      conn.Exec("COMMIT");
      ++transactions_;
      std::this_thread::sleep_until(next);
    }
  } catch (const std::exception& e) {
    error_ = e.what();
  }
}

}  // namespace walferry::demo
