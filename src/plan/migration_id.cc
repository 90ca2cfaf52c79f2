#include "plan/migration_id.h"

#include <fmt/format.h>

#include <cstdint>
#include <random>

namespace walferry::plan {

std::string NewMigrationId() {
  std::random_device device;
  uint64_t bits = (uint64_t{device()} << 32) ^ device();
  return fmt::format("{:012x}", bits & 0xffffffffffffULL);
}

}  // namespace walferry::plan
