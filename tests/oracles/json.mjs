// JavaScript's own JSON: what Segment's runtime reads and writes.
//
// Request: {"text": "<a JSON text>"}. Answer: {"js": JSON.stringify(JSON.parse(text))}.
import { serve } from './lib/serve.mjs'

serve(({ text }) => ({ js: JSON.stringify(JSON.parse(text)) }))
