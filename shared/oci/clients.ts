/**
 * The one place OCI SDK clients are built. Auth is chosen once per process: resource principal on
 * OCI Functions (OCI_RESOURCE_PRINCIPAL_VERSION is set there, oci-facts.md E), else an API-key
 * config file (OCI_CONFIG_FILE / OCI_CONFIG_PROFILE: the local emulator writes one). The caller
 * passes the client class, so each function bundle carries only the SDK modules it uses.
 */
import {
  ConfigFileAuthenticationDetailsProvider,
  OciSdkDefaultRetryConfiguration,
  ResourcePrincipalAuthenticationDetailsProvider,
  type AuthenticationDetailsProvider,
  type AuthParams,
  type ClientConfiguration,
  type RetryConfiguration,
} from 'oci-common';

// A static import is fine for cold start: functions load their handler module (and with it this
// file and the SDK) on the first call, not before the socket is ready (shared/fn/serve.ts).

export type Env = Readonly<Record<string, string | undefined>>;

export const AuthMode = {
  RESOURCE_PRINCIPAL: 'resource_principal',
  CONFIG_FILE: 'config_file',
} as const;
export type AuthMode = (typeof AuthMode)[keyof typeof AuthMode];

/** Any generated OCI SDK client class (they all take `(params, clientConfiguration)`). */
export type OciClientClass<T> = new (
  params: AuthParams,
  clientConfiguration?: ClientConfiguration,
) => T;

/** Resource principal when the Functions runtime provides one, otherwise a config file. */
export function authModeFor(env: Env = process.env): AuthMode {
  return env.OCI_RESOURCE_PRINCIPAL_VERSION ? AuthMode.RESOURCE_PRINCIPAL : AuthMode.CONFIG_FILE;
}

/**
 * Builds the auth provider for `env`. The resource principal builder reads process.env itself
 * (RPST, private PEM and region paths or values) and is synchronous (oci-common 2.139).
 */
export function createAuthProvider(env: Env = process.env): AuthenticationDetailsProvider {
  if (authModeFor(env) === AuthMode.RESOURCE_PRINCIPAL) {
    return ResourcePrincipalAuthenticationDetailsProvider.builder();
  }
  return new ConfigFileAuthenticationDetailsProvider(
    env.OCI_CONFIG_FILE || undefined,
    env.OCI_CONFIG_PROFILE || undefined,
  );
}

export interface ClientOptions {
  provider?: AuthenticationDetailsProvider;
  /** One URL for every service (the local emulator); DACFLOW_OCI_ENDPOINT by default. */
  endpoint?: string;
  /**
   * The SDK's own retry configuration; its default strategy (8 attempts, exponential backoff with
   * jitter, retries 429/5xx/409 IncorrectState) unless a test needs fewer attempts.
   */
  retryConfiguration?: RetryConfiguration;
  env?: Env;
}

/** Builds a new client: not cached. Prefer `getClient` in functions. */
export function createClient<T>(ClientClass: OciClientClass<T>, options: ClientOptions = {}): T {
  const env = options.env ?? process.env;
  const provider = options.provider ?? createAuthProvider(env);
  const client = new ClientClass(
    { authenticationDetailsProvider: provider },
    { retryConfiguration: options.retryConfiguration ?? OciSdkDefaultRetryConfiguration },
  );
  const endpoint = options.endpoint ?? (env.DACFLOW_OCI_ENDPOINT || undefined);
  // Set after construction: the constructor derives a regional endpoint from the provider's region.
  if (endpoint) (client as { endpoint: string }).endpoint = endpoint;
  return client;
}

let sharedProvider: AuthenticationDetailsProvider | undefined;
const clients = new Map<OciClientClass<unknown>, unknown>();

/**
 * The process-wide client of `ClientClass`, built on first use and reused by every later call in
 * this container (the auth provider too, so the resource principal token is cached). Built
 * lazily, not at import, to keep cold start short.
 */
export function getClient<T>(ClientClass: OciClientClass<T>): T {
  let client = clients.get(ClientClass) as T | undefined;
  if (!client) {
    sharedProvider ??= createAuthProvider();
    client = createClient(ClientClass, { provider: sharedProvider });
    clients.set(ClientClass, client);
  }
  return client;
}

/** Forgets cached clients and the provider (tests that change the environment). */
export function resetClients(): void {
  clients.clear();
  sharedProvider = undefined;
}

/** The part of ObjectStorageClient `objectStorageNamespace` needs. */
export interface NamespaceLookup {
  getNamespace(request: Record<string, never>): Promise<{ value: string }>;
}

const namespaces = new WeakMap<object, Promise<string>>();

/** The configured namespace, or the tenancy's namespace from GetNamespace (looked up once). */
export function objectStorageNamespace(
  client: NamespaceLookup,
  configured?: string,
): Promise<string> {
  if (configured) return Promise.resolve(configured);
  let p = namespaces.get(client);
  if (!p) {
    p = client.getNamespace({}).then((r) => r.value);
    p.catch(() => namespaces.delete(client));
    namespaces.set(client, p);
  }
  return p;
}

/**
 * The exports of a CommonJS SDK package loaded with `import()`. Node gives its named exports, but
 * an esbuild bundle with code splitting (scripts/build.mjs) gives only `default` (module.exports),
 * so the named exports would be undefined in a deployed function.
 */
export function cjsExports<T>(mod: T): T {
  return (mod as { default?: T }).default ?? mod;
}
