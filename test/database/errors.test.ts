import t from 'tap'
import { classifyFailure, failureLabel } from '../../src/database/errors.js'

t.test('classifyFailure: what a failed flush means for its events', async t => {
  const cases: Array<[unknown, string]> = [
    [{ code: '40P01' }, 'contention'],
    [{ code: '40001' }, 'contention'],
    [{ code: 'ECONNREFUSED' }, 'unavailable'],
    [{ code: 'CONNECTION_CLOSED' }, 'unavailable'],
    [{ code: '08006' }, 'unavailable'],
    [{ code: '57P01' }, 'unavailable'],
    [{ code: '53300' }, 'unavailable'],
    [{ code: '23505' }, 'poison'],
    [{ code: '23514' }, 'poison'],
    [{ code: '23514', message: 'new row for relation "user_metrics_p20261202" violates check constraint "user_metrics_talked_time_check"' }, 'poison'],
    // Still no partition after the writer tried to make one: the database's problem, not the row's.
    [{ code: '23514', message: 'no partition of relation "user_metrics" found for row' }, 'unavailable'],
    [{ code: '22P02' }, 'poison'],
    [{ code: 'P0001' }, 'poison'],
    [{ code: '42601' }, 'rejected'],
    [{ code: '42501' }, 'rejected'],
    [new Error('no code'), 'rejected'],
    [null, 'rejected']
  ]
  for (const [err, expected] of cases) t.equal(classifyFailure(err), expected, JSON.stringify(err))
})

t.test('failureLabel: SQLSTATE class or client code, never anything unbounded', async t => {
  t.equal(failureLabel({ code: '23505' }), '23')
  t.equal(failureLabel({ code: 'ECONNREFUSED' }), 'econnrefused')
  t.equal(failureLabel(new Error('x')), 'unknown')
})
