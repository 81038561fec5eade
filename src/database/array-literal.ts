/**
 * PostgreSQL array literals (`{1,2,3}`) built here, for statements that take rows as arrays and
 * take them apart in `unnest`. A string parameter passes through postgres.js untouched and the
 * statement's cast (`$1::int8[]`) has PostgreSQL parse it, so this replaces postgres.js's array
 * serializer, which quotes and regex-escapes every element through a per-type callback. Numbers,
 * booleans and UUIDs never need escaping; text is quoted and escaped once per element.
 *
 * Every value must be what the column takes: finite numbers (JSON has no NaN or Infinity, and the
 * event schema admits no other), UUIDs in their text form.
 */

/** int8[] or float8[]: JavaScript's shortest round-trip text is valid input for both (`1e+21` too). */
export function numberArray (values: ReadonlyArray<number | null>): string {
  let literal = '{'
  for (let i = 0; i < values.length; i++) {
    if (i > 0) literal += ','
    const value = values[i]
    literal += value === null || value === undefined ? 'NULL' : String(value)
  }
  return literal + '}'
}

/** bool[]: `t` and `f`, which PostgreSQL's boolean input reads as true and false. */
export function booleanArray (values: readonly boolean[]): string {
  let literal = '{'
  for (let i = 0; i < values.length; i++) {
    if (i > 0) literal += ','
    literal += values[i] === true ? 't' : 'f'
  }
  return literal + '}'
}

/** uuid[]: the canonical text form has no character an array literal would need escaped. */
export function uuidArray (values: ReadonlyArray<string | null>): string {
  let literal = '{'
  for (let i = 0; i < values.length; i++) {
    if (i > 0) literal += ','
    literal += values[i] ?? 'NULL'
  }
  return literal + '}'
}

const NEEDS_ESCAPE = /["\\]/g
const HAS_ESCAPE = /["\\]/

/** text[]: each element double-quoted, with `"` and `\` escaped; NULL unquoted. */
export function textArray (values: ReadonlyArray<string | null>): string {
  let literal = '{'
  for (let i = 0; i < values.length; i++) {
    if (i > 0) literal += ','
    const value = values[i]
    if (value === null || value === undefined) literal += 'NULL'
    else literal += HAS_ESCAPE.test(value) ? `"${value.replace(NEEDS_ESCAPE, '\\$&')}"` : `"${value}"`
  }
  return literal + '}'
}
