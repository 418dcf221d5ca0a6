#include "pamproxy/aws/error_response.h"

#include <cstdint>

#include "pamproxy/base/json_writer.h"

namespace pamproxy::aws {
namespace {

void append_xml_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 forbids most control characters even escaped: replace them.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
}

void xml_element(std::string& out, std::string_view name, std::string_view text) {
  out += '<';
  out += name;
  out += '>';
  append_xml_escaped(out, text);
  out += "</";
  out += name;
  out += '>';
}

void cbor_text(std::string& out, std::string_view s) {
  constexpr uint8_t kText = 0x60;  // major type 3
  if (s.size() < 24) {
    out += static_cast<char>(kText | s.size());
  } else if (s.size() < 256) {
    out += static_cast<char>(kText | 24);
    out += static_cast<char>(s.size());
  } else {
    size_t n = std::min<size_t>(s.size(), 65535);
    out += static_cast<char>(kText | 25);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xff);
    s = s.substr(0, n);
  }
  out.append(s);
}

}  // namespace

std::string_view status_reason(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
  }
}

ErrorReply render_error(Protocol protocol, int status, std::string_view code,
                        std::string_view message_in, std::string_view request_id) {
  std::string message(message_in);
  message += " (request ";
  message += request_id;
  message += ')';
  ErrorReply r;
  r.status = status;
  std::string& b = r.body;
  switch (protocol) {
    case Protocol::kS3:
      r.content_type = "application/xml";
      b = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>";
      xml_element(b, "Code", code);
      xml_element(b, "Message", message);
      xml_element(b, "RequestId", request_id);
      b += "</Error>";
      break;
    case Protocol::kRestXml:
    case Protocol::kQuery:
      r.content_type = "text/xml";
      b = "<ErrorResponse><Error>";
      xml_element(b, "Type", status >= 500 ? "Receiver" : "Sender");
      xml_element(b, "Code", code);
      xml_element(b, "Message", message);
      b += "</Error>";
      xml_element(b, "RequestId", request_id);
      b += "</ErrorResponse>";
      break;
    case Protocol::kEc2:
      r.content_type = "text/xml;charset=UTF-8";
      b = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>";
      xml_element(b, "Code", code);
      xml_element(b, "Message", message);
      b += "</Error></Errors>";
      xml_element(b, "RequestID", request_id);
      b += "</Response>";
      break;
    case Protocol::kJson:
    case Protocol::kRestJson: {
      r.content_type = protocol == Protocol::kJson ? "application/x-amz-json-1.1"
                                                   : "application/json";
      JsonWriter w;
      w.begin_object().key("__type").value(code).key("message").value(message).end_object();
      b = w.take();
      break;
    }
    case Protocol::kRpcV2Cbor:
      r.content_type = "application/cbor";
      b += static_cast<char>(0xa2);  // map of two pairs
      cbor_text(b, "__type");
      cbor_text(b, code);
      cbor_text(b, "message");
      cbor_text(b, message);
      break;
  }
  return r;
}

std::string http_error_response(Protocol protocol, int status, std::string_view code,
                                std::string_view message, std::string_view request_id,
                                bool close) {
  ErrorReply r = render_error(protocol, status, code, message, request_id);
  std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
  out += status_reason(status);
  out += "\r\nContent-Type: ";
  out += r.content_type;
  out += "\r\nContent-Length: " + std::to_string(r.body.size());
  out += "\r\nx-amz-request-id: ";
  out += request_id;
  out += "\r\nx-amzn-RequestId: ";
  out += request_id;
  if (protocol == Protocol::kJson || protocol == Protocol::kRestJson ||
      protocol == Protocol::kRpcV2Cbor) {
    out += "\r\nx-amzn-ErrorType: ";
    out += code;
  }
  if (protocol == Protocol::kRpcV2Cbor) out += "\r\nsmithy-protocol: rpc-v2-cbor";
  if (close) out += "\r\nConnection: close";
  out += "\r\n\r\n";
  out += r.body;
  return out;
}

}  // namespace pamproxy::aws
