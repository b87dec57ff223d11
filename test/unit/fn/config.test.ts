import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  configKeys,
  functionConfigKeys,
  joinWorkflowDocuments,
  loadWorkflows,
  parseConfig,
  splitWorkflowDocuments,
} from '#shared/config.ts';
import { ConfigError } from '#shared/errors.ts';
import { functionNames } from '#shared/wiring.ts';

const valid = {
  DACFLOW_STATE_BUCKET: 'dacflow-state',
  DACFLOW_PIPELINE_TOPIC_ID: 'ocid1.onstopic.oc1.us-chicago-1.pipeline',
  DACFLOW_VALIDATE_DATASET_TOPIC_ID: 'ocid1.onstopic.oc1.us-chicago-1.validate',
  DACFLOW_START_FINETUNE_TOPIC_ID: 'ocid1.onstopic.oc1.us-chicago-1.start',
  DACFLOW_DEPLOY_ENDPOINT_TOPIC_ID: 'ocid1.onstopic.oc1.us-chicago-1.deploy',
  DACFLOW_COMPARTMENT_ID: 'ocid1.compartment.oc1..dacflow',
  DACFLOW_WORKFLOWS: 'name: a\n',
  PATH: '/usr/bin',
};

function configError(env: Record<string, string>): ConfigError {
  try {
    parseConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('parses a valid environment into a frozen object with defaults', () => {
    const c = parseConfig(valid);
    expect(c).toEqual({
      stateBucket: 'dacflow-state',
      stateNamespace: undefined,
      pipelineTopicId: 'ocid1.onstopic.oc1.us-chicago-1.pipeline',
      validateDatasetTopicId: 'ocid1.onstopic.oc1.us-chicago-1.validate',
      startFinetuneTopicId: 'ocid1.onstopic.oc1.us-chicago-1.start',
      deployEndpointTopicId: 'ocid1.onstopic.oc1.us-chicago-1.deploy',
      compartmentId: 'ocid1.compartment.oc1..dacflow',
      workflowsYaml: 'name: a\n',
      ociEndpoint: undefined,
      logLevel: 'info',
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('names every missing required variable', () => {
    const err = configError({ PATH: '/x' });
    expect(err.code).toBe('CONFIG_INVALID');
    for (const k of [
      'DACFLOW_STATE_BUCKET',
      'DACFLOW_PIPELINE_TOPIC_ID',
      'DACFLOW_COMPARTMENT_ID',
      'DACFLOW_WORKFLOWS',
    ]) {
      expect(err.message).toContain(`${k}: is required`);
    }
  });

  it('rejects unknown DACFLOW_ variables and bad values, naming them', () => {
    const err = configError({
      ...valid,
      DACFLOW_STATE_BUKET: 'typo',
      DACFLOW_LOG_LEVEL: 'verbose',
      DACFLOW_OCI_ENDPOINT: 'not a url',
    });
    expect(err.message).toContain('DACFLOW_STATE_BUKET: unknown variable');
    expect(err.message).toContain('DACFLOW_LOG_LEVEL:');
    expect(err.message).toContain('DACFLOW_OCI_ENDPOINT:');
    expect(err.context.variables).toEqual([
      'DACFLOW_STATE_BUKET',
      'DACFLOW_OCI_ENDPOINT',
      'DACFLOW_LOG_LEVEL',
    ]);
  });

  it('treats an empty optional value as unset', () => {
    expect(parseConfig({ ...valid, DACFLOW_OCI_ENDPOINT: '' }).ociEndpoint).toBeUndefined();
  });

  it('lists keys for every function, all of them known', () => {
    expect(Object.keys(functionConfigKeys).sort()).toEqual([...functionNames].sort());
    for (const keys of Object.values(functionConfigKeys)) {
      for (const k of keys) expect(configKeys).toContain(k);
    }
  });
});

describe('workflow documents', () => {
  it('splits a YAML stream and joins it back', () => {
    const joined = joinWorkflowDocuments(['name: a\nx: 1\n', '---\nname: b\n']);
    expect(joined).toBe('name: a\nx: 1\n---\nname: b\n');
    expect(splitWorkflowDocuments(joined).map((f) => [f.fileName, f.text.trim()])).toEqual([
      ['DACFLOW_WORKFLOWS#0', 'name: a\nx: 1'],
      ['DACFLOW_WORKFLOWS#1', 'name: b'],
    ]);
    expect(splitWorkflowDocuments('---\n# only a comment\n---\nname: c\n')).toHaveLength(1);
  });

  it('surfaces schema errors from loadWorkflows', () => {
    expect(() => loadWorkflows(parseConfig({ ...valid, DACFLOW_WORKFLOWS: 'name: 3\n' }))).toThrow(
      /DACFLOW_WORKFLOWS#0/,
    );
  });

  const examples = join(import.meta.dirname, '../../../workflows/examples');
  const files = existsSync(examples)
    ? readdirSync(examples).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    : [];
  it.runIf(files.length > 0)(
    'loads the shipped example workflows through DACFLOW_WORKFLOWS',
    () => {
      const texts = files.map((f) => readFileSync(join(examples, f), 'utf8'));
      const wf = loadWorkflows(
        parseConfig({ ...valid, DACFLOW_WORKFLOWS: joinWorkflowDocuments(texts) }),
      );
      expect(wf).toHaveLength(files.length);
    },
  );
});
