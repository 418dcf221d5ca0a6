// Sign-in with a REST API token (id and secret). The secret goes to the appliance once, in the
// body of POST /api/v1/console/session, and is dropped from memory afterwards; the browser keeps
// only the HttpOnly session cookie.
//
// Or through the organisation's identity provider, when the appliance has one
// (GET /api/v1/console/identity): a plain link to /auth/oidc/start, which sends the browser to
// the provider and back. A sign-in that failed comes back here with ?signin_error=<word>; only
// the words below are shown, so no text from the address bar reaches the page.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { Field } from './field.js';
import { html } from './html.js';

const SIGNIN_ERRORS = {
  provider_unreachable:
    'The identity provider cannot be reached right now. Try again later, or sign in with a REST API token.',
  refused: 'The identity provider did not sign you in, or its answer was refused. Try again.',
  expired: 'That sign-in took too long or was already used. Start again.',
  busy: 'Too many sign-ins are under way. Try again in a moment.',
  identity_off: 'Sign-in through an identity provider is not configured on this appliance.',
  disabled: 'Your user is disabled on this appliance. Ask an admin to enable it.',
};

function signinError() {
  const code = new URLSearchParams(window.location.search).get('signin_error');
  return code && Object.hasOwn(SIGNIN_ERRORS, code) ? SIGNIN_ERRORS[code] : '';
}

export function SignIn({ onSignedIn }) {
  const [identity, setIdentity] = useState(null);
  const [idpError] = useState(signinError);
  useEffect(() => {
    api('GET', 'console/identity').then(setIdentity, () => setIdentity({ enabled: false }));
  }, []);
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
      ${idpError && html`<p role="alert" class="error" id="idp-error">${idpError}</p>`}
      ${identity === null
        ? html`<p>Checking…</p>`
        : identity.enabled
          ? html`<a class="button" id="idp-signin" href=${identity.start_url}>Sign in with your identity provider</a>`
          : html`<p>Not configured on this appliance.</p>`}
    </section>
  </main>`;
}
