/**
 * StrykerJS settings shared by every package's stryker.config.mjs (`npm run test:mutation`):
 * the jest runner over the package's tests with the repository's one jest preset, Node's ESM
 * loader, and a JSON report per package under reports/mutation/. Not part of `npm test`: a
 * run re-runs the tests once per mutant.
 *
 * @param {string} name the report's file name (reports/mutation/<name>.json)
 * @param {string[]} mutate the source files to mutate, relative to the package
 * @param {string[]} [tests] the test files to run (default: every test of the package);
 *   a module with fast unit tests need not re-run the network tests for each mutant
 */
import preset from './jest.preset.js'

export function strykerConfig (name, mutate, tests) {
  const testMatch = tests == null ? preset.testMatch : tests.map(t => `<rootDir>/${t}`)
  return {
    testRunner: 'jest',
    jest: { projectType: 'custom', config: { ...preset, testMatch }, enableFindRelatedTests: false },
    testRunnerNodeArgs: ['--experimental-vm-modules', '--disable-warning=ExperimentalWarning'],
    mutate,
    coverageAnalysis: 'perTest',
    reporters: ['clear-text', 'progress', 'json'],
    jsonReporter: { fileName: `../../reports/mutation/${name}.json` },
    tempDirName: '.stryker-tmp',
    // the package's jest.config.js imports ../../jest.preset.js, which the sandbox copy cannot reach: the preset comes in above
    ignorePatterns: ['jest.config.js', 'dist'],
    concurrency: Number(process.env.STRYKER_CONCURRENCY ?? 2),
    timeoutMS: Number(process.env.STRYKER_TIMEOUT_MS ?? 5000),
    // a mutant's tests time out at factor × their time in the first (unmutated) run + timeoutMS;
    // raise it when the runs outnumber the cores, or slowed tests count as detected mutants
    timeoutFactor: Number(process.env.STRYKER_TIMEOUT_FACTOR ?? 1.5),
    ignoreStatic: true,
    cleanTempDir: 'always',
    thresholds: { high: 85, low: 75, break: null }
  }
}
