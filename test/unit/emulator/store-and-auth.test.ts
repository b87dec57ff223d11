import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fingerprintOf, loadOrCreateCredentials } from '#local/emulator/auth.ts';
import { JsonCollection } from '#local/emulator/store.ts';

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version']);
    return true;
  } catch {
    return false;
  }
})();

const dirs: string[] = [];
const newDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'dacflow-emu-unit-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('JsonCollection', () => {
  it('persists puts and deletes and reloads them', () => {
    const dir = newDir();
    const a = new JsonCollection<{ id: string; n: number }>(dir, 'things');
    a.put({ id: 'x', n: 1 });
    a.put({ id: 'y', n: 2 });
    a.put({ id: 'x', n: 3 });
    expect(a.delete('y')).toBe(true);
    expect(a.delete('y')).toBe(false);
    const b = new JsonCollection<{ id: string; n: number }>(dir, 'things');
    expect(b.list()).toEqual([{ id: 'x', n: 3 }]);
  });

  it('hands out copies, so callers cannot change stored items by accident', () => {
    const c = new JsonCollection<{ id: string; tags: string[] }>(newDir(), 'c');
    c.put({ id: 'a', tags: [] });
    c.get('a')!.tags.push('changed');
    expect(c.get('a')!.tags).toEqual([]);
  });

  it('refuses collection names that are not plain file names', () => {
    expect(() => new JsonCollection(newDir(), '../escape')).toThrow();
  });
});

describe('emulator credentials', () => {
  it('writes an OCI config once and reuses it', () => {
    const dir = newDir();
    const first = loadOrCreateCredentials(dir, 'us-chicago-1');
    const config = readFileSync(first.configFile, 'utf8');
    expect(config).toMatch(/^\[DEFAULT\]\n/);
    for (const key of ['user', 'fingerprint', 'tenancy', 'region', 'key_file']) {
      expect(config).toMatch(new RegExp(`^${key}=.+$`, 'm'));
    }
    expect(config).toContain('region=us-chicago-1');
    const second = loadOrCreateCredentials(dir, 'us-ashburn-1');
    expect(second.identity).toEqual(first.identity);
    expect(second.keyId).toBe(
      `${first.identity.tenancyId}/${first.identity.userId}/${first.identity.fingerprint}`,
    );
  });

  it.skipIf(!hasOpenssl)(
    'computes the fingerprint the way OCI documents it (openssl md5 -c of the DER key)',
    () => {
      const creds = loadOrCreateCredentials(newDir(), 'us-chicago-1');
      const pub = join(creds.keyFile, '..', 'oci_api_key_public.pem');
      const der = execFileSync('openssl', ['pkey', '-pubin', '-in', pub, '-outform', 'DER']);
      const out = execFileSync('openssl', ['md5', '-c'], { input: der }).toString().trim();
      expect(fingerprintOf(creds.publicKeyPem)).toBe(out.split(/\s+/).pop());
      expect(creds.identity.fingerprint).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    },
  );
});
