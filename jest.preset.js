/**
 * The one jest preset every workspace uses: TypeScript ESM through @swc/jest.
 * Tests import sources as `../src/x.js` (mapped to the .ts file) and other
 * workspaces by package name (their built `dist/`, which turbo builds first).
 */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022', keepClassNames: true },
      module: { type: 'es6' }
    }]
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 60_000
}
