// The console's entry point: finds out whether this browser is signed in, then shows the sign-in
// form or the shell (navigation and the current screen). Routes are paths (/, /profile) handled
// here with the History API; the appliance answers index.html for each of them.
//
// Adding a screen: one entry in `screens` (its path, its label, and who may see it: the console
// never offers what the API would refuse that user), and its path in routes.json (the appliance
// answers index.html only for those and the paths below them).
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setCsrfToken } from './api.js';
import { Audit } from './audit.js';
import { Dashboard } from './dashboard.js';
import { html } from './html.js';
import { Profile } from './profile.js';
import { Requests } from './requests.js';
import { RecordTypes } from './record_types.js';
import { Records } from './records.js';
import { Sessions } from './sessions.js';
import { Settings } from './settings.js';
import { SignIn } from './signin.js';
import { Tokens } from './tokens.js';
import { Users } from './users.js';
import './style.css';

const screens = [
  { path: '/', label: 'Dashboard', view: Dashboard, allowed: () => true },
  { path: '/profile', label: 'My Profile', view: Profile, allowed: () => true },
  { path: '/tokens', label: 'Tokens', view: Tokens, allowed: () => true },
  { path: '/requests', label: 'Access requests', view: Requests, allowed: () => true },
  { path: '/records', label: 'Records', view: Records, allowed: () => true },
  { path: '/sessions', label: 'Sessions', view: Sessions, allowed: () => true },
  { path: '/settings', label: 'Settings / Parameters', view: Settings, allowed: (s) => s.user.admin },
  { path: '/record-types', label: 'Record types', view: RecordTypes, allowed: (s) => s.user.admin },

  { path: '/users', label: 'Users and roles', view: Users, allowed: (s) => s.user.admin },
  { path: '/audit', label: 'Audit', view: Audit, allowed: (s) => s.user.admin },
];

function navigate(path) {
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

function Shell({ session, onSignOut }) {
  const [path, setPath] = useState(location.pathname);
  const [error, setError] = useState('');
  useEffect(() => {
    const onPop = () => setPath(location.pathname);
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  const allowed = screens.filter((s) => s.allowed(session));
  // A path below a screen's ("/requests/req-…", the link in a notification) opens that screen.
  const screen = allowed.find((s) => s.path === path) ||
    allowed.find((s) => s.path !== '/' && path.startsWith(`${s.path}/`));
  useEffect(() => {
    document.title = `${screen ? screen.label : 'Not found'} · pamproxy`;
  }, [screen]);

  async function signOut() {
    try {
      await api('DELETE', 'console/session');
    } catch (e) {
      if (e.status !== 401) { setError(e.message); return; }
    }
    setCsrfToken('');
    onSignOut();
  }

  return html`<div class="shell">
    <a class="skip" href="#main">Skip to content</a>
    <header>
      <span class="brand">pamproxy</span>
      <nav aria-label="Main">
        <ul>
          ${allowed.map((s) => html`<li key=${s.path}><a href=${s.path}
            aria-current=${s.path === path ? 'page' : undefined}
            onClick=${(e) => { e.preventDefault(); navigate(s.path); }}>${s.label}</a></li>`)}
        </ul>
      </nav>
      <span class="who">${session.user.name}</span>
      <button type="button" id="sign-out" onClick=${signOut}>Sign out</button>
    </header>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <main id="main" tabindex="-1">
      ${screen ? html`<${screen.view} session=${session} />`
        : html`<h1>Not found</h1><p>No screen at this address.</p>`}
    </main>
  </div>`;
}

function App() {
  const [session, setSession] = useState(undefined);  // undefined: not known yet
  useEffect(() => {
    api('GET', 'console/session')
      .then((s) => { setCsrfToken(s.csrf_token); setSession(s); })
      .catch(() => setSession(null));
  }, []);
  if (session === undefined) return html`<p class="loading">Loading…</p>`;
  if (session === null) {
    return html`<${SignIn} onSignedIn=${(s) => { setCsrfToken(s.csrf_token); setSession(s); }} />`;
  }
  return html`<${Shell} session=${session} onSignOut=${() => setSession(null)} />`;
}

render(html`<${App} />`, document.getElementById('app'));
