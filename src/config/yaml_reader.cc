#include "config/yaml_reader.h"

#include "config/size.h"
#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

#include "common/error.h"
#include "config/size.h"

namespace walferry::config::detail {

namespace {

const char* Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null: return "nothing (null)";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Undefined: return "nothing";
  }
  return "something else";
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Parses all of `text` as a base-10 integer; false on anything else (sign, spaces, overflow included).
bool ParseInt(std::string_view text, int64_t& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string ClosestKey(const std::string& key, const std::vector<std::string>& allowed) {
  // A truncated key ("max" for "max_kb") is a likely slip even when many letters are missing.
  for (const auto& candidate : allowed) {
    if (key.size() >= 3 && candidate.rfind(key, 0) == 0) return candidate;
  }
  std::string best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (const auto& candidate : allowed) {
    size_t d = EditDistance(key, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  // A suggestion only helps when it is plausibly a typo: at most a third of the key's letters differ.
  size_t limit = std::max<size_t>(1, std::min(key.size(), best.size()) / 3);
  return best_distance <= limit ? best : "";
}

std::string JoinAllowed(const std::vector<std::string>& allowed) {
  std::string out;
  for (size_t i = 0; i < allowed.size(); ++i) {
    if (i > 0) out += (i + 1 == allowed.size()) ? " or " : ", ";
    out += allowed[i];
  }
  return out;
}

void YamlReader::Fail(const YAML::Node& node, const std::string& key, const std::string& what) const {
  YAML::Mark mark = node.Mark();
  std::string where = path_.empty() ? "<config>" : path_;
  where += ":" + std::to_string(mark.line >= 0 ? mark.line + 1 : 1);
  throw Error(ErrorKind::kConfig, where + ": key '" + (key.empty() ? "(document)" : key) + "': " + what);
}

std::string YamlReader::Child(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "." + name;
}

std::string YamlReader::Index(const std::string& parent, size_t i) {
  return parent + "[" + std::to_string(i) + "]";
}

Fields YamlReader::Map(const YAML::Node& node, const std::string& key,
                       const std::vector<std::string>& allowed) const {
  if (!node.IsMap()) Fail(node, key, std::string("expected a mapping, found ") + Describe(node));
  Fields fields{node, key, {}};
  for (auto it = node.begin(); it != node.end(); ++it) {
    // Copies: yaml-cpp's iterator hands out a temporary pair, so references into it would dangle.
    YAML::Node k = it->first;
    YAML::Node v = it->second;
    if (!k.IsScalar()) Fail(k, key, "mapping keys must be plain names");
    const std::string& name = k.Scalar();
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::string what = "unknown key '" + name + "'";
      std::string closest = ClosestKey(name, allowed);
      if (!closest.empty()) what += " (did you mean '" + closest + "'?)";
      Fail(k, Child(key, name), what + "; allowed keys here: " + JoinAllowed(allowed));
    }
    if (fields.Has(name)) {
      Fail(k, Child(key, name),
           "given twice (first on line " + std::to_string(fields.At(name).key.Mark().line + 1) +
               "); keep one");
    }
    // Every value walferry reads is a scalar, list or mapping, so "key:" with nothing after it is always a
    // mistake. Caught here because yaml-cpp marks an empty value at the next token, often a later line.
    if (v.IsNull()) Fail(k, Child(key, name), "has no value; give one or remove the key");
    fields.entries.emplace(name, Entry{k, v});
  }
  return fields;
}

const YAML::Node& YamlReader::Require(const Fields& fields, const std::string& name) const {
  if (!fields.Has(name)) Fail(fields.node, Child(fields.key, name), "missing; this key is required");
  return fields.At(name).value;
}

std::vector<YAML::Node> YamlReader::List(const YAML::Node& node, const std::string& key) const {
  if (!node.IsSequence()) Fail(node, key, std::string("expected a list, found ") + Describe(node));
  std::vector<YAML::Node> out;
  for (const auto& item : node) out.push_back(item);
  return out;
}

std::string YamlReader::String(const YAML::Node& node, const std::string& key) const {
  if (!node.IsScalar()) Fail(node, key, std::string("expected a string, found ") + Describe(node));
  return node.Scalar();
}

std::string YamlReader::NonEmptyString(const YAML::Node& node, const std::string& key) const {
  std::string s = String(node, key);
  if (s.empty()) Fail(node, key, "must not be empty");
  return s;
}

int64_t YamlReader::Int(const YAML::Node& node, const std::string& key, int64_t min, int64_t max) const {
  std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!node.IsScalar()) Fail(node, key, std::string("expected ") + range + ", found " + Describe(node));
  int64_t value = 0;
  if (!ParseInt(node.Scalar(), value)) Fail(node, key, "'" + node.Scalar() + "' is not " + range);
  if (value < min || value > max) Fail(node, key, std::to_string(value) + " is out of range; use " + range);
  return value;
}

bool YamlReader::Bool(const YAML::Node& node, const std::string& key) const {
  // Only YAML 1.2 booleans: "yes"/"on" are YAML 1.1 surprises (Norway problem) and rejected on purpose.
  if (node.IsScalar() && node.Scalar() == "true") return true;
  if (node.IsScalar() && node.Scalar() == "false") return false;
  std::string found = node.IsScalar() ? "'" + node.Scalar() + "'" : std::string(Describe(node));
  Fail(node, key, "expected true or false, found " + found);
}

std::string YamlReader::OneOf(const YAML::Node& node, const std::string& key,
                              const std::vector<std::string>& allowed) const {
  if (!node.IsScalar()) Fail(node, key, "expected one of " + JoinAllowed(allowed) + ", found " + Describe(node));
  const std::string& value = node.Scalar();
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
    Fail(node, key, "'" + value + "' is not allowed; use " + JoinAllowed(allowed));
  }
  return value;
}

int64_t YamlReader::Size(const YAML::Node& node, const std::string& key) const {
  if (!node.IsScalar()) {
    Fail(node, key, std::string("expected a size, found ") + Describe(node) + "; use bytes (e.g. 1073741824) or a "
                    "size like \"512MB\" or \"10GB\" (units B, kB, MB, GB, TB; 1024-based)");
  }
  std::string why;
  std::optional<int64_t> bytes = ParseSize(node.Scalar(), &why);
  if (!bytes) Fail(node, key, why);
  return *bytes;
}

int YamlReader::Seconds(const YAML::Node& node, const std::string& key, int min, int max) const {
  const std::string usage = "use seconds (e.g. 900) or a duration like \"90s\", \"15m\", \"2h\" or \"30d\"";
  if (!node.IsScalar()) Fail(node, key, std::string("expected a duration, found ") + Describe(node) + "; " + usage);
  std::string text = node.Scalar();
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  std::string unit = text.substr(digits);
  static const std::vector<std::pair<std::string, int64_t>> kUnits = {
      {"", 1}, {"s", 1}, {"m", 60}, {"min", 60}, {"h", 3600}, {"d", 86400}};
  auto unit_it = std::find_if(kUnits.begin(), kUnits.end(), [&](const auto& u) { return u.first == unit; });
  int64_t number = 0;
  if (digits == 0 || digits > 9 || unit_it == kUnits.end() ||
      !ParseInt(std::string_view(text).substr(0, digits), number)) {
    Fail(node, key, "'" + text + "' is not a duration; " + usage);
  }
  int64_t seconds = number * unit_it->second;
  if (seconds < min || seconds > max) {
    Fail(node, key, "'" + text + "' is out of range (" + std::to_string(min) + " to " + std::to_string(max) +
                        " seconds)");
  }
  return static_cast<int>(seconds);
}

}  // namespace walferry::config::detail
