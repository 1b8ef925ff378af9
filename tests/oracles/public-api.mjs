// Segment's Public API SDK (@segment/public-api-sdk-typescript): its calls, and its types as a
// judge of every answer a server gives.
//
// Request: {"basePath", "token", "api": "DestinationsApi"|"DeliveryOverviewApi", "method", "args"}.
// The SDK makes the call. Answer: {"status", "type", "raw", "problems"}: the HTTP status, the
// model the SDK reads the body as (the type its code deserializes it to, or `RequestErrorEnvelope`
// for an error), the body as sent, and every way the body breaks that model's types: a required field
// missing, a field of the wrong type or enum value, or a field the model does not have (the SDK
// drops it). Which fields are required is read from the model's own TypeScript source.
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { serve } from './lib/serve.mjs'

const require = createRequire(import.meta.url)
const sdk = require('@segment/public-api-sdk-typescript')
const root = dirname(require.resolve('@segment/public-api-sdk-typescript/package.json'))

const fieldRules = new Map() // model name -> Map(field -> {required, nullable})

function rulesOf(model) {
  if (!fieldRules.has(model)) {
    const file = join(root, 'model', model[0].toLowerCase() + model.slice(1) + '.ts')
    const rules = new Map()
    const classBody = readFileSync(file, 'utf8').split(/export class /)[1] ?? ''
    for (const line of classBody.split('\n')) {
      const found = /^ {4}'(\w+)'(\?)?: (.*);$/.exec(line)
      if (found) rules.set(found[1], { required: !found[2], nullable: /\| null\b/.test(found[3]) })
    }
    fieldRules.set(model, rules)
  }
  return fieldRules.get(model)
}

function enumValues(type) {
  const [model, name] = type.split('.')
  const values = sdk[model]?.[name]
  return values ? Object.values(values) : null
}

// Every way `value` at `path` breaks `type` (a type string as the SDK's attributeTypeMap has them).
function check(value, type, path, problems) {
  if (value === null || value === undefined) return
  if (type === 'any' || type.startsWith('{ [key: string]: any')) return
  const scalar = { string: 'string', number: 'number', boolean: 'boolean' }[type]
  if (scalar) {
    if (typeof value !== scalar) problems.push(`${path}: ${JSON.stringify(value)} is not a ${scalar}`)
    return
  }
  if (type === 'Date') {
    if (typeof value !== 'string' || Number.isNaN(Date.parse(value)))
      problems.push(`${path}: ${JSON.stringify(value)} is not a date`)
    return
  }
  const array = /^Array<(.+)>$/.exec(type)
  if (array) {
    if (!Array.isArray(value)) problems.push(`${path}: not an array`)
    else value.forEach((item, n) => check(item, array[1], `${path}[${n}]`, problems))
    return
  }
  const choices = type.includes('.') ? enumValues(type) : null
  if (choices) {
    if (!choices.includes(value)) problems.push(`${path}: ${JSON.stringify(value)} is not one of ${choices}`)
    return
  }
  const model = sdk[type]
  if (!model?.attributeTypeMap) {
    problems.push(`${path}: the SDK has no type ${type}`)
    return
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${path}: not an object (${type})`)
    return
  }
  const rules = rulesOf(type)
  const known = new Set()
  for (const { baseName, type: fieldType } of model.attributeTypeMap) {
    known.add(baseName)
    const rule = rules.get(baseName) ?? { required: false, nullable: true }
    const given = value[baseName]
    if (given === undefined) {
      if (rule.required) problems.push(`${path}.${baseName}: required by ${type}, missing`)
    } else if (given === null) {
      if (!rule.nullable) problems.push(`${path}.${baseName}: null, which ${type} does not allow`)
    } else {
      check(given, fieldType, `${path}.${baseName}`, problems)
    }
  }
  for (const name of Object.keys(value)) {
    if (!known.has(name)) problems.push(`${path}.${name}: not a field of ${type} (the SDK drops it)`)
  }
}

// The model the SDK reads a method's answer as: the type it hands ObjectSerializer.deserialize.
function answerType(api, method) {
  const file = join(root, 'api', api[0].toLowerCase() + api.slice(1) + '.ts')
  const source = readFileSync(file, 'utf8')
  const start = source.indexOf(`public async ${method}(`)
  const found = start < 0 ? null : /deserialize\(\s*body,\s*'([^']+)'/.exec(source.slice(start))
  if (!found) throw new Error(`${api}.${method}: no such call in the SDK`)
  return found[1]
}

serve(async ({ basePath, token, api, method, args }) => {
  const client = new sdk[api](basePath)
  client.accessToken = token
  const responseType = answerType(api, method)
  let status, raw, type
  try {
    const { response } = await client[method](...(args ?? []))
    ;[status, raw, type] = [response.statusCode, response.body, responseType]
  } catch (error) {
    if (!error?.response) throw error
    ;[status, raw, type] = [error.statusCode, error.body, 'RequestErrorEnvelope']
  }
  const problems = []
  check(raw, type, '$', problems)
  return { status, type, raw, problems }
})
