// Loads every oracle package and answers each one's installed version: a check that the tree works.
//
// Request: anything. Answer: {"<package>": "<version>", ...}, the Webhooks destination included.
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { serve } from './lib/serve.mjs'

const require = createRequire(import.meta.url)
const here = dirname(fileURLToPath(import.meta.url))
const PACKAGES = [
  '@frigade/js',
  '@segment/actions-core',
  '@segment/analytics-node',
  '@segment/destination-subscriptions',
  '@segment/public-api-sdk-typescript',
  'liquidjs'
]

function versionOf(name) {
  require(name) // fails when the package cannot load
  const main = require.resolve(name)
  let dir = dirname(main)
  while (dir !== here) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
      if (manifest.name === name) return manifest.version
    } catch {}
    dir = dirname(dir)
  }
  throw new Error(`no package.json found for ${name}`)
}

serve(() => {
  const versions = Object.fromEntries(PACKAGES.map((name) => [name, versionOf(name)]))
  const webhook = require('./vendor/action-destinations/dist/destinations/webhook/index.js').default
  if (!webhook.actions || !webhook.actions.send) throw new Error('webhook destination has no send')
  versions['@segment/action-destinations'] = readFileSync(
    join(here, 'vendor', 'action-destinations', 'VERSION'),
    'utf8'
  )
    .trim()
    .split('@')
    .pop()
  return versions
})
