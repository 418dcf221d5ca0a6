// Node's own HTTP parser (llhttp, strict as Node's http server runs it) over byte streams, for
// the differential test (test_http_differential.py). Same input and output as http-probe: one
// hex-encoded stream per stdin line in, one JSON line out with the requests read in order and how
// the stream ended ("error" with llhttp's code, "incomplete", "closed", "upgrade" or "end").
'use strict';
const { HTTPParser, methods } = require('_http_common');
const readline = require('readline');

function probe(bytes) {
  const parser = new HTTPParser();
  parser.initialize(HTTPParser.REQUEST, {}, 0, 0);
  const messages = [];
  let current = null;
  let upgrade = false;
  let lastKeepAlive = true;
  parser[HTTPParser.kOnHeaders] = () => {};
  parser[HTTPParser.kOnHeadersComplete] = (major, minor, headers, method, url, status, msg,
                                           isUpgrade, keepAlive) => {
    current = { method: methods[method], url, body: 0, keep_alive: !!keepAlive };
    if (isUpgrade) upgrade = true;
    return 0;
  };
  parser[HTTPParser.kOnBody] = (chunk) => { current.body += chunk.length; };
  parser[HTTPParser.kOnMessageComplete] = () => {
    messages.push(current);
    lastKeepAlive = current.keep_alive;
    current = null;
  };
  parser[HTTPParser.kOnExecute] = () => {};
  const ret = parser.execute(bytes);
  let state = 'end';
  let error = null;
  if (upgrade) {
    state = 'upgrade';
  } else if (messages.length > 0 && !lastKeepAlive) {
    // Node stops reading after a request without keep-alive; what follows is never parsed.
    state = 'closed';
  } else if (ret instanceof Error) {
    state = 'error';
    error = ret.code;
  } else {
    // End of input: llhttp says whether it stopped between messages or inside one.
    const eof = parser.finish();
    if (eof instanceof Error || current !== null) state = 'incomplete';
  }
  parser.close();
  return { messages, state, error };
}

// Responses to a request with `method`; HEAD responses skip their body as Node's client does.
function probeResponses(bytes, method) {
  const parser = new HTTPParser();
  parser.initialize(HTTPParser.RESPONSE, {}, 0, 0);
  const messages = [];
  let current = null;
  let lastKeepAlive = true;
  let lastStatus = 0;
  parser[HTTPParser.kOnHeaders] = () => {};
  parser[HTTPParser.kOnHeadersComplete] = (major, minor, headers, m, url, status, msg,
                                           isUpgrade, keepAlive) => {
    current = { status, body: 0, keep_alive: !!keepAlive };
    return method === 'HEAD' ? 1 : 0;
  };
  parser[HTTPParser.kOnBody] = (chunk) => { current.body += chunk.length; };
  parser[HTTPParser.kOnMessageComplete] = () => {
    messages.push(current);
    lastKeepAlive = current.keep_alive;
    lastStatus = current.status;
    current = null;
  };
  parser[HTTPParser.kOnExecute] = () => {};
  const ret = parser.execute(bytes);
  let state = 'end';
  let error = null;
  const closedAfterFinal = () => messages.length > 0 && !lastKeepAlive &&
      !(lastStatus >= 100 && lastStatus < 200);
  if (closedAfterFinal()) {
    state = 'closed';
  } else if (ret instanceof Error) {
    state = 'error';
    error = ret.code;
  } else {
    // End of input is the connection closing: it ends an until-close body.
    const eof = parser.finish();
    if (closedAfterFinal()) {
      state = 'closed';
    } else if (eof instanceof Error || current !== null) {
      state = 'incomplete';
    }
  }
  parser.close();
  return { messages, state, error };
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let result;
  if (line.startsWith('response GET ')) {
    result = probeResponses(Buffer.from(line.slice(13).trim(), 'hex'), 'GET');
  } else if (line.startsWith('response HEAD ')) {
    result = probeResponses(Buffer.from(line.slice(14).trim(), 'hex'), 'HEAD');
  } else {
    result = probe(Buffer.from(line.trim(), 'hex'));
  }
  process.stdout.write(JSON.stringify(result) + '\n');
});
