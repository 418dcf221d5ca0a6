// Signs requests with AWS's own JS signer (@smithy/signature-v4), an oracle independent of
// pamproxy's C++ signer. Reads one JSON request per line on stdin, writes one JSON line per
// request on stdout: {"signature": "...", "url_query": "..."}.
//
// Input: {method, host, path, query: [[name, value], ...] (decoded), headers: {name: value},
//         body, service, region, access_key, secret_key, session_token, time_ms,
//         presign_expires (optional), uri_escape_path}
'use strict';
const readline = require('readline');
const { SignatureV4 } = require('@smithy/signature-v4');
const { Hash } = require('@smithy/hash-node');
const { HttpRequest } = require('@smithy/protocol-http');

async function signOne(r) {
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: r.access_key,
      secretAccessKey: r.secret_key,
      sessionToken: r.session_token || undefined,
    },
    region: r.region,
    service: r.service,
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: r.uri_escape_path,
    applyChecksum: false,
  });
  const query = {};
  for (const [k, v] of r.query) {
    if (k in query) {
      query[k] = [].concat(query[k], v);
    } else {
      query[k] = v;
    }
  }
  const req = new HttpRequest({
    method: r.method,
    protocol: 'https:',
    hostname: r.host,
    path: r.path,
    query,
    headers: Object.assign({}, r.headers),
    body: r.body === '' ? undefined : r.body,
  });
  const date = new Date(r.time_ms);
  if (r.presign_expires) {
    const out = await signer.presign(req, { expiresIn: r.presign_expires, signingDate: date });
    return { signature: out.query['X-Amz-Signature'] };
  }
  const out = await signer.sign(req, { signingDate: date });
  const auth = out.headers['authorization'] || out.headers['Authorization'];
  return { signature: /Signature=([0-9a-f]{64})/.exec(auth)[1] };
}

async function main() {
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    try {
      process.stdout.write(JSON.stringify(await signOne(JSON.parse(line))) + '\n');
    } catch (e) {
      process.stdout.write(JSON.stringify({ error: String(e) }) + '\n');
    }
  }
}

main();
