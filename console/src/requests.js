// Access requests: a user asks for a record for a while, with a reason; approvers see the
// requests they may decide (pending first) and approve or deny them with a note. The list is
// polled while the screen is visible, so a requester sees a decision without reloading.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import { Field } from './field.js';
import { html } from './html.js';

const POLL_MS = 3000;
const POLLS_MAX = 200;  // ten minutes of polling; then the Refresh button
const DURATIONS = [
  { label: '1 hour', seconds: 3600 },
  { label: '2 hours', seconds: 7200 },
  { label: '4 hours', seconds: 4 * 3600 },
  { label: '8 hours', seconds: 8 * 3600 },
  { label: '1 day', seconds: 86400 },
];
const ORDER = { pending: 0, approved: 1, denied: 2, revoked: 3, expired: 4 };

function byStateThenNewest(a, b) {
  return (ORDER[a.state] ?? 9) - (ORDER[b.state] ?? 9) || b.created_at.localeCompare(a.created_at);
}

function Ask({ records, onCreated }) {
  const [record, setRecord] = useState('');
  const [duration, setDuration] = useState('3600');
  const [reason, setReason] = useState('');
  const [error, setError] = useState(null);
  const chosen = record || (records[0] && records[0].id) || '';
  async function submit(e) {
    e.preventDefault();
    try {
      const r = await api('POST', 'requests',
        { record: chosen, duration_s: Number(duration), reason: reason.trim() });
      setError(null);
      setReason('');
      onCreated(r);
    } catch (err) {
      setError(err);
    }
  }
  return html`<section aria-labelledby="ask-heading" class="card">
    <h2 id="ask-heading">Request access</h2>
    ${records.length === 0 ? html`<p>No record is visible to you: an admin grants you one first.</p>`
      : html`<form onSubmit=${submit}>
      <div class="grid">
        <div class="field">
          <label for="request_record">Record</label>
          <select id="request_record" value=${chosen} onChange=${(e) => setRecord(e.currentTarget.value)}>
            ${records.map((r) => html`<option value=${r.id}>${r.name}</option>`)}
          </select>
        </div>
        <div class="field">
          <label for="request_duration">For</label>
          <select id="request_duration" value=${duration}
            onChange=${(e) => setDuration(e.currentTarget.value)}>
            ${DURATIONS.map((d) => html`<option value=${String(d.seconds)}>${d.label}</option>`)}
          </select>
        </div>
      </div>
      <${Field} label="Reason" name="request_reason" value=${reason} onInput=${setReason}
        error=${error && error.field === 'reason' ? error.message : ''} />
      ${error && error.field !== 'reason' && html`<p class="error" role="alert">${error.message}</p>`}
      <button type="submit" id="create-request">Request access</button>
    </form>`}
  </section>`;
}

function Decide({ request, onDecided }) {
  const [note, setNote] = useState('');
  const [error, setError] = useState('');
  async function decide(verb) {
    try {
      const body = note.trim() ? { note: note.trim() } : undefined;
      onDecided(await api('POST', `requests/${encodeURIComponent(request.id)}/${verb}`, body));
    } catch (e) {
      setError(e.message);
    }
  }
  const id = 'note-' + request.id;
  return html`<div class="decide">
    <label for=${id}>Note</label>
    <input id=${id} value=${note} onInput=${(e) => setNote(e.currentTarget.value)} />
    <button type="button" class="approve" onClick=${() => decide('approve')}
      aria-label=${`Approve request ${request.id}`}>Approve</button>${' '}
    <button type="button" class="deny" onClick=${() => decide('deny')}
      aria-label=${`Deny request ${request.id}`}>Deny</button>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </div>`;
}

export function Requests({ session }) {
  const me = session.user.id;
  const [requests, setRequests] = useState([]);
  const [records, setRecords] = useState([]);
  const [users, setUsers] = useState({});
  const [error, setError] = useState('');
  const [live, setLive] = useState(true);
  const polls = useRef(0);

  function load() {
    return api('GET', 'requests?limit=1000')
      .then((r) => { setRequests(r.items); setError(''); })
      .catch((e) => setError(e.message));
  }
  useEffect(() => {
    api('GET', 'records?limit=1000').then((r) => setRecords(r.items)).catch(() => {});
    if (session.user.admin) {
      api('GET', 'users?limit=1000')
        .then((r) => setUsers(Object.fromEntries(r.items.map((u) => [u.id, u.name]))))
        .catch(() => {});
    }
  }, [session.user.admin]);
  // Polls while the page is visible, at most POLLS_MAX times (Refresh starts it again).
  useEffect(() => {
    if (!live) return undefined;
    polls.current = 0;
    let timer = 0;
    const tick = () => {
      if (++polls.current > POLLS_MAX) { setLive(false); return; }
      load().finally(() => { if (!document.hidden) timer = setTimeout(tick, POLL_MS); });
    };
    const onVisibility = () => {
      clearTimeout(timer);
      if (!document.hidden) tick();
    };
    tick();
    addEventListener('visibilitychange', onVisibility);
    return () => { clearTimeout(timer); removeEventListener('visibilitychange', onVisibility); };
  }, [live]);

  const replace = (r) => setRequests((all) => all.map((x) => (x.id === r.id ? r : x)));
  const recordName = Object.fromEntries(records.map((r) => [r.id, r.name]));
  const sorted = [...requests].sort(byStateThenNewest);
  // /requests/<id>: the request a notification linked to is marked.
  const linked = decodeURIComponent(location.pathname.split('/')[2] || '');
  return html`<section aria-labelledby="requests-title">
    <h1 id="requests-title">Access requests</h1>
    <${Ask} records=${records} onCreated=${(r) => setRequests((all) => [r, ...all])} />
    <section aria-labelledby="request-list-heading" class="card">
      <h2 id="request-list-heading">Requests</h2>
      <p class="hint">${live ? 'Updated every few seconds while this page is open.'
        : html`Updates paused. <button type="button" id="refresh-requests"
            onClick=${() => setLive(true)}>Refresh</button>`}</p>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="scroll">
        <table>
          <caption class="visually-hidden">Access requests, pending first</caption>
          <thead><tr><th scope="col">Record</th><th scope="col">Requester</th>
            <th scope="col">Window</th><th scope="col">Reason</th><th scope="col">State</th>
            <th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            ${sorted.map((r) => html`<tr key=${r.id} data-request=${r.id}
              aria-current=${r.id === linked ? 'true' : undefined}>
              <td>${recordName[r.record_id] || r.record_id}</td>
              <td>${r.user_id === me ? 'you' : users[r.user_id] || r.user_id}</td>
              <td>${r.start_at} to ${r.end_at}</td>
              <td class="request-reason">${r.reason}</td>
              <td><span class="request-state">${r.state}</span>
                ${r.decision_note && html`<br /><span class="hint">${r.decision_note}</span>`}</td>
              <td>
                ${r.state === 'pending' && r.user_id !== me && html`<${Decide} request=${r}
                  onDecided=${replace} />`}
                ${r.user_id === me && (r.state === 'pending' || r.state === 'approved') &&
                  html`<button type="button" class="revoke-request"
                    onClick=${() => api('POST', `requests/${encodeURIComponent(r.id)}/revoke`)
                      .then(replace).catch((e) => setError(e.message))}
                    aria-label=${`Revoke request ${r.id}`}>Revoke</button>`}
              </td>
            </tr>`)}
          </tbody>
        </table>
      </div>
    </section>
  </section>`;
}
