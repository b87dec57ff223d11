/**
 * The contract with `dacflow local`: a stack started by `startStack` (local/stack.ts) writes a
 * local.json that doctor reads, and the wiring it creates passes every check, including the
 * scaling alarms it creates for a datascience workflow's model deployments.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFileAuthenticationDetailsProvider } from 'oci-common';
import { EventsClient } from 'oci-events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command } from '#cli/commands/doctor.ts';
import { localFunctionId, startStack, type Stack } from '#local/stack.ts';
import type { Finding } from '#shared/doctor/types.ts';
import { createClient } from '#shared/oci/clients.ts';
import { dataScienceEventsRule } from '#shared/wiring.ts';

const root = new URL('../../../', import.meta.url).pathname;

async function doctor(args: string[]) {
  let out = '';
  let err = '';
  const code = await command.run([...args, '--json'], {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
  });
  expect(err).toBe('');
  return { code, findings: (JSON.parse(out) as { findings: Finding[] }).findings };
}

describe('a stack wired from triggers', () => {
  let dir: string;
  let stack: Stack;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dacflow-doctor-stack-'));
    stack = await startStack({
      dataDir: dir,
      fast: true,
      functions: {},
      triggers: [{ name: 'example', bucket: 'dacflow-datasets', prefix: 'datasets/example/' }],
    });
  });

  afterAll(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reports a freshly started local stack all ok', async () => {
    const { code, findings } = await doctor(['--data-dir', dir]);
    expect(findings.filter((f) => f.status !== 'ok')).toEqual([]);
    expect(code).toBe(0);
    expect(findings.find((f) => f.check === 'events.rule')!.message).toContain(
      'dacflow-example-dataset',
    );
  });
});

describe('a stack running a datascience workflow with autoscaling', () => {
  const workflow = join(root, 'workflows/examples/aqua-llama.yaml');
  let dir: string;
  let stack: Stack;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dacflow-doctor-ds-stack-'));
    stack = await startStack({
      dataDir: dir,
      fast: true,
      functions: {},
      workflows: [readFileSync(workflow, 'utf8')],
    });
  });

  afterAll(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("holds the deployment alarms the stack created to the workflow's policy, all ok", async () => {
    const { code, findings } = await doctor(['--data-dir', dir, '--workflow', workflow]);
    expect(findings.filter((f) => f.status !== 'ok')).toEqual([]);
    expect(code).toBe(0);
    const alarms = findings.filter((f) => f.check === 'monitoring.alarm');
    expect(alarms.map((f) => f.message.split(' (')[0])).toEqual([
      'alarm dacflow-aqua-llama-deployments-latency-p99-high',
      'alarm dacflow-aqua-llama-deployments-utilization-high',
      'alarm dacflow-aqua-llama-deployments-utilization-low',
      'alarm dacflow-aqua-llama-deployments-utilization-sustained-low',
    ]);
    expect(alarms[0]!.message).toContain('splits notifications per deployment');
    // The Data Science events rule the stack created, delivering to its own poll-status.
    const rules = findings.filter((f) => f.check === 'events.rule').map((f) => f.message);
    expect(rules.map((m) => m.split(' (')[0])).toEqual([
      'Events rule dacflow-aqua-llama-dataset',
      'Events rule dacflow-datascience-events',
    ]);
    expect(rules).toEqual([
      expect.stringContaining('delivers to validate-dataset'),
      expect.stringContaining(
        `is enabled, ACTIVE, matches the Data Science job-run and model-deployment events of workflow aqua-llama and delivers to poll-status (${localFunctionId('poll-status')})`,
      ),
    ]);
  });

  it('fails when the Data Science events rule is deleted, with the restart that re-creates it', async () => {
    const e = stack.emulator;
    const events = createClient(EventsClient, {
      provider: new ConfigFileAuthenticationDetailsProvider(e.configFile, e.profile),
      endpoint: e.url,
      env: {},
    });
    const [rule] = (
      await events.listRules({
        compartmentId: e.compartmentId,
        displayName: dataScienceEventsRule.name,
      })
    ).items;
    await events.deleteRule({ ruleId: rule!.id });
    const { code, findings } = await doctor(['--data-dir', dir, '--workflow', workflow]);
    expect(code).toBe(1);
    expect(findings.filter((f) => f.status !== 'ok')).toEqual([
      {
        check: 'events.rule',
        status: 'fail',
        message: `no Events rule dacflow-datascience-events in compartment ${e.compartmentId}: poll-status notices job-run and model-deployment changes of workflow aqua-llama only at its next scheduled poll`,
        fix: `restart \`dacflow local --data-dir ${dir}\`: it re-creates rule dacflow-datascience-events`,
      },
    ]);
  });
});
