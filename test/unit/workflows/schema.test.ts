import { defaultScalingPolicy } from '#shared/scaling/policy.ts';
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import {
  checkWorkflow,
  checkWorkflows,
  isOcid,
  parseWorkflow,
  parseWorkflows,
  triggersOverlap,
  workflowKeyPaths,
} from '#workflows/schema.ts';
import { WorkflowError, formatIssue, type WorkflowIssue } from '#workflows/errors.ts';
import { notifyEvents, RunState } from '#workflows/machine.ts';

const examples = [
  'workflows/examples/genai-support-bot.yaml',
  'workflows/examples/aqua-llama.yaml',
];

type Doc = Record<string, unknown>;

function genaiDoc(): Doc {
  return {
    name: 'bot',
    backend: 'genai',
    trigger: { bucket: 'data', prefix: 'datasets/bot/' },
    genai: {
      baseModel: 'meta.llama-3.3-70b-instruct',
      trainingConfig: { trainingConfigType: 'LORA_TRAINING_CONFIG', loraR: 8 },
      fineTuningCluster: 'ft',
      hostingClusters: ['hosting'],
      endpoint: { contentModeration: { isEnabled: false } },
    },
  };
}

function dsDoc(): Doc {
  return {
    name: 'aqua',
    backend: 'datascience',
    trigger: { bucket: 'data', prefix: 'datasets/aqua/' },
    datascience: {
      projectId: 'ocid1.datascienceproject.oc1.iad.aaaa',
      baseModel: 'Meta-Llama-3.1-8B-Instruct',
      shape: 'VM.GPU.A10.2',
      training: { epochs: 2 },
      outputBucket: 'models',
      deployment: { shape: 'VM.GPU.A10.1' },
    },
  };
}

/** Sets `value` at dotted `path` (creating objects), or deletes it when value is undefined. */
function withField(doc: Doc, path: string, value: unknown): Doc {
  const copy = structuredClone(doc);
  const keys = path.split('.');
  let node = copy as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) {
    node[k] ??= {};
    node = node[k] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

function issuesOf(doc: Doc | string, file = 'w.yaml'): WorkflowIssue[] {
  const r = checkWorkflow(typeof doc === 'string' ? doc : stringify(doc), file);
  return r.ok ? [] : r.issues;
}

function paths(doc: Doc | string): string[] {
  return issuesOf(doc).map((i) => i.path);
}

describe('shipped examples', () => {
  test.each(examples)('%s parses', (file) => {
    const w = parseWorkflow(readFileSync(file, 'utf8'), file);
    expect(w.name).toMatch(/^[a-z]/);
    expect(Object.isFrozen(w)).toBe(true);
    expect(Object.isFrozen(w.trigger)).toBe(true);
  });

  test('one example per backend, together without overlaps', () => {
    const ws = parseWorkflows(
      examples.map((f) => ({ fileName: f, text: readFileSync(f, 'utf8') })),
    );
    expect(ws.map((w) => w.backend).sort()).toEqual(['datascience', 'genai']);
  });
});

describe('defaults', () => {
  test('genai: genai format, 32 examples, 1 MiB lines, retire superseded, 60 s poll', () => {
    const w = parseWorkflow(stringify(genaiDoc()), 'w.yaml');
    expect(w.dataset).toEqual({ format: 'genai', minExamples: 32, maxLineBytes: 1048576 });
    expect(w.genai?.endpoint.retireSuperseded).toBe(true);
    expect(w.pollIntervalSec).toBe(60);
    expect(w.notifications).toEqual({});
    expect(w.autoscaling).toBeUndefined();
  });

  test('datascience: aqua format and AQUA job defaults', () => {
    const w = parseWorkflow(stringify(dsDoc()), 'w.yaml');
    expect(w.dataset.format).toBe('aqua');
    expect(w.datascience).toMatchObject({
      replicas: 1,
      blockStorageGb: 256,
      deployment: { instanceCount: 1, container: 'vllm', bandwidthMbps: 10 },
    });
  });

  test('autoscaling defaults are the scaling policy defaults', () => {
    const w = parseWorkflow(
      stringify(withField(genaiDoc(), 'autoscaling', { minUnits: 1, maxUnits: 5 })),
      'w.yaml',
    );
    const {
      minUnits: _min,
      maxUnits: _max,
      maxMonthlyCostUsd: _cap,
      ...policyDefaults
    } = defaultScalingPolicy;
    expect(w.autoscaling).toEqual({
      ...policyDefaults,
      minUnits: 1,
      maxUnits: 5,
      utilization: { source: 'derived' },
    });
    // The product notes' thresholds that the policy keeps as they are.
    expect(w.autoscaling).toMatchObject({ latencyP99ThresholdMs: 5000, lowUtilizationPct: 30 });
  });

  test('pinned images: dsmc:// families and OCIR paths with a tag or a digest', () => {
    for (const [path, image] of [
      ['datascience.trainingImage', 'dsmc://odsc-llm-fine-tuning:1.1.37'],
      ['datascience.trainingImage', 'iad.ocir.io/ns/llm-ft:2.0'],
      ['datascience.deployment.image', `us-ashburn-1.ocir.io/ns/vllm@sha256:${'a'.repeat(64)}`],
    ] as const) {
      expect(issuesOf(withField(dsDoc(), path, image))).toEqual([]);
    }
  });

  test("a model deployment's utilization defaults to its own GPU metric; a named one is kept", () => {
    const w = parseWorkflow(
      stringify(withField(dsDoc(), 'autoscaling', { minUnits: 1, maxUnits: 3 })),
      'w.yaml',
    );
    expect(w.autoscaling?.utilization).toEqual({ source: 'metric', metric: 'GPUCoreUtilization' });
    const named = parseWorkflow(
      stringify(
        withField(dsDoc(), 'autoscaling', {
          minUnits: 1,
          maxUnits: 3,
          utilization: { source: 'metric', metric: 'CpuUtilization' },
        }),
      ),
      'w.yaml',
    );
    expect(named.autoscaling?.utilization).toEqual({ source: 'metric', metric: 'CpuUtilization' });
  });
});

describe('unknown keys', () => {
  test('a misspelt training field is named with its path, line and column', () => {
    const text = readFileSync(examples[0]!, 'utf8').replace('loraR: 8', 'loraRr: 8');
    const line = text.split('\n').findIndex((l) => l.includes('loraRr')) + 1;
    const err = (() => {
      try {
        parseWorkflow(text, 'workflows/a.yaml');
      } catch (e) {
        return e;
      }
      throw new Error('expected a WorkflowError');
    })();
    expect(err).toBeInstanceOf(WorkflowError);
    const we = err as WorkflowError;
    expect(we.code).toBe('WORKFLOW_INVALID');
    expect(we.retryable).toBe(false);
    expect(we.message).toBe(
      `workflows/a.yaml: genai.trainingConfig.loraRr: unknown key (line ${line}, column 5)`,
    );
  });

  test('unknown keys at the top and in nested sections', () => {
    expect(paths(withField(genaiDoc(), 'trgger', {}))).toEqual(['trgger']);
    expect(paths(withField(genaiDoc(), 'genai.endpoint.contentModeration.moed', 'BLOCK'))).toEqual([
      'genai.endpoint.contentModeration.moed',
    ]);
    expect(paths(withField(dsDoc(), 'datascience.training.lora_rank', 8))).toEqual([
      'datascience.training.lora_rank',
    ]);
  });

  test('a field of another training method is unknown', () => {
    const doc = withField(genaiDoc(), 'genai.trainingConfig', {
      trainingConfigType: 'TFEW_TRAINING_CONFIG',
      loraR: 8,
    });
    expect(paths(doc)).toEqual(['genai.trainingConfig.loraR']);
  });
});

describe('field rules', () => {
  test.each([
    ['name', 'Bad_Name'],
    ['name', 'a'],
    ['backend', 'sagemaker'],
    ['trigger.prefix', 'datasets/bot'],
    ['trigger.prefix', '/datasets/'],
    ['trigger.prefix', 'data*/'],
    ['trigger.prefix', 'dacflow/state/x/'],
    ['trigger.prefix', 'dacflow/'],
    ['trigger.bucket', 'my bucket'],
    ['genai.trainingConfig.loraR', 65],
    ['genai.trainingConfig.loraR', 1.5],
    ['genai.trainingConfig.loraDropout', 1],
    ['genai.trainingConfig.learningRate', 0],
    ['genai.trainingConfig.totalTrainingEpochs', 0],
    ['genai.trainingConfig.trainingConfigType', 'LORA'],
    ['genai.hostingClusters', []],
    ['genai.endpoint.contentModeration.mode', 'WARN'],
    ['dataset.maxLineBytes', 10],
    ['pollIntervalSec', 30],
    ['notifications.events', ['TRAINING_DONE']],
    ['notifications.topicId', 'my-topic'],
  ])('%s = %j is rejected at its path', (path, value) => {
    const found = paths(withField(genaiDoc(), path, value));
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((p) => p === path || p.startsWith(path + '.'))).toBe(true);
  });

  test.each([
    ['datascience.training.validation_set_size', 1],
    ['datascience.projectId', 'my-project'],
    ['datascience.shape', 'A10'],
    ['datascience.deployment.container', 'triton'],
  ])('%s = %j is rejected at its path', (path, value) => {
    expect(paths(withField(dsDoc(), path, value))).toEqual([path]);
  });

  test('a missing required field says so', () => {
    const issues = issuesOf(withField(genaiDoc(), 'genai.baseModel', undefined));
    expect(issues.map((i) => [i.path, i.message])).toEqual([
      ['genai.baseModel', 'required (expected string)'],
    ]);
  });

  test('each training method accepts its own fields', () => {
    const vanilla = withField(genaiDoc(), 'genai.trainingConfig', {
      trainingConfigType: 'VANILLA_TRAINING_CONFIG',
      numOfLastLayers: 4,
      earlyStoppingPatience: 0,
      logModelMetricsIntervalInSteps: 0,
    });
    expect(parseWorkflow(stringify(vanilla), 'w.yaml').genai?.trainingConfig).toEqual({
      trainingConfigType: 'VANILLA_TRAINING_CONFIG',
      numOfLastLayers: 4,
      earlyStoppingPatience: 0,
      logModelMetricsIntervalInSteps: 0,
    });
    const lora64 = withField(genaiDoc(), 'genai.trainingConfig.loraR', 64);
    expect(issuesOf(lora64)).toEqual([]);
  });

  test('isOcid tells OCIDs from display names', () => {
    expect(isOcid('ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaa')).toBe(true);
    expect(isOcid('meta.llama-3.3-70b-instruct')).toBe(false);
  });
});

describe('cross-field rules', () => {
  test.each<[string, () => Doc, string]>([
    [
      'genai backend without a genai section',
      () => withField(genaiDoc(), 'genai', undefined),
      'genai',
    ],
    [
      'genai backend with a datascience section',
      () => ({ ...genaiDoc(), datascience: dsDoc()['datascience'] }),
      'datascience',
    ],
    [
      'datascience backend without its section',
      () => withField(dsDoc(), 'datascience', undefined),
      'datascience',
    ],
    [
      'aqua format on the genai backend',
      () => withField(genaiDoc(), 'dataset.format', 'aqua'),
      'dataset.format',
    ],
    [
      'fewer than 32 genai examples',
      () => withField(genaiDoc(), 'dataset.minExamples', 10),
      'dataset.minExamples',
    ],
    [
      'chat template on the genai format',
      () => withField(genaiDoc(), 'dataset.chatTemplate', 'llama2'),
      'dataset.chatTemplate',
    ],
    [
      'moderation mode while disabled',
      () => withField(genaiDoc(), 'genai.endpoint.contentModeration.mode', 'BLOCK'),
      'genai.endpoint.contentModeration.mode',
    ],
    [
      'a hosting cluster listed twice',
      () => withField(genaiDoc(), 'genai.hostingClusters', ['h', 'h']),
      'genai.hostingClusters.1',
    ],
    [
      'replicas without a subnet',
      () => withField(dsDoc(), 'datascience.replicas', 2),
      'datascience.subnetId',
    ],
    [
      'minUnits above maxUnits',
      () => withField(genaiDoc(), 'autoscaling', { minUnits: 5, maxUnits: 2, maxStepUnits: 1 }),
      'autoscaling.minUnits',
    ],
    [
      'low band not below the sustained-low band',
      () =>
        withField(genaiDoc(), 'autoscaling', { minUnits: 1, maxUnits: 4, lowUtilizationPct: 85 }),
      'autoscaling.lowUtilizationPct',
    ],
    [
      'sustained-low band not below the target',
      () =>
        withField(genaiDoc(), 'autoscaling', {
          minUnits: 1,
          maxUnits: 4,
          targetUtilizationPct: 50,
        }),
      'autoscaling.sustainedLowUtilizationPct',
    ],
    [
      'a cost cap below the minimum size',
      () =>
        withField(genaiDoc(), 'autoscaling', { minUnits: 4, maxUnits: 8, maxMonthlyCostUsd: 5000 }),
      'autoscaling.maxMonthlyCostUsd',
    ],
    [
      'a training image that is neither dsmc:// nor OCIR',
      () => withField(dsDoc(), 'datascience.trainingImage', 'docker.io/library/llm:latest'),
      'datascience.trainingImage',
    ],
    [
      'a serving image with a space',
      () => withField(dsDoc(), 'datascience.deployment.image', 'dsmc://odsc-vllm serving'),
      'datascience.deployment.image',
    ],
    [
      'derived utilization on a model deployment (no token metrics)',
      () =>
        withField(dsDoc(), 'autoscaling', {
          minUnits: 1,
          maxUnits: 4,
          utilization: { source: 'derived' },
        }),
      'autoscaling.utilization.source',
    ],
    [
      'a metric name MQL cannot hold',
      () =>
        withField(genaiDoc(), 'autoscaling', {
          minUnits: 1,
          maxUnits: 4,
          utilization: { source: 'metric', metric: 'Util}.mean() > 1' },
        }),
      'autoscaling.utilization.metric',
    ],
    [
      'a deployment size outside the autoscaling range',
      () => withField(dsDoc(), 'autoscaling', { minUnits: 2, maxUnits: 4, maxStepUnits: 1 }),
      'datascience.deployment.instanceCount',
    ],
  ])('%s', (_name, make, path) => {
    expect(paths(make())).toContain(path);
  });

  test('chat template is fine on the aqua format', () => {
    expect(issuesOf(withField(dsDoc(), 'dataset.chatTemplate', 'llama2'))).toEqual([]);
  });
});

describe('YAML errors', () => {
  test('a syntax error names line and column', () => {
    const text = 'name: bot\nbackend: genai\ntrigger:\n  bucket: [data\n  prefix: x/\n';
    const issues = issuesOf(text, 'w.yaml');
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]).toMatchObject({ file: 'w.yaml', path: '' });
    expect(issues[0]!.line).toBeGreaterThanOrEqual(4);
    expect(issues[0]!.column).toBeGreaterThanOrEqual(1);
    expect(formatIssue(issues[0]!)).toMatch(/^w\.yaml: YAML [A-Z_]+: .+ \(line \d+, column \d+\)$/);
  });

  test('a duplicate key is an error at its position', () => {
    const issues = issuesOf('name: bot\nname: other\n');
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ line: 2, column: 1 });
    expect(issues[0]!.message).toMatch(/DUPLICATE_KEY/);
  });

  test.each(['', '# only a comment\n', '- a\n- b\n', 'just text\n'])(
    'a document that is not a mapping (%j) is rejected',
    (text) => {
      expect(issuesOf(text).map((i) => i.message)).toEqual([
        'must be a YAML mapping (one workflow per file)',
      ]);
    },
  );

  test('the position of a bad value points at the value', () => {
    const text = stringify(withField(genaiDoc(), 'pollIntervalSec', 5));
    const line = text.split('\n').findIndex((l) => l.startsWith('pollIntervalSec')) + 1;
    expect(issuesOf(text)).toEqual([
      expect.objectContaining({ path: 'pollIntervalSec', line, column: 18 }),
    ]);
  });
});

describe('sets of workflows', () => {
  const file = (name: string, doc: Doc) => ({ fileName: name, text: stringify(doc) });

  test('two workflows with one name are rejected', () => {
    const b = withField(genaiDoc(), 'trigger.prefix', 'other/');
    const { setIssues } = checkWorkflows([file('a.yaml', genaiDoc()), file('b.yaml', b)]);
    expect(setIssues).toEqual([
      expect.objectContaining({
        file: 'b.yaml',
        path: 'name',
        message: expect.stringContaining('a.yaml'),
      }),
    ]);
  });

  test('nested prefixes in one bucket overlap; other buckets do not', () => {
    const b = withField(
      withField(genaiDoc(), 'name', 'bot-two'),
      'trigger.prefix',
      'datasets/bot/v2/',
    );
    expect(() => parseWorkflows([file('a.yaml', genaiDoc()), file('b.yaml', b)])).toThrow(
      /b\.yaml: trigger: overlaps a\.yaml/,
    );
    const c = withField(b, 'trigger.bucket', 'other-bucket');
    expect(parseWorkflows([file('a.yaml', genaiDoc()), file('c.yaml', c)])).toHaveLength(2);
  });

  test('triggersOverlap is symmetric and exact about siblings', () => {
    const t = (prefix: string) => ({ bucket: 'b', prefix });
    expect(triggersOverlap(t('a/'), t('a/b/'))).toBe(true);
    expect(triggersOverlap(t('a/b/'), t('a/'))).toBe(true);
    expect(triggersOverlap(t('a/'), t('ab/'))).toBe(false);
  });

  test('parseWorkflows lists the issues of every file', () => {
    const bad = withField(genaiDoc(), 'pollIntervalSec', 1);
    const bad2 = withField(dsDoc(), 'datascience.shape', 'x');
    try {
      parseWorkflows([file('a.yaml', bad), file('b.yaml', bad2)]);
      expect.unreachable();
    } catch (e) {
      expect((e as WorkflowError).issues.map((i) => `${i.file}:${i.path}`)).toEqual([
        'a.yaml:pollIntervalSec',
        'b.yaml:datascience.shape',
      ]);
      expect((e as WorkflowError).context).toEqual({ files: ['a.yaml', 'b.yaml'], issueCount: 2 });
    }
  });
});

describe('docs/workflows.md', () => {
  const docs = readFileSync('docs/workflows.md', 'utf8');
  const rows = [...docs.matchAll(/^\| `([a-zA-Z0-9_.]+)` \|/gm)].map((m) => m[1]!);

  test('the key walk sees nested, union and defaulted fields', () => {
    const keys = workflowKeyPaths();
    for (const k of [
      'genai.trainingConfig.loraR',
      'genai.trainingConfig.numOfLastLayers',
      'dataset.format',
      'autoscaling.utilization.metric',
      'notifications.events',
    ]) {
      expect(keys).toContain(k);
    }
  });

  test('every schema key has a row in the reference table, and every row is a key', () => {
    const keys = workflowKeyPaths();
    expect(keys.filter((k) => !rows.includes(k))).toEqual([]);
    expect(rows.filter((r) => !keys.includes(r))).toEqual([]);
  });

  test('names every notification event and every run state', () => {
    expect(notifyEvents.filter((e) => !docs.includes(`\`${e}\``))).toEqual([]);
    expect(Object.values(RunState).filter((st) => !docs.includes(st))).toEqual([]);
  });
});
