/**
 * Starting the emulator with the Data Science service and the real DataScienceClient, plus a
 * predict caller signed by the SDK's own signer (facts sheet H: DefaultRequestSigner +
 * FetchHttpClient).
 */
import * as common from 'oci-common';
import { DataScienceClient } from 'oci-datascience';
import { startEmulator, type Emulator } from '#local/emulator/index.ts';
import {
  dataScienceService,
  type DataScienceEmulatorOptions,
  type DataScienceEmulatorService,
} from '#local/emulator/datascience.ts';

// With `fast` the emulator divides these by 100: runs start after 50 ms and finish 200 ms later.
// Cancels and updates take 500 ms so a test can see CANCELING and UPDATING even on a busy machine.
export const fastDelays: DataScienceEmulatorOptions = {
  jobRunStartMs: 5_000,
  jobRunDurationMs: 20_000,
  jobRunCancelMs: 50_000,
  jobDeleteMs: 1_000,
  deploymentCreateMs: 15_000,
  deploymentUpdateMs: 50_000,
  deploymentActivateMs: 5_000,
  deploymentDeactivateMs: 5_000,
  deploymentDeleteMs: 5_000,
};

export const waiterConfig: common.WaiterConfiguration = {
  terminationStrategy: new common.MaxTimeTerminationStrategy(20),
  delayStrategy: new common.FixedTimeDelayStrategy(0.03),
};

export interface Harness {
  emu: Emulator;
  ds: DataScienceEmulatorService;
  client: DataScienceClient;
  provider: common.ConfigFileAuthenticationDetailsProvider;
}

export async function startHarness(
  dataDir: string,
  options: DataScienceEmulatorOptions = {},
): Promise<Harness> {
  const ds = dataScienceService({ ...fastDelays, ...options });
  const emu = await startEmulator({ dataDir, fast: true, services: [ds] });
  const provider = new common.ConfigFileAuthenticationDetailsProvider(emu.configFile, emu.profile);
  // No SDK retries: the tests assert on the first error (409 and 412 included).
  const client = new DataScienceClient(
    { authenticationDetailsProvider: provider },
    { retryConfiguration: common.NoRetryConfigurationDetails },
  );
  client.endpoint = emu.url;
  return { emu, ds, client, provider };
}

export async function ociError(
  p: Promise<unknown>,
): Promise<{ status: number; code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof common.OciError)
      return { status: err.statusCode, code: err.serviceCode, message: err.message };
    throw err;
  }
  throw new Error('expected an OCI error');
}

/** POSTs `body` to `<modelDeploymentUrl>/predict`, signed like any OCI request. */
export async function signedPredict(
  provider: common.ConfigFileAuthenticationDetailsProvider,
  modelDeploymentUrl: string,
  body: unknown,
  headers: Record<string, string> = {},
  path = '/predict',
): Promise<Response> {
  const http = new common.FetchHttpClient(new common.DefaultRequestSigner(provider));
  return http.send({
    method: 'POST',
    uri: `${modelDeploymentUrl}${path}`,
    headers: new Headers({ 'content-type': 'application/json', ...headers }),
    body: JSON.stringify(body),
  });
}

/** The `data:` payloads of a server-sent-events body, in order. */
export function sseData(text: string): string[] {
  return text
    .split('\n\n')
    .map((block) => block.trim())
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice('data: '.length));
}
