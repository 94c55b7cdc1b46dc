// JSON run configs: reading with defaults, `--set` overrides, validation and clear errors naming the key.
#pragma once

#include "support/errors.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace blockspin::support {

/// A validation rule for one config value, passed to Config::get / Config::require (checked after the type):
///   int64_t n = cfg.get<int64_t>("n_configs", 100, Check::positive());
///   auto shape = cfg.require<std::vector<int64_t>>("shape", Check::extents(4, /*even=*/true));
///   std::string name = cfg.get<std::string>("name", "wilson", Check::one_of({"wilson", "symanzik"}));
///   double p = cfg.get<double>("p", 0.5, Check::in_range(0, 1) & Check::positive());
/// Number and string rules applied to a list check every element (the error names `key[i]`).
/// A rule can also be run on its own: `Check::positive()(nlohmann::json(x), "n_configs")`.
class Check {
 public:
  using Rule = std::function<void(const nlohmann::json& value, const std::string& key)>;

  Check() = default;                                      // accepts everything
  static Check positive();                                // number > 0
  static Check non_negative();                            // number >= 0
  static Check in_range(double lo, double hi);            // lo <= number <= hi
  static Check one_of(std::vector<std::string> allowed);  // string is one of `allowed`
  /// Lattice extents: a non-empty list of positive integers; `length` > 0 requires exactly that many;
  /// `even` requires every extent to be even.
  static Check extents(std::size_t length = 0, bool even = false);

  Check operator&(const Check& other) const;  // both rules
  /// Throws ConfigError naming `key` when `value` breaks a rule.
  void operator()(const nlohmann::json& value, const std::string& key) const;

 private:
  explicit Check(Rule rule) : rules_{std::move(rule)} {}
  std::vector<Rule> rules_;
};

namespace detail {
/// One step of a key path: an object key or a list index.
struct Segment {
  std::string key;
  std::size_t index = 0;
  bool is_index = false;
};
using Path = std::vector<Segment>;
struct ConfigState;  // shared by all views of one config (config.cpp)

template <class T>
inline constexpr bool is_config_type_v =
    std::is_same_v<T, bool> || std::is_same_v<T, int64_t> || std::is_same_v<T, int> || std::is_same_v<T, double> ||
    std::is_same_v<T, std::string> || std::is_same_v<T, std::vector<int64_t>> ||
    std::is_same_v<T, std::vector<double>> || std::is_same_v<T, std::vector<std::string>> ||
    std::is_same_v<T, nlohmann::json>;

/// "an integer", "a list of numbers", ... (for error messages).
template <class T>
std::string type_name() {
  if constexpr (std::is_same_v<T, bool>) return "a boolean";
  if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, int>) return "an integer";
  if constexpr (std::is_same_v<T, double>) return "a number";
  if constexpr (std::is_same_v<T, std::string>) return "a string";
  if constexpr (std::is_same_v<T, std::vector<int64_t>>) return "a list of integers";
  if constexpr (std::is_same_v<T, std::vector<double>>) return "a list of numbers";
  if constexpr (std::is_same_v<T, std::vector<std::string>>) return "a list of strings";
  return "a JSON value";
}

/// Throws ConfigError "config key 'KEY': expected EXPECTED, got <short description of got>".
[[noreturn]] void throw_type_error(const std::string& key, const std::string& expected, const nlohmann::json& got);

/// `v` as a T, or a type error naming `key` (list elements are named `key[i]`). Integers are accepted as doubles,
/// integral doubles (8.0, 1e3) as integers; bools are not numbers.
template <class T>
T convert(const nlohmann::json& v, const std::string& key) {
  if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, int>) {
    using Lim = std::numeric_limits<T>;
    if (v.is_number_unsigned() && v.get<uint64_t>() <= static_cast<uint64_t>(Lim::max())) {
      return static_cast<T>(v.get<uint64_t>());
    }
    if (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() >= Lim::min() &&
        v.get<int64_t>() <= Lim::max()) {
      return static_cast<T>(v.get<int64_t>());
    }
    const double d = v.is_number_float() ? v.get<double>() : 0.5;
    if (std::trunc(d) == d && d >= static_cast<double>(Lim::min()) && d < -static_cast<double>(Lim::min())) {
      return static_cast<T>(d);
    }
    const bool integral = v.is_number_integer() || std::trunc(d) == d;  // but out of range
    throw_type_error(key, !integral ? "an integer" : sizeof(T) == 8 ? "a 64-bit integer" : "a 32-bit integer", v);
  } else if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, double> || std::is_same_v<T, std::string>) {
    const bool ok = std::is_same_v<T, bool>     ? v.is_boolean()
                    : std::is_same_v<T, double> ? v.is_number()
                                                : v.is_string();
    if (!ok) throw_type_error(key, type_name<T>(), v);
    return v.get<T>();
  } else if constexpr (std::is_same_v<T, nlohmann::json>) {
    return v;
  } else {  // lists
    if (!v.is_array()) throw_type_error(key, type_name<T>(), v);
    T out;
    for (std::size_t i = 0; i < v.size(); ++i) {
      out.push_back(convert<typename T::value_type>(v[i], key + "[" + std::to_string(i) + "]"));
    }
    return out;
  }
}
}  // namespace detail

/// A view of one JSON object in a config, which records every key that is read so unknown keys can be reported,
/// and fills in defaults so that the fully *resolved* config (all defaults explicit) can be saved with results.
///
/// Keys are paths relative to the view: names separated by '.', list elements addressed as `name[i]`
/// (e.g. "lattice.shape", "actions[1].beta"). The same syntax is used by overrides: `--set actions[1].beta=6.2`,
/// `--set lattice.shape[0]=16`. (`a.b.2` means the object key "2", not a list element.)
/// Views share one state (root JSON and the record of what was read), so reads through children count for the root.
class Config {
 public:
  /// Parse `path` (JSON; `//` and `/* */` comments allowed; malformed JSON or duplicate keys -> ConfigError naming
  /// the file, line and column), then apply overrides "a.b.c=VALUE": VALUE is parsed as JSON if it parses (numbers,
  /// true/false, null, lists, objects, quoted strings), otherwise taken as a plain string (`--set device=cuda`).
  /// Missing intermediate objects are created; a path through a non-object (or a list index out of range)
  /// is a ConfigError. The top level must be an object.
  /// A top-level `"base": "other.json"` (a path relative to this file's directory) makes the config that file, read
  /// the same way (its own base first), with this file merged on top as a JSON merge patch (RFC 7396): objects merge
  /// key by key, any other value (lists included) replaces, `null` removes the key. Overrides apply after; the
  /// resolved config has no "base". A missing or unreadable base, or a cycle, is a ConfigError naming the file.
  static Config load(const std::string& path, const std::vector<std::string>& overrides = {});
  static Config from_json(nlohmann::json j, const std::vector<std::string>& overrides = {},
                          std::string source = "<inline>");

  /// Whether `key` is present (null counts as present); never throws for a well-formed key.
  bool has(const std::string& key) const;

  /// The value at `key`, or `fallback` (which is then recorded into the resolved config) when it is missing.
  /// Wrong type or a failed `check` -> ConfigError naming the full key.
  template <class T>
  T get(const std::string& key, const T& fallback, const Check& check = Check()) {
    static_assert(detail::is_config_type_v<T>, "unsupported config value type");
    std::string where;
    const nlohmann::json& value = fetch(key, nlohmann::json(fallback), nullptr, where);
    T result = detail::convert<T>(value, where);
    check(value, where);
    return result;
  }

  /// The value at `key`; missing -> ConfigError "config key 'x.y' is required (expected <type>)".
  template <class T>
  T require(const std::string& key, const Check& check = Check()) {
    static_assert(detail::is_config_type_v<T>, "unsupported config value type");
    std::string where;
    const std::string expected = detail::type_name<T>();
    const nlohmann::json& value = fetch(key, nlohmann::json(), &expected, where);
    T result = detail::convert<T>(value, where);
    check(value, where);
    return result;
  }

  /// Sub-object view at `key` (must be an object; when missing, an empty view whose defaults are still recorded).
  Config child(const std::string& key);
  /// Views of the objects in the list at `key` (paths "key[i]"); missing -> empty (records `[]`).
  std::vector<Config> children(const std::string& key);
  /// The sub-tree at `key` as-is (null when missing); marks the whole sub-tree as used.
  nlohmann::json raw(const std::string& key);

  /// Throws ConfigError listing every key in this view's sub-tree that nothing read, e.g.
  /// "unknown config key 'lattice.shap' (did you mean 'lattice.shape'?)" (several are joined with "; ").
  /// Suggestions come from the keys the program asked for at the same place, when close by edit distance.
  void check_unused() const;

  const nlohmann::json& resolved() const;              // the whole config (root) with defaults filled in
  std::string path() const;                            // dotted path of this view ("" for root)
  std::string key_path(const std::string& key) const;  // full dotted path of `key` in this view
  const std::string& source() const;                   // the file name (or "<inline>")

 private:
  Config(std::shared_ptr<detail::ConfigState> state, detail::Path base);
  detail::Path full_path(const std::string& key) const;
  /// The node at `key`; when missing, stores `fallback` (required == nullptr) or throws "is required".
  const nlohmann::json& fetch(const std::string& key, nlohmann::json fallback, const std::string* required,
                              std::string& where);

  std::shared_ptr<detail::ConfigState> state_;
  detail::Path base_;
};

}  // namespace blockspin::support
