#pragma once
// STS GetCallerIdentity, the one call any valid AWS keys may make (it needs no IAM permission):
// its request body, and its answers read strictly, so the admin API can learn which account a
// record's keys belong to.
//
//   200  <GetCallerIdentityResponse ...><GetCallerIdentityResult><Arn>..</Arn>
//          <UserId>..</UserId><Account>123456789012</Account></GetCallerIdentityResult>
//          ...</GetCallerIdentityResponse>                     -> "123456789012"
//   403  <ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>
//          <Message>..</Message></Error>...</ErrorResponse>     -> "InvalidClientTokenId"
//
// Pure: no I/O, no allocation; the answers are views into the body. What they return goes into
// the admin API's answers and the log, so both are bounded to a few safe characters.

#include <optional>
#include <string_view>

namespace pamproxy::aws {

// The query-protocol body of the call (POSTed as application/x-www-form-urlencoded).
inline constexpr std::string_view kGetCallerIdentityBody =
    "Action=GetCallerIdentity&Version=2011-06-15";

// The account of a GetCallerIdentity answer: the text of its one <Account> element, inside its
// one <GetCallerIdentityResult>, when that is exactly 12 digits. nullopt for anything else: no
// such element or more than one, attributes or markup in it, other text.
std::optional<std::string_view> caller_identity_account(std::string_view body);

// The <Code> of a query-protocol error answer (<ErrorResponse><Error><Code>), when it is 1 to 64
// letters, digits and dots (AWS's codes: InvalidClientTokenId, ExpiredToken, ...); nullopt
// otherwise.
std::optional<std::string_view> query_error_code(std::string_view body);

}  // namespace pamproxy::aws
