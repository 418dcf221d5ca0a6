#include "pamproxy/admin/json_body.h"

#include <simdjson.h>

#include <algorithm>

namespace pamproxy::admin {

struct JsonBody::Impl {
  struct Node {
    simdjson::dom::object object;
    std::string path;  // "" for the root, "windows[1]." for nested objects
    std::vector<std::string> known;
  };
  simdjson::dom::parser parser;
  simdjson::padded_string text;
  std::vector<Node> nodes;  // [0] is the root
  std::optional<JsonError> error;
};

namespace {

std::string type_of(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::ARRAY: return "an array";
    case simdjson::dom::element_type::OBJECT: return "an object";
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64: return "an integer";
    case simdjson::dom::element_type::DOUBLE: return "a number with a fraction";
    case simdjson::dom::element_type::STRING: return "a string";
    case simdjson::dom::element_type::BOOL: return "a boolean";
    case simdjson::dom::element_type::NULL_VALUE: return "null";
  }
  return "something else";
}

}  // namespace

std::string JsonError::to_string() const {
  return field.empty() ? message : "field '" + field + "': " + message;
}

JsonBody::JsonBody(std::shared_ptr<Impl> impl, size_t node)
    : impl_(std::move(impl)), node_(node) {}

bool JsonBody::ok() const { return !impl_->error; }
const JsonError& JsonBody::error() const { return *impl_->error; }
const std::string& JsonBody::path() const { return impl_->nodes[node_].path; }

JsonBody::~JsonBody() = default;

std::unique_ptr<JsonBody> JsonBody::parse(std::string_view text, const Limits& limits,
                                          JsonError* error) {
  if (text.size() > limits.body_bytes_max) {
    *error = {"", "request body is larger than " + std::to_string(limits.body_bytes_max) +
                      " bytes ([admin] body_bytes_max)"};
    return nullptr;
  }
  auto impl = std::make_shared<Impl>();
  if (impl->parser.allocate(std::max<size_t>(text.size(), 64), limits.depth_max) !=
      simdjson::SUCCESS) {
    *error = {"", "cannot allocate a parser for the request body"};
    return nullptr;
  }
  impl->text = simdjson::padded_string(text);
  simdjson::dom::element root;
  auto err = impl->parser.parse(impl->text).get(root);
  if (err == simdjson::DEPTH_ERROR) {
    *error = {"", "request body nests deeper than " + std::to_string(limits.depth_max) + " levels"};
    return nullptr;
  }
  if (err != simdjson::SUCCESS) {
    *error = {"", std::string("request body is not valid JSON: ") + simdjson::error_message(err)};
    return nullptr;
  }
  simdjson::dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) {
    *error = {"", "request body must be a JSON object, got " + type_of(root)};
    return nullptr;
  }
  impl->nodes.push_back({obj, "", {}});
  return std::unique_ptr<JsonBody>(new JsonBody(std::move(impl), 0));
}

void JsonBody::fail(std::string_view name, std::string message) {
  if (impl_->error) return;
  impl_->error = JsonError{path() + std::string(name), std::move(message)};
}

bool JsonBody::has(std::string_view name) const {
  simdjson::dom::element e;
  return impl_->nodes[node_].object.at_key(name).get(e) == simdjson::SUCCESS;
}

std::optional<std::string> JsonBody::string(std::string_view name, bool required, size_t min_len,
                                            size_t max_len) {
  impl_->nodes[node_].known.emplace_back(name);
  simdjson::dom::element e;
  if (impl_->nodes[node_].object.at_key(name).get(e) != simdjson::SUCCESS) {
    if (required) fail(name, "is required");
    return std::nullopt;
  }
  std::string_view s;
  if (e.get_string().get(s) != simdjson::SUCCESS) {
    fail(name, "expected a string, got " + type_of(e));
    return std::nullopt;
  }
  if (s.size() < min_len || s.size() > max_len) {
    fail(name, s.size() < min_len
                   ? (min_len == 1 ? std::string("must not be empty")
                                   : "must be at least " + std::to_string(min_len) + " bytes")
                   : "must be at most " + std::to_string(max_len) + " bytes");
    return std::nullopt;
  }
  return std::string(s);
}

std::optional<int64_t> JsonBody::integer(std::string_view name, bool required, int64_t min,
                                         int64_t max) {
  impl_->nodes[node_].known.emplace_back(name);
  simdjson::dom::element e;
  if (impl_->nodes[node_].object.at_key(name).get(e) != simdjson::SUCCESS) {
    if (required) fail(name, "is required");
    return std::nullopt;
  }
  int64_t v = 0;
  if (!e.is_int64() || e.get_int64().get(v) != simdjson::SUCCESS) {
    fail(name, "expected an integer, got " + type_of(e));
    return std::nullopt;
  }
  if (v < min || v > max) {
    fail(name, "out of range: " + std::to_string(v) + " (allowed " + std::to_string(min) + " to " +
                   std::to_string(max) + ")");
    return std::nullopt;
  }
  return v;
}

std::optional<bool> JsonBody::boolean(std::string_view name, bool required) {
  impl_->nodes[node_].known.emplace_back(name);
  simdjson::dom::element e;
  if (impl_->nodes[node_].object.at_key(name).get(e) != simdjson::SUCCESS) {
    if (required) fail(name, "is required");
    return std::nullopt;
  }
  bool b = false;
  if (e.get_bool().get(b) != simdjson::SUCCESS) {
    fail(name, "expected true or false, got " + type_of(e));
    return std::nullopt;
  }
  return b;
}

std::optional<std::vector<std::string>> JsonBody::string_list(std::string_view name,
                                                              bool required, size_t max_items,
                                                              size_t max_len) {
  impl_->nodes[node_].known.emplace_back(name);
  simdjson::dom::element e;
  if (impl_->nodes[node_].object.at_key(name).get(e) != simdjson::SUCCESS) {
    if (required) fail(name, "is required");
    return std::nullopt;
  }
  simdjson::dom::array arr;
  if (e.get_array().get(arr) != simdjson::SUCCESS) {
    fail(name, "expected an array of strings, got " + type_of(e));
    return std::nullopt;
  }
  if (arr.size() > max_items) {
    fail(name, "at most " + std::to_string(max_items) + " entries");
    return std::nullopt;
  }
  std::vector<std::string> out;
  size_t i = 0;
  for (simdjson::dom::element item : arr) {
    std::string_view s;
    std::string item_name = std::string(name) + "[" + std::to_string(i++) + "]";
    if (item.get_string().get(s) != simdjson::SUCCESS) {
      fail(item_name, "expected a string, got " + type_of(item));
      return std::nullopt;
    }
    if (s.size() > max_len) {
      fail(item_name, "must be at most " + std::to_string(max_len) + " bytes");
      return std::nullopt;
    }
    out.emplace_back(s);
  }
  return out;
}

std::optional<std::vector<std::unique_ptr<JsonBody>>> JsonBody::object_list(std::string_view name,
                                                                           bool required,
                                                                           size_t max_items) {
  impl_->nodes[node_].known.emplace_back(name);
  simdjson::dom::element e;
  if (impl_->nodes[node_].object.at_key(name).get(e) != simdjson::SUCCESS) {
    if (required) fail(name, "is required");
    return std::nullopt;
  }
  simdjson::dom::array arr;
  if (e.get_array().get(arr) != simdjson::SUCCESS) {
    fail(name, "expected an array of objects, got " + type_of(e));
    return std::nullopt;
  }
  if (arr.size() > max_items) {
    fail(name, "at most " + std::to_string(max_items) + " entries");
    return std::nullopt;
  }
  std::vector<std::unique_ptr<JsonBody>> out;
  size_t i = 0;
  for (simdjson::dom::element item : arr) {
    std::string item_name = std::string(name) + "[" + std::to_string(i++) + "]";
    simdjson::dom::object obj;
    if (item.get_object().get(obj) != simdjson::SUCCESS) {
      fail(item_name, "expected an object, got " + type_of(item));
      return std::nullopt;
    }
    impl_->nodes.push_back({obj, path() + item_name + ".", {}});
    out.push_back(std::unique_ptr<JsonBody>(new JsonBody(impl_, impl_->nodes.size() - 1)));
  }
  return out;
}

std::unique_ptr<JsonBody> JsonBody::object(std::string_view name, bool required) {
  impl_->nodes[node_].known.emplace_back(name);
  simdjson::dom::element e;
  if (impl_->nodes[node_].object.at_key(name).get(e) != simdjson::SUCCESS) {
    if (required) fail(name, "is required");
    return nullptr;
  }
  simdjson::dom::object obj;
  if (e.get_object().get(obj) != simdjson::SUCCESS) {
    fail(name, "expected an object, got " + type_of(e));
    return nullptr;
  }
  impl_->nodes.push_back({obj, path() + std::string(name) + ".", {}});
  return std::unique_ptr<JsonBody>(new JsonBody(impl_, impl_->nodes.size() - 1));
}

bool JsonBody::finish() {
  for (const Impl::Node& node : impl_->nodes) {
    if (impl_->error) break;
    std::vector<std::string_view> seen;
    for (auto [key, value] : node.object) {
      (void)value;
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        impl_->error = JsonError{node.path + std::string(key), "appears more than once"};
        break;
      }
      seen.push_back(key);
      if (std::find(node.known.begin(), node.known.end(), key) == node.known.end()) {
        impl_->error = JsonError{node.path + std::string(key), "unknown field"};
        break;
      }
    }
  }
  return !impl_->error;
}

}  // namespace pamproxy::admin
