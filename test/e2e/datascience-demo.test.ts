/**
 * `npm start -- --backend datascience` as a user runs it: the built CLI's demo drives the Data
 * Science path on the embedded emulator with the real functions under the FDK, from the upload
 * to a model deployment that answers a signed predict, then autoscales that deployment's instance
 * count from its own metrics' alarms through the real scale-dac function, and exits 0.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const root = join(import.meta.dirname, '../..');
const cli = join(root, 'dist/cli/dacflow.js');

test('dacflow demo --backend datascience reaches SERVING and INVALID, answers predict, then scales', () => {
  expect(existsSync(cli), 'dist/ is built by `npm install` (prepare) or `npm run build`').toBe(
    true,
  );
  const res = spawnSync(
    process.execPath,
    [cli, 'demo', '--backend', 'datascience', '--timeout', '150'],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: 170_000,
    },
  );
  const out = res.stdout;
  expect(res.status, `${out}\n${res.stderr}`).toBe(0);
  // The run's transitions, in order, for the good dataset.
  const good = out
    .split('\n')
    .filter((l) => /run \S+ \(finance-qa-/.test(l))
    .map((l) => /: (\S+ -> \S+)/.exec(l)?.[1]);
  expect(good).toEqual([
    'RECEIVED -> VALIDATING',
    'VALIDATING -> VALID',
    'VALID -> TRAINING',
    'TRAINING -> TRAINED',
    'TRAINED -> DEPLOYING',
    'DEPLOYING -> SERVING',
  ]);
  expect(out).toMatch(/run \S+ \(broken-\S+\): VALIDATING -> INVALID \(40 valid examples/);
  // The job run's and the deployment's own OCI states, as the Data Science API reports them.
  const oci = out
    .split('\n')
    .map((l) => /^\[\s*[\d.]+s\] {3}(job run|model deployment) …\w+: (\w+)/.exec(l))
    .filter((m) => m !== null)
    .map((m) => `${m[1]} ${m[2]}`);
  expect(oci).toEqual(expect.arrayContaining(['job run IN_PROGRESS', 'job run SUCCEEDED']));
  expect(oci.indexOf('job run SUCCEEDED')).toBeGreaterThan(oci.indexOf('job run IN_PROGRESS'));
  expect(oci.slice(-2)).toEqual(['model deployment CREATING', 'model deployment ACTIVE']);
  expect(out).toMatch(
    /predict: POST http:\/\/127\.0\.0\.1:\d+\/md\/ocid1\.datasciencemodeldeployment\.\S+\/predict /,
  );
  expect(out).toContain('predict answered 200: "Emulated reply to: What is a bond coupon?"');
  expect(out).toMatch(
    /is SERVING on model deployment ocid1\.datasciencemodeldeployment\.\S+ \(ACTIVE\)/,
  );
  // The burst: scale-dac adds instances (a workflow alarm split per deployment names it), notifies
  // with the instance count and cost, and removes instances once demand falls.
  expect(out).toMatch(/scale-dac set model deployment …\w+ to 2 instances \(was 1\)/);
  expect(out).toMatch(
    /notification: dacflow aqua-llama: model deployment SCALE_UP 1->2 instances \(\+\$1,500\/month\)/,
  );
  expect(out).toMatch(
    /done: scaled 1 -> [2-4] instances under the burst and back to [1-3] after it/,
  );
  // The demo's own datasets never leak into what it prints beyond names and counts.
  expect(out).not.toContain('face value');
}, 180_000);

test('dacflow demo rejects an unknown backend with a usage error', () => {
  const res = spawnSync(process.execPath, [cli, 'demo', '--backend', 'sagemaker'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(res.status).toBe(2);
  expect(res.stderr).toContain('--backend must be genai or datascience, got "sagemaker"');
  expect(res.stdout).toBe('');
});
