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
      grant_types: ['authorization_code'],
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
    features: { devInteractions: { enabled: true } },
    async findAccount(ctx, id) {
      if (id !== user.login) return undefined;
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: user.email, name: user.name, groups: user.groups };
        },
      };
    },
  });
  server.on('request', provider.callback());
  console.log(JSON.stringify({ event: 'listening', port, issuer }));

  const stop = () => { server.close(); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => { console.error(e); process.exit(1); });
