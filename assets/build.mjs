// Build GovFlow's front-end bundles into static/vendor/ (run by `make assets`).
//
// Inputs come from node_modules as the lockfile pins them (`npm ci --ignore-scripts`); outputs are
// minified IIFE bundles plus their CSS, and one licence file naming every bundled package. esbuild
// is deterministic, so a rebuild from the same lockfile gives the same bytes (CI checks this).
import { build } from 'esbuild';
import { readFileSync, writeFileSync, mkdirSync, existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'static', 'vendor');
mkdirSync(out, { recursive: true });

const entries = {
  'govflow-modeler': 'assets/src/modeler.js',
  'govflow-viewer': 'assets/src/viewer.js',
};

const result = await build({
  absWorkingDir: root,
  entryPoints: entries,
  outdir: out,
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['chrome100', 'firefox100', 'safari15'],
  legalComments: 'none',
  charset: 'utf8',
  loader: { '.woff': 'dataurl', '.woff2': 'dataurl', '.ttf': 'dataurl', '.eot': 'dataurl', '.svg': 'dataurl' },
  jsx: 'automatic',
  jsxImportSource: '@bpmn-io/properties-panel/preact',
  metafile: true,
  logLevel: 'warning',
});

// One licence file for everything bundled: each package's name, version and licence text.
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = input.match(/^node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (!match) continue;
  const dir = join(root, 'node_modules', match[1]);
  if (packages.has(match[1])) continue;
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const licenceFile = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
  const text = licenceFile ? readFileSync(join(dir, licenceFile), 'utf8').trim() : `License: ${pkg.license}`;
  packages.set(match[1], `${pkg.name}@${pkg.version} (${pkg.license})\n\n${text}\n`);
}
// The API documentation pages (/docs, /redoc) use these prebuilt files, copied as published: with them
// the pages work on an intranet with no internet (FastAPI's defaults load them from a CDN). Copied as
// published, except ReDoc's one outside image (below).
const apidocs = join(out, 'apidocs');
mkdirSync(apidocs, { recursive: true });
const copied = {
  'swagger-ui-dist': ['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png'],
  redoc: ['bundles/redoc.standalone.js'],
};
for (const [name, files] of Object.entries(copied)) {
  const dir = join(root, 'node_modules', name);
  for (const file of files) {
    let bytes = readFileSync(join(dir, file));
    if (file.endsWith('redoc.standalone.js')) {
      // ReDoc's footer logo is fetched from its CDN: an empty inline image instead (the credit link stays).
      const cdnLogo = 'https://cdn.redoc.ly/redoc/logo-mini.svg';
      const text = bytes.toString('utf8');
      if (!text.includes(cdnLogo)) throw new Error('redoc: the CDN logo URL moved; check for other outside requests');
      bytes = Buffer.from(text.replaceAll(cdnLogo, 'data:image/svg+xml,%3Csvg%20xmlns=%27http://www.w3.org/2000/svg%27/%3E'));
    }
    writeFileSync(join(apidocs, file.split('/').pop()), bytes);
  }
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const licence = readFileSync(join(dir, 'LICENSE'), 'utf8').trim();
  const bundled = files.filter((f) => f.endsWith('.js') && existsSync(join(dir, `${f}.LICENSE.txt`)))
    .map((f) => `\nThird-party notices of ${f}:\n${readFileSync(join(dir, `${f}.LICENSE.txt`), 'utf8').trim()}`);
  packages.set(name, `${pkg.name}@${pkg.version} (${pkg.license}), copied to static/vendor/apidocs/\n\n${licence}\n${bundled.join('\n')}\n`);
}

const names = [...packages.keys()].sort();
const header = 'Third-party software bundled into static/vendor/govflow-*.js and .css, or copied into static/vendor/apidocs/, by assets/build.mjs.\n';
writeFileSync(join(out, 'LICENSES.txt'),
  [header, ...names.map((n) => packages.get(n))].join('\n' + '-'.repeat(78) + '\n'));

for (const [file, info] of Object.entries(result.metafile.outputs)) {
  console.log(`${relative(root, join(root, file))}\t${info.bytes} bytes`);
}
