/**
 * The narrow ports the pipeline's use cases need, shaped like the OCI SDK clients' methods so the
 * functions pass the real clients and tests pass the real clients pointed at the local emulator.
 */
import type { DataScienceClient } from 'oci-datascience';
import type { GenerativeAiClient } from 'oci-generativeai';
import type { NotificationDataPlaneClient } from 'oci-ons';
import type { ObjectStorageClient } from 'oci-objectstorage';
import type { Logger } from '#shared/log.ts';
import type { RunRepository } from '#shared/state/runs.ts';
import type { Effect, Run } from '#workflows/machine.ts';
import type { Workflow } from '#workflows/schema.ts';

export type ObjectsPort = Pick<
  ObjectStorageClient,
  'getObject' | 'putObject' | 'listObjects' | 'getBucket'
>;
export type GenAiPort = Pick<
  GenerativeAiClient,
  | 'listModels'
  | 'getModel'
  | 'createModel'
  | 'getDedicatedAiCluster'
  | 'listDedicatedAiClusters'
  | 'createEndpoint'
  | 'getEndpoint'
  | 'listEndpoints'
  | 'deleteEndpoint'
>;
/** The Data Science calls of the AQUA-style backend (shared/pipeline/datascience.ts). */
export type DataSciencePort = Pick<
  DataScienceClient,
  | 'listJobs'
  | 'createJob'
  | 'listModels'
  | 'getModel'
  | 'createModel'
  | 'createModelProvenance'
  | 'createJobRun'
  | 'getJobRun'
  | 'listJobRuns'
  | 'cancelJobRun'
  | 'createModelDeployment'
  | 'getModelDeployment'
  | 'listModelDeployments'
  | 'deleteModelDeployment'
>;
export type PublishPort = Pick<NotificationDataPlaneClient, 'publishMessage'>;

export type NotifyEffect = Extract<Effect, { type: 'NOTIFY' }>;

export interface PipelineDeps {
  runs: RunRepository<Run>;
  workflows: readonly Workflow[];
  objects: ObjectsPort;
  genai: GenAiPort;
  /** Present when a workflow uses the datascience backend. */
  datascience?: DataSciencePort;
  ons: PublishPort;
  /** Internal work topics (shared/wiring.ts). */
  topics: { validateDataset: string; startFinetune: string; deployEndpoint: string };
  /** Publishes a run transition for people (shared/notify.ts). Must not throw. */
  notify(run: Run, effect: NotifyEffect): Promise<void>;
  /** The tenancy's Object Storage namespace (datasets and state). */
  namespace: string;
  /** Compartment for models and endpoints when a workflow names none. */
  compartmentId: string;
  now(): Date;
  log: Logger;
}

export function workflowNamed(deps: PipelineDeps, name: string): Workflow | undefined {
  return deps.workflows.find((w) => w.name === name);
}
