// The console's entry point: mounts the application into #app.
import { h, render } from 'preact';
import htm from 'htm';
import './style.css';

const html = htm.bind(h);
render(html`<main><h1>pamproxy</h1></main>`, document.getElementById('app'));
