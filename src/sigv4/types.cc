#include "pamproxy/sigv4/types.h"

namespace pamproxy::sigv4 {

bool is_s3_family(std::string_view service) {
  return service == "s3" || service == "s3-outposts" || service == "s3express";
}

const Header* find_header(std::span<const Header> headers, std::string_view name) {
  for (const Header& h : headers) {
    if (iequals(h.name, name)) return &h;
  }
  return nullptr;
}

bool is_hop_by_hop(std::string_view n) {
  return n == "connection" || n == "keep-alive" || n == "proxy-authenticate" ||
         n == "proxy-authorization" || n == "proxy-connection" || n == "te" || n == "trailer" ||
         n == "transfer-encoding" || n == "upgrade";
}

}  // namespace pamproxy::sigv4
