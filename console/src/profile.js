// My Profile: the appliance CA certificate (for AWS_CA_BUNDLE), the user's own REST API tokens,
// and what to paste into a shell or the AWS CLI config to use a record through the proxy (the
// same values `pamctl env` and `pamctl aws-profile` write).
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { Field } from './field.js';
import { html } from './html.js';

// SHA-256 of the certificate's DER bytes, as openssl x509 -fingerprint -sha256 prints it.
async function fingerprint(pem) {
  const b64 = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  const der = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', der));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

// The proxy as AWS tools reach it: the host this console was reached at, the appliance's proxy
// port (the session answer names it; 8081, the default, when it does not).
export function proxyAddress(session) {
  return `${location.hostname}:${session.proxy_port || 8081}`;
}

// Quoted for sh: '...' with each ' written as '\''.
export function shQuote(s) {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

// The four lines `pamctl env` prints for a record: the proxy, the CA file, token#record, and the
// secret read from the terminal (never written into the shell's history).
export function shellExports({ proxy, ca, tokenId, record }) {
  return [
    `export HTTPS_PROXY=${shQuote(proxy)}`,
    `export AWS_CA_BUNDLE=${shQuote(ca)}`,
    `export AWS_ACCESS_KEY_ID=${shQuote(tokenId + '#' + record)}`,
    `# the token's secret, typed rather than pasted into the shell's history:`,
    `read -rs AWS_SECRET_ACCESS_KEY && export AWS_SECRET_ACCESS_KEY`,
  ].join('\n');
}

// Where My Profile tells the user to save the CA certificate, under her home directory.
export function caPath(home) {
  return `${home.replace(/\/+$/, '')}/.aws/pamproxy-ca.pem`;
}

function Certificate() {
  const [sha256, setSha256] = useState('');
  const [error, setError] = useState('');
  useEffect(() => {
    api('GET', 'ca.pem')
      .then(async (text) => setSha256(await fingerprint(text)))
      .catch((e) => setError(e.message));
  }, []);
  return html`<section aria-labelledby="cert-heading" class="card">
    <h2 id="cert-heading">Certificate</h2>
    <p>The appliance CA certificate: AWS tools trust the proxy with it (AWS_CA_BUNDLE).</p>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <dl class="facts">
      <dt>SHA-256 fingerprint</dt><dd><code id="ca-fingerprint">${sha256 || '…'}</code></dd>
    </dl>
    <a class="button" id="ca-download" href="/api/v1/ca.pem" download="pamproxy-ca.pem">
      Download pamproxy-ca.pem</a>
  </section>`;
}

function Tokens({ session, tokens, error }) {
  return html`<section aria-labelledby="tokens-heading" class="card">
    <h2 id="tokens-heading">My REST API tokens</h2>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="scroll">
      <table>
        <caption class="visually-hidden">Your tokens</caption>
        <thead><tr><th scope="col">Id</th><th scope="col">Name</th><th scope="col">Expires</th>
          <th scope="col">State</th></tr></thead>
        <tbody>
          ${tokens.map((t) => html`<tr key=${t.id}>
            <td><code>${t.id}</code>${t.id === session.token_id ? ' (this sign-in)' : ''}</td>
            <td class="token-name">${t.name}</td>
            <td>${t.expires_at || 'never'}</td>
            <td>${t.revoked ? 'revoked' : 'active'}</td>
          </tr>`)}
        </tbody>
      </table>
    </div>
  </section>`;
}

function Exports({ session, tokens }) {
  const [record, setRecord] = useState('');
  const [proxy, setProxy] = useState(proxyAddress(session));
  // The AWS CLI expands neither ~ nor $HOME in ca_bundle or credential_process: absolute paths.
  const [home, setHome] = useState(`/home/${session.user.name}`);
  const [tokenId, setTokenId] = useState(session.token_id);
  const [profile, setProfile] = useState('pamproxy');
  const ref = record.trim() || 'RECORD';
  const dir = home.replace(/\/+$/, '');
  const ca = caPath(home);
  const tokenFile = `${dir}/.config/pamproxy/token`;
  const env = shellExports({ proxy, ca, tokenId, record: ref });
  const profileText = [
    `[profile ${profile || 'pamproxy'}]`,
    `credential_process = pamctl credential-process --record ${shQuote(ref)} --token-file ${shQuote(tokenFile)}`,
    `ca_bundle = ${ca}`,
  ].join('\n');
  return html`<section aria-labelledby="exports-heading" class="card">
    <h2 id="exports-heading">Use a record from your shell</h2>
    <div class="grid">
      <${Field} label="Record (id or search criteria)" name="record" value=${record}
        onInput=${setRecord} />
      <${Field} label="Proxy address (host:port)" name="proxy" value=${proxy} onInput=${setProxy} />
      <${Field} label="Your home directory" name="home" value=${home} onInput=${setHome}
        hint="Save the certificate as .aws/pamproxy-ca.pem there." />
      <div class="field">
        <label for="token_choice">Token</label>
        <select id="token_choice" value=${tokenId}
          onChange=${(e) => setTokenId(e.currentTarget.value)}>
          ${tokens.filter((t) => !t.revoked).map((t) => html`<option value=${t.id}>${t.id} (${t.name})</option>`)}
          ${tokens.some((t) => t.id === session.token_id) ? null
            : html`<option value=${session.token_id}>${session.token_id}</option>`}
        </select>
      </div>
    </div>
    <h3 id="env-heading">Environment (as <code>pamctl env</code> prints it)</h3>
    <pre aria-labelledby="env-heading" id="env-exports" tabindex="0">${env}</pre>
    <h3 id="profile-heading">AWS CLI profile (~/.aws/config)</h3>
    <${Field} label="Profile name" name="profile" value=${profile} onInput=${setProfile} />
    <pre aria-labelledby="profile-heading" id="aws-profile" tabindex="0">${profileText}</pre>
    <p>
      Keep <code>TOKEN_ID:SECRET</code> in <code>${tokenFile}</code> (chmod 600), and set${' '}
      <code>HTTPS_PROXY=${proxy}</code>: the AWS CLI reads the proxy only from there.
    </p>
  </section>`;
}

export function Profile({ session }) {
  const [tokens, setTokens] = useState([]);
  const [error, setError] = useState('');
  useEffect(() => {
    api('GET', 'tokens?limit=1000&user=' + encodeURIComponent(session.user.id))
      .then((r) => setTokens(r.items))
      .catch((e) => setError(e.message));
  }, [session.user.id]);
  return html`<section aria-labelledby="profile-title">
    <h1 id="profile-title">My Profile</h1>
    <${Certificate} />
    <${Tokens} session=${session} tokens=${tokens} error=${error} />
    <${Exports} session=${session} tokens=${tokens} />
  </section>`;
}
