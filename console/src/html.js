// htm bound to Preact: html`<p>${text}</p>` renders `text` as text, never as markup. The console
// never uses dangerouslySetInnerHTML.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
