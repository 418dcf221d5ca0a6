// The dashboard: the proxy's state as the API reports it. A placeholder for richer views.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { html } from './html.js';

export function Dashboard({ session }) {
  const [health, setHealth] = useState(null);
  const [settings, setSettings] = useState(null);
  const [error, setError] = useState('');
  useEffect(() => {
    Promise.all([api('GET', 'health'), api('GET', 'settings')])
      .then(([h, s]) => { setHealth(h); setSettings(s); })
      .catch((e) => setError(e.message));
  }, []);
  const enabled = settings && settings['proxy.enabled'];
  return html`<section aria-labelledby="dash-heading">
    <h1 id="dash-heading">Dashboard</h1>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <dl class="facts">
      <dt>Appliance</dt><dd>${health ? `${health.status}, version ${health.version}` : '…'}</dd>
      <dt>Proxy</dt>
      <dd>${settings ? (enabled ? 'enabled' : 'disabled (an admin enables it in settings)') : '…'}</dd>
      <dt>Signed in as</dt><dd>${session.user.name}${session.user.admin ? ' (admin)' : ''}</dd>
    </dl>
  </section>`;
}
