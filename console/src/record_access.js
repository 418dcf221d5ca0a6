// A record's access: its access policy (GET/PUT /api/v1/records/{id}/policy, the whole policy
// replaced on save, as `pamctl policies set` does) and its grants to users and roles
// (GET /api/v1/grants?record=ID, POST /api/v1/grants, DELETE /api/v1/grants/{id}). Shown from the
// Records screen, to admins only. The API validates; its errors are shown next to the field they
// name ("windows", "approval.max_duration_s", "command_rules[2].resource", ...).
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { Field } from './field.js';
import { html } from './html.js';

const PERMISSIONS = ['view', 'connect', 'edit', 'manage'];

const lines = (text) => text.split('\n').map((l) => l.trim()).filter((l) => l);

function fromPolicy(p) {
  return {
    windows: (p.windows || []).join('\n'),
    time_zone: p.time_zone || 'UTC',
    allowed_networks: (p.allowed_networks || []).join('\n'),
    required: !!(p.approval && p.approval.required),
    approver_role_id: (p.approval && p.approval.approver_role_id) || '',
    max_duration_m: String(((p.approval && p.approval.max_duration_s) || 8 * 3600) / 60),
    rules: (p.command_rules || []).map((r) => ({ effect: r.effect, pattern: r.pattern, resource: r.resource || '' })),
  };
}

// "approval.max_duration_s" -> "max_duration_m"; "command_rules[2].resource" -> "rule2-resource".
function fieldOf(apiField) {
  const rule = /^command_rules\[(\d+)\]\.(\w+)$/.exec(apiField);
  if (rule) return `rule${rule[1]}-${rule[2]}`;
  const name = apiField.replace(/^approval\./, '').replace(/\[.*$/, '');
  return name === 'max_duration_s' ? 'max_duration_m' : name;
}

function Lines({ label, name, value, onInput, error, hint }) {
  const described = error ? name + '-error' : name + '-hint';
  return html`<div class="field">
    <label for=${name}>${label}</label>
    <textarea id=${name} name=${name} rows="3" value=${value} spellcheck="false"
      aria-invalid=${error ? 'true' : 'false'} aria-describedby=${described}
      onInput=${(e) => onInput(e.currentTarget.value)}></textarea>
    ${!error && html`<p class="hint" id=${name + '-hint'}>${hint}</p>`}
    ${error && html`<p class="error" id=${name + '-error'} role="alert">${error}</p>`}
  </div>`;
}

function PolicyForm({ record, roles }) {
  const [values, setValues] = useState(null);
  const [exists, setExists] = useState(false);
  const [errors, setErrors] = useState({});
  const [formError, setFormError] = useState('');
  const [notice, setNotice] = useState('');
  const [busy, setBusy] = useState(false);
  const path = 'records/' + encodeURIComponent(record.id) + '/policy';

  useEffect(() => {
    api('GET', path).then((p) => { setExists(true); setValues(fromPolicy(p)); })
      .catch((e) => {
        if (e.status === 404) setValues(fromPolicy({}));
        else setFormError(e.message);
      });
  }, [record.id]);
  if (!values) return html`<section class="card" aria-labelledby="policy-heading">
    <h2 id="policy-heading">Access policy</h2>
    ${formError ? html`<p class="error" role="alert">${formError}</p>` : html`<p>Loading…</p>`}
  </section>`;

  const set = (key) => (value) => setValues({ ...values, [key]: value });
  const setRule = (i, key, value) =>
    setValues({ ...values, rules: values.rules.map((r, j) => (j === i ? { ...r, [key]: value } : r)) });

  async function save(e) {
    e.preventDefault();
    setErrors({});
    setFormError('');
    setNotice('');
    const body = {
      windows: lines(values.windows),
      time_zone: values.time_zone.trim() || 'UTC',
      allowed_networks: lines(values.allowed_networks),
      approval: { required: values.required, approver_role_id: values.approver_role_id,
        max_duration_s: Math.round(Number(values.max_duration_m) * 60) },
      command_rules: values.rules.map((r) => {
        const rule = { effect: r.effect, pattern: r.pattern.trim() };
        if (r.resource.trim()) rule.resource = r.resource.trim();
        return rule;
      }),
    };
    setBusy(true);
    try {
      const saved = await api('PUT', path, body);
      setValues(fromPolicy(saved));
      setExists(true);
      setNotice(`Access policy of ${record.name} saved.`);
    } catch (err) {
      const field = fieldOf(err.field);
      if (field && (field in values || field.startsWith('rule') || field === 'command_rules')) {
        setErrors({ [field]: err.message });
      } else {
        setFormError(err.message);
      }
    } finally {
      setBusy(false);
    }
  }

  const described = (key, hint) => (errors[key] ? key + '-error' : hint);
  return html`<form class="card" id="policy-form" aria-labelledby="policy-heading" onSubmit=${save} noValidate>
    <h2 id="policy-heading">Access policy</h2>
    <p class="hint">${exists ? 'Saving replaces the whole policy.'
      : 'This record has no policy yet: any time, any network, no approval, no rules.'}</p>
    ${formError && html`<p class="error" id="policy-form-error" role="alert">${formError}</p>`}
    ${notice && html`<p class="notice" role="status">${notice}</p>`}
    <fieldset>
      <legend>Windows</legend>
      <${Lines} label="Time windows (one per line)" name="windows" value=${values.windows}
        onInput=${set('windows')} error=${errors.windows}
        hint="Days and hours, e.g. Mon-Fri 08:00-18:00. None: any time." />
      <${Field} label="Time zone" name="time_zone" value=${values.time_zone}
        onInput=${set('time_zone')} error=${errors.time_zone} hint="An IANA name, e.g. Europe/Berlin." />
    </fieldset>
    <fieldset>
      <legend>Networks</legend>
      <${Lines} label="Allowed networks (one CIDR per line)" name="allowed_networks"
        value=${values.allowed_networks} onInput=${set('allowed_networks')}
        error=${errors.allowed_networks} hint="e.g. 10.0.0.0/8. None: any network." />
    </fieldset>
    <fieldset>
      <legend>Approval</legend>
      <div class="field check">
        <input type="checkbox" id="approval_required" checked=${values.required}
          onChange=${(e) => set('required')(e.currentTarget.checked)} />
        <label for="approval_required">Access needs an approved request</label>
      </div>
      <div class="field">
        <label for="approver_role_id">Approver role</label>
        <select id="approver_role_id" value=${values.approver_role_id}
          aria-invalid=${errors.approver_role_id ? 'true' : 'false'}
          aria-describedby=${described('approver_role_id')}
          onChange=${(e) => set('approver_role_id')(e.currentTarget.value)}>
          <option value="">(none)</option>
          ${roles.map((r) => html`<option key=${r.id} value=${r.id}>${r.name}</option>`)}
        </select>
        ${errors.approver_role_id && html`<p class="error" id="approver_role_id-error" role="alert">${errors.approver_role_id}</p>`}
      </div>
      <${Field} label="Longest approved access (minutes)" name="max_duration_m" type="number"
        value=${values.max_duration_m} onInput=${set('max_duration_m')} error=${errors.max_duration_m} />
    </fieldset>
    <fieldset aria-describedby=${errors.command_rules ? 'command_rules-error' : 'command_rules-hint'}>
      <legend>Command rules</legend>
      <p class="hint" id="command_rules-hint">In order; the first that matches decides. Pattern:
        service:Operation (e.g. s3:Get*); resource: an optional ARN pattern (e.g. arn:aws:s3:::prod-*/*).</p>
      ${errors.command_rules && html`<p class="error" id="command_rules-error" role="alert">${errors.command_rules}</p>`}
      ${values.rules.map((r, i) => html`<div class="rule grid" key=${i}>
        <div class="field">
          <label for=${'rule' + i + '-effect'}>Rule ${i + 1}: effect</label>
          <select id=${'rule' + i + '-effect'} value=${r.effect}
            onChange=${(e) => setRule(i, 'effect', e.currentTarget.value)}>
            <option value="allow">allow</option>
            <option value="deny">deny</option>
          </select>
        </div>
        <${Field} label=${`Rule ${i + 1}: pattern`} name=${'rule' + i + '-pattern'} value=${r.pattern}
          onInput=${(v) => setRule(i, 'pattern', v)} error=${errors['rule' + i + '-pattern']} />
        <${Field} label=${`Rule ${i + 1}: resource (optional)`} name=${'rule' + i + '-resource'}
          value=${r.resource} onInput=${(v) => setRule(i, 'resource', v)}
          error=${errors['rule' + i + '-resource']} />
        <div class="field"><button type="button" class="secondary"
          onClick=${() => setValues({ ...values, rules: values.rules.filter((_, j) => j !== i) })}>
          Remove rule ${i + 1}</button></div>
      </div>`)}
      <button type="button" class="secondary" id="rule-add"
        onClick=${() => setValues({ ...values, rules: [...values.rules, { effect: 'deny', pattern: '', resource: '' }] })}>
        Add rule</button>
    </fieldset>
    <div class="actions">
      <button type="submit" id="policy-save" disabled=${busy}>Save policy</button>
    </div>
  </form>`;
}

function Grants({ record, users, roles }) {
  const [grants, setGrants] = useState([]);
  const [kind, setKind] = useState('user');
  const [subject, setSubject] = useState('');
  const [permissions, setPermissions] = useState(['view', 'connect']);
  const [errors, setErrors] = useState({});
  const [formError, setFormError] = useState('');
  const [listError, setListError] = useState('');

  function load() {
    api('GET', 'grants?limit=1000&record=' + encodeURIComponent(record.id))
      .then((r) => setGrants(r.items)).catch((e) => setListError(e.message));
  }
  useEffect(load, [record.id]);

  const subjects = kind === 'user' ? users : roles;
  const chosen = subject || (subjects[0] && subjects[0].id) || '';
  const nameOf = (g) => {
    const list = g.user_id ? users : roles;
    const found = list.find((x) => x.id === (g.user_id || g.role_id));
    return `${g.user_id ? 'user' : 'role'} ${found ? found.name : g.user_id || g.role_id}`;
  };

  async function add(e) {
    e.preventDefault();
    setErrors({});
    setFormError('');
    try {
      await api('POST', 'grants', { [kind === 'user' ? 'user_id' : 'role_id']: chosen,
        record_id: record.id, permissions });
      load();
    } catch (err) {
      const field = err.field === 'user_id' || err.field === 'role_id' ? 'grant_subject' : err.field;
      if (field === 'grant_subject' || field === 'permissions') setErrors({ [field]: err.message });
      else setFormError(err.message);
    }
  }
  async function revoke(g) {
    setListError('');
    try {
      await api('DELETE', 'grants/' + encodeURIComponent(g.id));
      load();
    } catch (err) {
      setListError(err.message);
    }
  }
  const toggle = (p) => setPermissions(permissions.includes(p)
    ? permissions.filter((x) => x !== p) : PERMISSIONS.filter((x) => x === p || permissions.includes(x)));

  return html`<section class="card" aria-labelledby="grants-heading">
    <h2 id="grants-heading">Grants</h2>
    ${listError && html`<p class="error" role="alert">${listError}</p>`}
    <table id="grants">
      <caption class="visually-hidden">Grants on ${record.name}</caption>
      <thead><tr><th scope="col">To</th><th scope="col">Permissions</th><th scope="col">Action</th></tr></thead>
      <tbody>
        ${grants.map((g) => html`<tr key=${g.id}>
          <td class="grant-to">${nameOf(g)}</td>
          <td>${g.permissions.join(', ')}</td>
          <td><button type="button" class="secondary" onClick=${() => revoke(g)}>
            Revoke<span class="visually-hidden"> the grant to ${nameOf(g)}</span></button></td>
        </tr>`)}
      </tbody>
    </table>
    ${grants.length === 0 && html`<p>No grant on this record: only admins reach it.</p>`}
    <form id="grant-form" aria-labelledby="grant-add-heading" onSubmit=${add} noValidate>
      <h3 id="grant-add-heading">Grant this record</h3>
      ${formError && html`<p class="error" id="grant-form-error" role="alert">${formError}</p>`}
      <div class="grid">
        <div class="field">
          <label for="grant_kind">To a</label>
          <select id="grant_kind" value=${kind} onChange=${(e) => { setKind(e.currentTarget.value); setSubject(''); }}>
            <option value="user">user</option>
            <option value="role">role</option>
          </select>
        </div>
        <div class="field">
          <label for="grant_subject">${kind === 'user' ? 'User' : 'Role'}</label>
          <select id="grant_subject" value=${chosen}
            aria-invalid=${errors.grant_subject ? 'true' : 'false'}
            aria-describedby=${errors.grant_subject ? 'grant_subject-error' : undefined}
            onChange=${(e) => setSubject(e.currentTarget.value)}>
            ${subjects.map((x) => html`<option key=${x.id} value=${x.id}>${x.name}</option>`)}
          </select>
          ${errors.grant_subject && html`<p class="error" id="grant_subject-error" role="alert">${errors.grant_subject}</p>`}
        </div>
      </div>
      <fieldset class="choice" aria-describedby=${errors.permissions ? 'permissions-error' : undefined}>
        <legend>Permissions</legend>
        ${PERMISSIONS.map((p) => html`<label key=${p}><input type="checkbox" id=${'grant-' + p}
          checked=${permissions.includes(p)} onChange=${() => toggle(p)} />${p}</label>`)}
        ${errors.permissions && html`<p class="error" id="permissions-error" role="alert">${errors.permissions}</p>`}
      </fieldset>
      <button type="submit" id="grant-add">Add grant</button>
    </form>
  </section>`;
}

export function RecordAccess({ record, onClose }) {
  const [users, setUsers] = useState([]);
  const [roles, setRoles] = useState([]);
  const [error, setError] = useState('');
  useEffect(() => {
    api('GET', 'users?limit=1000').then((r) => setUsers(r.items)).catch((e) => setError(e.message));
    api('GET', 'roles?limit=1000').then((r) => setRoles(r.items)).catch((e) => setError(e.message));
  }, [record.id]);
  return html`<section aria-labelledby="access-heading">
    <h2 id="access-heading" class="access-heading">Access to ${record.name}</h2>
    ${record.description && html`<p class="access-description">${record.description}</p>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <${PolicyForm} record=${record} roles=${roles} />
    <${Grants} record=${record} users=${users} roles=${roles} />
    <p><button type="button" class="secondary" id="access-close" onClick=${onClose}>Back to the records</button></p>
  </section>`;
}
