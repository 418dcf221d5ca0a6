#pragma once
// The answers the proxy itself gives a client: on the plain CONNECT leg (before TLS) and inside
// the tunnel (when the upstream cannot be reached). Short, with the cause named, in the format
// the client will print: S3 XML for S3 hosts (the AWS CLI shows `An error occurred (Code) ...:
// message`), JSON otherwise, plain text on the CONNECT leg (curl and the CLI show the status
// line and body of a refused CONNECT).

#include <string>
#include <string_view>

namespace pamproxy::proxy {

enum class ErrorFormat { kText, kS3Xml, kJson };

// "s3.amazonaws.com", "bucket.s3.us-east-1.amazonaws.com", "s3-fips..." -> S3 XML.
ErrorFormat error_format_for_host(std::string_view host);

// A complete HTTP/1.1 response with Connection: close. `code` is the AWS-style error code
// ("ProxyUpstreamUnreachable"), `message` the human reason (never a secret).
std::string error_response(int status, std::string_view code, std::string_view message,
                           ErrorFormat format);

std::string_view status_reason(int status);

}  // namespace pamproxy::proxy
