import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { launchArg, outputModelIdOf, splitCommandLine } from '#local/emulator/datascience-core.ts';
import {
  aquaLoraDefaults,
  defaultContainerImages,
  deploymentConfig,
  ftArguments,
  jobConfigHash,
  jobDisplayName,
  jobRetryToken,
  jobRunSpec,
  jobSpec,
  launchCommand,
  outputModelOf,
  outputModelRetryToken,
  predictUrlOf,
  shellWord,
  type JobInputs,
} from '#shared/pipeline/datascience-launch.ts';
import { retryTokenFor, retryTokenPattern } from '#workflows/run-id.ts';

const job: JobInputs = {
  workflow: 'aqua-llama',
  compartmentId: 'ocid1.compartment.oc1..c',
  projectId: 'ocid1.datascienceproject.oc1.iad.p',
  image: defaultContainerImages.finetune,
  shape: 'VM.GPU.A10.2',
  replicas: 1,
  blockStorageGb: 256,
};

const dataset = { namespace: 'ns', bucket: 'data', object: 'train/set.jsonl', etag: 'e1' };

describe('AIP_SMC_FT_ARGUMENTS', () => {
  test('names the base and output catalog models, as AQUA does', () => {
    expect(JSON.parse(ftArguments('base', 'out'))).toEqual({
      baseModel: { type: 'modelCatalog', modelId: 'base' },
      outputModel: { type: 'modelCatalog', modelId: 'out' },
    });
  });

  test('reads back the output model, and nothing from junk', () => {
    expect(outputModelOf({ AIP_SMC_FT_ARGUMENTS: ftArguments('b', 'o') })).toBe('o');
    expect(outputModelOf({ AIP_SMC_FT_ARGUMENTS: '{not json' })).toBeUndefined();
    expect(outputModelOf({ AIP_SMC_FT_ARGUMENTS: '{"outputModel":{"modelId":""}}' })).toBe(
      undefined,
    );
    expect(outputModelOf(undefined)).toBeUndefined();
  });
});

describe('OCI__LAUNCH_CMD', () => {
  test('passes AQUA flag names for every given parameter, LoRA defaults when unset', () => {
    const cmd = launchCommand({
      trainingData: 'oci://data@ns/train/set.jsonl',
      outputDir: 'oci://out@ns/w/r1/',
      training: {
        epochs: 3,
        learning_rate: 0.0002,
        batch_size: 4,
        sequence_len: 2048,
        validation_set_size: 0.1,
      },
    });
    expect(cmd).toBe(
      '--training_data oci://data@ns/train/set.jsonl --output_dir oci://out@ns/w/r1/' +
        ' --val_set_size 0.1 --num_epochs 3 --learning_rate 0.0002 --micro_batch_size 4' +
        ' --sequence_len 2048 --lora_r 32 --lora_alpha 16 --lora_dropout 0.05',
    );
  });

  test('leaves unset optional parameters to the container and keeps given LoRA values', () => {
    const cmd = launchCommand({
      trainingData: 'oci://d@ns/x.jsonl',
      outputDir: 'oci://o@ns/w/r/',
      training: { epochs: 1, lora_r: 8, lora_alpha: 32, lora_dropout: 0 },
    });
    expect(cmd).not.toMatch(/val_set_size|learning_rate|micro_batch_size|sequence_len/);
    expect(launchArg(cmd, 'lora_r')).toBe('8');
    expect(launchArg(cmd, 'lora_alpha')).toBe('32');
    expect(launchArg(cmd, 'lora_dropout')).toBe('0');
  });

  test('writes tiny learning rates without an exponent', () => {
    const cmd = launchCommand({
      trainingData: 'oci://d@ns/x',
      outputDir: 'oci://o@ns/',
      training: { epochs: 1, learning_rate: 1e-7 },
    });
    expect(launchArg(cmd, 'learning_rate')).toBe('0.0000001');
  });

  test.prop([fc.string({ minLength: 1, maxLength: 60 })])(
    'any object name survives the container splitting the command line',
    (name) => {
      const data = `oci://data@ns/${name}`;
      const cmd = launchCommand({
        trainingData: data,
        outputDir: 'oci://o@ns/w/r/',
        training: { epochs: 1 },
      });
      expect(launchArg(cmd, 'training_data')).toBe(data);
      expect(launchArg(cmd, 'num_epochs')).toBe('1');
    },
  );

  test('quotes only what needs quoting', () => {
    expect(shellWord('oci://b@ns/a/b.jsonl')).toBe('oci://b@ns/a/b.jsonl');
    expect(shellWord('a b')).toBe("'a b'");
    expect(splitCommandLine(shellWord(`it's "x" $HOME`))).toEqual([`it's "x" $HOME`]);
  });
});

describe('the job', () => {
  test('uses managed egress without a subnet, customer networking and logging with one', () => {
    const plain = jobSpec(job);
    expect(plain.jobInfrastructureConfigurationDetails).toEqual({
      jobInfrastructureType: 'ME_STANDALONE',
      shapeName: 'VM.GPU.A10.2',
      blockStorageSizeInGBs: 256,
    });
    expect(plain.jobLogConfigurationDetails).toBeUndefined();
    expect(plain.jobEnvironmentConfigurationDetails).toEqual({
      jobEnvironmentType: 'OCIR_CONTAINER',
      image: defaultContainerImages.finetune,
    });
    const multi = jobSpec({
      ...job,
      replicas: 2,
      subnetId: 'ocid1.subnet.oc1..s',
      logGroupId: 'ocid1.loggroup.oc1..l',
    });
    expect(multi.jobInfrastructureConfigurationDetails).toEqual({
      jobInfrastructureType: 'STANDALONE',
      shapeName: 'VM.GPU.A10.2',
      subnetId: 'ocid1.subnet.oc1..s',
      blockStorageSizeInGBs: 256,
    });
    expect(multi.jobLogConfigurationDetails).toEqual({
      enableLogging: true,
      enableAutoLogCreation: true,
      logGroupId: 'ocid1.loggroup.oc1..l',
    });
    expect(multi.jobConfigurationDetails.environmentVariables).toEqual({ replica: '2' });
  });

  test('a configuration change is a new job; the same configuration is the same job', () => {
    const h = jobConfigHash(job);
    expect(jobConfigHash({ ...job })).toBe(h);
    for (const change of [
      { shape: 'VM.GPU.A10.1' },
      { blockStorageGb: 512 },
      { image: 'other' },
      { workflow: 'other' },
      { subnetId: 'ocid1.subnet.oc1..s' },
    ]) {
      expect(jobConfigHash({ ...job, ...change })).not.toBe(h);
    }
    expect(jobDisplayName(job.workflow, h)).toBe(`dacflow-aqua-llama-ft-${h.slice(0, 8)}`);
    expect(jobSpec(job).freeformTags).toEqual({
      dacflowWorkflow: 'aqua-llama',
      dacflowJobConfig: h,
    });
  });

  test('every create token is a valid OCI retry token', () => {
    const train = retryTokenFor('r0123456789abcdef0123', 'train', 12345);
    expect(outputModelRetryToken(train)).toMatch(retryTokenPattern);
    expect(jobRetryToken(jobConfigHash(job))).toMatch(retryTokenPattern);
  });
});

describe('the job run', () => {
  test('carries both AQUA variables, the run id and the output model', () => {
    const spec = jobRunSpec({
      runId: 'r1',
      workflow: 'w',
      dataset,
      outputBucket: 'results',
      baseModelId: 'base',
      outputModelId: 'out',
      training: { epochs: 2 },
    });
    expect(spec.displayName).toBe('dacflow-r1');
    expect(spec.freeformTags).toEqual({
      dacflowRunId: 'r1',
      dacflowWorkflow: 'w',
      dacflowOutputModelId: 'out',
    });
    const env = spec.jobConfigurationOverrideDetails.environmentVariables;
    expect(outputModelIdOf(env)).toBe('out');
    const cmd = env.OCI__LAUNCH_CMD!;
    expect(launchArg(cmd, 'training_data')).toBe('oci://data@ns/train/set.jsonl');
    expect(launchArg(cmd, 'output_dir')).toBe('oci://results@ns/w/r1/');
    expect(launchArg(cmd, 'lora_r')).toBe(String(aquaLoraDefaults.lora_r));
  });
});

describe('the model deployment', () => {
  const deployment = {
    shape: 'VM.GPU.A10.1',
    instanceCount: 2,
    container: 'vllm' as const,
    bandwidthMbps: 10,
  };

  test('serves the output model with the chosen container, shape, count and bandwidth', () => {
    const c = deploymentConfig({ modelId: 'm', deployment, images: defaultContainerImages });
    expect(c.modelConfigurationDetails).toEqual({
      modelId: 'm',
      instanceConfiguration: { instanceShapeName: 'VM.GPU.A10.1' },
      scalingPolicy: { policyType: 'FIXED_SIZE', instanceCount: 2 },
      bandwidthMbps: 10,
    });
    expect(c.environmentConfigurationDetails.image).toBe(defaultContainerImages.vllm);
    expect(c.environmentConfigurationDetails.environmentVariables).toMatchObject({
      MODEL_DEPLOY_PREDICT_ENDPOINT: '/v1/completions',
      MODEL_DEPLOY_ENABLE_STREAMING: 'true',
    });
    const tgi = deploymentConfig({
      modelId: 'm',
      deployment: { ...deployment, container: 'tgi' },
      images: { ...defaultContainerImages, tgi: 'my/tgi:1' },
    });
    expect(tgi.environmentConfigurationDetails.image).toBe('my/tgi:1');
  });

  test('the predict URL is the deployment URL plus /predict', () => {
    expect(predictUrlOf('https://md.example/ocid1.x')).toBe('https://md.example/ocid1.x/predict');
    expect(predictUrlOf('https://md.example/ocid1.x/')).toBe('https://md.example/ocid1.x/predict');
  });
});
