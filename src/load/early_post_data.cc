#include "load/early_post_data.h"

#include <chrono>

#include "common/error.h"
#include "common/log.h"

namespace walferry::load {

namespace {

auto Log() { return log::For("load"); }

}  // namespace

EarlyPostData::EarlyPostData(const SchemaCopier& copier, const PostDataPlan& plan, int jobs)
    : copier_(copier), plan_(plan), enabled_(!plan.early.empty() && jobs > 0) {
  if (!enabled_) return;
  for (int i = 0; i < jobs; ++i) threads_.emplace_back([this, i] { Work(i + 1); });
}

EarlyPostData::~EarlyPostData() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  threads_.clear();  // joins
}

void EarlyPostData::TableCopied(const pg::TableName& table) {
  if (!enabled_ || plan_.early.count(table) == 0) return;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    ready_.push_back(table);
  }
  wake_.notify_one();
}

void EarlyPostData::Work(int id) {
  for (;;) {
    std::vector<pg::TableName> tables;
    std::vector<TocEntry> entries;
    std::string tag;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || error_ || !ready_.empty(); });
      if (stopping_ || error_) return;
      tables.swap(ready_);
      tag = "early-" + std::to_string(++batches_);
    }
    for (const auto& t : tables) {
      const auto& list = plan_.early.at(t);
      entries.insert(entries.end(), list.begin(), list.end());
    }
    auto start = std::chrono::steady_clock::now();
    try {
      copier_.RestorePostData(plan_, entries, 1, tag);
    } catch (...) {
      std::lock_guard lock(mu_);
      if (!error_) error_ = std::current_exception();
      return;
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Log()->info("built {} indexes and keys of {} copied tables while copying ({:.2f} s, index worker {})",
                entries.size(), tables.size(), seconds, id);
    std::lock_guard lock(mu_);
    for (const auto& e : entries) built_.insert(e.line);
    built_tables_ += tables.size();
    busy_seconds_ += seconds;
  }
}

void EarlyPostData::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  threads_.clear();
  std::lock_guard lock(mu_);
  if (error_) std::rethrow_exception(error_);
}

std::vector<TocEntry> EarlyPostData::RemainingEntries() const {
  std::vector<TocEntry> out;
  for (const TocEntry& e : plan_.entries) {
    if (built_.count(e.line) == 0) out.push_back(e);
  }
  return out;
}

}  // namespace walferry::load
