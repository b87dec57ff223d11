import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as common from 'oci-common';
import { ObjectStorageClient } from 'oci-objectstorage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOf } from '#local/emulator/auth.ts';
import type { Emulator } from '#local/emulator/index.ts';
import { clients, provider, startTest, tempDir } from './helpers.ts';

/** Signs a request with the SDK's own signer and returns what it would send. */
async function signed(
  emu: Emulator,
  method: string,
  path: string,
  body?: string,
  authProvider: common.AuthenticationDetailsProvider = provider(emu),
): Promise<{ url: string; headers: Headers; body?: string }> {
  const req = { uri: `${emu.url}${path}`, method, headers: new Headers(), body };
  if (body !== undefined) req.headers.set('content-type', 'application/json');
  await new common.DefaultRequestSigner(authProvider).signHttpRequest(req as never);
  return { url: req.uri, headers: req.headers, ...(body !== undefined ? { body } : {}) };
}

async function send(r: { url: string; headers: Headers; body?: string }, method: string) {
  const res = await fetch(r.url, {
    method,
    headers: r.headers,
    ...(r.body !== undefined ? { body: r.body } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text === '' ? undefined : (JSON.parse(text) as { code: string }),
    requestId: res.headers.get('opc-request-id'),
  };
}

describe('request signatures', () => {
  let emu: Emulator;
  let cleanup: () => Promise<void>;
  const bucketBody = (name: string) => JSON.stringify({ name, compartmentId: emu.compartmentId });

  // One foreign key pair serves both the unknown-key and the impostor cases.
  let foreign: { privateKey: string; publicKey: string };

  beforeAll(async () => {
    ({ emu, cleanup } = await startTest());
    foreign = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
  });
  afterAll(async () => cleanup());

  it('accepts a request the SDK signed (control case for the tampering cases)', async () => {
    const r = await signed(emu, 'POST', `/n/${emu.namespace}/b`, bucketBody('signed-ok'));
    expect((await send(r, 'POST')).status).toBe(200);
  });

  it('rejects an unsigned request with 401 NotAuthenticated and a request id', async () => {
    const res = await send(
      { url: `${emu.url}/n/${emu.namespace}/b?compartmentId=x`, headers: new Headers() },
      'GET',
    );
    expect(res.status).toBe(401);
    expect(res.body?.code).toBe('NotAuthenticated');
    expect(res.requestId).toBeTruthy();
  });

  it('rejects a changed body (same length)', async () => {
    const r = await signed(emu, 'POST', `/n/${emu.namespace}/b`, bucketBody('tamper-aa'));
    r.body = bucketBody('tamper-bb');
    const res = await send(r, 'POST');
    expect(res.status).toBe(401);
    expect(res.body?.code).toBe('NotAuthenticated');
  });

  it('rejects a changed signed header', async () => {
    const r = await signed(emu, 'GET', `/n/${emu.namespace}/b?compartmentId=${emu.compartmentId}`);
    const signedDate = Date.parse(r.headers.get('x-date') ?? '');
    r.headers.set('x-date', new Date(signedDate - 60_000).toUTCString());
    expect((await send(r, 'GET')).status).toBe(401);
  });

  it('rejects a changed request target', async () => {
    const r = await signed(emu, 'GET', `/n/${emu.namespace}/b?compartmentId=${emu.compartmentId}`);
    r.url = `${emu.url}/n/${emu.namespace}/b?compartmentId=other`;
    expect((await send(r, 'GET')).status).toBe(401);
  });

  it('rejects a request older than the clock skew', async () => {
    const req = { uri: `${emu.url}/n`, method: 'GET', headers: new Headers() };
    req.headers.set('x-date', new Date(Date.now() - 3_600_000).toUTCString());
    await new common.DefaultRequestSigner(provider(emu)).signHttpRequest(req as never);
    expect((await send({ url: req.uri, headers: req.headers }, 'GET')).status).toBe(401);
  });

  it('rejects a JSON write whose body headers are not signed', async () => {
    const r = await signed(emu, 'POST', `/n/${emu.namespace}/b`, bucketBody('unsigned-body'));
    // Re-sign the same request with the object-upload header list (no body headers).
    const req = {
      uri: r.url,
      method: 'POST',
      headers: new Headers({ 'content-type': 'application/json' }),
      body: r.body,
    };
    await new common.DefaultRequestSigner(provider(emu)).signHttpRequest(req as never, true);
    expect(
      (await send({ url: req.uri, headers: req.headers, body: r.body as string }, 'POST')).status,
    ).toBe(401);
  });

  it('rejects an unknown key through the real SDK client', async () => {
    const tmp = tempDir();
    try {
      const { privateKey, publicKey } = foreign;
      const keyFile = join(tmp.dir, 'key.pem');
      writeFileSync(keyFile, privateKey);
      const config = join(tmp.dir, 'config');
      writeFileSync(
        config,
        `[DEFAULT]\nuser=ocid1.user.oc1..other\nfingerprint=${fingerprintOf(publicKey)}\ntenancy=${emu.tenancyId}\nregion=us-chicago-1\nkey_file=${keyFile}\n`,
      );
      const client = new ObjectStorageClient({
        authenticationDetailsProvider: new common.ConfigFileAuthenticationDetailsProvider(
          config,
          'DEFAULT',
        ),
      });
      client.endpoint = emu.url;
      await expect(client.getNamespace({})).rejects.toMatchObject({
        statusCode: 401,
        serviceCode: 'NotAuthenticated',
      });
    } finally {
      tmp.remove();
    }
  });

  it('rejects a different key that claims the known keyId', async () => {
    const { privateKey } = foreign;
    const real = provider(emu);
    const impostor = new common.SimpleAuthenticationDetailsProvider(
      emu.tenancyId,
      await real.getUser(),
      await real.getFingerprint(),
      privateKey,
      null,
      common.Region.US_CHICAGO_1,
    );
    const r = await signed(emu, 'GET', '/n', undefined, impostor);
    expect((await send(r, 'GET')).status).toBe(401);
  });

  it('keeps credentials and state across a restart with the same data dir', async () => {
    const tmp = tempDir();
    try {
      const first = (await startTest({ dataDir: tmp.dir })).emu;
      const { os, ev } = clients(first);
      await os.createBucket({
        namespaceName: first.namespace,
        createBucketDetails: { name: 'kept', compartmentId: first.compartmentId },
      });
      await os.putObject({
        namespaceName: first.namespace,
        bucketName: 'kept',
        objectName: 'a/b.txt',
        putObjectBody: 'kept',
      });
      const rule = await ev.createRule({
        createRuleDetails: {
          displayName: 'kept-rule',
          compartmentId: first.compartmentId,
          isEnabled: true,
          condition: '{}',
          actions: {
            actions: [
              { actionType: 'FAAS', isEnabled: true, functionId: 'ocid1.fnfunc.oc1..x' } as never,
            ],
          },
        },
      });
      const ns = first.namespace;
      await first.close();
      const second = (await startTest({ dataDir: tmp.dir })).emu;
      try {
        expect(second.namespace).toBe(ns);
        const c2 = clients(second);
        const obj = await c2.os.headObject({
          namespaceName: ns,
          bucketName: 'kept',
          objectName: 'a/b.txt',
        });
        expect(obj.contentLength).toBe(4);
        const got = await c2.ev.getRule({ ruleId: rule.rule.id });
        expect(got.rule.displayName).toBe('kept-rule');
      } finally {
        await second.close();
      }
    } finally {
      tmp.remove();
    }
  });
});
