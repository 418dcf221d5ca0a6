#!/usr/bin/env node
// sdk_v3_client.js: the AWS SDK for JavaScript v3, as applications use it today, driven through
// pamproxy's CONNECT proxy for the integration tests. Its defaults stay on: flexible checksums on
// uploads (a CRC32 header on a plain body, an aws-chunked body with a CRC32 trailer on a stream)
// and checksum validation on downloads (ChecksumMode ENABLED).
//
// usage: node sdk_v3_client.js CONFIG.json
//   { "proxy": "http://127.0.0.1:PORT", "ca": "appliance-ca.pem", "region": "us-east-1",
//     "accessKeyId": "TOKENID#RECORD", "secretAccessKey": "...", "bucket": "name" }
// Prints one JSON line per step ({"step": ..., ...}) and {"done": true} last; exits 1 with the
// error on stderr at the first step that fails.

'use strict';

const assert = require('assert');
const crypto = require('crypto');
const fs = require('fs');
const https = require('https');
const { Readable } = require('stream');
const {
  S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, HeadObjectCommand,
} = require('@aws-sdk/client-s3');
const { Upload } = require('@aws-sdk/lib-storage');
const { getSignedUrl } = require('@aws-sdk/s3-request-presigner');
const { STSClient, GetCallerIdentityCommand } = require('@aws-sdk/client-sts');
const {
  DynamoDBClient, PutItemCommand, GetItemCommand, ListTablesCommand,
} = require('@aws-sdk/client-dynamodb');
const { NodeHttpHandler } = require('@smithy/node-http-handler');
const { SignatureV4 } = require('@smithy/signature-v4');
const { Hash } = require('@smithy/hash-node');

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const bucket = config.bucket;

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}
function sha256hex(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}
async function bytesOf(body) {
  return Buffer.from(await body.transformToByteArray());
}
// The error a step expects: its name (S3's code) and HTTP status.
async function expectError(promise, name, status) {
  try {
    await promise;
  } catch (e) {
    assert.strictEqual(e.name, name, `expected ${name}, got ${e.name}: ${e.message}`);
    assert.strictEqual(e.$metadata.httpStatusCode, status);
    return e;
  }
  assert.fail(`expected ${name}, the call succeeded`);
}

async function main() {
  const { HttpsProxyAgent } = await import('https-proxy-agent');
  const ca = fs.readFileSync(config.ca);
  // Every connection is a CONNECT tunnel through pamproxyd; the endpoints' certificates are the
  // appliance CA's (pamproxy terminates TLS to read and re-sign each request).
  // https-proxy-agent opens the tunnel's TLS with the request's options only (its own options
  // are for the proxy), so the CA is added to each one here.
  class TunnelAgent extends HttpsProxyAgent {
    connect(req, opts) {
      return super.connect(req, { ...opts, ca });
    }
  }
  const agent = new TunnelAgent(config.proxy, { keepAlive: true });
  const common = {
    region: config.region,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    requestHandler: new NodeHttpHandler({ httpsAgent: agent }),
    maxAttempts: 1,
  };
  const s3 = new S3Client({ ...common, forcePathStyle: true });

  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  emit({ step: 'create-bucket' });

  // A plain body: the SDK sends x-amz-checksum-crc32 computed over it.
  const small = Buffer.from('hello from the AWS SDK for JavaScript v3\n'.repeat(100));
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'plain.txt', Body: small }));
  emit({ step: 'put-plain', checksumCRC32: put.ChecksumCRC32 || null });

  // A stream: the SDK sends it aws-chunked (STREAMING-UNSIGNED-PAYLOAD-TRAILER) with the CRC32 in
  // the trailer.
  const streamed = crypto.randomBytes(300 * 1024);
  const parts = [streamed.subarray(0, 100000), streamed.subarray(100000)];
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'streamed.bin',
                                       Body: Readable.from(parts),
                                       ContentLength: streamed.length }));
  emit({ step: 'put-stream' });

  // Downloads with validation: the SDK checks the body against the checksum S3 returns.
  for (const [key, expected] of [['plain.txt', small], ['streamed.bin', streamed]]) {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key,
                                                     ChecksumMode: 'ENABLED' }));
    const body = await bytesOf(got.Body);
    assert.ok(body.equals(expected), `${key}: the body read back differs`);
    assert.ok(got.ChecksumCRC32, `${key}: no CRC32 returned to validate`);
    emit({ step: 'get-validated', key, checksumCRC32: got.ChecksumCRC32 });
  }

  // The other algorithms the SDK offers, chosen by the caller: in a trailer on a stream, in a
  // header on a plain body, and validated on the way back.
  for (const alg of ['CRC32C', 'CRC64NVME', 'SHA1', 'SHA256']) {
    for (const [form, body] of [['stream', () => Readable.from(parts)], ['plain', () => streamed]]) {
      const key = `${alg.toLowerCase()}-${form}.bin`;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body(),
                                           ContentLength: streamed.length,
                                           ChecksumAlgorithm: alg }));
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key,
                                                       ChecksumMode: 'ENABLED' }));
      assert.ok((await bytesOf(got.Body)).equals(streamed), `${key}: the body read back differs`);
      assert.ok(got['Checksum' + alg], `${key}: no ${alg} returned to validate`);
    }
  }
  emit({ step: 'other-algorithms' });

  // Multipart with lib-storage: each part carries its CRC32, and the completion lists them.
  const big = crypto.randomBytes(12 * 1024 * 1024);
  const upload = new Upload({ client: s3, partSize: 5 * 1024 * 1024, queueSize: 2,
                              params: { Bucket: bucket, Key: 'multipart.bin', Body: big } });
  const done = await upload.done();
  emit({ step: 'multipart', etag: done.ETag });
  const back = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'multipart.bin',
                                                    ChecksumMode: 'ENABLED' }));
  assert.strictEqual(sha256hex(await bytesOf(back.Body)), sha256hex(big));
  emit({ step: 'multipart-read' });

  // A presigned URL the SDK makes, fetched through the proxy like any HTTPS client would.
  const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'plain.txt' }),
                                 { expiresIn: 300 });
  const presigned = await new Promise((resolve, reject) => {
    https.get(url, { agent }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
  assert.strictEqual(presigned.status, 200, presigned.body.toString());
  assert.ok(presigned.body.equals(small), 'the presigned GET returned another body');
  emit({ step: 'presigned-get' });

  // A wrong checksum given by the caller is sent as is: S3 (the stand-in) refuses the body.
  await expectError(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'bad-header.txt',
                                                   Body: small, ChecksumCRC32: 'AAAAAA==' })),
                    'BadDigest', 400);
  await expectError(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'bad-header.txt' })),
                    'NotFound', 404);
  emit({ step: 'bad-header-checksum-refused' });

  // A wrong trailer checksum: an aws-chunked upload signed here with the token (the SDK always
  // computes its trailers right), sent through the proxy.
  const trailer = await putWithTrailer(agent, 'bad-trailer.bin', streamed, 'AAAAAA==');
  assert.strictEqual(trailer.status, 400, trailer.body);
  assert.match(trailer.body, /<Code>BadDigest<\/Code>/);
  await expectError(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'bad-trailer.bin' })),
                    'NotFound', 404);
  emit({ step: 'bad-trailer-checksum-refused' });

  const sts = new STSClient(common);
  const ident = await sts.send(new GetCallerIdentityCommand({}));
  emit({ step: 'sts', account: ident.Account });

  const dynamo = new DynamoDBClient(common);
  const key = { id: { S: 'order-1' } };
  await dynamo.send(new PutItemCommand({ TableName: 'orders',
                                         Item: { ...key, total: { N: '42' } } }));
  const item = await dynamo.send(new GetItemCommand({ TableName: 'orders', Key: key }));
  assert.deepStrictEqual(item.Item, { ...key, total: { N: '42' } });
  const tables = await dynamo.send(new ListTablesCommand({}));
  assert.ok(tables.TableNames.includes('orders'));
  emit({ step: 'dynamodb', tables: tables.TableNames });

  emit({ done: true });
  agent.destroy();
}

// PUT `data` as an unsigned aws-chunked body whose CRC32 trailer says `crc32`; resolves to the
// response's status and body.
async function putWithTrailer(agent, key, data, crc32) {
  const host = `s3.${config.region}.amazonaws.com`;
  const framed = Buffer.concat([
    Buffer.from(data.length.toString(16) + '\r\n'), data,
    Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${crc32}\r\n\r\n`),
  ]);
  const signer = new SignatureV4({
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    region: config.region, service: 's3', sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: false, applyChecksum: false,
  });
  const signed = await signer.sign({
    method: 'PUT', protocol: 'https:', hostname: host, path: `/${bucket}/${key}`, query: {},
    headers: {
      host,
      'content-encoding': 'aws-chunked',
      'content-length': String(framed.length),
      'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      'x-amz-decoded-content-length': String(data.length),
      'x-amz-sdk-checksum-algorithm': 'CRC32',
      'x-amz-trailer': 'x-amz-checksum-crc32',
    },
  });
  return new Promise((resolve, reject) => {
    const req = https.request({ host, port: 443, method: 'PUT', path: `/${bucket}/${key}`,
                                headers: signed.headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(framed);
  });
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
