import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '#cli/dacflow.ts';
import { DoctorInputError } from '#shared/doctor/errors.ts';
import { readEnvFile, readLocalStack, workflowsFromEnv } from '#shared/doctor/inputs.ts';
import { diffJson } from '#shared/doctor/json-diff.ts';
import { exitCodeFor, fail, ok, warn } from '#shared/doctor/types.ts';
import { checkWorkflowFiles } from '#shared/doctor/workflows.ts';

const dir = mkdtempSync(join(tmpdir(), 'dacflow-doctor-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const wf = (name: string, prefix: string) => `name: ${name}
backend: genai
trigger: { bucket: b, prefix: ${prefix} }
genai:
  baseModel: m
  trainingConfig: { trainingConfigType: TFEW_TRAINING_CONFIG }
  fineTuningCluster: ft
  hostingClusters: [h]
  endpoint: { contentModeration: { isEnabled: false } }
`;

describe('checkWorkflowFiles', () => {
  it('is ok with the names and triggers of valid workflows', () => {
    const r = checkWorkflowFiles([{ fileName: 'a.yaml', text: wf('wa', 'in/a/') }], 'x');
    expect(r.findings).toEqual([ok('workflows', '1 workflow from x parse: wa')]);
    expect(r.triggers).toEqual([{ name: 'wa', bucket: 'b', prefix: 'in/a/', backend: 'genai' }]);
  });

  it('fails a file that does not parse, naming the field', () => {
    const r = checkWorkflowFiles([{ fileName: 'bad.yaml', text: wf('wa', 'dacflow/state/') }], 'x');
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]!.status).toBe('fail');
    expect(r.findings[0]!.message).toContain(
      'workflow does not parse: bad.yaml: trigger.prefix: must not overlap',
    );
    expect(r.findings[0]!.fix).toContain('dacflow workflow check bad.yaml');
  });

  it('fails overlapping workflows and an empty set', () => {
    const r = checkWorkflowFiles(
      [
        { fileName: 'a.yaml', text: wf('wa', 'in/') },
        { fileName: 'b.yaml', text: wf('wb', 'in/b/') },
      ],
      'x',
    );
    expect(r.findings.map((f) => f.status)).toEqual(['fail']);
    expect(r.findings[0]!.message).toContain('overlaps');
    expect(checkWorkflowFiles([], 'y').findings[0]!.message).toBe('y holds no workflow document');
  });
});

describe('inputs', () => {
  it('reads DACFLOW_WORKFLOWS (several documents) from an env file', () => {
    const path = join(dir, 'fn.env');
    const yaml = `${wf('wa', 'in/a/')}---\n${wf('wb', 'in/b/')}`;
    writeFileSync(path, `DACFLOW_STATE_BUCKET=b\nDACFLOW_WORKFLOWS="${yaml}"\n`);
    const env = readEnvFile(path);
    expect(env.DACFLOW_STATE_BUCKET).toBe('b');
    const files = workflowsFromEnv(env, path);
    expect(checkWorkflowFiles(files, 'env').triggers.map((t) => t.name)).toEqual(['wa', 'wb']);
  });

  it('rejects unknown DACFLOW_ variables and a missing DACFLOW_WORKFLOWS', () => {
    const path = join(dir, 'bad.env');
    writeFileSync(path, 'DACFLOW_WORKFLOW=x\n');
    expect(() => readEnvFile(path)).toThrow(/unknown variable DACFLOW_WORKFLOW /);
    expect(() => workflowsFromEnv({}, path)).toThrow(DoctorInputError);
  });

  it('rejects a missing or malformed local.json, naming the field', () => {
    expect(() => readLocalStack(join(dir, 'none'))).toThrow(/is `dacflow local --data-dir/);
    writeFileSync(join(dir, 'local.json'), JSON.stringify({ endpoints: {} }));
    expect(() => readLocalStack(dir)).toThrow(/configFile/);
  });
});

describe('diffJson and exit codes', () => {
  it('lists each differing path', () => {
    expect(diffJson({ a: 1, b: { c: 'x' }, d: [1] }, { a: 1, b: { c: 'y' }, e: true })).toEqual([
      'b.c is "x", expected "y"',
      'd is [1], expected no such field',
      'e is missing, expected true',
    ]);
    expect(diffJson(['a', 'b'], ['b', 'a'])).toEqual([]);
  });

  it('exits 1 only when something failed', () => {
    expect(exitCodeFor([ok('bucket', 'm'), warn('bucket', 'm', 'f')])).toBe(0);
    expect(exitCodeFor([warn('bucket', 'm', 'f'), fail('bucket', 'm', 'f')])).toBe(1);
  });
});

describe('dacflow doctor usage errors (exit 2)', () => {
  const run = async (args: string[]) => {
    let err = '';
    const code = await main(['doctor', ...args], {
      stdout: { write: () => true },
      stderr: { write: (s: string) => (err += s) },
    });
    return { code, err };
  };

  it('refuses --data-dir together with tenancy options', async () => {
    const r = await run(['--data-dir', dir, '--compartment', 'ocid1.compartment.oc1..x']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('give one or the other');
  });

  it('needs a bucket and workflows for a tenancy', async () => {
    expect((await run(['--compartment', 'c'])).err).toContain('give --bucket NAME');
    expect((await run(['--compartment', 'c', '--bucket', 'b'])).err).toContain(
      'give the workflows',
    );
  });

  it('exits 2 with a clear message when local.json is missing', async () => {
    const r = await run(['--data-dir', join(dir, 'nothing-here')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^dacflow doctor: cannot read .*local\.json/);
  });
});
