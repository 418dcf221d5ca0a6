// Tokens: the REST API tokens the user may see (their own; an admin's, everyone's, with a user
// filter), creating one (its secret shown once, with the four exports `pamctl env` prints) and
// revoking one after a confirmation.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { Field } from './field.js';
import { html } from './html.js';
import { proxyAddress, shQuote } from './profile.js';

const EXPIRIES = [
  { label: '1 day', seconds: 86400 },
  { label: '7 days', seconds: 7 * 86400 },
  { label: '30 days', seconds: 30 * 86400 },
  { label: '90 days', seconds: 90 * 86400 },
  { label: 'Never', seconds: 0 },
];

function Create({ session, users, onCreated }) {
  const [name, setName] = useState('');
  const [expiry, setExpiry] = useState('2592000');
  const [networks, setNetworks] = useState('');
  const [userId, setUserId] = useState(session.user.id);
  const [error, setError] = useState(null);
  async function submit(e) {
    e.preventDefault();
    const body = { name: name.trim() };
    if (Number(expiry) > 0) body.expires_in_s = Number(expiry);
    const nets = networks.split(/[\s,]+/).filter(Boolean);
    if (nets.length) body.allowed_networks = nets;
    if (session.user.admin && userId !== session.user.id) body.user_id = userId;
    try {
      const token = await api('POST', 'tokens', body);
      setError(null);
      setName('');
      onCreated(token);
    } catch (err) {
      setError(err);
    }
  }
  const fieldError = (f) => (error && error.field === f ? error.message : '');
  return html`<section aria-labelledby="create-token-heading" class="card">
    <h2 id="create-token-heading">Create a token</h2>
    <form onSubmit=${submit}>
      <div class="grid">
        <${Field} label="Name" name="token_name" value=${name} onInput=${setName}
          error=${fieldError('name')} />
        <div class="field">
          <label for="token_expiry">Expires in</label>
          <select id="token_expiry" value=${expiry} onChange=${(e) => setExpiry(e.currentTarget.value)}>
            ${EXPIRIES.map((x) => html`<option value=${String(x.seconds)}>${x.label}</option>`)}
          </select>
        </div>
        <${Field} label="Allowed networks (CIDR, comma-separated)" name="token_networks"
          value=${networks} onInput=${setNetworks} error=${fieldError('allowed_networks')}
          hint="Empty: any network." />
        ${session.user.admin && html`<div class="field">
          <label for="token_user">For user</label>
          <select id="token_user" value=${userId} onChange=${(e) => setUserId(e.currentTarget.value)}>
            ${users.map((u) => html`<option value=${u.id}>${u.name}</option>`)}
          </select>
        </div>`}
      </div>
      ${error && !error.field && html`<p class="error" role="alert">${error.message}</p>`}
      <button type="submit" id="create-token">Create token</button>
    </form>
  </section>`;
}

// The one time the secret is seen: the API never returns it again.
function Secret({ session, token, records, onDone }) {
  const [record, setRecord] = useState('');
  const [home, setHome] = useState(`/home/${session.user.name}`);
  const [copied, setCopied] = useState('');
  const chosen = record || (records[0] && records[0].name) || '';
  const ref = chosen || 'RECORD';
  const exports = [
    `export HTTPS_PROXY=${shQuote(proxyAddress(session))}`,
    `export AWS_CA_BUNDLE=${shQuote(`${home.replace(/\/+$/, '')}/.aws/pamproxy-ca.pem`)}`,
    `export AWS_ACCESS_KEY_ID=${shQuote(token.id + '#' + ref)}`,
    `export AWS_SECRET_ACCESS_KEY=${shQuote(token.secret)}`,
  ].join('\n');
  async function copy(text, what) {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(`${what} copied.`);
    } catch (e) {
      setCopied('The browser refused the clipboard: select the text and copy it.');
    }
  }
  return html`<section aria-labelledby="secret-heading" class="card" id="new-token"
    data-token=${token.id}>
    <h2 id="secret-heading">Token ${token.id} created</h2>
    <p>Its secret is shown only now: the appliance keeps no copy it could show again.</p>
    <dl class="facts">
      <dt>Secret</dt><dd><code id="new-secret">${token.secret}</code></dd>
    </dl>
    <p><button type="button" id="copy-secret" onClick=${() => copy(token.secret, 'Secret')}>Copy secret</button>
      <span role="status" class="hint"> ${copied}</span></p>
    <div class="field">
      <label for="export_record">Record</label>
      <select id="export_record" value=${chosen} onChange=${(e) => setRecord(e.currentTarget.value)}>
        ${records.map((r) => html`<option value=${r.name}>${r.name}</option>`)}
        ${records.length === 0 && html`<option value="">(no record visible to you)</option>`}
      </select>
    </div>
    <${Field} label="Your home directory" name="export_home" value=${home} onInput=${setHome}
      hint="Save the certificate as .aws/pamproxy-ca.pem there." />
    <h3 id="new-exports-heading">Environment (as <code>pamctl env</code> prints it)</h3>
    <pre aria-labelledby="new-exports-heading" id="new-exports" tabindex="0">${exports}</pre>
    <p><button type="button" id="copy-exports" onClick=${() => copy(exports, 'The four exports')}>
      Copy the exports</button></p>
    <p class="hint">AWS_CA_BUNDLE names where to save the appliance CA certificate (My Profile
      has it, and a field for another home directory).</p>
    <button type="button" id="secret-done" onClick=${onDone}>I have saved it</button>
  </section>`;
}

function Row({ session, token, owner, onRevoked }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState('');
  async function revoke() {
    try {
      onRevoked(await api('POST', `tokens/${encodeURIComponent(token.id)}/revoke`));
    } catch (e) {
      setError(e.message);
    }
    setConfirming(false);
  }
  return html`<tr data-token=${token.id}>
    <td><code>${token.id}</code>${token.id === session.token_id ? ' (this sign-in)' : ''}</td>
    <td class="token-name">${token.name}</td>
    <td>${owner}</td>
    <td>${token.expires_at || 'never'}</td>
    <td>${(token.allowed_networks || []).join(', ') || 'any'}</td>
    <td class="token-state">${token.revoked ? 'revoked' : 'active'}</td>
    <td>
      ${!token.revoked && !confirming && html`<button type="button" class="revoke"
        aria-label=${`Revoke token ${token.id}`} onClick=${() => setConfirming(true)}>Revoke</button>`}
      ${confirming && html`<span role="group" aria-label=${`Confirm revoking ${token.id}`}>
        Revoke it? Signed requests with it stop at once.${' '}
        <button type="button" class="confirm-revoke" onClick=${revoke}>Yes, revoke</button>${' '}
        <button type="button" onClick=${() => setConfirming(false)}>Cancel</button></span>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </td>
  </tr>`;
}

export function Tokens({ session }) {
  const admin = session.user.admin;
  const [tokens, setTokens] = useState([]);
  const [users, setUsers] = useState([session.user]);
  const [records, setRecords] = useState([]);
  const [filter, setFilter] = useState(admin ? '' : session.user.id);
  const [created, setCreated] = useState(null);
  const [error, setError] = useState('');
  function load() {
    const q = filter ? '&user=' + encodeURIComponent(filter) : '';
    api('GET', 'tokens?limit=1000' + q)
      .then((r) => setTokens(r.items))
      .catch((e) => setError(e.message));
  }
  useEffect(load, [filter]);
  useEffect(() => {
    api('GET', 'records?limit=1000').then((r) => setRecords(r.items)).catch(() => {});
    if (admin) api('GET', 'users?limit=1000').then((r) => setUsers(r.items)).catch(() => {});
  }, [admin]);
  const names = Object.fromEntries(users.map((u) => [u.id, u.name]));
  return html`<section aria-labelledby="tokens-title">
    <h1 id="tokens-title">Tokens</h1>
    ${created ? html`<${Secret} session=${session} token=${created} records=${records} onDone=${() => setCreated(null)} />`
      : html`<${Create} session=${session} users=${users}
          onCreated=${(t) => { setCreated(t); load(); }} />`}
    <section aria-labelledby="token-list-heading" class="card">
      <h2 id="token-list-heading">${admin ? 'All tokens' : 'Your tokens'}</h2>
      ${admin && html`<div class="field">
        <label for="token_filter">User</label>
        <select id="token_filter" value=${filter} onChange=${(e) => setFilter(e.currentTarget.value)}>
          <option value="">Everyone</option>
          ${users.map((u) => html`<option value=${u.id}>${u.name}</option>`)}
        </select>
      </div>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="scroll">
        <table>
          <caption class="visually-hidden">Tokens</caption>
          <thead><tr><th scope="col">Id</th><th scope="col">Name</th><th scope="col">User</th>
            <th scope="col">Expires</th><th scope="col">Networks</th><th scope="col">State</th>
            <th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            ${tokens.map((t) => html`<${Row} key=${t.id} session=${session} token=${t}
              owner=${names[t.user_id] || t.user_id}
              onRevoked=${(r) => setTokens((all) => all.map((x) => (x.id === r.id ? r : x)))} />`)}
          </tbody>
        </table>
      </div>
    </section>
  </section>`;
}
