// Segment's own trigger parser and evaluator (@segment/destination-subscriptions).
//
// Request: {"trigger": "<FQL>", "events": [<Segment message>, ...]}.
// Answer: {"error": "<message>" | null, "ast": <the parsed subscription> | null,
//          "matches": [true | false | {"throws": "<message>"}, ...]},
// `matches[i]` being what Segment's runtime decides for `events[i]` (false for every event when
// the trigger does not parse; `throws` where validate() itself throws).
import subscriptions from '@segment/destination-subscriptions'
import { serve } from './lib/serve.mjs'

const { parseFql, validate } = subscriptions

function decide(ast, event) {
  try {
    return validate(ast, event)
  } catch (error) {
    return { throws: String(error && error.message ? error.message : error) }
  }
}

serve(({ trigger, events }) => {
  const ast = parseFql(trigger)
  const error = ast.error ? String(ast.error.message ?? ast.error) : null
  return {
    error,
    ast: error ? null : ast,
    matches: (events ?? []).map((event) => decide(ast, event))
  }
})
