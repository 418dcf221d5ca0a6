// Sessions: the session reports the API lets this user see (their own; an admin's, everyone's),
// filtered by user, record, time range and resource (an ARN pattern, as `pamctl audit search
// --resource` takes it). A session opens to its commands (one line per AWS CLI invocation, its
// operations under it, as `pamctl sessions show` prints them) and its events (every request).
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { Field } from './field.js';
import { html } from './html.js';
import { bytesText, fromLocalInput, resourceText, timeOfDay } from './format.js';

function Filters({ session, users, records, onSearch, error }) {
  const [user, setUser] = useState('');
  const [record, setRecord] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [resource, setResource] = useState('');
  function submit(e) {
    e.preventDefault();
    const q = new URLSearchParams();
    if (user) q.set('user', user);
    if (record) q.set('record', record);
    if (since) q.set('since', fromLocalInput(since));
    if (until) q.set('until', fromLocalInput(until));
    if (resource.trim()) q.set('resource', resource.trim());
    onSearch(q);
  }
  const fieldError = (f) => (error && error.field === f ? error.message : '');
  return html`<form class="card" onSubmit=${submit} aria-labelledby="session-filter-heading">
    <h2 id="session-filter-heading">Filter</h2>
    <div class="grid">
      ${session.user.admin && html`<div class="field">
        <label for="session_user">User</label>
        <select id="session_user" value=${user} onChange=${(e) => setUser(e.currentTarget.value)}>
          <option value="">Everyone</option>
          ${users.map((u) => html`<option value=${u.id}>${u.name}</option>`)}
        </select>
      </div>`}
      <div class="field">
        <label for="session_record">Record</label>
        <select id="session_record" value=${record} onChange=${(e) => setRecord(e.currentTarget.value)}>
          <option value="">Any</option>
          ${records.map((r) => html`<option value=${r.id}>${r.name}</option>`)}
        </select>
      </div>
      <${Field} label="Active since (your local time)" name="session_since" type="datetime-local"
        value=${since} onInput=${setSince} error=${fieldError('since')} />
      <${Field} label="Started before (your local time)" name="session_until" type="datetime-local"
        value=${until} onInput=${setUntil} error=${fieldError('until')} />
      <${Field} label="Resource (ARN pattern)" name="session_resource" value=${resource}
        onInput=${setResource} error=${fieldError('resource')}
        hint="e.g. arn:aws:s3:::billing/* (* and ? as IAM reads them)" />
    </div>
    ${error && !['since', 'until', 'resource'].includes(error.field) &&
      html`<p class="error" role="alert">${error.message}</p>`}
    <button type="submit" id="session-search">Search</button>
  </form>`;
}

function Operation({ op }) {
  const denied = op.outcome === 'denied';
  const parts = [];
  if (op.bytesIn) parts.push('in ' + bytesText(op.bytesIn));
  if (op.bytesOut) parts.push('out ' + bytesText(op.bytesOut));
  return html`<tr>
    <td>${op.eventName}</td>
    <td class=${denied ? 'error' : ''}>${denied ? 'DENIED' : op.errorCode ? `${op.status} ${op.errorCode}` : op.status}</td>
    <td>${op.count > 1 ? 'x' + op.count : ''}</td>
    <td>${denied ? op.denyReason : parts.join(', ')}</td>
  </tr>`;
}

// One line per invocation ("aws s3 cp -> s3://bucket/key"), its operations folded under it.
function Commands({ report }) {
  return html`<ol class="commands">
    ${report.invocations.map((inv, i) => {
      const shown = inv.resources.slice(0, 3).map(resourceText);
      let line = inv.name;
      if (shown.length) line += ' -> ' + shown.join(', ');
      if (shown.length && inv.resourcesTotal > shown.length) line += ` +${inv.resourcesTotal - shown.length} more`;
      if (!shown.length && inv.resourcesTotal > 0) line += ` -> ${inv.resourcesTotal} resources`;
      return html`<li key=${i}>
        <p class="command-line"><time datetime=${inv.eventTime}>${timeOfDay(inv.eventTime)}</time>${'  '}<code>${line}</code></p>
        <table class="operations">
          <caption class="visually-hidden">Operations of ${inv.name}</caption>
          <thead><tr><th scope="col">Operation</th><th scope="col">Status</th>
            <th scope="col">Count</th><th scope="col">Bytes or reason</th></tr></thead>
          <tbody>${inv.operations.map((op, j) => html`<${Operation} key=${j} op=${op} />`)}</tbody>
        </table>
      </li>`;
    })}
  </ol>`;
}

// Every request of the session, in order, as the audit log recorded it.
function Events({ report }) {
  return html`<div class="scroll" tabindex="0" role="region" aria-label="Events of the session">
    <table class="events">
      <caption class="visually-hidden">Events of the session</caption>
      <thead><tr><th scope="col">Time</th><th scope="col">Seq</th><th scope="col">Operation</th>
        <th scope="col">Outcome</th><th scope="col">Resources</th><th scope="col">In</th>
        <th scope="col">Out</th><th scope="col">Request ids</th></tr></thead>
      <tbody>
        ${report.commands.map((c) => html`<tr key=${c.seq}>
          <td><time datetime=${c.eventTime}>${timeOfDay(c.eventTime)}</time></td>
          <td>${c.seq}</td>
          <td>${(c.eventSource || '').split('.')[0]}:${c.eventName}${c.cliCommand ? html`<br /><span class="hint">${c.cliCommand}</span>` : ''}</td>
          <td>${c.outcome === 'denied' ? html`<span class="error">denied</span> ${c.denyReason}`
            : `${c.status}${c.errorCode ? ' ' + c.errorCode : ''}`}</td>
          <td>${(c.resources || []).map((r) => html`<code>${r}</code> `)}${c.resourcesTotal > (c.resources || []).length ? ` +${c.resourcesTotal - c.resources.length} more` : ''}</td>
          <td>${bytesText(c.bytesIn)}</td>
          <td>${bytesText(c.bytesOut)}</td>
          <td><code>${c.proxyRequestId}</code>${c.requestID && html`<br /><code>${c.requestID}</code>`}</td>
        </tr>`)}
      </tbody>
    </table>
  </div>`;
}

function Detail({ id }) {
  const [session, setSession] = useState(null);
  const [error, setError] = useState('');
  useEffect(() => {
    api('GET', `sessions/${encodeURIComponent(id)}`)
      .then(setSession)
      .catch((e) => setError(e.message));
  }, [id]);
  if (error) return html`<p class="error" role="alert">${error}</p>`;
  if (!session) return html`<p>Loading…</p>`;
  const report = session.report;
  return html`<div class="session-detail" id=${'detail-' + id}>
    <dl class="facts">
      <dt>Time</dt><dd>${session.started} .. ${session.last_activity}</dd>
      <dt>Token</dt><dd><code>${session.token_id}</code></dd>
      <dt>Bytes</dt><dd>in ${bytesText(session.bytes_in)}, out ${bytesText(session.bytes_out)}</dd>
    </dl>
    ${!report ? html`<p>No report was kept for this session.</p>` : html`
      <h3>Commands</h3>
      <${Commands} report=${report} />
      ${report.commandsNotListed > 0 && html`<p class="hint">${report.commandsNotListed} more
        request(s) were counted but not listed (the report's bound).</p>`}
      <h3>Events</h3>
      <${Events} report=${report} />`}
  </div>`;
}

function Row({ s, open, onToggle }) {
  return html`<tr data-session=${s.id}>
    <td><button type="button" class="secondary open-session" aria-expanded=${open ? 'true' : 'false'}
      aria-controls=${'detail-row-' + s.id} onClick=${onToggle}>${s.id}</button></td>
    <td>${s.user_name || s.user}</td>
    <td>${s.record_name || s.record_id}</td>
    <td>${s.source_ip}</td>
    <td><time datetime=${s.started}>${s.started.replace('T', ' ').slice(0, 19)}</time></td>
    <td>${s.requests}</td>
    <td>${s.denied}</td>
    <td class="session-state">${s.open ? 'open' : 'closed'}</td>
  </tr>`;
}

export function Sessions({ session }) {
  const admin = session.user.admin;
  const [items, setItems] = useState([]);
  const [cursor, setCursor] = useState('');
  const [query, setQuery] = useState(new URLSearchParams());
  const [users, setUsers] = useState([]);
  const [records, setRecords] = useState([]);
  const [opened, setOpened] = useState('');
  const [error, setError] = useState(null);
  const [loaded, setLoaded] = useState(false);

  function load(q, after) {
    const params = new URLSearchParams(q);
    params.set('limit', '50');
    if (after) params.set('cursor', after);
    api('GET', 'sessions?' + params.toString())
      .then((r) => {
        setItems((all) => (after ? [...all, ...r.items] : r.items));
        setCursor(r.next_cursor || '');
        setError(null);
        setLoaded(true);
      })
      .catch((e) => setError(e));
  }
  useEffect(() => load(query, ''), [query]);
  useEffect(() => {
    api('GET', 'records?limit=1000').then((r) => setRecords(r.items)).catch(() => {});
    if (admin) api('GET', 'users?limit=1000').then((r) => setUsers(r.items)).catch(() => {});
  }, [admin]);

  return html`<section aria-labelledby="sessions-title">
    <h1 id="sessions-title">Sessions</h1>
    <p>${admin ? 'Every user\'s sessions' : 'Your sessions'}: one per user, record and client
      address, until it is idle. Newest first.</p>
    <${Filters} session=${session} users=${users} records=${records} error=${error}
      onSearch=${(q) => { setOpened(''); setQuery(q); }} />
    <section aria-labelledby="session-list-heading" class="card">
      <h2 id="session-list-heading">${admin ? 'All sessions' : 'Your sessions'}</h2>
      ${loaded && items.length === 0 && html`<p id="no-sessions">No session matches.</p>`}
      <div class="scroll" tabindex="0" role="region" aria-label="Session list">
        <table>
          <caption class="visually-hidden">Sessions, newest first</caption>
          <thead><tr><th scope="col">Session</th><th scope="col">User</th><th scope="col">Record</th>
            <th scope="col">From</th><th scope="col">Started (UTC)</th><th scope="col">Requests</th>
            <th scope="col">Denied</th><th scope="col">State</th></tr></thead>
          <tbody>
            ${items.map((s) => [
              html`<${Row} key=${s.id} s=${s} open=${opened === s.id}
                onToggle=${() => setOpened(opened === s.id ? '' : s.id)} />`,
              opened === s.id && html`<tr key=${s.id + '-detail'} id=${'detail-row-' + s.id}>
                <td colspan="8"><${Detail} id=${s.id} /></td></tr>`,
            ])}
          </tbody>
        </table>
      </div>
      ${cursor && html`<button type="button" id="more-sessions" onClick=${() => load(query, cursor)}>
        More</button>`}
    </section>
  </section>`;
}
