// The dashboard: the appliance and the proxy as the API reports them, refreshed while the page
// is visible (bounded, like the access requests). Everyone sees the appliance's state, their own
// open sessions and the access requests awaiting their decision; an admin also sees the proxy's
// counters, its TLS path and the requests and denials per minute (GET /api/v1/dashboard, which
// the API answers admins only).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import { html } from './html.js';

const POLL_MS = 10000;
const POLLS_MAX = 180;  // half an hour of refreshing; then the Refresh button
const DAY_MS = 86400000;

async function fetchAll(session) {
  const since = new Date(Date.now() - DAY_MS).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const [health, settings, sessions, pending, board] = await Promise.all([
    api('GET', 'health'),
    api('GET', 'settings'),
    session.user.admin ? null : api('GET', `sessions?limit=1000&since=${since}`),
    session.user.admin ? null : api('GET', 'requests?state=pending&limit=1000'),
    session.user.admin ? api('GET', 'dashboard') : null,
  ]);
  const me = session.user.id;
  return {
    health,
    enabled: settings['proxy.enabled'],
    sessionsOpen: board ? board.sessions_open : sessions.items.filter((s) => s.open).length,
    awaiting: board ? board.requests_pending
      : pending.items.filter((r) => r.user_id !== me).length,
    board,
    at: new Date(),
  };
}

// Requests (and denials) per minute: bars drawn as SVG shapes (no inline style, which the
// console's Content-Security-Policy refuses) with the numbers in a table beside them.
function PerMinute({ minutes }) {
  const max = Math.max(1, ...minutes.map((m) => m.requests));
  const w = 24;
  const h = 80;
  return html`<div class="per-minute">
    <svg viewBox=${`0 0 ${minutes.length * w} ${h + 2}`} width=${minutes.length * w} height=${h + 2}
      role="img" aria-label="Requests per minute, the last ${minutes.length} minutes (the table has the numbers)">
      ${minutes.map((m, i) => {
        const rh = Math.round((m.requests / max) * h);
        const dh = Math.round((m.denied / max) * h);
        return html`<g key=${m.minute}>
          <rect class="bar" x=${i * w + 3} y=${h - rh} width=${w - 6} height=${rh} />
          <rect class="bar-denied" x=${i * w + 3} y=${h - dh} width=${w - 6} height=${dh} />
        </g>`;
      })}
      <line class="axis" x1="0" y1=${h + 1} x2=${minutes.length * w} y2=${h + 1} />
    </svg>
    <div class="scroll" tabindex="0" role="region" aria-label="Requests and denials per minute">
      <table id="per-minute">
        <caption>Requests and denials per minute (UTC)</caption>
        <thead><tr><th scope="row">Minute</th>
          ${minutes.map((m) => html`<th scope="col" key=${m.minute}>${m.minute.slice(11, 16)}</th>`)}</tr></thead>
        <tbody>
          <tr><th scope="row">Requests</th>${minutes.map((m) => html`<td key=${m.minute}>${m.requests}</td>`)}</tr>
          <tr><th scope="row">Denied</th>${minutes.map((m) => html`<td key=${m.minute}>${m.denied}</td>`)}</tr>
        </tbody>
      </table>
    </div>
  </div>`;
}

function Proxy({ board }) {
  const p = board.proxy;
  const t = board.tls;
  const a = board.activity;
  return html`<section aria-labelledby="proxy-heading" class="card">
    <h2 id="proxy-heading">Proxy</h2>
    <dl class="facts" id="proxy-facts">
      ${p.workers !== undefined && html`
        <dt>Tunnels open</dt><dd id="tunnels-open">${`${p.tunnels_open} (${p.tunnels_opened} since start, ` +
          `${p.tunnels_denied} ended by a denial; ${p.workers} worker(s))`}</dd>`}
      ${t && html`<dt>TLS path</dt><dd id="tls-path">${`${t.ktls ? 'kernel TLS (kTLS)' : 'user-space TLS (OpenSSL)'}: ` +
        t.ktls_reason}</dd>
        <dt>Tunnels by TLS path</dt><dd>${`${t.tunnels_ktls} kTLS, ${t.tunnels_userspace} user space, ` +
          `${t.ktls_fallbacks} leg(s) fell back`}</dd>`}
      <dt>Last ${a.minutes ? a.minutes.length : 0} minutes</dt>
      <dd id="activity-total">${a.requests || 0} request(s), ${a.denied || 0} denied</dd>
    </dl>
    ${a.minutes && html`<${PerMinute} minutes=${a.minutes} />`}
  </section>`;
}

export function Dashboard({ session }) {
  const [state, setState] = useState(null);
  const [error, setError] = useState('');
  const [live, setLive] = useState(true);
  const polls = useRef(0);
  useEffect(() => {
    if (!live) return undefined;
    polls.current = 0;
    let timer = 0;
    let gone = false;
    const tick = () => {
      if (++polls.current > POLLS_MAX) { setLive(false); return; }
      fetchAll(session)
        .then((s) => { if (!gone) { setState(s); setError(''); } })
        .catch((e) => { if (!gone) setError(e.message); })
        .finally(() => { if (!gone && !document.hidden) timer = setTimeout(tick, POLL_MS); });
    };
    const onVisibility = () => {
      clearTimeout(timer);
      if (!document.hidden) tick();
    };
    tick();
    addEventListener('visibilitychange', onVisibility);
    return () => { gone = true; clearTimeout(timer); removeEventListener('visibilitychange', onVisibility); };
  }, [live]);
  const s = state;
  return html`<section aria-labelledby="dash-heading">
    <h1 id="dash-heading">Dashboard</h1>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <dl class="facts">
      <dt>Appliance</dt><dd>${s ? `${s.health.status}, version ${s.health.version}` : '…'}</dd>
      <dt>Proxy</dt>
      <dd id="proxy-state">${s ? (s.enabled ? 'enabled' : 'disabled (an admin enables it in settings)') : '…'}</dd>
      <dt>${session.user.admin ? 'Open sessions' : 'Your open sessions'}</dt>
      <dd id="sessions-open">${s ? s.sessionsOpen : '…'}</dd>
      <dt>${session.user.admin ? 'Pending access requests' : 'Requests awaiting your decision'}</dt>
      <dd id="requests-pending">${s ? s.awaiting : '…'}</dd>
      <dt>Signed in as</dt><dd>${session.user.name}${session.user.admin ? ' (admin)' : ''}</dd>
    </dl>
    ${s && s.board && html`<${Proxy} board=${s.board} />`}
    <p class="hint" id="dash-updated">${live
      ? `Updated every ${POLL_MS / 1000} seconds while this page is open${s ? `; last at ${s.at.toLocaleTimeString()}` : ''}.`
      : html`Updates paused. <button type="button" id="refresh-dashboard"
          onClick=${() => setLive(true)}>Refresh</button>`}</p>
  </section>`;
}
