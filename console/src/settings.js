// Settings / Parameters: the appliance settings an admin changes through PATCH /api/v1/settings.
// The Proxy section turns the AWS CLI proxy on or off; the change applies live.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { html } from './html.js';

export function Settings() {
  const [settings, setSettings] = useState(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api('GET', 'settings').then(setSettings).catch((e) => setError(e.message));
  }, []);

  async function change(enabled) {
    setBusy(true);
    setError('');
    try {
      setSettings(await api('PATCH', 'settings', { 'proxy.enabled': enabled }));
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  }

  const enabled = settings && settings['proxy.enabled'];
  return html`<section aria-labelledby="settings-heading">
    <h1 id="settings-heading">Settings / Parameters</h1>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <section aria-labelledby="proxy-heading" class="card">
      <h2 id="proxy-heading">Proxy</h2>
      <p id="proxy-hint">
        When enabled, the proxy forwards the AWS requests of users who have Connect permission on a
        record, signed with the record's keys. When disabled, it denies every request (AccessDenied).
        A change applies live to new requests within 100 ms: no restart.
      </p>
      <fieldset class="choice" aria-describedby="proxy-hint" disabled=${!settings || busy}>
        <legend>AWS CLI proxy</legend>
        <label><input type="radio" name="proxy_enabled" id="proxy-disabled" value="disabled"
          checked=${settings !== null && !enabled} onChange=${() => change(false)} /> Disabled</label>
        <label><input type="radio" name="proxy_enabled" id="proxy-enabled" value="enabled"
          checked=${!!enabled} onChange=${() => change(true)} /> Enabled</label>
      </fieldset>
      <p id="proxy-state" aria-live="polite">
        ${settings ? (enabled ? 'The proxy is enabled.' : 'The proxy is disabled.') : '…'}
      </p>
    </section>
  </section>`;
}
