// pg/result.h
//
// Result: the one owner of a PGresult (PQclear on destruction). Move-only. Values are returned as string_views
// into the result, valid while the Result lives. Text format unless the query asked for binary.
#pragma once

#include <optional>
#include <string>
#include <string_view>

struct pg_result;

namespace walferry::pg {

class Result {
 public:
  Result() = default;
  explicit Result(pg_result* res) : res_(res) {}
  ~Result();
  Result(Result&& other) noexcept : res_(other.res_) { other.res_ = nullptr; }
  Result& operator=(Result&& other) noexcept;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;

  explicit operator bool() const { return res_ != nullptr; }
  int rows() const;
  int cols() const;
  bool IsNull(int row, int col) const;
  // Throws Error(kInternal) if row/col are out of range or the value is NULL (use GetOpt for nullable columns).
  std::string_view Get(int row, int col) const;
  std::optional<std::string> GetOpt(int row, int col) const;
  int64_t GetInt(int row, int col) const;
  bool GetBool(int row, int col) const;
  std::string ColumnName(int col) const;
  // Column index by name; throws Error(kInternal) if absent.
  int Column(std::string_view name) const;
  // Rows affected by INSERT/UPDATE/DELETE/COPY..., 0 when not applicable.
  int64_t AffectedRows() const;
  // ExecStatusType as an int, for code that needs it inside pg/.
  int status() const;

  pg_result* get() const { return res_; }

 private:
  void CheckCell(int row, int col) const;
  pg_result* res_ = nullptr;
};

}  // namespace walferry::pg
