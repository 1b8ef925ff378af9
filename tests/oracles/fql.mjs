// Segment's own trigger parser and evaluator (@segment/destination-subscriptions).
//
// Request: {"trigger": "<FQL>", "events": [<Segment message>, ...]}.
// Answer: {"error": "<message>" | null, "ast": <parsed subscription>, "matches": [bool, ...]},
// where `matches[i]` is what Segment's runtime decides for `events[i]` (false for every event
// when the trigger does not parse).
import subscriptions from '@segment/destination-subscriptions'
import { serve } from './lib/serve.mjs'

const { parseFql, validate } = subscriptions

serve(({ trigger, events }) => {
  const ast = parseFql(trigger)
  const error = ast.error ? String(ast.error.message ?? ast.error) : null
  return {
    error,
    ast: error ? null : ast,
    matches: (events ?? []).map((event) => validate(ast, event))
  }
})
