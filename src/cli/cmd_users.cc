// Who may do what, through the admin REST API (docs/admin-api.md):
//   pamctl users list | add NAME [--admin] [--email E] | show ID
//                | edit ID [--name N] [--admin true|false] [--email E] | rm ID
//                | disable|enable USER   (USER: an id or a name)
//   pamctl roles list | add NAME [--description D] | rm ID
//                | add-member ROLE USER | remove-member ROLE USER
//                | map-group GROUP ROLE | unmap-group GROUP ROLE | list-groups
//   pamctl grants list [--record REF]
//                 | add (--user ID | --role ID) (--record REF | --tag T) --permissions view,connect
//                 | rm ID
// Lists take --limit N and --cursor C. Common flags and exit codes: see admin_client.h.

#include <algorithm>
#include <string>
#include <vector>

#include "admin_client.h"
#include "commands.h"
#include "pamproxy/base/json_writer.h"

namespace pamproxy::cli {
namespace {

constexpr char kUsersUsage[] =
    "usage: pamctl users list\n"
    "       pamctl users add NAME [--admin] [--email E]\n"
    "       pamctl users show ID\n"
    "       pamctl users edit ID [--name N] [--admin true|false] [--email E (\"\" removes it)]\n"
    "       pamctl users rm ID\n"
    "       pamctl users disable|enable USER   (an id or a name; her tokens are kept)\n";
constexpr char kRolesUsage[] =
    "usage: pamctl roles list\n"
    "       pamctl roles add NAME [--description D]\n"
    "       pamctl roles rm ID\n"
    "       pamctl roles add-member|remove-member ROLE USER\n"
    "       pamctl roles map-group|unmap-group GROUP ROLE   (groups of the identity provider)\n"
    "       pamctl roles list-groups\n";
constexpr char kGrantsUsage[] =
    "usage: pamctl grants list [--record REF]\n"
    "       pamctl grants add (--user ID | --role ID) (--record REF | --tag T)\n"
    "                  --permissions view,connect,...\n"
    "       pamctl grants rm ID\n";

std::string page_query(const ApiArgs& a,
                       std::vector<std::pair<std::string, std::optional<std::string>>> q = {}) {
  q.emplace_back("limit", a.value("--limit"));
  q.emplace_back("cursor", a.value("--cursor"));
  return query_string(q);
}

// "user:ID" or "role:ID" for a grant's subject; "record:ID" or "tag:T" for its scope.
std::string either(simdjson::dom::object o, const char* k1, const char* label1, const char* k2,
                   const char* label2) {
  std::string v1 = field_text(o, k1);
  if (v1 != "-") return std::string(label1) + ":" + v1;
  std::string v2 = field_text(o, k2);
  return v2 == "-" ? "-" : std::string(label2) + ":" + v2;
}

}  // namespace

int run_users(const std::vector<std::string>& args) {
  const char* f = "users";
  if (args.empty()) return api_usage(f, kUsersUsage, "");
  const std::string& action = args[0];
  if (is_help_word(action)) return api_usage(f, kUsersUsage, "help");
  ApiArgs a = ApiArgs::parse(args, 1,
                             {{"--admin", action == "add" ? ApiArgs::kSwitch : ApiArgs::kValue},
                              {"--name", ApiArgs::kValue},
                              {"--email", ApiArgs::kValue},
                              {"--limit", ApiArgs::kValue},
                              {"--cursor", ApiArgs::kValue}});
  if (!a.error.empty()) return api_usage(f, kUsersUsage, a.error);
  const std::string cmd = "users " + action;
  if (action == "list") {
    if (!a.positional.empty() || a.has("--admin") || a.has("--name") || a.has("--email")) {
      return api_usage(f, kUsersUsage, "list takes no argument");
    }
    return call_and_show(cmd, a, "GET", "/api/v1/users" + page_query(a), std::nullopt, Show::kList,
                         {field_column("ID", "id"), field_column("NAME", "name"),
                          field_column("ADMIN", "admin"), field_column("DISABLED", "disabled"),
                          field_column("EMAIL", "email"), field_column("CREATED", "created_at")});
  }
  if (action == "disable" || action == "enable") {
    if (a.positional.size() != 1 || a.has_own_flags()) {
      return api_usage(f, kUsersUsage, action + " takes USER");
    }
    JsonWriter w;
    w.begin_object().key("disabled").value(action == "disable").end_object();
    return call_and_show(cmd, a, "PATCH", "/api/v1/users/" + percent_encode(a.positional[0]),
                         w.str(), Show::kObject);
  }
  if (action != "add" && action != "show" && action != "edit" && action != "rm") {
    return api_usage(f, kUsersUsage, "unknown action '" + action + "'");
  }
  if (a.positional.size() != 1) {
    return api_usage(f, kUsersUsage, action + (action == "add" ? " takes NAME" : " takes ID"));
  }
  if (a.has("--limit") || a.has("--cursor") || (action != "edit" && a.has("--name")) ||
      ((action == "show" || action == "rm") && (a.has("--admin") || a.has("--email")))) {
    return api_usage(f, kUsersUsage, "a flag that does not go with " + action);
  }
  const std::string path = "/api/v1/users/" + percent_encode(a.positional[0]);
  if (action == "show") return call_and_show(cmd, a, "GET", path, std::nullopt, Show::kObject);
  if (action == "rm") return call_and_show(cmd, a, "DELETE", path, std::nullopt, Show::kDeleted);
  JsonWriter w;
  w.begin_object();
  if (action == "add") {
    w.key("name").value(a.positional[0]).key("admin").value(a.has("--admin"));
    if (auto email = a.value("--email")) w.key("email").value(*email);
  } else {
    if (auto email = a.value("--email")) w.key("email").value(*email);
    if (auto name = a.value("--name")) w.key("name").value(*name);
    if (auto admin = a.value("--admin")) {
      if (*admin != "true" && *admin != "false") {
        return api_usage(f, kUsersUsage, "--admin takes true or false");
      }
      w.key("admin").value(*admin == "true");
    }
  }
  w.end_object();
  if (w.str() == "{}") return api_usage(f, kUsersUsage, "edit: nothing to change");
  return call_and_show(cmd, a, action == "add" ? "POST" : "PATCH",
                       action == "add" ? std::string("/api/v1/users") : path, w.str(),
                       Show::kObject);
}

int run_roles(const std::vector<std::string>& args) {
  const char* f = "roles";
  if (args.empty()) return api_usage(f, kRolesUsage, "");
  const std::string& action = args[0];
  if (is_help_word(action)) return api_usage(f, kRolesUsage, "help");
  ApiArgs a = ApiArgs::parse(args, 1,
                             {{"--description", ApiArgs::kValue},
                              {"--limit", ApiArgs::kValue},
                              {"--cursor", ApiArgs::kValue}});
  if (!a.error.empty()) return api_usage(f, kRolesUsage, a.error);
  const std::string cmd = "roles " + action;
  const size_t n = a.positional.size();
  if ((action != "add" && a.has("--description")) ||
      (action != "list" && (a.has("--limit") || a.has("--cursor")))) {
    return api_usage(f, kRolesUsage, "a flag that does not go with " + action);
  }
  if (action == "list") {
    if (n != 0) return api_usage(f, kRolesUsage, "list takes no argument");
    return call_and_show(
        cmd, a, "GET", "/api/v1/roles" + page_query(a), std::nullopt, Show::kList,
        {field_column("ID", "id"), field_column("NAME", "name"), field_column("MEMBERS", "members"),
         field_column("DESCRIPTION", "description")});
  }
  if (action == "add") {
    if (n != 1) return api_usage(f, kRolesUsage, "add takes NAME");
    JsonWriter w;
    w.begin_object().key("name").value(a.positional[0]);
    w.key("description").value(a.value("--description").value_or(""));
    w.end_object();
    return call_and_show(cmd, a, "POST", "/api/v1/roles", w.str(), Show::kObject);
  }
  if (action == "rm") {
    if (n != 1) return api_usage(f, kRolesUsage, "rm takes ID");
    return call_and_show(cmd, a, "DELETE", "/api/v1/roles/" + percent_encode(a.positional[0]),
                         std::nullopt, Show::kDeleted);
  }
  if (action == "add-member" || action == "remove-member") {
    if (n != 2) return api_usage(f, kRolesUsage, action + " takes ROLE USER");
    const std::string path = "/api/v1/roles/" + percent_encode(a.positional[0]) + "/members/" +
                             percent_encode(a.positional[1]);
    return call_and_show(cmd, a, action == "add-member" ? "PUT" : "DELETE", path, std::nullopt,
                         Show::kObject);
  }
  // Provider groups whose members get a role at each sign-in (docs/identity.md).
  if (action == "map-group") {
    if (n != 2) return api_usage(f, kRolesUsage, "map-group takes GROUP ROLE");
    JsonWriter w;
    w.begin_object().key("group").value(a.positional[0]).key("role_id").value(a.positional[1]);
    w.end_object();
    return call_and_show(cmd, a, "POST", "/api/v1/group-roles", w.str(), Show::kObject);
  }
  if (action == "unmap-group") {
    if (n != 2) return api_usage(f, kRolesUsage, "unmap-group takes GROUP ROLE");
    return call_and_show(cmd, a, "DELETE",
                         "/api/v1/group-roles/" + percent_encode(a.positional[0]) + "/" +
                             percent_encode(a.positional[1]),
                         std::nullopt, Show::kDeleted);
  }
  if (action == "list-groups") {
    if (n != 0) return api_usage(f, kRolesUsage, "list-groups takes no argument");
    return call_and_show(cmd, a, "GET", "/api/v1/group-roles", std::nullopt, Show::kList,
                         {field_column("GROUP", "group"), field_column("ROLE", "role_id"),
                          field_column("CREATED", "created_at")});
  }
  return api_usage(f, kRolesUsage, "unknown action '" + action + "'");
}

int run_grants(const std::vector<std::string>& args) {
  const char* f = "grants";
  if (args.empty()) return api_usage(f, kGrantsUsage, "");
  const std::string& action = args[0];
  if (is_help_word(action)) return api_usage(f, kGrantsUsage, "help");
  ApiArgs a = ApiArgs::parse(args, 1,
                             {{"--user", ApiArgs::kValue},
                              {"--role", ApiArgs::kValue},
                              {"--record", ApiArgs::kValue},
                              {"--tag", ApiArgs::kValue},
                              {"--permissions", ApiArgs::kValue},
                              {"--limit", ApiArgs::kValue},
                              {"--cursor", ApiArgs::kValue}});
  if (!a.error.empty()) return api_usage(f, kGrantsUsage, a.error);
  const std::string cmd = "grants " + action;
  if (action == "list") {
    if (!a.positional.empty() || a.has("--user") || a.has("--role") || a.has("--tag") ||
        a.has("--permissions")) {
      return api_usage(f, kGrantsUsage, "list takes only --record REF");
    }
    return call_and_show(
        cmd, a, "GET", "/api/v1/grants" + page_query(a, {{"record", a.value("--record")}}),
        std::nullopt, Show::kList,
        {field_column("ID", "id"),
         {"SUBJECT", [](auto o) { return either(o, "user_id", "user", "role_id", "role"); }},
         {"SCOPE", [](auto o) { return either(o, "record_id", "record", "tag", "tag"); }},
         field_column("PERMISSIONS", "permissions"),
         field_column("CREATED", "created_at")});
  }
  if (action == "rm") {
    if (a.positional.size() != 1 || a.has_own_flags())
      return api_usage(f, kGrantsUsage, "rm takes ID");
    return call_and_show(cmd, a, "DELETE", "/api/v1/grants/" + percent_encode(a.positional[0]),
                         std::nullopt, Show::kDeleted);
  }
  if (action != "add") return api_usage(f, kGrantsUsage, "unknown action '" + action + "'");
  if (!a.positional.empty() || a.has("--limit") || a.has("--cursor")) {
    return api_usage(f, kGrantsUsage, "add takes flags only");
  }
  if (a.has("--user") == a.has("--role")) {
    return api_usage(f, kGrantsUsage, "add takes one of --user ID and --role ID");
  }
  if (a.has("--record") == a.has("--tag")) {
    return api_usage(f, kGrantsUsage, "add takes one of --record REF and --tag T");
  }
  auto permissions = a.value("--permissions");
  if (!permissions) return api_usage(f, kGrantsUsage, "add needs --permissions");
  JsonWriter w;
  w.begin_object();
  if (auto user = a.value("--user")) w.key("user_id").value(*user);
  if (auto role = a.value("--role")) w.key("role_id").value(*role);
  if (auto record = a.value("--record")) w.key("record_id").value(*record);
  if (auto tag = a.value("--tag")) w.key("tag").value(*tag);
  w.key("permissions").begin_array();
  for (size_t start = 0; start <= permissions->size();) {
    size_t comma = std::min(permissions->find(',', start), permissions->size());
    std::string p = permissions->substr(start, comma - start);
    if (!p.empty()) w.value(p);
    start = comma + 1;
  }
  w.end_array().end_object();
  return call_and_show(cmd, a, "POST", "/api/v1/grants", w.str(), Show::kObject);
}

}  // namespace pamproxy::cli
