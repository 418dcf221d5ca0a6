// Users and roles, for admins (the API refuses both to everyone else): users are added
// (POST /api/v1/users), made admins or not, disabled or enabled again (PATCH {"admin"} and
// {"disabled"}: a disabled user's tokens are refused, she cannot sign in and her console
// sessions end; her tokens are kept, so Enable brings them back) and deleted (DELETE); roles are
// added and deleted, and their members added and removed (PUT/DELETE
// /api/v1/roles/{id}/members/{user}).
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { Field } from './field.js';
import { html } from './html.js';

// An action that takes a second click to confirm (no browser dialog).
// `name` classes the two buttons (name, name-confirm) for tests.
function Confirm({ label, what, onConfirm, name }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return html`<button type="button" class=${'secondary ' + name} onClick=${() => setAsking(true)}>
      ${label}<span class="visually-hidden"> ${what}</span></button>`;
  }
  return html`<span class="confirm">
    <button type="button" class=${'danger ' + name + '-confirm'}
      onClick=${() => { setAsking(false); onConfirm(); }}>Confirm: ${label.toLowerCase()} ${what}</button>
    <button type="button" class="secondary" onClick=${() => setAsking(false)}>Cancel</button>
  </span>`;
}

function AddUser({ onAdded }) {
  const [name, setName] = useState('');
  const [admin, setAdmin] = useState(false);
  const [errors, setErrors] = useState({});
  async function submit(e) {
    e.preventDefault();
    setErrors({});
    try {
      const user = await api('POST', 'users', { name: name.trim(), admin });
      setName('');
      setAdmin(false);
      onAdded(`User ${user.name} added.`);
    } catch (err) {
      setErrors({ [err.field === 'admin' ? 'admin' : 'user_name']: err.message });
    }
  }
  return html`<form class="card" aria-labelledby="user-add-heading" onSubmit=${submit} noValidate>
    <h3 id="user-add-heading">Add a user</h3>
    <${Field} label="Name" name="user_name" value=${name} onInput=${setName} error=${errors.user_name} />
    <div class="field check">
      <input type="checkbox" id="user_admin" checked=${admin} onChange=${(e) => setAdmin(e.currentTarget.checked)} />
      <label for="user_admin">Admin (may change everything)</label>
      ${errors.admin && html`<p class="error" role="alert">${errors.admin}</p>`}
    </div>
    <button type="submit" id="user-add">Add user</button>
  </form>`;
}

function AddRole({ onAdded }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [errors, setErrors] = useState({});
  async function submit(e) {
    e.preventDefault();
    setErrors({});
    try {
      const role = await api('POST', 'roles', { name: name.trim(), description });
      setName('');
      setDescription('');
      onAdded(`Role ${role.name} added.`);
    } catch (err) {
      setErrors({ [err.field === 'description' ? 'role_description' : 'role_name']: err.message });
    }
  }
  return html`<form class="card" aria-labelledby="role-add-heading" onSubmit=${submit} noValidate>
    <h3 id="role-add-heading">Add a role</h3>
    <${Field} label="Name" name="role_name" value=${name} onInput=${setName} error=${errors.role_name} />
    <${Field} label="Description" name="role_description" value=${description}
      onInput=${setDescription} error=${errors.role_description} />
    <button type="submit" id="role-add">Add role</button>
  </form>`;
}

function Members({ role, users, onChanged, onError }) {
  const others = users.filter((u) => !role.members.includes(u.id));
  const [chosen, setChosen] = useState('');
  const pick = chosen && others.some((u) => u.id === chosen) ? chosen : (others[0] && others[0].id) || '';
  const nameOf = (id) => (users.find((u) => u.id === id) || { name: id }).name;
  const path = (user) => `roles/${encodeURIComponent(role.id)}/members/${encodeURIComponent(user)}`;
  async function change(method, user, done) {
    try {
      await api(method, path(user));
      onChanged(done);
    } catch (err) {
      onError(err.message);
    }
  }
  const select = 'member-' + role.id;
  return html`<div>
    <ul class="members">
      ${role.members.map((id) => html`<li key=${id}><span class="member-name">${nameOf(id)}</span>
        <button type="button" class="secondary" onClick=${() => change('DELETE', id, `${nameOf(id)} left ${role.name}.`)}>
          Remove<span class="visually-hidden"> ${nameOf(id)} from ${role.name}</span></button></li>`)}
    </ul>
    ${role.members.length === 0 && html`<p>No member.</p>`}
    ${others.length > 0 && html`<div class="inline">
      <label for=${select}>Add a member to ${role.name}</label>
      <select id=${select} value=${pick} onChange=${(e) => setChosen(e.currentTarget.value)}>
        ${others.map((u) => html`<option key=${u.id} value=${u.id}>${u.name}</option>`)}
      </select>
      <button type="button" class="member-add" onClick=${() => change('PUT', pick, `${nameOf(pick)} joined ${role.name}.`)}>
        Add member</button>
    </div>`}
  </div>`;
}

export function Users({ session }) {
  const [users, setUsers] = useState([]);
  const [roles, setRoles] = useState([]);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');

  function load() {
    api('GET', 'users?limit=1000').then((r) => setUsers(r.items)).catch((e) => setError(e.message));
    api('GET', 'roles?limit=1000').then((r) => setRoles(r.items)).catch((e) => setError(e.message));
  }
  useEffect(load, []);
  const changed = (text) => { setError(''); setNotice(text); load(); };
  async function run(call) {
    setNotice('');
    setError('');
    try {
      changed(await call());
    } catch (err) {
      setError(err.message);
    }
  }
  const setAdmin = (u) => run(async () => {
    await api('PATCH', 'users/' + encodeURIComponent(u.id), { admin: !u.admin });
    return `${u.name} is ${u.admin ? 'no longer' : 'now'} an admin.`;
  });
  const setDisabled = (u, disabled) => run(async () => {
    await api('PATCH', 'users/' + encodeURIComponent(u.id), { disabled });
    return disabled ? `${u.name} is disabled: her tokens are refused until she is enabled again.`
      : `${u.name} is enabled again.`;
  });
  const remove = (u) => run(async () => {
    await api('DELETE', 'users/' + encodeURIComponent(u.id));
    return `User ${u.name} deleted.`;
  });
  const removeRole = (r) => run(async () => {
    await api('DELETE', 'roles/' + encodeURIComponent(r.id));
    return `Role ${r.name} deleted.`;
  });

  return html`<section aria-labelledby="users-heading">
    <h1 id="users-heading">Users and roles</h1>
    ${error && html`<p class="error" role="alert" id="users-error">${error}</p>`}
    ${notice && html`<p class="notice" role="status">${notice}</p>`}
    <section aria-labelledby="user-list-heading">
      <h2 id="user-list-heading">Users</h2>
      <${AddUser} onAdded=${changed} />
      <div class="card scroll">
        <table id="users">
          <caption class="visually-hidden">Users</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Id</th><th scope="col">Admin</th>
            <th scope="col">State</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            ${users.map((u) => html`<tr key=${u.id}>
              <td class="user-name">${u.name}</td>
              <td><code>${u.id}</code></td>
              <td>${u.admin ? 'yes' : 'no'}</td>
              <td class="user-state">${u.disabled ? 'disabled' : 'active'}</td>
              <td><div class="actions">${u.id === session.user.id ? html`<span class="hint">you</span>` : html`
                <button type="button" class="secondary" onClick=${() => setAdmin(u)}>
                  ${u.admin ? 'Remove admin' : 'Make admin'}<span class="visually-hidden"> ${u.name}</span></button>
                ${u.disabled ? html`<button type="button" class="secondary enable" onClick=${() => setDisabled(u, false)}>
                  Enable<span class="visually-hidden"> ${u.name}</span></button>`
                  : html`<${Confirm} label="Disable" name="disable" what=${u.name} onConfirm=${() => setDisabled(u, true)} />`}
                <${Confirm} label="Delete" name="delete" what=${u.name} onConfirm=${() => remove(u)} />`}</div></td>
            </tr>`)}
          </tbody>
        </table>
      </div>
    </section>
    <section aria-labelledby="role-list-heading">
      <h2 id="role-list-heading">Roles and members</h2>
      <${AddRole} onAdded=${changed} />
      <div class="card scroll">
        <table id="roles">
          <caption class="visually-hidden">Roles</caption>
          <thead><tr><th scope="col">Role</th><th scope="col">Description</th><th scope="col">Members</th>
            <th scope="col">Action</th></tr></thead>
          <tbody>
            ${roles.map((r) => html`<tr key=${r.id}>
              <td class="role-name">${r.name}</td>
              <td>${r.description}</td>
              <td><${Members} role=${r} users=${users} onChanged=${changed} onError=${setError} /></td>
              <td><${Confirm} label="Delete" name="role-delete" what=${r.name} onConfirm=${() => removeRole(r)} /></td>
            </tr>`)}
          </tbody>
        </table>
        ${roles.length === 0 && html`<p>No role yet.</p>`}
      </div>
    </section>
  </section>`;
}
