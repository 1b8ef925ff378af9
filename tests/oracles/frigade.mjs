// Frigade's official JavaScript SDK (@frigade/js) driven against a Frigade API (the sandbox).
//
// Request: {"apiUrl", "apiKey", "userId", "groupId"?, "calls": [{"op": "identify"|"group"|"track"|
//           "getFlows"|"getCollections", "args": [...]}, ...]}.
// One SDK instance runs the calls in order, each awaited. Every console.warn / console.error the
// SDK writes is captured: it reports any failed call to Frigade ("Call to Frigade failed: ...")
// that way and carries on, so a call that "succeeds" may still have failed.
// Answer: {"warnings": ["..."], "results": [<what each call returned, as JSON>], "hasFailed": bool}.
import { Frigade } from '@frigade/js'
import { serve } from './lib/serve.mjs'

const text = (values) =>
  values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v) ?? String(v))).join(' ')

serve(async ({ apiUrl, apiKey, userId, groupId, calls }) => {
  const warnings = []
  const saved = { warn: console.warn, error: console.error }
  console.warn = (...values) => warnings.push(`warn: ${text(values)}`)
  console.error = (...values) => warnings.push(`error: ${text(values)}`)
  try {
    const frigade = new Frigade(apiKey, { apiUrl, userId, groupId, syncOnWindowUpdates: false })
    const results = []
    for (const { op, args } of calls) {
      const value = await frigade[op](...(args ?? []))
      results.push(value === undefined ? null : JSON.parse(JSON.stringify(value) ?? 'null'))
    }
    const hasFailed = Boolean(frigade.hasFailed)
    frigade.destroy()
    return { warnings, results, hasFailed }
  } finally {
    console.warn = saved.warn
    console.error = saved.error
  }
})
