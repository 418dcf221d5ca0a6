// Bundles the console with esbuild: src/main.js (and the CSS it imports) into one app.js and one
// app.css in the output directory, minified, for browsers of the last few years. Writes a
// Makefile-style depfile naming every source that went in, so the build reruns only when one
// of them changes. The hashed asset names and the embedding in pamproxyd are the generator's
// job (embed_assets.py).
//
//   node console/build.mjs OUTDIR DEPFILE
import * as esbuild from 'esbuild';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [outArg, depArg] = process.argv.slice(2);
if (!outArg || !depArg) {
  console.error('usage: build.mjs OUTDIR DEPFILE');
  process.exit(2);
}
// Relative to where the build runs; the sources are found relative to this file.
const outdir = resolve(outArg);
const depfile = resolve(depArg);

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: { app: 'src/main.js' },
  outdir,
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});

const inputs = Object.keys(result.metafile.inputs).map((p) => resolve(here, p));
const outputs = [join(outdir, 'app.js'), join(outdir, 'app.css')];
const escape = (p) => p.replace(/ /g, '\\ ');
writeFileSync(depfile, `${outputs.map(escape).join(' ')}: ${inputs.map(escape).join(' ')}\n`);
