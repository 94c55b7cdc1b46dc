// Exit status of each error kind (see errors.h).
#include "support/errors.h"

namespace blockspin::support {

ExitCode exit_code_of(const std::exception& e) {
  if (dynamic_cast<const ConfigError*>(&e) != nullptr) return ExitCode::config;
  if (dynamic_cast<const OutputError*>(&e) != nullptr) return ExitCode::output;
  if (dynamic_cast<const InputError*>(&e) != nullptr) return ExitCode::input;
  if (dynamic_cast<const NumericalStop*>(&e) != nullptr) return ExitCode::numerical;
  if (dynamic_cast<const DistributedError*>(&e) != nullptr) return ExitCode::distributed;
  return ExitCode::failure;
}

std::string abbreviate(const std::string& text, std::size_t max_chars) {
  if (text.size() <= max_chars) return text;
  return text.substr(0, max_chars) + "... (" + std::to_string(text.size()) + " characters)";
}

}  // namespace blockspin::support
