/**
 * The real scale-dac function, bundled as scripts/build.mjs bundles it and run under the real FDK
 * by the local runner, receiving an alarm the Monitoring emulator evaluated and Notifications
 * delivered (ORACLE_FUNCTIONS), and scaling the GenAI emulator's cluster through the SDK.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import * as common from 'oci-common';
import { MonitoringClient } from 'oci-monitoring';
import { NotificationControlPlaneClient, NotificationDataPlaneClient } from 'oci-ons';
import { ObjectStorageClient } from 'oci-objectstorage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { genAiService, type GenAiEmulatorService } from '#local/emulator/genai.ts';
import { startEmulator, type Emulator } from '#local/emulator/index.ts';
import { monitoringService, type MonitoringService } from '#local/emulator/monitoring.ts';
import { FunctionRunner } from '#local/runner/index.ts';
import { formatAlarmBody, ScalingRule } from '#shared/scaling/alarm.ts';

const root = join(import.meta.dirname, '../../..');
const FN_ID = 'ocid1.fnfunc.oc1.us-chicago-1.scale-dac-test';
// Monitoring's clock sits in the middle of a minute, so ingest and evaluation cannot straddle one.
const monitoringNowMs = Math.floor(Date.now() / 60_000) * 60_000 + 30_000;

let dir: string;
let emu: Emulator;
let genai: GenAiEmulatorService;
let mon: MonitoringService;
let runner: FunctionRunner;
let clusterId: string;
let pipelineTopic: string;

async function bundle(out: string): Promise<string> {
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: [join(root, 'functions/scale-dac/func.ts')],
    outfile: join(out, 'func.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    logLevel: 'warning',
    plugins: [
      {
        name: 'fetch-shim',
        setup(b) {
          b.onResolve({ filter: /^(isomorphic-fetch|node-fetch)$/ }, (a) => ({
            path: a.path,
            namespace: 'shim',
          }));
          b.onLoad({ filter: /.*/, namespace: 'shim' }, (a) => ({
            contents:
              a.path === 'isomorphic-fetch'
                ? ''
                : 'const f = (...a) => globalThis.fetch(...a); module.exports = f; module.exports.default = f;',
            loader: 'js',
          }));
        },
      },
    ],
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  });
  writeFileSync(join(out, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  copyFileSync(join(root, 'functions/scale-dac/func.yaml'), join(out, 'func.yaml'));
  return out;
}

const workflowYaml = `name: bot
backend: genai
trigger:
  bucket: datasets
  prefix: incoming/
genai:
  baseModel: cohere.command-r-08-2024
  trainingConfig:
    trainingConfigType: TFEW_TRAINING_CONFIG
  fineTuningCluster: ft-cluster
  hostingClusters: [hosting-fn]
  endpoint:
    contentModeration:
      isEnabled: false
autoscaling:
  minUnits: 1
  maxUnits: 4
  maxStepUnits: 2
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dacflow-scale-fn-'));
  const fnDir = await bundle(join(dir, 'scale-dac'));
  genai = genAiService({
    seedClusters: [
      { displayName: 'hosting-fn', type: 'HOSTING', unitShape: 'SMALL_COHERE_V2', unitCount: 1 },
    ],
    clusterUpdateMs: 200,
  });
  mon = monitoringService({ autoTick: false, now: () => new Date(monitoringNowMs) });
  emu = await startEmulator({
    dataDir: join(dir, 'emulator'),
    services: [genai, mon],
    autoConfirmEmail: true,
  });
  clusterId = genai.control.clusterIdByName('hosting-fn')!;
  const provider = new common.ConfigFileAuthenticationDetailsProvider(emu.configFile, emu.profile);
  const make = <T extends { endpoint: string }>(C: new (p: common.AuthParams) => T): T => {
    const c = new C({ authenticationDetailsProvider: provider });
    c.endpoint = emu.url;
    return c;
  };
  const onsCp = make(NotificationControlPlaneClient);
  const onsDp = make(NotificationDataPlaneClient);
  const topic = async (name: string, protocol: string, endpoint: string) => {
    const id = (
      await onsCp.createTopic({ createTopicDetails: { name, compartmentId: emu.compartmentId } })
    ).notificationTopic.topicId;
    await onsDp.createSubscription({
      createSubscriptionDetails: {
        topicId: id,
        compartmentId: emu.compartmentId,
        protocol,
        endpoint,
      },
    });
    return id;
  };
  const alarmsTopic = await topic('alarms', 'ORACLE_FUNCTIONS', FN_ID);
  pipelineTopic = await topic('pipeline', 'EMAIL', 'ops@example.com');
  await make(ObjectStorageClient).createBucket({
    namespaceName: emu.namespace,
    createBucketDetails: { name: 'state', compartmentId: emu.compartmentId },
  });
  runner = new FunctionRunner({
    name: 'scale-dac',
    dir: fnDir,
    functionId: FN_ID,
    env: {
      OCI_CONFIG_FILE: emu.configFile,
      OCI_CONFIG_PROFILE: emu.profile,
      DACFLOW_OCI_ENDPOINT: emu.url,
      DACFLOW_STATE_BUCKET: 'state',
      DACFLOW_STATE_NAMESPACE: emu.namespace,
      DACFLOW_PIPELINE_TOPIC_ID: pipelineTopic,
      DACFLOW_VALIDATE_DATASET_TOPIC_ID: pipelineTopic,
      DACFLOW_START_FINETUNE_TOPIC_ID: pipelineTopic,
      DACFLOW_DEPLOY_ENDPOINT_TOPIC_ID: pipelineTopic,
      DACFLOW_COMPARTMENT_ID: emu.compartmentId,
      DACFLOW_WORKFLOWS: workflowYaml,
      DACFLOW_LOG_LEVEL: 'warn',
    },
  });
  emu.setInvoker(async (id, body, headers) => {
    const r = await runner.invoke(body, headers);
    return { status: r.status, body: r.body };
  });
  await make(MonitoringClient).createAlarm({
    createAlarmDetails: {
      displayName: 'hosting-fn-latency-p99-high',
      compartmentId: emu.compartmentId,
      metricCompartmentId: emu.compartmentId,
      namespace: 'oci_generativeai',
      query: `InvocationLatency[1m]{resourceId = "${clusterId}"}.percentile(0.99) > 5000`,
      severity: 'CRITICAL',
      destinations: [alarmsTopic],
      isEnabled: true,
      body: formatAlarmBody(clusterId, ScalingRule.LatencyP99High),
    },
  });
}, 60_000);

afterAll(async () => {
  await runner?.stop();
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('scale-dac under the FDK', () => {
  it('scales the cluster from an evaluated alarm and notifies', async () => {
    const minuteMs = mon.control.minuteMs;
    const lastMinuteStart = Math.floor(monitoringNowMs / minuteMs) * minuteMs - minuteMs;
    mon.control.ingest([
      {
        namespace: 'oci_generativeai',
        compartmentId: emu.compartmentId,
        name: 'InvocationLatency',
        dimensions: { resourceId: clusterId },
        datapoints: [{ timestampMs: lastMinuteStart + 1000, value: 12_000 }],
      },
    ]);
    await mon.control.tick();
    const published = mon.control.published();
    expect(published.map((p) => p.type)).toEqual(['OK_TO_FIRING']);

    // Notifications delivers asynchronously; wait for the function's answer.
    const deadline = Date.now() + 20_000;
    while (emu.functionDeliveries().length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(emu.functionDeliveries()).toEqual([
      expect.objectContaining({ functionId: FN_ID, outcome: 'delivered', status: 200 }),
    ]);
    // 1 unit at 12 s against 5 s: ceil(1 * 12000 / 5000) = 3, within maxStepUnits 2 -> 3.
    const c = genai.control.clusterUnits().find((x) => x.id === clusterId)!;
    expect(c.unitCount).toBe(3);
    await new Promise((r) => setTimeout(r, 50));
    const mails = emu.outbox(pipelineTopic).filter((m) => m.kind === 'message');
    expect(mails).toHaveLength(1);
    expect(JSON.parse(mails[0]!.body)).toMatchObject({
      action: 'SCALE_UP',
      clusterId,
      fromUnits: 1,
      toUnits: 3,
      reasonCode: 'latency-p99-high',
      workflow: 'bot',
    });

    // The same message again (an at-least-once duplicate) is acknowledged and changes nothing.
    const again = await runner.invoke(Buffer.from(published[0]!.body), {
      'Content-Type': 'application/json',
    });
    expect(JSON.parse(again.body.toString())).toMatchObject({
      ok: true,
      result: { outcome: 'DUPLICATE' },
    });
    // Garbage is acknowledged with a typed code, never a crash.
    const junk = await runner.invoke(Buffer.from('"not an alarm"'), {
      'Content-Type': 'application/json',
    });
    expect(junk.status).toBe(200);
    expect(JSON.parse(junk.body.toString())).toMatchObject({
      ok: true,
      result: { outcome: 'IGNORED', code: 'ALARM_MESSAGE_NOT_JSON' },
    });
    expect(genai.control.clusterUnits().find((x) => x.id === clusterId)!.unitCount).toBe(3);
  }, 30_000);
});
