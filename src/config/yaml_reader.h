// config/yaml_reader.h
//
// Typed, validating access to a parsed YAML document for config.cc. Every failure is Error(kConfig) whose message
// starts with "FILE:LINE: key 'dotted.key[0]': " and says what is wrong and what is allowed. It never falls back to
// a default for a value that is present but wrong. Internal to the config module (not part of its API).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace walferry::config::detail {

// A key and value of a mapping, with the key node kept for its line number.
struct Entry {
  YAML::Node key;
  YAML::Node value;
};

// The checked keys of one mapping. Absent keys are simply missing from `entries`.
struct Fields {
  YAML::Node node;    // the mapping itself (for "missing key" errors)
  std::string key;    // its dotted key ("" for the document)
  std::map<std::string, Entry> entries;

  bool Has(const std::string& name) const { return entries.count(name) != 0; }
  const Entry& At(const std::string& name) const { return entries.at(name); }
};

class YamlReader {
 public:
  explicit YamlReader(std::string path) : path_(std::move(path)) {}

  // "FILE:LINE: key 'KEY': what" (LINE from the node's mark, 1-based).
  [[noreturn]] void Fail(const YAML::Node& node, const std::string& key, const std::string& what) const;

  // Checks `node` is a mapping whose keys are all in `allowed` (each at most once) and returns them.
  // An unknown key names the closest allowed key when there is a plausible one.
  Fields Map(const YAML::Node& node, const std::string& key, const std::vector<std::string>& allowed) const;
  // The value of a required key; fails naming the key when it is missing.
  const YAML::Node& Require(const Fields& fields, const std::string& name) const;

  std::vector<YAML::Node> List(const YAML::Node& node, const std::string& key) const;
  std::string String(const YAML::Node& node, const std::string& key) const;
  std::string NonEmptyString(const YAML::Node& node, const std::string& key) const;
  int64_t Int(const YAML::Node& node, const std::string& key, int64_t min, int64_t max) const;
  bool Bool(const YAML::Node& node, const std::string& key) const;
  // One of `allowed`, exactly (case-sensitive).
  std::string OneOf(const YAML::Node& node, const std::string& key, const std::vector<std::string>& allowed) const;
  // Bytes as an integer or "<integer><unit>" with unit B, kB/KB, MB, GB, TB (1024-based, case-insensitive).
  int64_t Size(const YAML::Node& node, const std::string& key) const;
  // Seconds as an integer or "<integer><unit>" with unit s, m(in), h or d, within [min, max] seconds.
  int Seconds(const YAML::Node& node, const std::string& key, int min, int max) const;

  static std::string Child(const std::string& parent, const std::string& name);
  static std::string Index(const std::string& parent, size_t i);

 private:
  std::string path_;
};

// The allowed key closest to `key` by edit distance, or "" when none is close enough to suggest.
std::string ClosestKey(const std::string& key, const std::vector<std::string>& allowed);
// "a, b or c".
std::string JoinAllowed(const std::vector<std::string>& allowed);

}  // namespace walferry::config::detail
