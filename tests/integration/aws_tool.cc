// aws_tool: exposes the aws module to the integration tests that check it against botocore.
//   aws_tool classify    reads lines "service\tmethod\tpath\tquery\thost_bucket\ttarget\t
//                        content_type\tcopy(0|1)\tform_body" on stdin and prints, per line,
//                        "name\tprotocol\tread_only(0|1)"
//   aws_tool error PROTOCOL STATUS CODE MESSAGE REQUEST_ID
//                        prints the whole HTTP response (protocol: s3, rest-xml, query, ec2,
//                        json, rest-json, rpc-v2-cbor)
//   aws_tool endpoint HOST  prints "service\tregion\tbucket\tglobal" or exits 1

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "pamproxy/aws/endpoint.h"
#include "pamproxy/aws/error_response.h"
#include "pamproxy/aws/operation.h"

using namespace pamproxy::aws;

namespace {

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab - start));
    if (tab == std::string::npos) break;
    start = tab + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "classify") {
    std::string line;
    while (std::getline(std::cin, line)) {
      auto f = split_tabs(line);
      f.resize(9);
      RequestFacts r;
      r.service = f[0];
      r.method = f[1];
      r.path = f[2];
      r.query = f[3];
      r.host_bucket = f[4];
      r.amz_target = f[5];
      r.content_type = f[6];
      r.has_copy_source = f[7] == "1";
      r.form_body = f[8];
      Operation op = classify(r);
      std::cout << op.name() << '\t' << protocol_name(op.protocol()) << '\t'
                << (op.read_only() ? 1 : 0) << '\n';
    }
    return 0;
  }
  if (cmd == "error" && argc == 7) {
    std::string p = argv[2];
    Protocol protocol = p == "s3"          ? Protocol::kS3
                        : p == "rest-xml"  ? Protocol::kRestXml
                        : p == "query"     ? Protocol::kQuery
                        : p == "ec2"       ? Protocol::kEc2
                        : p == "json"      ? Protocol::kJson
                        : p == "rest-json" ? Protocol::kRestJson
                                           : Protocol::kRpcV2Cbor;
    std::string out = http_error_response(protocol, std::stoi(argv[3]), argv[4], argv[5], argv[6],
                                          false);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  if (cmd == "endpoint" && argc == 3) {
    auto e = parse_endpoint(argv[2]);
    if (!e) return 1;
    std::cout << e->service << '\t' << e->region << '\t' << e->bucket << '\t' << e->global
              << '\n';
    return 0;
  }
  std::fputs("usage: aws_tool classify | error PROTOCOL STATUS CODE MESSAGE ID | endpoint HOST\n",
             stderr);
  return 2;
}
