// Record types: which kinds of record may be created and used (POST
// /api/v1/record-types/{name}/enable or /disable). AWS Access Keys is the one the proxy uses.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { html } from './html.js';

const labels = { 'aws-access-keys': 'AWS Access Keys' };

export function RecordTypes() {
  const [types, setTypes] = useState(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState('');
  useEffect(() => {
    api('GET', 'record-types').then((r) => setTypes(r.items)).catch((e) => setError(e.message));
  }, []);

  async function toggle(type) {
    setBusy(type.name);
    setError('');
    try {
      const action = type.enabled ? 'disable' : 'enable';
      const changed = await api('POST', `record-types/${encodeURIComponent(type.name)}/${action}`);
      setTypes(types.map((t) => (t.name === changed.name ? changed : t)));
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy('');
    }
  }

  return html`<section aria-labelledby="types-heading">
    <h1 id="types-heading">Record types</h1>
    <p>A record of a disabled type cannot be added, and the proxy does not use it.</p>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="card scroll">
      <table>
        <caption class="visually-hidden">Record types</caption>
        <thead><tr><th scope="col">Type</th><th scope="col">State</th>
          <th scope="col">Action</th></tr></thead>
        <tbody>
          ${(types || []).map((t) => html`<tr key=${t.name}>
            <td>${labels[t.name] || t.name} <code>${t.name}</code></td>
            <td class="type-state">${t.enabled ? 'enabled' : 'disabled'}</td>
            <td><button type="button" id=${'toggle-' + t.name} disabled=${busy === t.name}
              onClick=${() => toggle(t)}>${t.enabled ? 'Disable' : 'Enable'}
              <span class="visually-hidden"> ${labels[t.name] || t.name}</span></button></td>
          </tr>`)}
        </tbody>
      </table>
    </div>
  </section>`;
}
