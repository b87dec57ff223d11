/**
 * The local stack runs the shipped Data Science example workflow as written: the project its
 * `projectId` names exists with that OCID, its base model resolves by display name, and its
 * results bucket is versioned, without editing the workflow; a restart adds nothing twice.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFileAuthenticationDetailsProvider } from 'oci-common';
import { DataScienceClient, models as dsModels } from 'oci-datascience';
import { ObjectStorageClient } from 'oci-objectstorage';
import { afterAll, expect, test } from 'vitest';
import { projectRoot, startStack, type Stack } from '#local/stack.ts';
import { createClient } from '#shared/oci/clients.ts';
import { parseWorkflows } from '#workflows/schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'dacflow-ds-local-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const text = readFileSync(join(projectRoot(), 'workflows/examples/aqua-llama.yaml'), 'utf8');
const [workflow] = parseWorkflows([{ fileName: 'aqua-llama.yaml', text }]);
const ds = workflow!.datascience!;

/** What the stack made for the workflow, read back through the SDK. */
async function inspect(stack: Stack) {
  const provider = new ConfigFileAuthenticationDetailsProvider(
    stack.local.configFile,
    stack.local.profile,
  );
  const client = createClient(DataScienceClient, { provider, endpoint: stack.emulator.url });
  const objects = createClient(ObjectStorageClient, { provider, endpoint: stack.emulator.url });
  const compartmentId = stack.local.compartmentId;
  const project = (await client.getProject({ projectId: ds.projectId })).project;
  const projects = (await client.listProjects({ compartmentId })).items;
  const models = (
    await client.listModels({
      compartmentId,
      displayName: ds.baseModel,
      lifecycleState: dsModels.ModelLifecycleState.Active,
    })
  ).items;
  const bucket = (
    await objects.getBucket({ namespaceName: stack.local.namespace, bucketName: ds.outputBucket })
  ).bucket;
  return { project, projects, models, bucket };
}

test('the shipped aqua-llama workflow gets its project, base model and results bucket', async () => {
  // No functions: this is about what the stack seeds and creates.
  const options = { dataDir: join(dir, 'data'), fast: true, workflows: [text], functions: {} };
  let stack = await startStack(options);
  let first: Awaited<ReturnType<typeof inspect>>;
  try {
    first = await inspect(stack);
  } finally {
    await stack.stop();
  }
  expect(first.project).toMatchObject({
    id: ds.projectId,
    lifecycleState: 'ACTIVE',
  });
  expect(first.models).toHaveLength(1);
  expect(first.models[0]).toMatchObject({ displayName: ds.baseModel, projectId: ds.projectId });
  expect(first.bucket.versioning).toBe('Enabled');

  // A restart on the same data dir finds what it made and makes nothing again.
  stack = await startStack(options);
  try {
    const again = await inspect(stack);
    expect(again.projects.map((p) => p.id)).toEqual([ds.projectId]);
    expect(again.models.map((m) => m.id)).toEqual(first.models.map((m) => m.id));
  } finally {
    await stack.stop();
  }
}, 60_000);
