#!/usr/bin/env node
// aws_front.js: a stand-in for AWS endpoints in tests, with real signature checking.
//
// An HTTPS server on 127.0.0.1 that recomputes the SigV4 signature of every request with AWS's
// own JS signer (@smithy/signature-v4) and the keys it is configured with (the record's real
// keys), then serves it:
//   s3        forwarded to a real S3 store (s3rver, in-process on a private port)
//   sts       GetCallerIdentity
//   ec2       DescribeRegions
//   dynamodb  ListTables, PutItem and GetItem (items kept in memory)
//   sqs       CreateQueue, GetQueueUrl, SendMessage, ReceiveMessage, DeleteQueue (query protocol)
//   kms       CreateKey, CreateAlias, DescribeKey, Encrypt, Decrypt (JSON 1.1; a stand-in cipher)
//   secretsmanager  CreateSecret, GetSecretValue, DeleteSecret (JSON 1.1)
//   lambda    ListFunctions, GetFunction, DeleteFunction (REST-JSON; two functions to start with)
//   iam       GetRole, GetUser, ListAttachedRolePolicies (query protocol, the global endpoint)
// The last five also refuse a request signed for another service or region than its host's.
// Signed aws-chunked bodies have every chunk signature (and the trailer signature) checked by an
// independent implementation here; a bad chunk aborts the store's request so nothing is written.
// Hex payload hashes are checked against the body before the store's request is completed.
// Flexible checksums are checked against the bytes as S3 does: an `x-amz-checksum-<alg>` header
// on a plain body, or one named by `x-amz-trailer` and sent in an aws-chunked trailer (crc32,
// crc32c, crc64nvme, sha1, sha256); a mismatch is S3's 400 BadDigest, a malformed value its 400
// InvalidRequest, and nothing is stored. A single object's checksum is kept and returned on a
// whole-object GET or HEAD with `x-amz-checksum-mode: ENABLED`, so clients' download
// validation runs.
//
// usage: node aws_front.js CONFIG.json
//   { "cert": "leaf.pem", "key": "leaf.key", "dataDir": "/tmp/s3",
//     "keys": [{ "accessKeyId": "AKIA...", "secretAccessKey": "...", "sessionToken": "..." }],
//     "account": "123456789012" }
// Prints one JSON line per event on stdout: {"event":"listening","port":N} first, then
// {"event":"request", "service", "operation", "method", "path", "verified", "status", "code"}.

'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const https = require('https');
const S3rver = require('s3rver');
const { SignatureV4 } = require('@smithy/signature-v4');
const { Hash } = require('@smithy/hash-node');
// The AWS SDK's own CRCs (a dependency of @aws-sdk/client-s3).
const { Crc32, Crc32c, Crc64Nvme } = require('@aws-sdk/checksums/crc');

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const sha256 = Hash.bind(null, 'sha256');
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const BODY_BYTES_MAX = 16 << 20; // bodies buffered for non-S3 services

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// ------------------------------------------------------------------ parsing the signature
function parseAuthorization(req, url) {
  const header = req.headers.authorization;
  if (header) {
    const m = /^AWS4-HMAC-SHA256 (.*)$/.exec(header);
    if (!m) return { error: 'unsupported or malformed Authorization header' };
    const fields = {};
    for (const part of m[1].split(',')) {
      const eq = part.indexOf('=');
      if (eq < 0) return { error: 'malformed Authorization field' };
      fields[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
    }
    if (!fields.Credential || !fields.SignedHeaders || !fields.Signature) {
      return { error: 'Authorization lacks Credential, SignedHeaders or Signature' };
    }
    return {
      presigned: false,
      credential: fields.Credential,
      signedHeaders: fields.SignedHeaders.split(';'),
      signature: fields.Signature,
      amzDate: req.headers['x-amz-date'],
    };
  }
  const q = url.searchParams;
  if (q.get('X-Amz-Algorithm') === 'AWS4-HMAC-SHA256') {
    return {
      presigned: true,
      credential: q.get('X-Amz-Credential'),
      signedHeaders: (q.get('X-Amz-SignedHeaders') || '').split(';'),
      signature: q.get('X-Amz-Signature'),
      amzDate: q.get('X-Amz-Date'),
      expires: Number(q.get('X-Amz-Expires')),
    };
  }
  return { error: 'request is not signed' };
}

function splitCredential(credential) {
  // The access key may itself contain '/', so split from the right.
  const parts = (credential || '').split('/');
  if (parts.length < 5) return null;
  const tail = parts.slice(-4);
  if (tail[3] !== 'aws4_request') return null;
  return { accessKeyId: parts.slice(0, -4).join('/'), date: tail[0], region: tail[1], service: tail[2] };
}

function amzDateToDate(s) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s || '');
  if (!m) return null;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

// Query string -> smithy's query object, decoding but never turning '+' into a space.
function queryObject(rawQuery, dropAuth) {
  const query = {};
  if (!rawQuery) return query;
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const k = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
    const v = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1));
    if (dropAuth && k.startsWith('X-Amz-') &&
        ['X-Amz-Signature', 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires',
         'X-Amz-SignedHeaders', 'X-Amz-Security-Token'].includes(k)) {
      continue;
    }
    if (k in query) query[k] = [].concat(query[k], v);
    else query[k] = v;
  }
  return query;
}

// Headers as a client sent them, repeated ones joined with ',' (as SigV4 canonicalizes them).
function joinedHeaders(req) {
  const out = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    const value = req.rawHeaders[i + 1];
    out[name] = name in out ? out[name] + ',' + value : value;
  }
  return out;
}

// Recomputes the signature with the configured keys; returns null when it matches, else why not.
async function verifySignature(req, url, auth, body) {
  const cred = splitCredential(auth.credential);
  if (!cred) return { code: 'AuthorizationHeaderMalformed', message: 'bad credential scope' };
  const keys = config.keys.find((k) => k.accessKeyId === cred.accessKeyId);
  if (!keys) {
    return { code: 'InvalidAccessKeyId', message: 'unknown access key (the proxy did not re-sign?)' };
  }
  const signingDate = amzDateToDate(auth.amzDate);
  if (!signingDate) return { code: 'AccessDenied', message: 'missing or bad X-Amz-Date' };
  const skew = Math.abs(Date.now() - signingDate.getTime());
  if (!auth.presigned && skew > 15 * 60 * 1000) {
    return { code: 'RequestTimeTooSkewed', message: 'X-Amz-Date too far from now' };
  }
  const token = auth.presigned ? url.searchParams.get('X-Amz-Security-Token')
                               : req.headers['x-amz-security-token'];
  if ((keys.sessionToken || undefined) !== (token || undefined)) {
    return { code: 'InvalidToken', message: 'security token missing or not the expected one' };
  }

  const all = joinedHeaders(req);
  const signed = new Set(auth.signedHeaders);
  if (!signed.has('host')) return { code: 'AccessDenied', message: 'host header not signed' };
  const headers = {};
  for (const name of Object.keys(all)) if (signed.has(name)) headers[name] = all[name];
  const unsignable = new Set(Object.keys(all).filter((n) => !signed.has(n)));
  const rawPath = url.pathname; // as sent (percent-encoded)
  const rawQuery = (req.url.split('?')[1] || '').split('#')[0];
  const s3Like = ['s3', 's3-outposts', 's3express'].includes(cred.service);
  const signer = new SignatureV4({
    credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey,
                   sessionToken: keys.sessionToken },
    region: cred.region,
    service: cred.service,
    sha256,
    uriEscapePath: !s3Like,
    applyChecksum: false,
  });
  const request = {
    method: req.method,
    protocol: 'https:',
    hostname: all.host,
    path: rawPath,
    query: queryObject(rawQuery, auth.presigned),
    headers,
    body,
  };
  let expected;
  if (auth.presigned) {
    if (!(auth.expires > 0) || Date.now() > signingDate.getTime() + auth.expires * 1000) {
      return { code: 'AccessDenied', message: 'Request has expired' };
    }
    if (s3Like && headers['x-amz-content-sha256'] === undefined) {
      // S3 presigned URLs carry no body hash: they are signed with UNSIGNED-PAYLOAD.
      request.headers = { ...headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
      unsignable.add('x-amz-content-sha256');
    }
    const out = await signer.presign(request, {
      signingDate, expiresIn: auth.expires, signableHeaders: signed,
      unsignableHeaders: unsignable, unhoistableHeaders: new Set(Object.keys(request.headers)),
    });
    expected = out.query['X-Amz-Signature'];
  } else {
    if (headers['x-amz-content-sha256'] === undefined && body === undefined) {
      request.body = Buffer.alloc(0);
    }
    const out = await signer.sign(request, {
      signingDate, signableHeaders: signed, unsignableHeaders: unsignable,
    });
    expected = /Signature=([0-9a-f]{64})/.exec(out.headers.authorization)[1];
  }
  const a = Buffer.from(expected || '');
  const b = Buffer.from(auth.signature || '');
  if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) {
    return { code: 'SignatureDoesNotMatch',
             message: 'The request signature we calculated does not match the signature you provided.' };
  }
  return null;
}

// ------------------------------------------------------------------ aws-chunked bodies
function hmac(key, data) {
  return crypto.createHmac('sha256', key).update(data).digest();
}
function signingKey(secret, date, region, service) {
  return hmac(hmac(hmac(hmac('AWS4' + secret, date), region), service), 'aws4_request');
}
function hexSha256(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

// Incremental de-framer for `Content-Encoding: aws-chunked`. Calls onData(buffer) with decoded
// bytes; throws Error with .code on a framing or signature error.
class AwsChunkedDecoder {
  constructor({ signed, seedSignature, key, amzDate, scope, onData }) {
    Object.assign(this, { signed, key, amzDate, scope, onData });
    this.prev = seedSignature;
    this.buf = Buffer.alloc(0);
    this.state = 'size';
    this.remaining = 0;
    this.chunkHash = null;
    this.chunkSig = null;
    this.trailer = [];
    this.done = false;
    this.decodedBytes = 0;
  }
  fail(code, message) {
    const e = new Error(message);
    e.code = code;
    throw e;
  }
  push(data) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    for (;;) {
      if (this.state === 'size' || this.state === 'trailer') {
        const nl = this.buf.indexOf('\r\n');
        if (nl < 0) {
          if (this.buf.length > 8192) this.fail('IncompleteBody', 'aws-chunked line too long');
          return;
        }
        const line = this.buf.subarray(0, nl).toString('latin1');
        this.buf = this.buf.subarray(nl + 2);
        if (this.state === 'size') this.startChunk(line);
        else if (line === '') { this.finishTrailer(); return; }
        else this.trailer.push(line);
      } else if (this.state === 'data') {
        const n = Math.min(this.remaining, this.buf.length);
        if (n === 0) return;
        const piece = this.buf.subarray(0, n);
        this.chunkHash.update(piece);
        this.onData(piece);
        this.decodedBytes += n;
        this.remaining -= n;
        this.buf = this.buf.subarray(n);
        if (this.remaining === 0) this.state = 'crlf';
      } else if (this.state === 'crlf') {
        if (this.buf.length < 2) return;
        if (this.buf[0] !== 13 || this.buf[1] !== 10) this.fail('IncompleteBody', 'chunk not followed by CRLF');
        this.buf = this.buf.subarray(2);
        this.checkChunk();
        this.state = 'size';
      } else {
        return;
      }
    }
  }
  startChunk(line) {
    const m = /^([0-9a-fA-F]+)(?:;chunk-signature=([0-9a-f]{64}))?$/.exec(line);
    if (!m) this.fail('IncompleteBody', 'bad aws-chunked size line');
    if (this.signed && !m[2]) this.fail('SignatureDoesNotMatch', 'chunk without signature');
    this.remaining = parseInt(m[1], 16);
    this.chunkSig = m[2];
    this.chunkHash = crypto.createHash('sha256');
    if (this.remaining === 0) {
      this.checkChunk();
      this.state = 'trailer';
    } else {
      this.state = 'data';
    }
  }
  checkChunk() {
    if (!this.signed) return;
    const sts = ['AWS4-HMAC-SHA256-PAYLOAD', this.amzDate, this.scope, this.prev, EMPTY_SHA256,
                 this.chunkHash.digest('hex')].join('\n');
    const expected = hmac(this.key, sts).toString('hex');
    if (!crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(this.chunkSig))) {
      this.fail('SignatureDoesNotMatch', 'chunk signature does not match');
    }
    this.prev = this.chunkSig;
  }
  finishTrailer() {
    if (this.signed && this.trailer.length > 0) {
      const sigLine = this.trailer.find((l) => l.startsWith('x-amz-trailer-signature:'));
      if (!sigLine) this.fail('SignatureDoesNotMatch', 'trailer signature missing');
      const canonical = this.trailer.filter((l) => l !== sigLine)
        .map((l) => l.replace(/:\s*/, ':') + '\n').join('');
      const sts = ['AWS4-HMAC-SHA256-TRAILER', this.amzDate, this.scope, this.prev,
                   hexSha256(canonical)].join('\n');
      const expected = hmac(this.key, sts).toString('hex');
      const got = sigLine.split(':')[1].trim();
      if (expected.length !== got.length ||
          !crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(got))) {
        this.fail('SignatureDoesNotMatch', 'trailer signature does not match');
      }
    }
    this.done = true;
    this.state = 'done';
  }
}

// ------------------------------------------------------------------ flexible checksums
function nodeDigest(alg) {
  const h = crypto.createHash(alg);
  return { update: (d) => h.update(d), digest: async () => h.digest() };
}
// Algorithm -> [new hasher, digest bytes].
const CHECKSUMS = {
  crc32: [() => new Crc32(), 4],
  crc32c: [() => new Crc32c(), 4],
  crc64nvme: [() => new Crc64Nvme(), 8],
  sha1: [() => nodeDigest('sha1'), 20],
  sha256: [() => nodeDigest('sha256'), 32],
};

function checksumProblem(code, message) {
  return { error: { status: 400, code, message } };
}

// The checksum a request claims for its body: { alg, value } from an x-amz-checksum-<alg> header,
// { alg, trailer: true } when x-amz-trailer names it (the value comes after the body), null for
// none, or { error } as S3 answers a malformed claim.
function claimedChecksum(headers) {
  const named = Object.keys(headers).filter((h) => h.startsWith('x-amz-checksum-') &&
                                                  h !== 'x-amz-checksum-mode' &&
                                                  h !== 'x-amz-checksum-type' &&
                                                  h !== 'x-amz-checksum-algorithm');
  const trailer = (headers['x-amz-trailer'] || '').trim().toLowerCase();
  if (named.length + (trailer ? 1 : 0) > 1) {
    return checksumProblem('InvalidRequest',
                           'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  }
  if (trailer) {
    const alg = trailer.slice('x-amz-checksum-'.length);
    if (!trailer.startsWith('x-amz-checksum-') || !CHECKSUMS[alg]) {
      return checksumProblem('InvalidRequest', `The value specified in the x-amz-trailer header is not supported: ${trailer}`);
    }
    return { alg, trailer: true };
  }
  if (named.length === 0) return null;
  const alg = named[0].slice('x-amz-checksum-'.length);
  if (!CHECKSUMS[alg]) {
    return checksumProblem('InvalidRequest', `Unsupported checksum header ${named[0]}`);
  }
  return checkValue(alg, headers[named[0]]);
}

function checkValue(alg, value) {
  const bytes = Buffer.from(value || '', 'base64');
  if (bytes.length !== CHECKSUMS[alg][1] || bytes.toString('base64') !== value) {
    return checksumProblem('InvalidRequest', `Value for x-amz-checksum-${alg} header is invalid.`);
  }
  return { alg, value };
}

// The value of a trailer-declared checksum from the aws-chunked trailer lines.
function trailerChecksum(alg, lines) {
  const name = 'x-amz-checksum-' + alg;
  const line = lines.find((l) => l.slice(0, l.indexOf(':')).trim().toLowerCase() === name);
  if (!line) return checksumProblem('InvalidRequest', `The trailer ${name} declared in x-amz-trailer was not sent`);
  return checkValue(alg, line.slice(line.indexOf(':') + 1).trim());
}

// null when `pieces` hash to the claimed value, else S3's BadDigest.
async function verifyChecksum(claim, pieces) {
  const h = CHECKSUMS[claim.alg][0]();
  for (const piece of pieces) h.update(piece);
  const got = Buffer.from(await h.digest()).toString('base64');
  if (got === claim.value) return null;
  return { status: 400, code: 'BadDigest',
           message: `The ${claim.alg.toUpperCase()} you specified did not match the calculated checksum.` };
}

// Object path -> { alg, value } of objects stored by a single upload with a checksum.
const storedChecksums = new Map();

// ------------------------------------------------------------------ errors and services
function sendError(res, service, status, code, message) {
  const requestId = crypto.randomBytes(8).toString('hex').toUpperCase();
  if (service === 'dynamodb') {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId });
    res.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#' + code, message }));
  } else if (service === 'ec2') {
    res.writeHead(status, { 'content-type': 'text/xml' });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code>` +
            `<Message>${message}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`);
  } else if (service === 'kms' || service === 'secretsmanager') {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId });
    res.end(JSON.stringify({ __type: code, message }));
  } else if (service === 'lambda') {
    res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': code,
                            'x-amzn-requestid': requestId });
    res.end(JSON.stringify({ Type: 'User', message }));
  } else if (service === 'sts' || service === 'sqs' || service === 'iam') {
    res.writeHead(status, { 'content-type': 'text/xml' });
    res.end(`<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message>` +
            `</Error><RequestId>${requestId}</RequestId></ErrorResponse>`);
  } else {
    res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': requestId });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
            `<RequestId>${requestId}</RequestId></Error>`);
  }
}

function serveQueryService(service, req, res, body) {
  const params = new URLSearchParams(body.toString('utf8'));
  const action = params.get('Action') || new URL(req.url, 'https://x').searchParams.get('Action');
  const requestId = crypto.randomUUID();
  if (service === 'sts' && action === 'GetCallerIdentity') {
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">` +
            `<GetCallerIdentityResult><Arn>arn:aws:iam::${config.account}:user/record-user</Arn>` +
            `<UserId>AIDATESTUSER</UserId><Account>${config.account}</Account>` +
            `</GetCallerIdentityResult><ResponseMetadata><RequestId>${requestId}</RequestId>` +
            `</ResponseMetadata></GetCallerIdentityResponse>`);
    return { operation: action, status: 200 };
  }
  if (service === 'ec2' && action === 'DescribeRegions') {
    const regions = ['us-east-1', 'eu-west-1', 'ap-southeast-2'].map((r) =>
      `<item><regionName>${r}</regionName><regionEndpoint>ec2.${r}.amazonaws.com</regionEndpoint>` +
      `<optInStatus>opt-in-not-required</optInStatus></item>`).join('');
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">` +
            `<requestId>${requestId}</requestId><regionInfo>${regions}</regionInfo></DescribeRegionsResponse>`);
    return { operation: action, status: 200 };
  }
  sendError(res, service, 400, 'InvalidAction', `action ${action} is not served by this test endpoint`);
  return { operation: action, status: 400 };
}

// Table name -> the items put in it. No schema: GetItem finds the latest item holding every
// attribute of its key.
const dynamoTables = new Map();

function serveDynamo(req, res, body) {
  const target = req.headers['x-amz-target'] || '';
  const op = target.split('.').pop();
  const answer = (obj) => {
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': crypto.randomUUID() });
    res.end(JSON.stringify(obj));
    return { operation: op, status: 200 };
  };
  if (op === 'ListTables') return answer({ TableNames: ['orders', 'users'] });
  if (op === 'PutItem' || op === 'GetItem') {
    let input;
    try {
      input = JSON.parse(body.toString('utf8'));
    } catch (e) {
      sendError(res, 'dynamodb', 400, 'SerializationException', 'body is not JSON');
      return { operation: op, status: 400 };
    }
    if (!dynamoTables.has(input.TableName)) dynamoTables.set(input.TableName, []);
    const items = dynamoTables.get(input.TableName);
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
    const keyOf = (key) => items.findLastIndex((item) => Object.keys(key).every((k) => same(item[k], key[k])));
    if (op === 'GetItem') {
      const i = keyOf(input.Key || {});
      return answer(i < 0 ? {} : { Item: items[i] });
    }
    items.push(input.Item || {});
    return answer({});
  }
  sendError(res, 'dynamodb', 400, 'UnknownOperationException', `${op} is not served by this test endpoint`);
  return { operation: op, status: 400 };
}

// ------------------------------------------------------------------ SQS, KMS, Secrets Manager, Lambda, IAM
// One small handler per service, each with its own in-memory state and answering in its
// protocol: SQS and IAM the query protocol (a form body, XML answers), KMS and Secrets Manager
// JSON 1.1 (X-Amz-Target), Lambda REST-JSON (the operation in the method and path).

// The service and region a host's requests must be signed for, or null for a host not checked.
function hostScope(host) {
  const name = (host || '').replace(/:\d+$/, '');
  if (name === 'iam.amazonaws.com') return { service: 'iam', region: 'us-east-1' };
  const m = /^(sqs|kms|secretsmanager|lambda)\.([a-z0-9-]+)\.amazonaws\.com$/.exec(name);
  return m ? { service: m[1], region: m[2] } : null;
}

function xmlEscape(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// A query-protocol answer: <ActionResponse><ActionResult>inner</ActionResult>...</ActionResponse>.
function queryAnswer(res, xmlns, action, inner) {
  const result = inner === null ? '' : `<${action}Result>${inner}</${action}Result>`;
  res.writeHead(200, { 'content-type': 'text/xml' });
  res.end(`<?xml version="1.0"?>\n<${action}Response xmlns="${xmlns}">${result}` +
          `<ResponseMetadata><RequestId>${crypto.randomUUID()}</RequestId></ResponseMetadata>` +
          `</${action}Response>`);
  return { operation: action, status: 200 };
}

function jsonAnswer(res, operation, obj, contentType = 'application/x-amz-json-1.1') {
  res.writeHead(200, { 'content-type': contentType, 'x-amzn-requestid': crypto.randomUUID() });
  res.end(JSON.stringify(obj));
  return { operation, status: 200 };
}

// An error answer of a service, thrown by its handler.
class ServiceError extends Error {
  constructor(status, code, message) {
    super(message);
    Object.assign(this, { status, code });
  }
}

// ---- SQS: queue name -> { url, messages }
const sqsQueues = new Map();

function serveSqs(ctx) {
  const p = ctx.form;
  const action = p.get('Action');
  const answer = (inner) => queryAnswer(ctx.res, 'http://queue.amazonaws.com/doc/2012-11-05/', action, inner);
  const queueOf = (url) => {
    const q = sqsQueues.get(String(url || '').split('/').pop());
    if (!q || q.url !== url) {
      throw new ServiceError(400, 'AWS.SimpleQueueService.NonExistentQueue',
                             'The specified queue does not exist for this wsdl version.');
    }
    return q;
  };
  if (action === 'CreateQueue') {
    const name = p.get('QueueName');
    const url = `https://sqs.${ctx.region}.amazonaws.com/${config.account}/${name}`;
    if (!sqsQueues.has(name)) sqsQueues.set(name, { url, messages: [] });
    return answer(`<QueueUrl>${xmlEscape(url)}</QueueUrl>`);
  }
  if (action === 'GetQueueUrl') {
    const q = sqsQueues.get(p.get('QueueName'));
    if (!q) queueOf(null);
    return answer(`<QueueUrl>${xmlEscape(q.url)}</QueueUrl>`);
  }
  if (action === 'SendMessage') {
    const q = queueOf(p.get('QueueUrl'));
    const body = p.get('MessageBody') || '';
    const id = crypto.randomUUID();
    q.messages.push({ id, body });
    const md5 = crypto.createHash('md5').update(body, 'utf8').digest('hex');
    return answer(`<MD5OfMessageBody>${md5}</MD5OfMessageBody><MessageId>${id}</MessageId>`);
  }
  if (action === 'ReceiveMessage') {
    const q = queueOf(p.get('QueueUrl'));
    const taken = q.messages.splice(0, Number(p.get('MaxNumberOfMessages') || 1));
    return answer(taken.map((m) =>
      `<Message><MessageId>${m.id}</MessageId><ReceiptHandle>${m.id}</ReceiptHandle>` +
      `<MD5OfBody>${crypto.createHash('md5').update(m.body, 'utf8').digest('hex')}</MD5OfBody>` +
      `<Body>${xmlEscape(m.body)}</Body></Message>`).join(''));
  }
  if (action === 'DeleteQueue') {
    sqsQueues.delete(queueOf(p.get('QueueUrl')).url.split('/').pop());
    return answer(null);
  }
  return null;
}

// ---- KMS: key id -> key metadata; alias name -> key id. Ciphertext: "kms1" + key id + the
// plaintext XORed with a keystream from the key id (reversible, not secret).
const kmsKeys = new Map();
const kmsAliases = new Map();

function kmsKeyOf(ctx, keyId) {
  let id = String(keyId || '');
  const alias = /^(?:arn:[^:]+:kms:[^:]*:[^:]*:)?(alias\/.+)$/.exec(id);
  if (alias) id = kmsAliases.get(alias[1]) || '';
  id = id.replace(/^arn:[^:]+:kms:[^:]*:[^:]*:key\//, '');
  const key = kmsKeys.get(id);
  if (!key) throw new ServiceError(400, 'NotFoundException', `Key '${keyId}' does not exist`);
  return key;
}

function kmsXor(keyId, data) {
  const out = Buffer.from(data);
  for (let i = 0; i < out.length; i += 32) {
    const pad = crypto.createHash('sha256').update(`${keyId}/${i}`).digest();
    for (let j = 0; j < 32 && i + j < out.length; ++j) out[i + j] ^= pad[j];
  }
  return out;
}

function serveKms(ctx) {
  const op = ctx.target;
  const input = ctx.json;
  const answer = (obj) => jsonAnswer(ctx.res, op, obj);
  if (op === 'CreateKey') {
    const id = crypto.randomUUID();
    const meta = { AWSAccountId: config.account, KeyId: id,
                   Arn: `arn:aws:kms:${ctx.region}:${config.account}:key/${id}`,
                   CreationDate: Date.now() / 1000, Enabled: true,
                   Description: input.Description || '', KeyUsage: 'ENCRYPT_DECRYPT',
                   KeyState: 'Enabled', Origin: 'AWS_KMS', KeyManager: 'CUSTOMER',
                   KeySpec: 'SYMMETRIC_DEFAULT', CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
                   EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'], MultiRegion: false };
    kmsKeys.set(id, meta);
    return answer({ KeyMetadata: meta });
  }
  if (op === 'CreateAlias') {
    kmsAliases.set(input.AliasName, kmsKeyOf(ctx, input.TargetKeyId).KeyId);
    return answer({});
  }
  if (op === 'DescribeKey') return answer({ KeyMetadata: kmsKeyOf(ctx, input.KeyId) });
  if (op === 'Encrypt') {
    const key = kmsKeyOf(ctx, input.KeyId);
    const blob = Buffer.concat([Buffer.from('kms1' + key.KeyId),
                                kmsXor(key.KeyId, Buffer.from(input.Plaintext || '', 'base64'))]);
    return answer({ CiphertextBlob: blob.toString('base64'), KeyId: key.Arn,
                    EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
  }
  if (op === 'Decrypt') {
    const blob = Buffer.from(input.CiphertextBlob || '', 'base64');
    const prefix = blob.subarray(0, 40).toString('latin1');
    const key = prefix.startsWith('kms1') ? kmsKeys.get(prefix.slice(4)) : undefined;
    if (!key || (input.KeyId && kmsKeyOf(ctx, input.KeyId) !== key)) {
      throw new ServiceError(400, 'InvalidCiphertextException', 'The ciphertext is invalid for this key.');
    }
    return answer({ Plaintext: kmsXor(key.KeyId, blob.subarray(40)).toString('base64'),
                    KeyId: key.Arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
  }
  return null;
}

// ---- Secrets Manager: name -> secret. Its ARN ends in '-' and six random characters, as AWS's
// do; a secret is found by its name, its ARN, or its ARN without that suffix.
const secrets = new Map();

function secretOf(id) {
  const name = String(id || '').replace(/^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:/, '');
  const secret = secrets.get(name) ||
                 [...secrets.values()].find((s) => s.ARN === id || s.ARN.endsWith(':secret:' + name));
  if (!secret) {
    throw new ServiceError(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  }
  return secret;
}

function serveSecrets(ctx) {
  const op = ctx.target;
  const input = ctx.json;
  const answer = (obj) => jsonAnswer(ctx.res, op, obj);
  if (op === 'CreateSecret') {
    if (secrets.has(input.Name)) {
      throw new ServiceError(400, 'ResourceExistsException', `The secret ${input.Name} already exists.`);
    }
    const suffix = crypto.randomBytes(6).toString('base64').replace(/[^A-Za-z0-9]/g, 'x').slice(0, 6);
    const secret = { ARN: `arn:aws:secretsmanager:${ctx.region}:${config.account}:secret:${input.Name}-${suffix}`,
                     Name: input.Name, VersionId: crypto.randomUUID(),
                     SecretString: input.SecretString, CreatedDate: Date.now() / 1000 };
    secrets.set(input.Name, secret);
    return answer({ ARN: secret.ARN, Name: secret.Name, VersionId: secret.VersionId });
  }
  if (op === 'GetSecretValue') {
    const s = secretOf(input.SecretId);
    return answer({ ARN: s.ARN, Name: s.Name, VersionId: s.VersionId, SecretString: s.SecretString,
                    VersionStages: ['AWSCURRENT'], CreatedDate: s.CreatedDate });
  }
  if (op === 'DeleteSecret') {
    const s = secretOf(input.SecretId);
    secrets.delete(s.Name);
    return answer({ ARN: s.ARN, Name: s.Name, DeletionDate: Date.now() / 1000 });
  }
  return null;
}

// ---- Lambda: function name -> configuration, two to start with (in the first request's region).
const lambdaFunctions = new Map();
let lambdaSeeded = false;

function lambdaFunction(region, name) {
  return { FunctionName: name, FunctionArn: `arn:aws:lambda:${region}:${config.account}:function:${name}`,
           Runtime: 'python3.11', Role: `arn:aws:iam::${config.account}:role/lambda-basic`,
           Handler: 'app.handler', CodeSize: 312, Description: '', Timeout: 3, MemorySize: 128,
           LastModified: '2026-12-01T00:00:00.000+0000', Version: '$LATEST',
           CodeSha256: crypto.createHash('sha256').update(name).digest('base64'),
           PackageType: 'Zip', Architectures: ['x86_64'] };
}

function serveLambda(ctx) {
  if (!lambdaSeeded) {
    lambdaSeeded = true;
    for (const name of ['orders-worker', 'report-builder']) lambdaFunctions.set(name, lambdaFunction(ctx.region, name));
  }
  const m = /^\/2015-03-31\/functions\/([^/]*)\/?$/.exec(ctx.url.pathname);
  if (!m) return null;
  const method = ctx.req.method;
  if (m[1] === '' && method === 'GET') {
    return jsonAnswer(ctx.res, 'ListFunctions', { Functions: [...lambdaFunctions.values()] }, 'application/json');
  }
  // A name, NAME:QUALIFIER, ACCOUNT:function:NAME or the function's ARN.
  const ref = decodeURIComponent(m[1]);
  const name = ref.includes(':function:') ? ref.split(':function:')[1].split(':')[0] : ref.split(':')[0];
  const operation = method === 'GET' ? 'GetFunction' : method === 'DELETE' ? 'DeleteFunction' : null;
  if (!operation) return null;
  ctx.operation = operation;
  const fn = lambdaFunctions.get(name);
  if (!fn) {
    throw new ServiceError(404, 'ResourceNotFoundException',
                           `Function not found: arn:aws:lambda:${ctx.region}:${config.account}:function:${name}`);
  }
  if (operation === 'DeleteFunction') {
    lambdaFunctions.delete(name);
    ctx.res.writeHead(204, { 'x-amzn-requestid': crypto.randomUUID() });
    ctx.res.end();
    return { operation, status: 204 };
  }
  return jsonAnswer(ctx.res, operation, {
    Configuration: fn, Code: { RepositoryType: 'S3', Location: `https://awslambda-${ctx.region}-tasks.s3.amazonaws.com/${name}.zip` },
  }, 'application/json');
}

// ---- IAM: a few roles and users, read only.
const iamRoles = { deploy: ['ReadOnlyAccess', 'AWSCodeDeployRole'], app: [] };
const iamUsers = ['record-user', 'alice'];

function serveIam(ctx) {
  const p = ctx.form;
  const action = p.get('Action');
  const answer = (inner) => queryAnswer(ctx.res, 'https://iam.amazonaws.com/doc/2010-05-08/', action, inner);
  const noSuch = (kind, name) => new ServiceError(404, 'NoSuchEntity', `The ${kind} with name ${name} cannot be found.`);
  const created = '<CreateDate>2026-01-01T00:00:00Z</CreateDate>';
  if (action === 'GetRole' || action === 'ListAttachedRolePolicies') {
    const name = p.get('RoleName');
    if (!(name in iamRoles)) throw noSuch('role', name);
    if (action === 'ListAttachedRolePolicies') {
      return answer('<AttachedPolicies>' + iamRoles[name].map((policy) =>
        `<member><PolicyName>${policy}</PolicyName><PolicyArn>arn:aws:iam::aws:policy/${policy}</PolicyArn></member>`)
        .join('') + '</AttachedPolicies><IsTruncated>false</IsTruncated>');
    }
    const trust = encodeURIComponent('{"Version":"2012-10-17","Statement":[]}');
    return answer(`<Role><Path>/</Path><RoleName>${xmlEscape(name)}</RoleName><RoleId>AROATESTROLE${name.length}</RoleId>` +
                  `<Arn>arn:aws:iam::${config.account}:role/${xmlEscape(name)}</Arn>${created}` +
                  `<AssumeRolePolicyDocument>${trust}</AssumeRolePolicyDocument>` +
                  '<MaxSessionDuration>3600</MaxSessionDuration></Role>');
  }
  if (action === 'GetUser') {
    const name = p.get('UserName') || 'record-user'; // no name: the caller
    if (!iamUsers.includes(name)) throw noSuch('user', name);
    return answer(`<User><Path>/</Path><UserName>${xmlEscape(name)}</UserName><UserId>AIDATESTUSER${name.length}</UserId>` +
                  `<Arn>arn:aws:iam::${config.account}:user/${xmlEscape(name)}</Arn>${created}</User>`);
  }
  return null;
}

const SERVICES = { sqs: serveSqs, kms: serveKms, secretsmanager: serveSecrets, lambda: serveLambda, iam: serveIam };

// Reads the body as the service's protocol says and hands it to the service's handler; an
// operation the handler does not serve is a 400.
function serveService(service, region, req, res, url, body) {
  const text = body.toString('utf8');
  const ctx = { req, res, url, region, target: (req.headers['x-amz-target'] || '').split('.').pop() };
  // A REST handler names its operation in ctx.operation.
  const operation = () => ctx.operation ||
    (ctx.form ? ctx.form.get('Action') : ctx.target || `${req.method} ${url.pathname}`);
  try {
    if (service === 'sqs' || service === 'iam') {
      ctx.form = new URLSearchParams(text);
    } else if (service !== 'lambda') {
      ctx.json = text ? JSON.parse(text) : {};
    }
    const result = SERVICES[service](ctx);
    if (result) return result;
    sendError(res, service, 400, ctx.form ? 'InvalidAction' : 'UnknownOperationException',
              `${operation()} is not served by this test endpoint`);
    return { operation: operation(), status: 400 };
  } catch (e) {
    if (!(e instanceof ServiceError)) throw e;
    sendError(res, service, e.status, e.code, e.message);
    return { operation: operation(), status: e.status, code: e.code };
  }
}

function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const parts = [];
    let n = 0;
    req.on('data', (d) => {
      n += d.length;
      if (n > limit) { reject(new Error('body too large')); req.destroy(); return; }
      parts.push(d);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

// ------------------------------------------------------------------ S3: forward to s3rver
let s3Port = 0;

async function serveS3(req, res, url, auth, record) {
  const all = joinedHeaders(req);
  const payload = req.headers['x-amz-content-sha256'];
  const chunked = /aws-chunked/.test(req.headers['content-encoding'] || '') ||
                  (payload || '').startsWith('STREAMING-');
  const headers = { ...req.headers };
  delete headers.authorization;
  delete headers['x-amz-security-token'];
  const query = new URLSearchParams(url.search);
  for (const k of [...query.keys()]) if (k.startsWith('X-Amz-')) query.delete(k);
  const qs = query.toString().replace(/=(&|$)/g, '$1');
  let path = url.pathname + (qs ? '?' + qs : '');

  // CompleteMultipartUpload's x-amz-checksum-* is the whole object's, not its XML body's.
  const completing = req.method === 'POST' && query.has('uploadId');
  const claim = completing ? null : claimedChecksum(all);
  if (claim && !claim.error && claim.trailer && !chunked) {
    claim.error = checksumProblem('InvalidRequest', 'x-amz-trailer needs an aws-chunked body').error;
  }
  if (claim && claim.error) {
    sendError(res, 's3', claim.error.status, claim.error.code, claim.error.message);
    req.resume();
    return { status: claim.error.status, code: claim.error.code };
  }
  if (claim) record.checksum = { alg: claim.alg, in: claim.trailer ? 'trailer' : 'header' };
  // One object's own checksum: a PUT without uploadId (an UploadPart's is its part's).
  const wholeObject = !query.has('uploadId') && !query.has('partNumber');
  const returned = ['GET', 'HEAD'].includes(req.method) && wholeObject && !req.headers.range &&
                   (req.headers['x-amz-checksum-mode'] || '').toUpperCase() === 'ENABLED'
                   ? storedChecksums.get(url.pathname) : undefined;

  let decoder = null;
  if (chunked) {
    if (/ECDSA/.test(payload)) {
      sendError(res, 's3', 400, 'NotImplemented', 'SigV4a chunks are not supported here');
      return { status: 400, code: 'NotImplemented' };
    }
    const cred = splitCredential(auth.credential);
    const keys = config.keys.find((k) => k.accessKeyId === cred.accessKeyId);
    headers['content-length'] = headers['x-amz-decoded-content-length'];
    delete headers['transfer-encoding'];
    headers['content-encoding'] = (headers['content-encoding'] || '').split(',')
      .map((s) => s.trim()).filter((s) => s && s !== 'aws-chunked').join(',');
    if (!headers['content-encoding']) delete headers['content-encoding'];
    headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    for (const h of Object.keys(headers)) if (h.startsWith('x-amz-checksum-') || h === 'x-amz-trailer') delete headers[h];
    decoder = {
      signed: payload.startsWith('STREAMING-AWS4-HMAC-SHA256-PAYLOAD'),
      seedSignature: auth.signature,
      key: signingKey(keys.secretAccessKey, cred.date, cred.region, cred.service),
      amzDate: auth.amzDate,
      scope: `${cred.date}/${cred.region}/${cred.service}/aws4_request`,
    };
  }

  return new Promise((resolve) => {
    let finished = false;
    const finish = (result) => { if (!finished) { finished = true; resolve(result); } };
    const upstream = http.request({ host: '127.0.0.1', port: s3Port, method: req.method, path, headers }, (up) => {
      // S3 names every answer with x-amz-request-id; s3rver does not.
      const h = { ...up.headers };
      if (!h['x-amz-request-id']) h['x-amz-request-id'] = crypto.randomBytes(8).toString('hex').toUpperCase();
      const ok = up.statusCode >= 200 && up.statusCode < 300;
      if (ok && req.method === 'PUT' && claim) h['x-amz-checksum-' + claim.alg] = claim.value;
      if (ok && req.method === 'PUT' && wholeObject && !headers['x-amz-copy-source']) {
        if (claim) storedChecksums.set(url.pathname, { alg: claim.alg, value: claim.value });
        else storedChecksums.delete(url.pathname);
      }
      if (ok && (req.method === 'DELETE' || (req.method === 'POST' && query.has('uploadId')))) {
        storedChecksums.delete(url.pathname);
      }
      if (up.statusCode === 200 && returned) {
        h['x-amz-checksum-' + returned.alg] = returned.value;
        h['x-amz-checksum-type'] = 'FULL_OBJECT';
        record.checksumReturned = returned.alg;
      }
      res.writeHead(up.statusCode, h);
      up.pipe(res);
      up.on('end', () => finish({ status: up.statusCode }));
    });
    upstream.on('error', (e) => {
      if (!res.headersSent) sendError(res, 's3', 502, 'InternalError', 'store failed: ' + e.message);
      finish({ status: 502, code: 'InternalError' });
    });
    const reject = (code, message, status = 403) => {
      upstream.destroy();
      req.unpipe();
      if (!res.headersSent) sendError(res, 's3', status, code, message);
      finish({ status, code });
      req.resume();
    };
    const hash = /^[0-9a-f]{64}$/.test(payload || '') ? crypto.createHash('sha256') : null;
    // S3 keeps an object only once its whole body has arrived and checked out; s3rver writes the
    // file as bytes come in. So the decoded bytes of an aws-chunked body, and any body with a
    // checksum, are held here and handed to s3rver at the end: an upload refused mid-body or cut
    // off leaves nothing in the store.
    let dec = null;
    const held = [];
    if (decoder) {
      dec = new AwsChunkedDecoder({ ...decoder, onData: (d) => held.push(Buffer.from(d)) });
    }
    req.on('data', (d) => {
      if (finished) return;
      try {
        if (dec) dec.push(d);
        else {
          if (hash) hash.update(d);
          if (claim) held.push(d);
          else upstream.write(d);
        }
      } catch (e) {
        reject(e.code || 'IncompleteBody', e.message);
      }
    });
    req.on('end', async () => {
      if (finished) return;
      if (dec && !dec.done) return reject('IncompleteBody', 'aws-chunked body ended early');
      if (hash) {
        const got = hash.digest('hex');
        if (got !== payload) return reject('XAmzContentSHA256Mismatch', 'body does not match x-amz-content-sha256');
      }
      if (claim) {
        if (claim.trailer) {
          const sent = trailerChecksum(claim.alg, dec.trailer);
          if (sent.error) return reject(sent.error.code, sent.error.message, sent.error.status);
          claim.value = sent.value;
        }
        const bad = await verifyChecksum(claim, held);
        if (record.checksum) record.checksum.ok = !bad;
        if (bad) return reject(bad.code, bad.message, bad.status);
      }
      for (const piece of held) upstream.write(piece);
      upstream.end();
    });
    record.bodyCheck = dec ? (dec.signed ? 'signed-chunks' : 'unsigned-chunks') : (hash ? 'sha256' : 'unsigned');
  });
}

// ------------------------------------------------------------------ the front
async function handle(req, res) {
  const url = new URL(req.url, 'https://' + (req.headers.host || 'localhost'));
  const auth = parseAuthorization(req, url);
  const cred = auth.error ? null : splitCredential(auth.credential);
  const service = cred ? cred.service : (req.headers['x-amz-target'] ? 'dynamodb' : 's3');
  const record = { event: 'request', service, method: req.method, path: url.pathname,
                   host: req.headers.host, userAgent: req.headers['user-agent'] || '',
                   payload: req.headers['x-amz-content-sha256'] || null,
                   presigned: !!auth.presigned };
  try {
    if (auth.error) {
      sendError(res, service, 403, 'AccessDenied', auth.error);
      Object.assign(record, { verified: false, status: 403, code: 'AccessDenied', reason: auth.error });
      return;
    }
    const s3Like = ['s3', 's3-outposts', 's3express'].includes(service);
    let body;
    if (!s3Like) body = await readBody(req, BODY_BYTES_MAX);
    const problem = await verifySignature(req, url, auth, body);
    if (problem) {
      sendError(res, service, 403, problem.code, problem.message);
      Object.assign(record, { verified: false, status: 403, code: problem.code, reason: problem.message });
      if (s3Like) req.resume();
      return;
    }
    record.verified = true;
    const expected = hostScope(req.headers.host);
    if (expected && (expected.service !== service || expected.region !== cred.region)) {
      const message = `Credential should be scoped to ${expected.region}/${expected.service}, ` +
                      `not ${cred.region}/${service}.`;
      sendError(res, expected.service, 403, 'SignatureDoesNotMatch', message);
      Object.assign(record, { verified: false, status: 403, code: 'SignatureDoesNotMatch', reason: message });
      return;
    }
    let result;
    if (s3Like) result = await serveS3(req, res, url, auth, record);
    else if (service === 'dynamodb') result = serveDynamo(req, res, body);
    else if (SERVICES[service]) result = serveService(service, cred.region, req, res, url, body);
    else result = serveQueryService(service, req, res, body);
    Object.assign(record, result);
  } catch (e) {
    if (!res.headersSent) sendError(res, service, 500, 'InternalError', String(e.message || e));
    Object.assign(record, { status: 500, code: 'InternalError', reason: String(e.message || e) });
  } finally {
    emit(record);
  }
}

async function main() {
  const store = new S3rver({ address: '127.0.0.1', port: 0, silent: true,
                             directory: config.dataDir, resetOnClose: false });
  const addr = await store.run();
  s3Port = addr.port;
  const server = https.createServer({
    cert: fs.readFileSync(config.cert),
    key: fs.readFileSync(config.key),
    ...(config.minVersion ? { minVersion: config.minVersion } : {}),
  }, (req, res) => { handle(req, res); });
  server.keepAliveTimeout = 60000;
  server.listen(config.port || 0, '127.0.0.1', () => {
    emit({ event: 'listening', port: server.address().port, s3Port });
  });
  const stop = () => { server.close(); store.close().finally(() => process.exit(0)); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => { console.error(e); process.exit(1); });
