// Sign-in with a REST API token (id and secret). The secret goes to the appliance once, in the
// body of POST /api/v1/console/session, and is dropped from memory afterwards; the browser keeps
// only the HttpOnly session cookie.
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { Field } from './field.js';
import { html } from './html.js';

export function SignIn({ onSignedIn }) {
  const [tokenId, setTokenId] = useState('');
  const [secret, setSecret] = useState('');
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);

  async function submit(e) {
    e.preventDefault();
    const missing = {};
    if (!tokenId.trim()) missing.token_id = 'Enter the token id.';
    if (!secret) missing.secret = 'Enter the token secret.';
    setErrors(missing);
    if (Object.keys(missing).length) return;
    setBusy(true);
    try {
      const session = await api('POST', 'console/session', { token_id: tokenId.trim(), secret });
      setSecret('');
      onSignedIn(session);
    } catch (err) {
      const field = err.field === 'token_id' ? 'token_id' : 'secret';
      setErrors({ [field]: err.message });
    } finally {
      setBusy(false);
    }
  }

  return html`<main class="signin" id="main">
    <h1>pamproxy</h1>
    <section aria-labelledby="token-heading" class="card">
      <h2 id="token-heading">Sign in with a REST API token</h2>
      <form onSubmit=${submit} novalidate>
        <${Field} label="Token id" name="token_id" value=${tokenId} onInput=${setTokenId}
          error=${errors.token_id} autocomplete="username" hint="Like PAMABCDEFGHIJKLMNOPQ" />
        <${Field} label="Token secret" name="secret" type="password" value=${secret}
          onInput=${setSecret} error=${errors.secret} autocomplete="current-password" />
        <button type="submit" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </section>
    <section aria-labelledby="idp-heading" class="card idp">
      <h2 id="idp-heading">Sign in with your identity provider</h2>
      <p>Not configured on this appliance.</p>
    </section>
  </main>`;
}
