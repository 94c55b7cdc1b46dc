// JSON run configs: parsing, overrides, typed access with defaults, validation and unknown-key reports.
#include "support/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>

namespace blockspin::support {

using detail::Path;
using detail::Segment;
using detail::throw_type_error;
using nlohmann::json;

/// What all views of one config share: the root JSON and the record of what the program read.
struct detail::ConfigState {
  json root;
  std::string source;
  std::set<std::string> used;     // JSON pointers of sub-trees that were read as a whole
  std::set<std::string> touched;  // containers that were entered (their members are checked one by one)
  std::map<std::string, std::set<std::string>> asked;  // parent pointer -> keys the program asked for there
};

namespace {

constexpr std::size_t kAll = std::numeric_limits<std::size_t>::max();

// "actions[1].beta": the first `n` segments of `path`.
std::string display(const Path& path, std::size_t n = kAll) {
  std::string out;
  for (std::size_t i = 0; i < std::min(n, path.size()); ++i) {
    if (path[i].is_index) {
      out += fmt::format("[{}]", path[i].index);
    } else {
      out += (out.empty() ? "" : ".") + path[i].key;
    }
  }
  return out;
}

// "/actions/1/beta": the JSON pointer of the first `n` segments, the identity used in ConfigState.
std::string pointer(const Path& path, std::size_t n = kAll) {
  json::json_pointer p;
  for (std::size_t i = 0; i < std::min(n, path.size()); ++i) p = path[i].is_index ? p / path[i].index : p / path[i].key;
  return p.to_string();
}

std::string dump(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

// `string "six"`, `number 6.5`, `list [8,8]`, ... (shortened).
std::string describe(const json& v) {
  static const char* const kinds[] = {"null", "object", "list", "string", "boolean", "number", "number", "number"};
  std::string text = dump(v);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  const auto kind = static_cast<std::size_t>(v.type());
  return v.is_null() ? "null" : fmt::format("{} {}", kind < 8 ? kinds[kind] : "value", text);
}

// Names separated by '.', each optionally followed by list indices "[i]".
Path parse_key(const std::string& text) {
  const ConfigError bad(
      fmt::format("invalid config key '{}' (expected names separated by '.', list elements as name[i])", text));
  Path path;
  std::size_t i = 0;
  while (true) {
    const std::size_t start = i;
    while (i < text.size() && text[i] != '.' && text[i] != '[' && text[i] != ']') ++i;
    if (i == start) throw bad;
    path.push_back({text.substr(start, i - start), 0, false});
    while (i < text.size() && text[i] == '[') {
      const std::size_t close = text.find(']', i);
      if (close == std::string::npos || close == i + 1 || close - i - 1 > 9) throw bad;
      const std::string digits = text.substr(i + 1, close - i - 1);
      if (digits.find_first_not_of("0123456789") != std::string::npos) throw bad;
      path.push_back({"", std::stoul(digits), true});
      i = close + 1;
    }
    if (i == text.size()) return path;
    if (text[i++] != '.') throw bad;
  }
}

// Follows `path` from `root`. A missing key gives nullptr, or with `create` it is added (objects on the way, null
// at the end). A step through a non-object / non-list, or (with `create`) a list index out of range, throws.
json* walk(json& root, const Path& path, bool create) {
  json* node = &root;
  bool fresh = false;  // `node` was just created
  for (std::size_t i = 0; i < path.size(); ++i) {
    const Segment& seg = path[i];
    if (fresh && seg.is_index) {
      throw ConfigError(fmt::format("config key '{}': expected a list, but it is missing", display(path, i)));
    }
    if (fresh) *node = json::object();
    if (!seg.is_index) {
      if (!node->is_object()) throw_type_error(display(path, i), "an object", *node);
      auto it = node->find(seg.key);
      if (it == node->end() && !create) return nullptr;
      fresh = it == node->end();
      node = fresh ? &(*node)[seg.key] : &*it;
    } else {
      if (!node->is_array()) throw_type_error(display(path, i), "a list", *node);
      if (seg.index >= node->size() && !create) return nullptr;
      if (seg.index >= node->size()) {
        throw ConfigError(fmt::format("config key '{}': index out of range (the list has {} elements)",
                                      display(path, i + 1), node->size()));
      }
      node = &(*node)[seg.index];
    }
  }
  return node;
}

const json* find(const json& root, const Path& path) { return walk(const_cast<json&>(root), path, false); }

// Optimal string alignment distance (edits, with adjacent transpositions counting as one).
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The candidate closest to `word`, if it is close enough to be a plausible typo.
template <class Range>
std::optional<std::string> closest(const std::string& word, const Range& candidates) {
  std::optional<std::string> best;
  std::size_t best_d = kAll;
  for (const std::string& c : candidates) {
    if (c == word) continue;  // asked for, yet not read (e.g. only has()): no suggestion
    const std::size_t d = edit_distance(word, c);
    if (d < best_d) best_d = d, best = c;
  }
  if (best && (best_d > std::max<std::size_t>(1, std::max(word.size(), best->size()) / 3) || best_d >= word.size())) {
    return std::nullopt;
  }
  return best;
}

// Usage records: `ask` remembers the key names asked for (for suggestions), `touch` marks `p` and its ancestors as
// entered, `use` marks the sub-tree at `p` as read.
void ask(detail::ConfigState& s, const Path& p) {
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (!p[i].is_index) s.asked[pointer(p, i)].insert(p[i].key);
  }
}
void touch(detail::ConfigState& s, const Path& p) {
  for (std::size_t i = 0; i <= p.size(); ++i) s.touched.insert(pointer(p, i));
}
void use(detail::ConfigState& s, const Path& p) {
  touch(s, p);
  s.used.insert(pointer(p));
}

std::string unknown_key_message(const detail::ConfigState& s, Path path) {
  std::string msg = fmt::format("unknown config key '{}'", display(path));
  const Segment last = path.back();
  path.pop_back();
  auto it = s.asked.find(pointer(path));
  if (last.is_index || it == s.asked.end()) return msg;
  if (auto near = closest(last.key, it->second)) {
    path.push_back({*near, 0, false});
    msg += fmt::format(" (did you mean '{}'?)", display(path));
  }
  return msg;
}

// Every member below `node` (at `path`) that was neither read nor entered.
void collect_unused(const detail::ConfigState& s, const json& node, Path& path, std::vector<std::string>& out) {
  auto consider = [&](const json& member) {
    const std::string ptr = pointer(path);
    if (s.used.count(ptr)) return;
    if (s.touched.count(ptr) && member.is_structured()) {
      collect_unused(s, member, path, out);
    } else {
      out.push_back(unknown_key_message(s, path));
    }
  };
  if (!node.is_structured()) return;
  std::size_t i = 0;
  for (auto it = node.begin(); it != node.end(); ++it, ++i) {
    path.push_back(node.is_object() ? Segment{it.key(), 0, false} : Segment{"", i, true});
    consider(it.value());
    path.pop_back();
  }
}

// Parses `text`, reporting malformed JSON by line and column and rejecting duplicate keys (which would be lost).
json parse_config_text(const std::string& text, const std::string& source) {
  std::vector<std::set<std::string>> keys;  // per open object
  std::optional<std::string> duplicate;
  auto callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) keys.emplace_back();
    if (event == json::parse_event_t::object_end) keys.pop_back();
    if (event == json::parse_event_t::key && !keys.back().insert(parsed.get<std::string>()).second && !duplicate) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  json j;
  try {
    j = json::parse(text, callback, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    // e.byte is the 1-based position of the last character read.
    const std::size_t pos = std::min<std::size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
    const std::size_t line = 1 + std::count(text.begin(), text.begin() + pos, '\n');
    const std::size_t line_start = pos == 0 ? std::string::npos : text.rfind('\n', pos - 1);
    const std::size_t column = line_start == std::string::npos ? pos + 1 : pos - line_start;
    std::string reason = e.what();  // "[json.exception.parse_error.101] parse error at line 1, column 2: REASON"
    std::size_t at = reason.find("column ");
    if (at != std::string::npos) at = reason.find(": ", at);
    if (at != std::string::npos) reason = reason.substr(at + 2);
    throw ConfigError(
        fmt::format("malformed JSON in config file '{}' at line {}, column {}: {}", source, line, column, reason));
  }
  if (duplicate) throw ConfigError(fmt::format("duplicate key '{}' in config file '{}'", *duplicate, source));
  return j;
}

void apply_override(json& root, const std::string& text) {
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos) throw ConfigError(fmt::format("invalid override '{}': expected key.path=value", text));
  std::string key = text.substr(0, eq);
  key.erase(0, key.find_first_not_of(" \t"));
  key.erase(key.find_last_not_of(" \t") + 1);
  const std::string value_text = text.substr(eq + 1);
  json value = json::parse(value_text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = value_text;  // not JSON: a plain string (`device=cuda`)
  try {
    *walk(root, parse_key(key), /*create=*/true) = std::move(value);
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("invalid override '{}': {}", text, e.what()));
  }
}

// Applies `rule` to `value`, or to each element (named "key[i]") when `value` is a list.
Check::Rule elementwise(Check::Rule rule) {
  return [rule = std::move(rule)](const json& v, const std::string& key) {
    if (!v.is_array()) return rule(v, key);
    for (std::size_t i = 0; i < v.size(); ++i) rule(v[i], fmt::format("{}[{}]", key, i));
  };
}

// A number (or each number of a list) must satisfy `ok`.
Check::Rule number_rule(std::function<bool(double)> ok, std::string expected) {
  return elementwise([ok = std::move(ok), expected = std::move(expected)](const json& v, const std::string& key) {
    if (!v.is_number()) throw_type_error(key, "a number", v);
    if (!ok(v.get<double>())) throw_type_error(key, expected, v);
  });
}

}  // namespace

[[noreturn]] void detail::throw_type_error(const std::string& key, const std::string& expected, const json& got) {
  throw ConfigError(fmt::format("config key '{}': expected {}, got {}", key, expected, describe(got)));
}

Check Check::positive() {
  return Check(number_rule([](double x) { return x > 0; }, "a positive number"));
}

Check Check::non_negative() {
  return Check(number_rule([](double x) { return x >= 0; }, "a non-negative number"));
}

Check Check::in_range(double lo, double hi) {
  return Check(number_rule([=](double x) { return x >= lo && x <= hi; }, fmt::format("a number in [{}, {}]", lo, hi)));
}

Check Check::one_of(std::vector<std::string> allowed) {
  return Check(elementwise([allowed = std::move(allowed)](const json& v, const std::string& key) {
    if (!v.is_string()) throw_type_error(key, "a string", v);
    const std::string& s = v.get_ref<const std::string&>();
    if (std::find(allowed.begin(), allowed.end(), s) != allowed.end()) return;
    std::string list;
    for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
    std::string msg = fmt::format("config key '{}': expected one of {}, got {}", key, list, dump(v));
    if (auto near = closest(s, allowed)) msg += fmt::format(" (did you mean '{}'?)", *near);
    throw ConfigError(msg);
  }));
}

Check Check::extents(std::size_t length, bool even) {
  return Check([length, even](const json& v, const std::string& key) {
    if (!v.is_array() || v.empty()) throw_type_error(key, "a non-empty list of positive integers", v);
    if (length > 0 && v.size() != length) {
      throw ConfigError(
          fmt::format("config key '{}': expected {} extents (one per direction), got {}", key, length, v.size()));
    }
    for (std::size_t i = 0; i < v.size(); ++i) {
      const int64_t x = detail::convert<int64_t>(v[i], fmt::format("{}[{}]", key, i));
      if (x <= 0 || (even && x % 2 != 0)) {
        throw ConfigError(fmt::format("config key '{}': extent {} in direction {} must be {}", key, x, i,
                                      x <= 0 ? "positive" : "even"));
      }
    }
  });
}

Check Check::operator&(const Check& other) const {
  Check both = *this;
  both.rules_.insert(both.rules_.end(), other.rules_.begin(), other.rules_.end());
  return both;
}

void Check::operator()(const json& value, const std::string& key) const {
  for (const Rule& rule : rules_) rule(value, key);
}

Config::Config(std::shared_ptr<detail::ConfigState> state, Path base)
    : state_(std::move(state)), base_(std::move(base)) {}

namespace {

json read_config_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw ConfigError(fmt::format("cannot read config file '{}': it is a directory", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("cannot read config file '{}': {}", path, std::strerror(errno)));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw ConfigError(fmt::format("cannot read config file '{}': read error", path));
  return parse_config_text(text, path);
}

// `j` (read from `path`) with its "base" chain resolved: the base file (path relative to `path`'s directory, itself
// resolved first) with `j` merged on top as an RFC 7396 merge patch. `chain` holds the files above, for cycles.
json resolve_base(json j, const std::string& path, std::vector<std::string>& chain) {
  if (!j.is_object() || !j.contains("base")) return j;
  const json& named = j["base"];
  if (!named.is_string() || named.get<std::string>().empty()) {
    throw ConfigError(
        fmt::format("config key 'base' in '{}': expected the path of a config file, got {}", path, describe(named)));
  }
  const std::filesystem::path base_path = std::filesystem::path(path).parent_path() / named.get<std::string>();
  const std::string base = base_path.lexically_normal().string();
  std::error_code ec;
  for (const std::string& above : chain) {
    if (std::filesystem::equivalent(above, base, ec)) {
      std::string cycle;
      for (const std::string& c : chain) cycle += c + " -> ";
      throw ConfigError(fmt::format("config key 'base' in '{}': the bases form a cycle ({}{})", path, cycle, base));
    }
  }
  json base_json;
  try {
    base_json = read_config_file(base);
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("config key 'base' in '{}': {}", path, e.what()));
  }
  chain.push_back(base);
  json merged = resolve_base(std::move(base_json), base, chain);  // errors further down name their own file
  chain.pop_back();
  if (!merged.is_object()) {
    throw ConfigError(fmt::format("config key 'base' in '{}': the top level of '{}' must be a JSON object, got {}",
                                  path, base, describe(merged)));
  }
  j.erase("base");
  merged.merge_patch(j);
  return merged;
}

}  // namespace

Config Config::load(const std::string& path, const std::vector<std::string>& overrides) {
  std::vector<std::string> chain{path};
  return from_json(resolve_base(read_config_file(path), path, chain), overrides, path);
}

Config Config::from_json(json j, const std::vector<std::string>& overrides, std::string source) {
  if (!j.is_object()) {
    throw ConfigError(fmt::format("config '{}': the top level must be a JSON object, got {}", source, describe(j)));
  }
  for (const std::string& o : overrides) apply_override(j, o);
  auto state = std::make_shared<detail::ConfigState>();
  state->root = std::move(j);
  state->source = std::move(source);
  return Config(std::move(state), {});
}

Path Config::full_path(const std::string& key) const {
  Path p = base_;
  for (Segment& s : parse_key(key)) p.push_back(std::move(s));
  return p;
}

bool Config::has(const std::string& key) const {
  const Path p = full_path(key);
  ask(*state_, p);
  try {
    return find(state_->root, p) != nullptr;
  } catch (const ConfigError&) {
    return false;
  }
}

const json& Config::fetch(const std::string& key, json fallback, const std::string* required, std::string& where) {
  const Path p = full_path(key);
  where = display(p);
  ask(*state_, p);
  json* node = walk(state_->root, p, false);
  if (!node && required) throw ConfigError(fmt::format("config key '{}' is required (expected {})", where, *required));
  if (!node) *(node = walk(state_->root, p, true)) = std::move(fallback);
  use(*state_, p);
  return *node;
}

Config Config::child(const std::string& key) {
  const Path p = full_path(key);
  ask(*state_, p);
  if (const json* node = find(state_->root, p)) {
    if (!node->is_object()) throw_type_error(display(p), "an object", *node);
    touch(*state_, p);
  }
  return Config(state_, p);
}

std::vector<Config> Config::children(const std::string& key) {
  const Path p = full_path(key);
  ask(*state_, p);
  const json* node = find(state_->root, p);
  if (!node) {
    *walk(state_->root, p, true) = json::array();
    use(*state_, p);
    return {};
  }
  if (!node->is_array()) throw_type_error(display(p), "a list of objects", *node);
  touch(*state_, p);
  std::vector<Config> out;
  for (std::size_t i = 0; i < node->size(); ++i) {
    Path e = p;
    e.push_back({"", i, true});
    if (!(*node)[i].is_object()) throw_type_error(display(e), "an object", (*node)[i]);
    touch(*state_, e);
    out.push_back(Config(state_, e));
  }
  return out;
}

json Config::raw(const std::string& key) {
  const Path p = full_path(key);
  ask(*state_, p);
  const json* node = find(state_->root, p);
  if (!node) return nullptr;
  use(*state_, p);
  return *node;
}

void Config::check_unused() const {
  for (std::size_t i = 0; i <= base_.size(); ++i) {
    if (state_->used.count(pointer(base_, i))) return;  // this view was read as a whole
  }
  const json* node = find(state_->root, base_);
  if (!node) return;
  std::vector<std::string> problems;
  Path path = base_;
  collect_unused(*state_, *node, path, problems);
  std::string msg;
  for (const std::string& p : problems) msg += (msg.empty() ? "" : "; ") + p;
  if (!msg.empty()) throw ConfigError(msg);
}

const json& Config::resolved() const { return state_->root; }
std::string Config::path() const { return display(base_); }
std::string Config::key_path(const std::string& key) const { return display(full_path(key)); }
const std::string& Config::source() const { return state_->source; }

}  // namespace blockspin::support
