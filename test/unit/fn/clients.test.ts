import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigFileAuthenticationDetailsProvider,
  NoRetryConfigurationDetails,
  ResourcePrincipalAuthenticationDetailsProvider,
} from 'oci-common';
import { ObjectStorageClient } from 'oci-objectstorage';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  authModeFor,
  createAuthProvider,
  createClient,
  getClient,
  objectStorageNamespace,
  resetClients,
} from '#shared/oci/clients.ts';

let dir: string;
const tenancy = 'ocid1.tenancy.oc1..unittest';
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

// One key for every test: RSA generation is the slow part on a shared machine.
let keys: { publicKey: string; privateKey: string } | undefined;
function keyPair() {
  return (keys ??= generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  }));
}

function writeConfigFile(): string {
  const { privateKey } = keyPair();
  writeFileSync(join(dir, 'key.pem'), privateKey);
  const file = join(dir, 'config');
  writeFileSync(
    file,
    [
      '[DEFAULT]',
      'user=ocid1.user.oc1..default',
      'fingerprint=aa:bb',
      `key_file=${join(dir, 'key.pem')}`,
      `tenancy=${tenancy}`,
      'region=us-phoenix-1',
      '[LOCAL]',
      'user=ocid1.user.oc1..local',
      'fingerprint=11:22',
      `key_file=${join(dir, 'key.pem')}`,
      `tenancy=${tenancy}`,
      'region=us-chicago-1',
      '',
    ].join('\n'),
  );
  return file;
}

/** A resource principal v2.2 environment as OCI Functions sets it: an RPST (JWT) and a key file. */
function resourcePrincipalEnv(): Record<string, string> {
  const { privateKey } = keyPair();
  const claims = {
    res_tenant: tenancy,
    res_compartment: 'ocid1.compartment.oc1..rp',
    exp: Math.floor(Date.now() / 1000) + 3600,
    iat: Math.floor(Date.now() / 1000),
  };
  const jwt = `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(claims)}.${Buffer.from('sig').toString('base64url')}`;
  writeFileSync(join(dir, 'rpst'), jwt);
  writeFileSync(join(dir, 'rp.pem'), privateKey);
  return {
    OCI_RESOURCE_PRINCIPAL_VERSION: '2.2',
    OCI_RESOURCE_PRINCIPAL_RPST: join(dir, 'rpst'),
    OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: join(dir, 'rp.pem'),
    OCI_RESOURCE_PRINCIPAL_REGION: 'us-ashburn-1',
  };
}

/** A loopback server that records the headers of each request and answers GetNamespace. */
async function namespaceServer() {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    res.setHeader('content-type', 'application/json');
    res.setHeader('opc-request-id', 'r1');
    res.end(JSON.stringify('unitns'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dacflow-clients-'));
  resetClients();
});
afterEach(() => {
  vi.unstubAllEnvs();
  resetClients();
  rmSync(dir, { recursive: true, force: true });
});

describe('auth choice', () => {
  it('uses the config file and profile when no resource principal is present', () => {
    const file = writeConfigFile();
    const env = { OCI_CONFIG_FILE: file, OCI_CONFIG_PROFILE: 'LOCAL' };
    expect(authModeFor(env)).toBe('config_file');
    const p = createAuthProvider(env);
    expect(p).toBeInstanceOf(ConfigFileAuthenticationDetailsProvider);
    expect((p as ConfigFileAuthenticationDetailsProvider).getUser()).toBe('ocid1.user.oc1..local');
  });

  it('uses the resource principal when OCI_RESOURCE_PRINCIPAL_VERSION is set', async () => {
    const env = resourcePrincipalEnv();
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    expect(authModeFor(env)).toBe('resource_principal');
    const p = createAuthProvider(env) as ResourcePrincipalAuthenticationDetailsProvider;
    expect(p).toBeInstanceOf(ResourcePrincipalAuthenticationDetailsProvider);
    expect(await p.getStringClaim('res_tenant')).toBe(tenancy);
    expect(p.getRegion().regionId).toBe('us-ashburn-1');
  });

  it('signs requests with the resource principal session token', async () => {
    const env = resourcePrincipalEnv();
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    const srv = await namespaceServer();
    try {
      const client = createClient(ObjectStorageClient, {
        endpoint: srv.url,
        retryConfiguration: NoRetryConfigurationDetails,
        env,
      });
      expect((await client.getNamespace({})).value).toBe('unitns');
      expect(srv.seen[0]?.authorization).toMatch(/keyId="ST\$[^"]+"/);
    } finally {
      await srv.close();
    }
  });
});

describe('client factory', () => {
  it('points every client at DACFLOW_OCI_ENDPOINT and signs with the config-file key', async () => {
    const srv = await namespaceServer();
    try {
      const env = {
        OCI_CONFIG_FILE: writeConfigFile(),
        OCI_CONFIG_PROFILE: 'LOCAL',
        DACFLOW_OCI_ENDPOINT: srv.url,
      };
      const client = createClient(ObjectStorageClient, { env });
      expect((await client.getNamespace({})).value).toBe('unitns');
      expect(srv.seen[0]?.authorization).toContain(
        `keyId="${tenancy}/ocid1.user.oc1..local/11:22"`,
      );
    } finally {
      await srv.close();
    }
  });

  it('builds one client per class and reuses it', () => {
    vi.stubEnv('OCI_CONFIG_FILE', writeConfigFile());
    vi.stubEnv('OCI_CONFIG_PROFILE', 'DEFAULT');
    vi.stubEnv('DACFLOW_OCI_ENDPOINT', 'http://127.0.0.1:9');
    const a = getClient(ObjectStorageClient);
    expect(getClient(ObjectStorageClient)).toBe(a);
    resetClients();
    expect(getClient(ObjectStorageClient)).not.toBe(a);
  });

  it('looks the namespace up once unless it is configured', async () => {
    let calls = 0;
    const lookup = { getNamespace: async () => ({ value: `ns${++calls}` }) };
    expect(await objectStorageNamespace(lookup, 'given')).toBe('given');
    expect(await objectStorageNamespace(lookup)).toBe('ns1');
    expect(await objectStorageNamespace(lookup)).toBe('ns1');
    expect(calls).toBe(1);
  });
});
