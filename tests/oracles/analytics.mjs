// Segment's official Node library (@segment/analytics-node) sending to a tracking API.
//
// Request: {"host", "path"?, "writeKey", "settings"?: {maxEventsInBatch, flushInterval, ...},
//           "calls": [{"method": "track"|"identify"|"group"|"page"|"screen"|"alias", "params"}]}.
// Every call is made, then closeAndFlush() waits for every batch to be answered.
// Answer: {"errors": [...], "statuses": [<each HTTP answer's status>], "messageIds": [...],
//          "delivered": [bool, ...]}: the library's `error` events and failed callbacks, the
//          status of each batch request, and per call its messageId and whether it was delivered.
import { Analytics } from '@segment/analytics-node'
import { serve } from './lib/serve.mjs'

serve(async ({ host, path, writeKey, settings, calls }) => {
  const analytics = new Analytics({ writeKey, host, path, maxRetries: 0, ...(settings ?? {}) })
  const errors = []
  const statuses = []
  analytics.on('error', (error) => errors.push(String(error?.reason ?? error?.code ?? error)))
  analytics.on('http_response', ({ status }) => statuses.push(status))
  const settled = calls.map(
    ({ method, params }) =>
      new Promise((resolve) => {
        analytics[method](params, (error, ctx) => {
          if (error) errors.push(`${method}: ${String(error?.reason ?? error)}`)
          resolve({ messageId: ctx?.event?.messageId ?? null, delivered: !error })
        })
      })
  )
  await analytics.closeAndFlush({ timeout: 30000 })
  const outcomes = await Promise.all(settled)
  return {
    errors,
    statuses,
    messageIds: outcomes.map((o) => o.messageId),
    delivered: outcomes.map((o) => o.delivered)
  }
})
