#pragma once
// Checks for string values in the configuration. Each returns "" when the value is valid, else a
// short reason that the loader puts after the file, line and key.

#include <string>
#include <string_view>

namespace pamproxy::config::internal {

std::string check_socket_address(std::string_view v);      // ip:port, [v6]:port
std::string check_listen_address(std::string_view v);       // same, port 0 allowed
std::string check_cidr(std::string_view v);                // 10.0.0.0/8, ::1/128, 192.0.2.1
std::string check_host_pattern(std::string_view v);        // name.example or *.example
std::string check_destination_pattern(std::string_view v); // host pattern + ":" + port
std::string check_dns_server(std::string_view v);          // ip or ip:port
std::string check_postgresql_url(std::string_view v);      // "", postgresql://..., key=value ...
std::string check_issuer_url(std::string_view v);          // "" or https://host[:port][/path], no query
std::string check_https_url(std::string_view v);           // "" or https://host[:port][/path?query]
std::string check_https_origin(std::string_view v);        // "" or https://host[:port]
std::string check_claim_name(std::string_view v);          // a JSON member name, printable
std::string check_scope(std::string_view v);               // an OAuth scope token
std::string check_mail_address(std::string_view v);        // "" or local@domain.tld

}  // namespace pamproxy::config::internal
