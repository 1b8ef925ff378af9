// Segment's own Webhooks (Actions) destination (@segment/action-destinations, dist/destinations/webhook,
// on @segment/actions-core): it sends each request exactly as Segment's runtime does.
//
// Request: {"events": "<JSON text of an array of events>", "mapping": {url, method, headers, ...},
//           "settings": {"sharedSecret"?: ...}, "batched": bool}.
// The events are given as text so that Node reads the numbers and keys itself, as the runtime would.
// Batched: one `executeBatch('send', ...)` for all events (one request). Unbatched: one
// `executeAction('send', ...)` per event, in order, each awaited (one request each).
// Answer: {"statuses": [<HTTP status or error text>, ...]}, one per request the destination made.
import { createRequire } from 'node:module'
import { serve } from './lib/serve.mjs'

const require = createRequire(import.meta.url)
const { Destination } = require('@segment/actions-core')
const definition = require('./vendor/action-destinations/dist/destinations/webhook').default

serve(async ({ events, mapping, settings, batched }) => {
  const parsed = JSON.parse(events)
  const destination = new Destination(definition)
  const full = { data: { '@path': '$.' }, ...mapping }
  if (batched) {
    const results = await destination.executeBatch('send', {
      events: parsed,
      mapping: { ...full, enable_batching: true },
      settings
    })
    return { statuses: [results[0]?.status ?? results[0]?.errormessage ?? null] }
  }
  const statuses = []
  for (const event of parsed) {
    try {
      await destination.executeAction('send', { event, mapping: full, settings })
      statuses.push(200)
    } catch (error) {
      statuses.push(String(error?.message ?? error))
    }
  }
  return { statuses }
})
