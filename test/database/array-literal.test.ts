import t from 'tap'
import { booleanArray, numberArray, textArray, uuidArray } from '../../src/database/array-literal.js'
import { testDatabase } from '../helpers/database.js'

const { sql } = await testDatabase(t)

// Each literal goes to PostgreSQL as a plain string parameter, as the writer sends it, is parsed
// as the array type, and comes back element by element as JSON: what PostgreSQL parsed is what
// was meant, NULLs included.
async function parsed (literal: string, type: 'int8[]' | 'float8[]' | 'bool[]' | 'uuid[]' | 'text[]'): Promise<unknown[]> {
  const [row] = await sql<[{ v: unknown[] | null }]>`
    select json_agg(x order by n) as v from unnest(${literal}::${sql.unsafe(type)}) with ordinality as u(x, n)`
  return row!.v ?? []
}

t.test('int8 and float8: integers, fractions, exponents, negatives and NULL', async t => {
  const ints = [1, 0, -7, Number.MAX_SAFE_INTEGER, null]
  t.same(await parsed(numberArray(ints), 'int8[]'), ints)
  const floats = [0.1, 1622558400.25, 1e21, 1e-7, -2.5, 0, 3600.000001, null]
  t.same(await parsed(numberArray(floats), 'float8[]'), floats, 'every float read back exactly')
})

t.test('bool: true stays true and false stays false', async t => {
  const values = [true, false, false, true]
  t.same(await parsed(booleanArray(values), 'bool[]'), values)
})

t.test('uuid: lower and upper case, and NULL', async t => {
  const ids = ['1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b', 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE', null]
  t.same(await parsed(uuidArray(ids), 'uuid[]'), ['1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b', 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', null])
})

t.test('text: quotes, backslashes, commas, braces, blanks, NULL-looking strings and NULL', async t => {
  const texts = ['positive', '"quoted"', 'back\\slash', 'comma, {brace}', '', ' padded ', 'NULL', 'null', 'ünïcödé ✓ 🎙️', "it's", '\\"', null]
  t.same(await parsed(textArray(texts), 'text[]'), texts, 'byte for byte')
})

t.test('empty arrays', async t => {
  t.same(await parsed(numberArray([]), 'int8[]'), [])
  t.same(await parsed(booleanArray([]), 'bool[]'), [])
  t.same(await parsed(uuidArray([]), 'uuid[]'), [])
  t.same(await parsed(textArray([]), 'text[]'), [])
})
