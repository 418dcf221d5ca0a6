#!/usr/bin/env node
// oidc_provider.js: a real OpenID Connect provider for tests (the oidc-provider package), over
// HTTPS on 127.0.0.1, with one confidential client and one person.
//
// The provider's own login and consent pages (its development interactions) are turned on here
// and nowhere else: the login page takes any password, and the login names the account, so only
// the configured person's login signs anyone in.
//
// usage: node oidc_provider.js CONFIG.json
//   { "cert": "leaf.pem", "key": "leaf.key",
//     "client": { "client_id": "pamproxy", "client_secret": "...", "redirect_uri": "https://..." },
//     "user": { "login": "ada", "email": "ada@example.com", "name": "Ada Lovelace",
//               "groups": ["pam-ops"] } }
// Prints {"event":"listening","port":N,"issuer":"https://127.0.0.1:N"} once listening.
//
// For pamctl's sign-in the client may also use the device flow (RFC 8628) and refresh tokens,
// which it is always given. The test changes the person at run time on the same port:
//   POST /test/user {"groups": [...]}   her groups from now on (a refresh reads them again)
//   POST /test/user {"disabled": true}  she no longer exists: a refresh is refused (invalid_grant)
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const https = require('node:https');

async function main() {
  const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const { default: Provider } = await import('oidc-provider');
  const server = https.createServer({
    cert: fs.readFileSync(config.cert),
    key: fs.readFileSync(config.key),
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  const issuer = `https://127.0.0.1:${port}`;

  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'RS256' };
  const user = config.user;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: config.client.client_id,
      client_secret: config.client.client_secret,
      redirect_uris: [config.client.redirect_uri],
      response_types: ['code'],
      grant_types: ['authorization_code', 'refresh_token',
        'urn:ietf:params:oauth:grant-type:device_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [signingKey] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    claims: {
      openid: ['sub'],
      email: ['email'],
      profile: ['name'],
      groups: ['groups'],
    },
    // The person's claims go in the ID token itself, as the appliance reads them there.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true }, deviceFlow: { enabled: true } },
    // A refresh token for every grant of a client that may refresh, offline_access or not.
    async issueRefreshToken(ctx, client) {
      return client.grantTypeAllowed('refresh_token');
    },
    async findAccount(ctx, id) {
      if (id !== user.login || user.disabled) return undefined;
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: user.email, name: user.name, groups: user.groups };
        },
      };
    },
  });
  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (req.method !== 'POST' || req.url !== '/test/user') return callback(req, res);
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      const change = JSON.parse(body);
      if (Array.isArray(change.groups)) user.groups = change.groups;
      if (typeof change.disabled === 'boolean') user.disabled = change.disabled;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ groups: user.groups, disabled: Boolean(user.disabled) }));
    });
  });
  console.log(JSON.stringify({ event: 'listening', port, issuer }));

  const stop = () => { server.close(); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => { console.error(e); process.exit(1); });
