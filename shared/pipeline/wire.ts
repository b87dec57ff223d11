/**
 * Builds the pipeline's dependencies from the function's configuration: the real OCI clients (one
 * per service, reused across calls), the Object Storage state store and the notifier. This module
 * loads with a function's handler, on its first call (shared/fn/serve.ts), so its SDK imports add
 * nothing to cold start.
 */
import { GenerativeAiClient } from 'oci-generativeai';
import { ObjectStorageClient } from 'oci-objectstorage';
import { NotificationDataPlaneClient } from 'oci-ons';
import { getConfig, loadWorkflows } from '#shared/config.ts';
import type { Logger } from '#shared/log.ts';
import { cjsExports, getClient, objectStorageNamespace } from '#shared/oci/clients.ts';
import { Notifier, runNotification } from '#shared/notify.ts';
import { realCasDeps } from '#shared/state/cas.ts';
import { ObjectStorageStore } from '#shared/state/object-storage.ts';
import { RunRepository, runRecordShape } from '#shared/state/runs.ts';
import type { PipelineDeps } from './deps.ts';

let base: Promise<Omit<PipelineDeps, 'log'>> | undefined;

/** The pipeline for this call: shared clients and store, this call's logger. */
export async function pipelineFromEnv(log: Logger): Promise<PipelineDeps> {
  base ??= build(log).catch((err: unknown) => {
    base = undefined; // a failed cold start (bad config, network) is retried by the next call
    throw err;
  });
  return { ...(await base), log };
}

async function build(log: Logger): Promise<Omit<PipelineDeps, 'log'>> {
  const config = getConfig();
  const workflows = loadWorkflows(config);
  const objects = getClient(ObjectStorageClient);
  const genai = getClient(GenerativeAiClient);
  const ons = getClient(NotificationDataPlaneClient);
  // The Data Science SDK module (a large one) is loaded only when some workflow uses that backend.
  const datascience = workflows.some((w) => w.backend === 'datascience')
    ? getClient(cjsExports(await import('oci-datascience')).DataScienceClient)
    : undefined;
  const namespace = await objectStorageNamespace(objects, config.stateNamespace);
  const store = new ObjectStorageStore({ client: objects, namespace, bucket: config.stateBucket });
  const runs = new RunRepository(store, runRecordShape, {
    cas: realCasDeps,
    nowMs: () => Date.now(),
    log,
  });
  const notifier = new Notifier(ons, { log });
  return {
    runs,
    workflows,
    objects,
    genai,
    ...(datascience ? { datascience } : {}),
    ons,
    topics: {
      validateDataset: config.validateDatasetTopicId,
      startFinetune: config.startFinetuneTopicId,
      deployEndpoint: config.deployEndpointTopicId,
    },
    async notify(run, effect) {
      const workflow = workflows.find((w) => w.name === run.workflow);
      await notifier.publish(runNotification(run, effect.event, { nowMs: Date.now() }), {
        topicId: workflow?.notifications?.topicId ?? config.pipelineTopicId,
        ...(workflow?.notifications?.events ? { events: workflow.notifications.events } : {}),
      });
    },
    namespace,
    compartmentId: config.compartmentId,
    now: () => new Date(),
  };
}
