#include "pamproxy/proxy/error_response.h"


namespace pamproxy::proxy {
namespace {

void escape_into(std::string* out, std::string_view s, bool xml) {
  for (char c : s) {
    switch (c) {
      case '<': *out += xml ? "&lt;" : "<"; break;
      case '>': *out += xml ? "&gt;" : ">"; break;
      case '&': *out += xml ? "&amp;" : "&"; break;
      case '"': *out += xml ? "&quot;" : "\\\""; break;
      case '\\': *out += xml ? "\\" : "\\\\"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          *out += ' ';
        } else {
          *out += c;
        }
    }
  }
}

}  // namespace

ErrorFormat error_format_for_host(std::string_view host) {
  if (host.substr(0, 3) == "s3." || host.substr(0, 3) == "s3-" ||
      host.find(".s3.") != std::string_view::npos || host.find(".s3-") != std::string_view::npos) {
    return ErrorFormat::kS3Xml;
  }
  return ErrorFormat::kJson;
}

std::string_view status_reason(int status) {
  switch (status) {
    case 200: return "Connection established";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
  }
}

std::string error_response(int status, std::string_view code, std::string_view message,
                           ErrorFormat format) {
  std::string body;
  std::string_view type;
  switch (format) {
    case ErrorFormat::kText:
      type = "text/plain; charset=utf-8";
      body = std::string(code) + ": ";
      escape_into(&body, message, false);
      body += "\n";
      break;
    case ErrorFormat::kS3Xml:
      type = "application/xml";
      body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>";
      body += code;
      body += "</Code><Message>";
      escape_into(&body, message, true);
      body += "</Message></Error>";
      break;
    case ErrorFormat::kJson:
      type = "application/x-amz-json-1.1";
      body = "{\"__type\":\"";
      body += code;
      body += "\",\"message\":\"";
      escape_into(&body, message, false);
      body += "\"}";
      break;
  }
  std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
  out += status_reason(status);
  out += "\r\nContent-Type: ";
  out += type;
  out += "\r\nContent-Length: " + std::to_string(body.size());
  out += "\r\nConnection: close\r\nx-pamproxy-error: ";
  out += code;
  out += "\r\n\r\n";
  out += body;
  return out;
}

}  // namespace pamproxy::proxy
