// A labelled input with its error shown next to it (and tied to it for screen readers).
import { html } from './html.js';

export function Field({ label, name, type = 'text', value, onInput, error, autocomplete, hint }) {
  return html`<div class="field">
    <label for=${name}>${label}</label>
    <input id=${name} name=${name} type=${type} value=${value}
      autocomplete=${autocomplete || 'off'} spellcheck="false"
      aria-invalid=${error ? 'true' : 'false'}
      aria-describedby=${error ? name + '-error' : hint ? name + '-hint' : undefined}
      onInput=${(e) => onInput(e.currentTarget.value)} />
    ${hint && !error && html`<p class="hint" id=${name + '-hint'}>${hint}</p>`}
    ${error && html`<p class="error" id=${name + '-error'} role="alert">${error}</p>`}
  </div>`;
}
