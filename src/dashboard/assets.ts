import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

/** A file the dashboard page loads, held in memory. */
export interface Asset { type: string, body: Buffer }

/** The dashboard's own files, in the package's `dashboard/` directory (beside `src/` and `dist/`). */
export const DASHBOARD_DIR = join(__dirname, '..', '..', 'dashboard')

const OWN: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
}

/**
 * The libraries the page imports (its import map points here), served from
 * the installed packages: no CDN, no build step. Keys are the URL names
 * under /dashboard/vendor/.
 */
const VENDOR: Record<string, [string, string, string]> = {
  // [package entry to resolve, file beside it, content type]: htm's exports map hides its ES module build from require.resolve.
  'preact.mjs': ['preact', 'preact.mjs', 'text/javascript; charset=utf-8'],
  'preact-hooks.mjs': ['preact/hooks', 'hooks.mjs', 'text/javascript; charset=utf-8'],
  'htm.mjs': ['htm', 'htm.mjs', 'text/javascript; charset=utf-8'],
  'uplot.mjs': ['uplot', 'uPlot.esm.js', 'text/javascript; charset=utf-8'],
  'uplot.css': ['uplot', 'uPlot.min.css', 'text/css; charset=utf-8'],
}

/** Reads every asset once, at start-up (a missing file fails start-up, not a page load). */
export function loadAssets (): Map<string, Asset> {
  const out = new Map<string, Asset>()
  for (const [name, type] of Object.entries(OWN)) out.set(name, { type, body: readFileSync(join(DASHBOARD_DIR, name)) })
  for (const [name, [module, file, type]] of Object.entries(VENDOR)) {
    out.set('vendor/' + name, { type, body: readFileSync(join(dirname(require.resolve(module)), file)) })
  }
  return out
}
