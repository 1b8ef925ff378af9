// Fetches Segment's Webhooks (Actions) destination for the oracles, run as this package's postinstall.
//
// `npm install @segment/action-destinations` cannot resolve its whole tree on every machine (a
// transitive version is missing from the registry), and the destination needs only
// @segment/actions-core and liquidjs, which package.json installs. So this packs the pinned tarball,
// checks its integrity against the pin below, and extracts only dist/destinations/webhook/ into
// vendor/ (git-ignored). Node resolves its `require("@segment/actions-core")` from ./node_modules.
//
// Last, it writes node_modules/.oracles-stamp: the hash the test fixture compares to decide whether
// the installed tree matches this directory's package-lock.json and this script.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const PACKAGE = '@segment/action-destinations'
const VERSION = '3.497.0'
// From `npm view @segment/action-destinations@3.497.0 dist.integrity`.
const INTEGRITY =
  'sha512-b9DztTrR1XrfBu/0UyUgTXNfv7s5gpjBPO/w7C8aW6IHsSMSMte7wNdVHzGsujJ4P43g7cKsWb5zuV2BdVn/UA=='
const MEMBER = 'package/dist/destinations/webhook/'

const here = dirname(fileURLToPath(import.meta.url))
const target = join(here, 'vendor', 'action-destinations')

const work = mkdtempSync(join(tmpdir(), 'oracles-pack-'))
try {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const packed = JSON.parse(
    execFileSync(npm, ['pack', `${PACKAGE}@${VERSION}`, '--json', '--pack-destination', work], {
      cwd: work,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit']
    })
  )
  const tarball = join(work, packed[0].filename)
  const digest = 'sha512-' + createHash('sha512').update(readFileSync(tarball)).digest('base64')
  if (digest !== INTEGRITY) {
    throw new Error(`${PACKAGE}@${VERSION}: integrity ${digest}, expected ${INTEGRITY}`)
  }
  const unpacked = join(work, 'unpacked')
  mkdirSync(unpacked)
  // The destination's own tests need nock and are not part of the oracle.
  execFileSync('tar', ['-xzf', tarball, '-C', unpacked, '--exclude=__test__', MEMBER], {
    stdio: 'inherit'
  })
  rmSync(target, { recursive: true, force: true })
  mkdirSync(join(target, 'dist', 'destinations'), { recursive: true })
  renameSync(join(unpacked, MEMBER), join(target, 'dist', 'destinations', 'webhook'))
  writeFileSync(join(target, 'VERSION'), `${PACKAGE}@${VERSION}\n`)
} finally {
  rmSync(work, { recursive: true, force: true })
}

const stamp = createHash('sha256')
for (const name of ['package-lock.json', 'install-webhook.mjs']) {
  stamp.update(readFileSync(join(here, name)))
}
writeFileSync(join(here, 'node_modules', '.oracles-stamp'), stamp.digest('hex') + '\n')
