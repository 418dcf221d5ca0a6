// Audit (admins): whether this node's audit log verifies (the hash chain, the sequence and the
// signed checkpoints, as `pamctl audit verify` checks them, through GET /api/v1/audit/verify)
// and the log's search (`pamctl audit search` through GET /api/v1/audit/events), oldest first.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { Field } from './field.js';
import { html } from './html.js';
import { fromLocalInput } from './format.js';

const TYPES = ['request.forwarded', 'request.denied', 'request.completed', 'tunnel.opened',
  'tunnel.closed', 'admin.change', 'settings.change', 'config.reload', 'audit.recovery',
  'audit.retention', 'audit.checkpoint'];

function Verification() {
  const [result, setResult] = useState(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  function verify() {
    setBusy(true);
    api('GET', 'audit/verify')
      .then((r) => { setResult(r); setError(''); })
      .catch((e) => setError(e.message))
      .finally(() => setBusy(false));
  }
  useEffect(verify, []);
  let summary = '…';
  if (result) {
    const r = result;
    const what = `${r.lines} line(s) in ${r.files} file(s), seq ${r.first_seq}..${r.last_seq}, ` +
      `${r.checkpoints} checkpoint(s) signed by key ${r.key_id}` +
      (r.checkpoints ? `, the last at seq ${r.last_checkpoint_seq} (${r.last_checkpoint_time})` : '');
    if (r.status === 'valid') summary = 'Verified: ' + what + '.';
    else if (r.status === 'incomplete') {
      summary = `Not finished within ${r.time_max_ms} ms: no problem in the first ${what}. ` +
        '`pamctl audit verify` checks the whole log.';
    } else summary = `Invalid: ${r.problem.file}${r.problem.line ? ':' + r.problem.line : ''}: ${r.problem.reason}`;
  }
  return html`<section aria-labelledby="verify-heading" class="card">
    <h2 id="verify-heading">Chain verification</h2>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <p id="audit-status" data-status=${result ? result.status : ''} role="status"
      class=${result && result.status === 'invalid' ? 'error' : ''}>${summary}</p>
    ${result && result.unsealed_lines > 0 && html`<p class="hint">${result.unsealed_lines} line(s)
      after the last checkpoint are not sealed yet: the next checkpoint signs them.</p>`}
    <button type="button" id="verify-again" disabled=${busy} onClick=${verify}>Verify again</button>
  </section>`;
}

function Search({ users, onSearch, error }) {
  const [user, setUser] = useState('');
  const [record, setRecord] = useState('');
  const [operation, setOperation] = useState('');
  const [type, setType] = useState('');
  const [resource, setResource] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  function submit(e) {
    e.preventDefault();
    const q = new URLSearchParams();
    if (user) q.set('user', user);
    if (record.trim()) q.set('record', record.trim());
    if (operation.trim()) q.set('operation', operation.trim());
    if (type) q.set('type', type);
    if (resource.trim()) q.set('resource', resource.trim());
    if (since) q.set('since', fromLocalInput(since));
    if (until) q.set('until', fromLocalInput(until));
    onSearch(q);
  }
  const fieldError = (f) => (error && error.field === f ? error.message : '');
  return html`<form class="card" onSubmit=${submit} aria-labelledby="audit-search-heading">
    <h2 id="audit-search-heading">Search</h2>
    <div class="grid">
      <div class="field">
        <label for="audit_user">User</label>
        <select id="audit_user" value=${user} onChange=${(e) => setUser(e.currentTarget.value)}>
          <option value="">Anyone</option>
          ${users.map((u) => html`<option value=${u.id}>${u.name}</option>`)}
        </select>
      </div>
      <${Field} label="Record (id or name)" name="audit_record" value=${record} onInput=${setRecord}
        error=${fieldError('record')} />
      <${Field} label="Operation" name="audit_operation" value=${operation} onInput=${setOperation}
        error=${fieldError('operation')} hint="PutObject, or s3:PutObject" />
      <div class="field">
        <label for="audit_type">Event type</label>
        <select id="audit_type" value=${type} onChange=${(e) => setType(e.currentTarget.value)}>
          <option value="">Any</option>
          ${TYPES.map((t) => html`<option value=${t}>${t}</option>`)}
        </select>
      </div>
      <${Field} label="Resource (ARN pattern)" name="audit_resource" value=${resource}
        onInput=${setResource} error=${fieldError('resource')} hint="e.g. arn:aws:s3:::billing/*" />
      <${Field} label="Since (your local time)" name="audit_since" type="datetime-local"
        value=${since} onInput=${setSince} error=${fieldError('since')} />
      <${Field} label="Until (your local time)" name="audit_until" type="datetime-local"
        value=${until} onInput=${setUntil} error=${fieldError('until')} />
    </div>
    ${error && !['record', 'operation', 'resource', 'since', 'until', 'type'].includes(error.field) &&
      html`<p class="error" role="alert">${error.message}</p>`}
    <button type="submit" id="audit-search">Search</button>
  </form>`;
}

function what(e) {
  if (e.eventName) return `${(e.eventSource || '').split('.')[0]}:${e.eventName}`;
  return e.detail || '';
}

export function Audit() {
  const [users, setUsers] = useState([]);
  const [query, setQuery] = useState(null);
  const [items, setItems] = useState([]);
  const [cursor, setCursor] = useState('');
  const [error, setError] = useState(null);
  const names = Object.fromEntries(users.map((u) => [u.id, u.name]));
  function load(q, after) {
    const params = new URLSearchParams(q);
    params.set('limit', '100');
    if (after) params.set('cursor', after);
    api('GET', 'audit/events?' + params.toString())
      .then((r) => {
        setItems((all) => (after ? [...all, ...r.items] : r.items));
        setCursor(r.next_cursor || '');
        setError(null);
      })
      .catch((e) => setError(e));
  }
  useEffect(() => {
    api('GET', 'users?limit=1000').then((r) => setUsers(r.items)).catch(() => {});
  }, []);
  useEffect(() => { if (query) load(query, ''); }, [query]);
  return html`<section aria-labelledby="audit-title">
    <h1 id="audit-title">Audit</h1>
    <${Verification} />
    <${Search} users=${users} error=${error} onSearch=${setQuery} />
    ${query && html`<section aria-labelledby="audit-results-heading" class="card">
      <h2 id="audit-results-heading">Events (oldest first)</h2>
      ${items.length === 0 && !error && html`<p>No event matches.</p>`}
      <div class="scroll" tabindex="0" role="region" aria-label="Audit events">
        <table>
          <caption class="visually-hidden">Audit events, oldest first</caption>
          <thead><tr><th scope="col">Seq</th><th scope="col">Time (UTC)</th><th scope="col">Type</th>
            <th scope="col">User</th><th scope="col">Record</th><th scope="col">What</th>
            <th scope="col">Resources</th><th scope="col">Status</th><th scope="col">From</th></tr></thead>
          <tbody>
            ${items.map((e) => html`<tr key=${e.seq} data-seq=${e.seq}>
              <td>${e.seq}</td>
              <td>${(e.eventTime || '').replace('T', ' ').slice(0, 19)}</td>
              <td class="event-type">${e.eventType}</td>
              <td>${e.user ? names[e.user] || e.user : ''}</td>
              <td>${e.recordName || e.recordId || ''}</td>
              <td class="event-what">${what(e)}${e.denyReason && html`<br /><span class="hint">${e.denyReason}</span>`}</td>
              <td>${(e.resources || []).map((r) => html`<code>${r}</code> `)}</td>
              <td>${e.status || ''}</td>
              <td>${e.sourceIPAddress || ''}</td>
            </tr>`)}
          </tbody>
        </table>
      </div>
      ${cursor && html`<button type="button" id="more-events" onClick=${() => load(query, cursor)}>More</button>`}
    </section>`}
  </section>`;
}
