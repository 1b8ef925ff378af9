// The oracles' side of the test harness: one request per stdin line, one answer per stdout line.
//
// Each line in is a JSON value handed to `handler`; each line out is `{"ok": result}` or
// `{"error": "message"}`, in the order the requests came, so one Node process serves a whole batch
// of cases. Anything an oracle logs must go to stderr: stdout carries only answers.
import { createInterface } from 'node:readline'

export function serve(handler) {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
  let queue = Promise.resolve()
  lines.on('line', (line) => {
    if (!line.trim()) return
    queue = queue.then(async () => {
      let answer
      try {
        answer = { ok: await handler(JSON.parse(line)) }
      } catch (error) {
        answer = { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }
      }
      process.stdout.write(JSON.stringify(answer === undefined ? { ok: null } : answer) + '\n')
    })
  })
}
