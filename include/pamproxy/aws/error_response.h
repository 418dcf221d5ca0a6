#pragma once
// Error answers in the shape each AWS protocol's SDKs parse, so a denial by the appliance reads
// like any AWS error: the AWS CLI prints
//   An error occurred (AccessDenied) when calling the ListBuckets operation: <message>
// The message always ends with "(request <id>)", the id that finds the event in the audit log.
//
//   S3 / REST-XML   <Error><Code>..</Code><Message>..</Message><RequestId>..</RequestId></Error>
//   query           <ErrorResponse><Error><Type>Sender</Type><Code>..</Code>...</ErrorResponse>
//   EC2             <Response><Errors><Error><Code>..</Code>..</Errors><RequestID>..</Response>
//   JSON, REST-JSON {"__type": "..", "message": ".."} and the x-amzn-ErrorType header
//   rpc-v2-cbor     the same map in CBOR
//
// Pure. Messages are escaped for their format; secrets must never be passed in.

#include <string>
#include <string_view>

#include "pamproxy/aws/operation.h"

namespace pamproxy::aws {

struct ErrorReply {
  int status = 403;
  std::string_view content_type;
  std::string body;
};

ErrorReply render_error(Protocol protocol, int status, std::string_view code,
                        std::string_view message, std::string_view request_id);

// A whole HTTP/1.1 response (head and body) carrying the error; `close` adds Connection: close.
std::string http_error_response(Protocol protocol, int status, std::string_view code,
                                std::string_view message, std::string_view request_id,
                                bool close);

std::string_view status_reason(int status);

}  // namespace pamproxy::aws
