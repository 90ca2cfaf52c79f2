#include "pg/result.h"

#include <libpq-fe.h>

#include <charconv>
#include <cstdlib>

#include "common/error.h"

namespace walferry::pg {

Result::~Result() {
  if (res_ != nullptr) PQclear(res_);
}

Result& Result::operator=(Result&& other) noexcept {
  if (this != &other) {
    if (res_ != nullptr) PQclear(res_);
    res_ = other.res_;
    other.res_ = nullptr;
  }
  return *this;
}

int Result::rows() const { return res_ ? PQntuples(res_) : 0; }
int Result::cols() const { return res_ ? PQnfields(res_) : 0; }

void Result::CheckCell(int row, int col) const {
  if (res_ == nullptr || row < 0 || row >= rows() || col < 0 || col >= cols()) {
    throw Error(ErrorKind::kInternal, "result cell (" + std::to_string(row) + "," + std::to_string(col) +
                                          ") out of range (" + std::to_string(rows()) + "x" +
                                          std::to_string(cols()) + ")");
  }
}

bool Result::IsNull(int row, int col) const {
  CheckCell(row, col);
  return PQgetisnull(res_, row, col) != 0;
}

std::string_view Result::Get(int row, int col) const {
  CheckCell(row, col);
  if (PQgetisnull(res_, row, col)) {
    throw Error(ErrorKind::kInternal, "unexpected NULL in column " + ColumnName(col));
  }
  return {PQgetvalue(res_, row, col), static_cast<size_t>(PQgetlength(res_, row, col))};
}

std::optional<std::string> Result::GetOpt(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return std::string(Get(row, col));
}

int64_t Result::GetInt(int row, int col) const {
  auto s = Get(row, col);
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    throw Error(ErrorKind::kInternal, "column " + ColumnName(col) + " is not an integer: '" + std::string(s) + "'");
  }
  return v;
}

bool Result::GetBool(int row, int col) const {
  auto s = Get(row, col);
  if (s == "t" || s == "true") return true;
  if (s == "f" || s == "false") return false;
  throw Error(ErrorKind::kInternal, "column " + ColumnName(col) + " is not a boolean: '" + std::string(s) + "'");
}

std::string Result::ColumnName(int col) const {
  if (res_ == nullptr || col < 0 || col >= cols()) return "#" + std::to_string(col);
  return PQfname(res_, col);
}

int Result::Column(std::string_view name) const {
  for (int c = 0; c < cols(); ++c) {
    if (name == PQfname(res_, c)) return c;
  }
  throw Error(ErrorKind::kInternal, "result has no column '" + std::string(name) + "'");
}

int64_t Result::AffectedRows() const {
  if (res_ == nullptr) return 0;
  const char* s = PQcmdTuples(res_);
  return (s && *s) ? std::strtoll(s, nullptr, 10) : 0;
}

int Result::status() const { return res_ ? static_cast<int>(PQresultStatus(res_)) : -1; }

}  // namespace walferry::pg
