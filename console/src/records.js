// Records: the AWS Access Keys records the signed-in user may view (GET /api/v1/records?name=&tag=:
// an admin's are all of them, anyone else's those her grants reach), each with her star
// (PUT/DELETE /api/v1/records/{id}/favorite), the list showing all of them or the starred ones
// (?favorites=1), and Use, the four exports `pamctl env` prints for that record.
// Admins also add (POST) and edit (PATCH /api/v1/records/{id}) records, and open a record's
// access policy and grants (Access, record_access.js); nobody else is offered those. The secret
// key is write-only: the API never returns it, the form never shows it, and on edit an empty
// secret leaves it unchanged.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { Field } from './field.js';
import { html } from './html.js';
import { caPath, proxyAddress, shellExports } from './profile.js';
import { RecordAccess } from './record_access.js';

const empty = {
  name: '', description: '', reference_record: '', access_key_id: '', secret_access_key: '',
  aws_account_id: '', tags: '',
};

function fromRecord(r) {
  return {
    name: r.name, description: r.description, reference_record: r.reference_record,
    access_key_id: r.access_key_id, secret_access_key: '', aws_account_id: r.aws_account_id,
    tags: r.tags.join(', '),
  };
}

function RecordForm({ record, records, onSaved, onCancel }) {
  const [values, setValues] = useState(record ? fromRecord(record) : empty);
  const [errors, setErrors] = useState({});
  const [formError, setFormError] = useState('');
  const [busy, setBusy] = useState(false);
  const set = (key) => (value) => setValues({ ...values, [key]: value });

  async function submit(e) {
    e.preventDefault();
    setErrors({});
    setFormError('');
    const body = {
      name: values.name.trim(), description: values.description,
      reference_record: values.reference_record, access_key_id: values.access_key_id.trim(),
      aws_account_id: values.aws_account_id.trim(),
      tags: values.tags.split(',').map((t) => t.trim()).filter((t) => t),
    };
    if (values.secret_access_key || !record) body.secret_access_key = values.secret_access_key;
    setBusy(true);
    try {
      const saved = record ? await api('PATCH', 'records/' + encodeURIComponent(record.id), body)
        : await api('POST', 'records', body);
      onSaved(saved);
    } catch (err) {
      const field = err.field.replace(/\[.*$/, '');
      if (field in empty) setErrors({ [field]: err.message });
      else setFormError(err.message);
    } finally {
      setBusy(false);
    }
  }

  const title = record ? `Edit record ${record.name}` : 'Add an AWS Access Keys record';
  const others = records.filter((r) => !record || r.id !== record.id);
  const describedBy = (key, hint) => (errors[key] ? key + '-error' : hint ? key + '-hint' : undefined);
  return html`<form class="card" aria-labelledby="record-form-heading" onSubmit=${submit} noValidate>
    <h2 id="record-form-heading">${title}</h2>
    ${formError && html`<p class="error" id="record-form-error" role="alert">${formError}</p>`}
    <${Field} label="Name (required)" name="name" value=${values.name} onInput=${set('name')}
      error=${errors.name} />
    <div class="field">
      <label for="description">Description</label>
      <textarea id="description" name="description" rows="3" value=${values.description}
        aria-invalid=${errors.description ? 'true' : 'false'}
        aria-describedby=${describedBy('description')}
        onInput=${(e) => set('description')(e.currentTarget.value)}></textarea>
      ${errors.description && html`<p class="error" id="description-error" role="alert">${errors.description}</p>`}
    </div>
    <div class="field">
      <label for="reference_record">Reference Record</label>
      <select id="reference_record" name="reference_record" value=${values.reference_record}
        aria-invalid=${errors.reference_record ? 'true' : 'false'}
        aria-describedby=${describedBy('reference_record')}
        onChange=${(e) => set('reference_record')(e.currentTarget.value)}>
        <option value="">(none)</option>
        ${others.map((r) => html`<option key=${r.id} value=${r.id}>${r.name}</option>`)}
        ${values.reference_record && !others.some((r) => r.id === values.reference_record)
          ? html`<option value=${values.reference_record}>${values.reference_record}</option>` : null}
      </select>
      ${errors.reference_record && html`<p class="error" id="reference_record-error" role="alert">${errors.reference_record}</p>`}
    </div>
    <${Field} label="Access Key ID" name="access_key_id" value=${values.access_key_id}
      onInput=${set('access_key_id')} error=${errors.access_key_id}
      hint="The AWS access key id (AKIA...), from Security credentials in AWS." />
    <${Field} label="Secret Key" name="secret_access_key" type="password"
      autocomplete="new-password" value=${values.secret_access_key}
      onInput=${set('secret_access_key')} error=${errors.secret_access_key}
      hint=${record ? 'Never shown. Leave empty to keep the current secret key.'
        : 'The raw AWS secret access key. It is never shown again.'} />
    <${Field} label="AWS account id (12 digits)" name="aws_account_id"
      value=${values.aws_account_id} onInput=${set('aws_account_id')}
      error=${errors.aws_account_id} />
    <${Field} label="Tags (comma-separated)" name="tags" value=${values.tags}
      onInput=${set('tags')} error=${errors.tags} />
    <div class="actions">
      <button type="submit" id="record-save" disabled=${busy}>${record ? 'Save' : 'Add record'}</button>
      <button type="button" class="secondary" onClick=${onCancel}>Cancel</button>
    </div>
  </form>`;
}

// The exports for one record, with the token this browser signed in with (My Profile has the
// fields to change the token, the proxy or the home directory).
function UseRecord({ session, record, onClose }) {
  const [copied, setCopied] = useState('');
  const text = shellExports({
    proxy: proxyAddress(session), ca: caPath(`/home/${session.user.name}`),
    tokenId: session.token_id || 'TOKEN_ID', record: record.name,
  });
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setCopied('The exports copied.');
    } catch (e) {
      setCopied('The browser refused the clipboard: select the text and copy it.');
    }
  }
  return html`<section class="card" aria-labelledby="use-heading" id="record-use" data-record=${record.id}>
    <h2 id="use-heading">Use ${record.name} from your shell</h2>
    <pre aria-labelledby="use-heading" id="record-exports" tabindex="0">${text}</pre>
    <p class="hint">${session.token_id ? 'With the token of this sign-in. ' : ''}My Profile has the
      certificate to save as AWS_CA_BUNDLE, and fields for another token or home directory.</p>
    <div class="actions">
      <button type="button" id="copy-record-exports" onClick=${copy}>Copy the exports</button>
      <button type="button" class="secondary" onClick=${onClose}>Close</button>
      <span role="status" class="hint">${copied}</span>
    </div>
  </section>`;
}

export function Records({ session }) {
  const admin = session.user.admin;
  const [records, setRecords] = useState([]);
  const [all, setAll] = useState([]);  // for the Reference Record picker
  const [name, setName] = useState('');
  const [tag, setTag] = useState('');
  const [filter, setFilter] = useState({ name: '', tag: '' });
  const [error, setError] = useState('');
  const [editing, setEditing] = useState(null);  // null, 'new' or the record
  const [access, setAccess] = useState(null);  // the record whose policy and grants are open
  const [using, setUsing] = useState(null);  // the record whose exports are shown
  const [favorites, setFavorites] = useState(false);  // the list: all records or the starred
  const [notice, setNotice] = useState([]);

  function load() {
    const query = new URLSearchParams({ limit: '1000' });
    if (filter.name) query.set('name', filter.name);
    if (filter.tag) query.set('tag', filter.tag);
    if (favorites) query.set('favorites', '1');
    api('GET', 'records?' + query).then((r) => setRecords(r.items)).catch((e) => setError(e.message));
    if (admin) api('GET', 'records?limit=1000').then((r) => setAll(r.items)).catch((e) => setError(e.message));
  }
  useEffect(load, [filter, favorites]);

  async function star(record) {
    setError('');
    try {
      await api(record.favorite ? 'DELETE' : 'PUT', 'records/' + encodeURIComponent(record.id) + '/favorite');
      load();
    } catch (e) {
      setError(e.message);
    }
  }

  function saved(record) {
    setNotice([`Record ${record.name} saved.`, ...(record.warnings || [])]);
    setEditing(null);
    load();
  }

  const search = (e) => { e.preventDefault(); setError(''); setFilter({ name: name.trim(), tag: tag.trim() }); };
  return html`<section aria-labelledby="records-heading">
    <h1 id="records-heading">Records</h1>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${notice.length > 0 && html`<div class="notice" role="status">${notice.map((n) => html`<p>${n}</p>`)}</div>`}
    ${using && html`<${UseRecord} session=${session} record=${using} onClose=${() => setUsing(null)} />`}
    ${!admin ? null : access ? html`<${RecordAccess} record=${access} onClose=${() => setAccess(null)} />`
      : editing ? html`<${RecordForm} record=${editing === 'new' ? null : editing} records=${all}
        onSaved=${saved} onCancel=${() => setEditing(null)} />`
      : html`<p><button type="button" id="record-add"
          onClick=${() => { setNotice([]); setEditing('new'); }}>Add record</button></p>`}
    <form class="card search" role="search" aria-label="Records" onSubmit=${search}>
      <div class="grid">
        <${Field} label="Name (exact)" name="search-name" value=${name} onInput=${setName} />
        <${Field} label="Tag" name="search-tag" value=${tag} onInput=${setTag} />
      </div>
      <button type="submit" id="record-search">Search</button>
    </form>
    <div class="switch" role="group" aria-label="Show">
      <button type="button" id="show-all" class="secondary" aria-pressed=${favorites ? 'false' : 'true'}
        onClick=${() => setFavorites(false)}>All records</button>
      <button type="button" id="show-favorites" class="secondary" aria-pressed=${favorites ? 'true' : 'false'}
        onClick=${() => setFavorites(true)}>Favorites</button>
    </div>
    <div class="card scroll">
      <table id="records">
        <caption class="visually-hidden">${favorites ? 'Favorite records' : 'Records'}</caption>
        <thead><tr><th scope="col">Favorite</th><th scope="col">Name</th><th scope="col">Description</th>
          <th scope="col">Access Key ID</th><th scope="col">AWS account</th>
          <th scope="col">Tags</th><th scope="col">Secret key</th><th scope="col">Action</th></tr></thead>
        <tbody>
          ${records.map((r) => html`<tr key=${r.id}>
            <td><button type="button" class="star" aria-pressed=${r.favorite ? 'true' : 'false'}
              aria-label=${'Favorite: ' + r.name} onClick=${() => star(r)}>
              <span aria-hidden="true">${r.favorite ? '★' : '☆'}</span></button></td>
            <td class="record-name">${r.name}</td>
            <td>${r.description}</td>
            <td><code>${r.access_key_id}</code></td>
            <td>${r.aws_account_id}</td>
            <td>${r.tags.join(', ')}</td>
            <td>${r.secret_access_key_set ? 'set' : 'not set'}</td>
            <td><div class="actions"><button type="button" class="secondary record-use"
              onClick=${() => { setNotice([]); setUsing(r); }}>
              Use<span class="visually-hidden"> ${r.name}</span></button>
              ${admin && html`<button type="button" class="secondary record-edit"
              onClick=${() => { setNotice([]); setAccess(null); setUsing(null); setEditing(r); }}>
              Edit<span class="visually-hidden"> ${r.name}</span></button>
              <button type="button" class="secondary record-access"
                onClick=${() => { setNotice([]); setEditing(null); setUsing(null); setAccess(r); }}>
                Access<span class="visually-hidden"> ${r.name}</span></button>`}</div></td>
          </tr>`)}
        </tbody>
      </table>
      ${records.length === 0 && html`<p>${favorites ? 'No favorite matches: star a record with ☆ under All records.' : 'No record matches.'}</p>`}
    </div>
  </section>`;
}
