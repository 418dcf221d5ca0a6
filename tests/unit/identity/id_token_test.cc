// ID token verification against keys made here: an RSA and a P-256 key signing real tokens, and
// one test per way a token must be refused.

#include "pamproxy/identity/id_token.h"

#include <cjose/base64.h>
#include <cjose/header.h>
#include <cjose/jwk.h>
#include <cjose/jws.h>
#include <cjose/util.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "src/identity/cat.h"

namespace pamproxy::identity {
namespace {

using internal::cat;

constexpr std::string_view kIssuer = "https://id.example/realms/staff";
constexpr std::string_view kClient = "pamproxy";
constexpr std::string_view kNonce = "n-0S6_WzA2Mj";
const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

using JwkPtr = std::unique_ptr<cjose_jwk_t, bool (*)(cjose_jwk_t*)>;

std::string base64url(std::string_view bytes) {
  char* out = nullptr;
  size_t length = 0;
  cjose_err err;
  EXPECT_TRUE(cjose_base64url_encode(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                     &out, &length, &err));
  std::string s(out, length);
  cjose_get_dealloc()(out);
  return s;
}

std::string public_json(const cjose_jwk_t* jwk, std::string_view kid) {
  cjose_err err;
  char* json = cjose_jwk_to_json(jwk, false, &err);
  std::string s(json);
  std::free(json);
  // {"kty":...} -> {"kid":"...","use":"sig","kty":...}
  return cat("{\"kid\":\"", kid, "\",\"use\":\"sig\",", s.substr(1));
}

// The claims of a good token; each test changes one.
struct Claims {
  std::string iss = std::string(kIssuer);
  std::string aud = cat("\"", kClient, "\"");  // JSON
  std::string azp;                             // "" = absent
  int64_t exp = absl::ToUnixSeconds(kNow) + 300;
  int64_t iat = absl::ToUnixSeconds(kNow) - 5;
  std::optional<int64_t> nbf;
  std::string nonce = std::string(kNonce);  // "" = absent
  std::string extra =
      R"("sub":"u-123","email":"ada@example.com","name":"Ada L","groups":["ops","dev"])";

  std::string json() const {
    std::string out =
        cat("{\"iss\":\"", iss, "\",\"aud\":", aud, ",\"exp\":", exp, ",\"iat\":", iat);
    if (!azp.empty()) out += cat(",\"azp\":\"", azp, "\"");
    if (nbf) out += cat(",\"nbf\":", *nbf);
    if (!nonce.empty()) out += cat(",\"nonce\":\"", nonce, "\"");
    if (!extra.empty()) out += cat(",", extra);
    return out + "}";
  }
};

class IdTokenTest : public ::testing::Test {
 protected:
  // One pair of keys for the whole suite: an RSA key takes a while to make.
  static void SetUpTestSuite() {
    cjose_err err;
    static const uint8_t kE[] = {0x01, 0x00, 0x01};
    rsa_key_ = cjose_jwk_create_RSA_random(2048, kE, sizeof(kE), &err);
    ec_key_ = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
  }
  static void TearDownTestSuite() {
    cjose_jwk_release(rsa_key_);
    cjose_jwk_release(ec_key_);
  }

  void SetUp() override {
    ASSERT_TRUE(rsa_key_ != nullptr && ec_key_ != nullptr);
    cjose_err err;
    rsa_.reset(cjose_jwk_retain(rsa_key_, &err));
    ec_.reset(cjose_jwk_retain(ec_key_, &err));
    jwks_json_ = cat("{\"keys\":[", public_json(rsa_.get(), "rsa-1"), ",",
                     public_json(ec_.get(), "ec-1"), "]}");
    auto parsed = Jwks::parse(jwks_json_);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    jwks_ = *std::move(parsed);
    ASSERT_EQ(jwks_.size(), 2u);
  }

  static std::string sign(const cjose_jwk_t* key, std::string_view alg, std::string_view kid,
                          const std::string& payload) {
    cjose_err err;
    cjose_header_t* header = cjose_header_new(&err);
    cjose_header_set(header, CJOSE_HDR_ALG, std::string(alg).c_str(), &err);
    if (!kid.empty()) cjose_header_set(header, CJOSE_HDR_KID, std::string(kid).c_str(), &err);
    cjose_jws_t* jws = cjose_jws_sign(key, header, reinterpret_cast<const uint8_t*>(payload.data()),
                                      payload.size(), &err);
    cjose_header_release(header);
    EXPECT_NE(jws, nullptr) << err.message;
    if (jws == nullptr) return {};
    const char* compact = nullptr;
    cjose_jws_export(jws, &compact, &err);
    std::string out(compact);
    cjose_jws_release(jws);
    return out;
  }

  std::string rs256(const Claims& c = {}) const {
    return sign(rsa_.get(), "RS256", "rsa-1", c.json());
  }
  std::string es256(const Claims& c = {}) const {
    return sign(ec_.get(), "ES256", "ec-1", c.json());
  }

  static IdTokenExpectations expect() {
    return {.issuer = kIssuer,
            .client_id = kClient,
            .nonce = kNonce,
            .now = kNow,
            .clock_skew = absl::Seconds(60)};
  }

  IdTokenCheck verify(std::string_view token) const {
    return verify_id_token(token, jwks_, expect());
  }

  void expect_refused(std::string_view token, Refusal refusal, std::string_view reason) const {
    IdTokenCheck check = verify(token);
    EXPECT_EQ(check.refusal, refusal) << check.reason;
    EXPECT_NE(check.reason.find(reason), std::string::npos) << check.reason;
  }

  static inline cjose_jwk_t* rsa_key_ = nullptr;
  static inline cjose_jwk_t* ec_key_ = nullptr;
  JwkPtr rsa_{nullptr, cjose_jwk_release};
  JwkPtr ec_{nullptr, cjose_jwk_release};
  std::string jwks_json_;
  Jwks jwks_;
};

TEST_F(IdTokenTest, GoodRs256TokenGivesTheClaims) {
  IdTokenCheck check = verify(rs256());
  ASSERT_TRUE(check.ok()) << check.reason;
  EXPECT_EQ(check.claims.subject, "u-123");
  EXPECT_EQ(check.claims.email, "ada@example.com");
  EXPECT_EQ(check.claims.name, "Ada L");
  EXPECT_EQ(check.claims.groups, (std::vector<std::string>{"ops", "dev"}));
  EXPECT_EQ(check.claims.expires_at, kNow + absl::Seconds(300));
}

TEST_F(IdTokenTest, GoodEs256TokenGivesTheClaims) {
  IdTokenCheck check = verify(es256());
  ASSERT_TRUE(check.ok()) << check.reason;
  EXPECT_EQ(check.claims.subject, "u-123");
}

TEST_F(IdTokenTest, ClaimNamesComeFromTheConfiguration) {
  Claims c;
  c.extra = R"("oid":"obj-9","upn":"ada@corp.example","roles":"admins")";
  IdTokenExpectations e = expect();
  e.subject_claim = "oid";
  e.email_claim = "upn";
  e.groups_claim = "roles";
  IdTokenCheck check = verify_id_token(rs256(c), jwks_, e);
  ASSERT_TRUE(check.ok()) << check.reason;
  EXPECT_EQ(check.claims.subject, "obj-9");
  EXPECT_EQ(check.claims.email, "ada@corp.example");
  EXPECT_EQ(check.claims.name, "");
  EXPECT_EQ(check.claims.groups, std::vector<std::string>{"admins"});
}

TEST_F(IdTokenTest, AlgorithmNoneIsRefusedByName) {
  const std::string token = base64url(R"({"alg":"none"})") + "." + base64url(Claims{}.json()) + ".";
  expect_refused(token, Refusal::kAlgorithm, "\"none\" is refused");
}

TEST_F(IdTokenTest, Hs256WithThePublicKeyAsSecretIsRefusedByName) {
  // The classic confusion: an HMAC keyed with the provider's published key, which anyone has.
  const std::string rsa_public = public_json(rsa_.get(), "rsa-1");
  cjose_err err;
  JwkPtr hmac(cjose_jwk_create_oct_spec(reinterpret_cast<const uint8_t*>(rsa_public.data()),
                                        rsa_public.size(), &err),
              cjose_jwk_release);
  ASSERT_TRUE(hmac);
  expect_refused(sign(hmac.get(), "HS256", "rsa-1", Claims{}.json()), Refusal::kAlgorithm,
                 "\"HS256\" is refused");
}

TEST_F(IdTokenTest, OtherAlgorithmsAreRefusedByName) {
  expect_refused(sign(rsa_.get(), "RS384", "rsa-1", Claims{}.json()), Refusal::kAlgorithm,
                 "\"RS384\" is refused");
  expect_refused(sign(rsa_.get(), "PS256", "rsa-1", Claims{}.json()), Refusal::kAlgorithm,
                 "\"PS256\" is refused");
}

TEST_F(IdTokenTest, UnknownKeyIdIsRefusedSoTheCallerCanRefetch) {
  expect_refused(sign(rsa_.get(), "RS256", "rsa-2", Claims{}.json()), Refusal::kUnknownKeyId,
                 "kid \"rsa-2\"");
}

TEST_F(IdTokenTest, KeyOfTheWrongTypeForTheAlgorithmIsRefused) {
  // ES256 claimed, but the kid names the RSA key.
  expect_refused(sign(ec_.get(), "ES256", "rsa-1", Claims{}.json()), Refusal::kKeyType, "P-256 EC");
}

TEST_F(IdTokenTest, BadSignatureIsRefused) {
  std::string token = rs256();
  // Another token's signature on these claims.
  Claims other;
  other.extra = R"("sub":"u-999")";
  const std::string forged = rs256(other);
  token = token.substr(0, token.rfind('.')) + forged.substr(forged.rfind('.'));
  expect_refused(token, Refusal::kSignature, "signature does not verify");
  // A token signed by a key the provider does not publish, under the provider's kid.
  cjose_err err;
  static const uint8_t kE[] = {0x01, 0x00, 0x01};
  JwkPtr stranger(cjose_jwk_create_RSA_random(2048, kE, sizeof(kE), &err), cjose_jwk_release);
  expect_refused(sign(stranger.get(), "RS256", "rsa-1", Claims{}.json()), Refusal::kSignature,
                 "signature does not verify");
}

TEST_F(IdTokenTest, WrongIssuerIsRefused) {
  Claims c;
  c.iss = "https://id.example/realms/staff/";
  expect_refused(rs256(c), Refusal::kIssuer, "is not the configured issuer");
}

TEST_F(IdTokenTest, AudienceWithoutThisClientIsRefused) {
  Claims c;
  c.aud = R"("another-app")";
  expect_refused(rs256(c), Refusal::kAudience, "does not include this client");
  c.aud = R"(["another-app","third"])";
  expect_refused(rs256(c), Refusal::kAudience, "does not include this client");
}

TEST_F(IdTokenTest, SeveralAudiencesNeedThisClientAsAuthorizedParty) {
  Claims c;
  c.aud = R"(["pamproxy","another-app"])";
  expect_refused(rs256(c), Refusal::kAuthorizedParty, "no authorized party");
  c.azp = "another-app";
  expect_refused(rs256(c), Refusal::kAuthorizedParty, "\"another-app\" is not this client");
  c.azp = "pamproxy";
  EXPECT_TRUE(verify(rs256(c)).ok());
}

TEST_F(IdTokenTest, ExpiredTokenIsRefusedBeyondTheSkew) {
  Claims c;
  c.exp = absl::ToUnixSeconds(kNow) - 30;  // within the 60 s skew
  EXPECT_TRUE(verify(rs256(c)).ok());
  c.exp = absl::ToUnixSeconds(kNow) - 61;
  expect_refused(rs256(c), Refusal::kExpired, "expired at");
}

TEST_F(IdTokenTest, TokenIssuedInTheFutureIsRefusedBeyondTheSkew) {
  Claims c;
  c.iat = absl::ToUnixSeconds(kNow) + 30;
  EXPECT_TRUE(verify(rs256(c)).ok());
  c.iat = absl::ToUnixSeconds(kNow) + 61;
  expect_refused(rs256(c), Refusal::kIssuedInFuture, "issued in the future");
}

TEST_F(IdTokenTest, TokenNotYetValidIsRefusedBeyondTheSkew) {
  Claims c;
  c.nbf = absl::ToUnixSeconds(kNow) + 30;
  EXPECT_TRUE(verify(rs256(c)).ok());
  c.nbf = absl::ToUnixSeconds(kNow) + 120;
  expect_refused(rs256(c), Refusal::kNotYetValid, "not valid before");
}

TEST_F(IdTokenTest, NonceOtherThanTheOneSentIsRefused) {
  Claims c;
  c.nonce = "n-0S6_WzA2Mk";
  expect_refused(rs256(c), Refusal::kNonce, "not the one this sign-in sent");
  c.nonce = "";
  expect_refused(rs256(c), Refusal::kNonce, "has no nonce");
}

TEST_F(IdTokenTest, MissingSubjectIsRefused) {
  Claims c;
  c.extra = R"("email":"ada@example.com")";
  expect_refused(rs256(c), Refusal::kSubject, "\"sub\" is missing");
}

TEST_F(IdTokenTest, GroupsLeftToAnotherSourceAreRefusedNotTakenAsNone) {
  Claims c;
  c.extra =
      R"("sub":"u-123","_claim_names":{"groups":"src1"},)"
      R"("_claim_sources":{"src1":{"endpoint":"https://graph.example/getMemberObjects"}})";
  expect_refused(rs256(c), Refusal::kGroupsElsewhere, "leaves its groups claim \"groups\"");
  // Another claim moved elsewhere is no reason to refuse.
  c.extra = R"("sub":"u-123","groups":["ops"],"_claim_names":{"address":"src1"})";
  IdTokenCheck check = verify_id_token(rs256(c), jwks_, expect());
  ASSERT_TRUE(check.ok()) << check.reason;
  EXPECT_EQ(check.claims.groups, std::vector<std::string>{"ops"});
}

TEST_F(IdTokenTest, MalformedTokensAreRefused) {
  expect_refused("", Refusal::kMalformed, "three parts");
  expect_refused("a.b", Refusal::kMalformed, "three parts");
  expect_refused("a.b.c.d", Refusal::kMalformed, "three parts");
  expect_refused("!!.b.c", Refusal::kMalformed, "not base64url");
  // A part of 4n + 1 characters decodes to no whole byte (cjose would abort on it).
  expect_refused("e30.e30.A", Refusal::kMalformed, "not base64url");
  expect_refused("e30.abcde.", Refusal::kMalformed, "not base64url");
  expect_refused(base64url("[1]") + ".e30.", Refusal::kMalformed, "not a JSON object");
  expect_refused(base64url(R"({"typ":"JWT"})") + ".e30.", Refusal::kAlgorithm,
                 "names no algorithm");
  expect_refused(std::string(kIdTokenBytesMax + 1, 'a'), Refusal::kMalformed, "larger than");
}

TEST(Jwks, KeepsOnlyPublicSigningKeysOfTheAcceptedTypes) {
  cjose_err err;
  JwkPtr ec384(cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_384, &err), cjose_jwk_release);
  JwkPtr ec256(cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err), cjose_jwk_release);
  char* with_private = cjose_jwk_to_json(ec256.get(), true, &err);
  const std::string private_json = cat("{\"kid\":\"p\",", std::string(with_private).substr(1));
  std::free(with_private);
  const std::string json =
      cat("{\"keys\":[", R"({"kty":"oct","kid":"h","k":"c2VjcmV0"},)",
          public_json(ec384.get(), "384"), ",", private_json, ",", R"({"kid":"enc","use":"enc",)",
          public_json(ec256.get(), "e").substr(1), ",", public_json(ec256.get(), "good"), ",",
          R"("not a key"]})");
  auto jwks = Jwks::parse(json);
  ASSERT_TRUE(jwks.ok()) << jwks.status();
  EXPECT_EQ(jwks->size(), 1u);
  ASSERT_NE(jwks->find("good"), nullptr);
  EXPECT_EQ(jwks->find("good")->type, KeyType::kEcP256);
  EXPECT_EQ(jwks->find("h"), nullptr);
  EXPECT_EQ(jwks->find("p"), nullptr);
  // A token without kid is checked with the only key there is.
  EXPECT_EQ(jwks->find(""), jwks->find("good"));
}

// A key member named twice is read once, the first, and cjose never sees the second (it would
// take the last, and abort on one such as "A" that decodes to no whole byte).
TEST(Jwks, ReadsTheFirstOfTwoMembersOfOneName) {
  cjose_err err;
  static const uint8_t kE[] = {0x01, 0x00, 0x01};
  JwkPtr rsa(cjose_jwk_create_RSA_random(2048, kE, sizeof(kE), &err), cjose_jwk_release);
  std::string key = public_json(rsa.get(), "r");
  key.insert(key.size() - 1, R"(,"n":"A")");
  auto jwks = Jwks::parse(cat("{\"keys\":[", key, "]}"));
  ASSERT_TRUE(jwks.ok()) << jwks.status();
  ASSERT_NE(jwks->find("r"), nullptr);
  EXPECT_EQ(jwks->find("r")->type, KeyType::kRsa);
}

TEST(Jwks, RefusesWhatIsNotAJwks) {
  EXPECT_FALSE(Jwks::parse("").ok());
  EXPECT_FALSE(Jwks::parse("{\"keys\":{}}").ok());
  EXPECT_FALSE(Jwks::parse(std::string(Jwks::kJwksBytesMax + 1, ' ')).ok());
  std::string many = "{\"keys\":[";
  for (size_t i = 0; i <= Jwks::kKeysMax; ++i) many += i == 0 ? "{}" : ",{}";
  EXPECT_NE(Jwks::parse(many + "]}").status().message().find("more than"), std::string::npos);
  EXPECT_TRUE(Jwks::parse("{\"keys\":[]}").ok());
}

TEST(SecretsEqual, ComparesWholeValues) {
  EXPECT_TRUE(secrets_equal("abc", "abc"));
  EXPECT_FALSE(secrets_equal("abc", "abd"));
  EXPECT_FALSE(secrets_equal("abc", "abcd"));
  EXPECT_FALSE(secrets_equal("", "a"));
}

}  // namespace
}  // namespace pamproxy::identity
