import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'coverage/**', '.tap/**', '.data/**', 'bench/results/**'] }),
  {
    rules: {
      // `export const Outcome = {…} as const` beside `export type Outcome` is our enum pattern
      // (src/errors.ts ErrorCode, src/config.ts AckMode); the compiler already rejects real redeclarations.
      '@typescript-eslint/no-redeclare': 'off'
    }
  }
]
