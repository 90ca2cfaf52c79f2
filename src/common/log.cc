#include "common/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdio>
#include <mutex>

#include "common/error.h"

namespace walferry::log {

namespace {
std::mutex g_mu;
spdlog::level::level_enum g_level = spdlog::level::info;
Format g_format = Format::kText;

// %* in a pattern: the message, escaped for a JSON string, so every JSON log line parses.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      switch (c) {
        case '"': dest.append(std::string_view("\\\"")); break;
        case '\\': dest.append(std::string_view("\\\\")); break;
        case '\n': dest.append(std::string_view("\\n")); break;
        case '\t': dest.append(std::string_view("\\t")); break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            const char esc[] = {'\\', 'u', '0', '0', kHex[(c >> 4) & 0xf], kHex[c & 0xf]};
            dest.append(std::string_view(esc, sizeof esc));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessageFlag>(); }
};

// The status block of SetStatusBlock and how many lines of it are on the screen.
std::mutex g_status_mu;
std::vector<std::string> g_status;
size_t g_status_drawn = 0;

void EraseStatus() {  // requires g_status_mu
  if (g_status_drawn == 0) return;
  std::string out = "\r";
  if (g_status_drawn > 1) out += "\033[" + std::to_string(g_status_drawn - 1) + "A";
  out += "\033[J";
  std::fputs(out.c_str(), stderr);
  g_status_drawn = 0;
}

void DrawStatus() {  // requires g_status_mu
  std::string out;
  for (size_t i = 0; i < g_status.size(); ++i) out += (i ? "\n" : "") + g_status[i];
  std::fputs(out.c_str(), stderr);
  std::fflush(stderr);
  g_status_drawn = g_status.size();
}

// Every logger writes through this one sink: the colored stderr sink, with the status block moved out of the way.
class StatusAwareSink : public spdlog::sinks::sink {
 public:
  void log(const spdlog::details::log_msg& msg) override {
    std::lock_guard lock(g_status_mu);
    EraseStatus();
    inner_->log(msg);
    DrawStatus();
  }
  void flush() override { inner_->flush(); }
  void set_pattern(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
    inner_->set_formatter(std::move(formatter));
  }

 private:
  std::shared_ptr<spdlog::sinks::sink> inner_ = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
};

std::shared_ptr<spdlog::sinks::sink> SharedSink() {
  static auto sink = std::make_shared<StatusAwareSink>();
  return sink;
}

void Configure(spdlog::logger& logger) {
  logger.set_level(g_level);
  if (g_format == Format::kJson) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<JsonMessageFlag>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","component":"%n","msg":"%*"})");
    logger.set_formatter(std::move(formatter));
  } else {
    logger.set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v");
  }
}
}  // namespace

void Init(std::string_view level, Format format) {
  std::lock_guard lock(g_mu);
  auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    throw Error(ErrorKind::kConfig, "unknown log level '" + std::string(level) + "'")
        .WithHint("use one of trace, debug, info, warn, error, off");
  }
  g_level = parsed;
  g_format = format;
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { Configure(*l); });
}

std::shared_ptr<spdlog::logger> For(const std::string& component) {
  std::lock_guard lock(g_mu);
  if (auto existing = spdlog::get(component)) return existing;
  auto logger = std::make_shared<spdlog::logger>(component, SharedSink());
  Configure(*logger);
  spdlog::register_logger(logger);
  return logger;
}

void SetStatusBlock(std::vector<std::string> lines) {
  std::lock_guard lock(g_status_mu);
  EraseStatus();
  g_status = std::move(lines);
  DrawStatus();
}

}  // namespace walferry::log
