/**
 * Real API-key authentication for the emulator: an RSA key pair and an OCI config file created on
 * first start, and a check of every request's HTTP signature the way OCI does it (draft-cavage HTTP
 * signatures, keyId `<tenancy>/<user>/<fingerprint>`, rsa-sha256).
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import httpSignature from 'http-signature';

export interface Identity {
  tenancyId: string;
  userId: string;
  compartmentId: string;
  namespace: string;
  region: string;
  fingerprint: string;
}

export interface Credentials {
  identity: Identity;
  configFile: string;
  profile: string;
  keyFile: string;
  publicKeyPem: string;
  /** The keyId the SDK sends: `<tenancy>/<user>/<fingerprint>`. */
  keyId: string;
}

/** A fake OCID that has the real shape (`ocid1.<type>.oc1.<region>.<unique>`). */
export function makeOcid(resourceType: string, region = ''): string {
  return `ocid1.${resourceType}.oc1.${region}.${randomBytes(30).toString('hex').slice(0, 60)}`;
}

/** OCI's key fingerprint: MD5 of the DER public key, colon-separated hex. */
export function fingerprintOf(publicKeyPem: string): string {
  const der = Buffer.from(
    publicKeyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''),
    'base64',
  );
  return createHash('md5').update(der).digest('hex').match(/../g)?.join(':') ?? '';
}

/** Creates the key pair, identity and config file in `dir/auth`, or reuses them. */
export function loadOrCreateCredentials(dataDir: string, region: string): Credentials {
  const dir = join(dataDir, 'auth');
  mkdirSync(dir, { recursive: true });
  const keyFile = join(dir, 'oci_api_key.pem');
  const pubFile = join(dir, 'oci_api_key_public.pem');
  const idFile = join(dir, 'identity.json');
  const configFile = join(dir, 'config');
  if (!existsSync(keyFile) || !existsSync(pubFile) || !existsSync(idFile)) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    writeFileSync(keyFile, privateKey, { mode: 0o600 });
    chmodSync(keyFile, 0o600);
    writeFileSync(pubFile, publicKey);
    const identity: Identity = {
      tenancyId: makeOcid('tenancy'),
      userId: makeOcid('user'),
      compartmentId: makeOcid('compartment'),
      namespace: `dacflowlocal${randomBytes(4).toString('hex')}`,
      region,
      fingerprint: fingerprintOf(publicKey),
    };
    writeFileSync(idFile, JSON.stringify(identity, null, 2));
  }
  const identity = JSON.parse(readFileSync(idFile, 'utf8')) as Identity;
  const publicKeyPem = readFileSync(pubFile, 'utf8');
  const profile = 'DEFAULT';
  // Rewritten on every start so the key_file path follows a moved data dir.
  writeFileSync(
    configFile,
    [
      `[${profile}]`,
      `user=${identity.userId}`,
      `fingerprint=${identity.fingerprint}`,
      `tenancy=${identity.tenancyId}`,
      `region=${identity.region}`,
      `key_file=${keyFile}`,
      '',
    ].join('\n'),
  );
  return {
    identity,
    configFile,
    profile,
    keyFile,
    publicKeyPem,
    keyId: `${identity.tenancyId}/${identity.userId}/${identity.fingerprint}`,
  };
}

export interface VerifyOptions {
  clockSkewSec: number;
  /** True when the route's body is not part of the signature (object uploads). */
  bodyUnsigned: boolean;
}

/** What the verifier learned: which body hash, if any, the caller must still check. */
export interface VerifiedRequest {
  contentSha256?: string;
  contentLength?: number;
}

export class SignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignatureError';
  }
}

const bodyMethods = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Checks the signature on `req`. Throws `SignatureError` with a reason on failure; the body hash is
 * returned for the caller to compare once the body has been read.
 */
export function verifyRequestSignature(
  req: IncomingMessage,
  creds: Credentials,
  o: VerifyOptions,
): VerifiedRequest {
  let parsed: ReturnType<typeof httpSignature.parseRequest>;
  try {
    parsed = httpSignature.parseRequest(req, { clockSkew: o.clockSkewSec });
  } catch (err) {
    throw new SignatureError(`invalid signature: ${(err as Error).message}`);
  }
  if (parsed.keyId !== creds.keyId) throw new SignatureError('unknown keyId');
  if (parsed.algorithm.toLowerCase() !== 'rsa-sha256') {
    throw new SignatureError(`unsupported algorithm ${parsed.algorithm}`);
  }
  const signed = new Set(parsed.params.headers);
  const required = ['(request-target)', 'host'];
  if (!signed.has('x-date') && !signed.has('date')) required.push('date');
  const needsBody = bodyMethods.has(req.method ?? '') && !o.bodyUnsigned;
  if (needsBody) required.push('content-type', 'content-length', 'x-content-sha256');
  const missing = required.filter((h) => !signed.has(h));
  if (missing.length > 0) throw new SignatureError(`headers not signed: ${missing.join(' ')}`);
  let ok = false;
  try {
    ok = httpSignature.verifySignature(parsed, creds.publicKeyPem);
  } catch (err) {
    throw new SignatureError(`signature check failed: ${(err as Error).message}`);
  }
  if (!ok) throw new SignatureError('signature does not match');
  const result: VerifiedRequest = {};
  if (signed.has('x-content-sha256'))
    result.contentSha256 = String(req.headers['x-content-sha256']);
  if (signed.has('content-length')) result.contentLength = Number(req.headers['content-length']);
  return result;
}

/** Base64 SHA-256, as in `x-content-sha256`. */
export function sha256Base64(body: Buffer): string {
  return createHash('sha256').update(body).digest('base64');
}
