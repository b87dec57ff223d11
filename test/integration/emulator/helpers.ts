import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as common from 'oci-common';
import * as events from 'oci-events';
import * as objectstorage from 'oci-objectstorage';
import * as ons from 'oci-ons';
import { startEmulator, type Emulator, type EmulatorOptions } from '#local/emulator/index.ts';

export function tempDir(prefix = 'dacflow-emu-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startTest(
  options: Partial<EmulatorOptions> = {},
): Promise<{ emu: Emulator; cleanup(): Promise<void> }> {
  const tmp = options.dataDir ? undefined : tempDir();
  const emu = await startEmulator({ dataDir: options.dataDir ?? tmp!.dir, fast: true, ...options });
  return {
    emu,
    cleanup: async () => {
      await emu.close();
      tmp?.remove();
    },
  };
}

export function provider(emu: Emulator): common.ConfigFileAuthenticationDetailsProvider {
  return new common.ConfigFileAuthenticationDetailsProvider(emu.configFile, emu.profile);
}

export function clients(emu: Emulator) {
  const authenticationDetailsProvider = provider(emu);
  const os = new objectstorage.ObjectStorageClient({ authenticationDetailsProvider });
  os.endpoint = emu.url;
  const ev = new events.EventsClient({ authenticationDetailsProvider });
  ev.endpoint = emu.url;
  const onsCp = new ons.NotificationControlPlaneClient({ authenticationDetailsProvider });
  onsCp.endpoint = emu.url;
  const onsDp = new ons.NotificationDataPlaneClient({ authenticationDetailsProvider });
  onsDp.endpoint = emu.url;
  return { os, ev, onsCp, onsDp };
}

/** Reads a getObject `value` (web ReadableStream, Node Readable, Blob or string) into a Buffer. */
export async function bodyToBuffer(value: unknown): Promise<Buffer> {
  if (typeof value === 'string') return Buffer.from(value);
  if (value instanceof Readable) {
    const chunks: Buffer[] = [];
    for await (const c of value) chunks.push(Buffer.from(c as Uint8Array));
    return Buffer.concat(chunks);
  }
  if (value && typeof (value as ReadableStream).getReader === 'function') {
    const reader = (value as ReadableStream<Uint8Array>).getReader();
    const chunks: Buffer[] = [];
    for (;;) {
      const { done, value: v } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(v));
    }
    return Buffer.concat(chunks);
  }
  if (value instanceof Blob) return Buffer.from(await value.arrayBuffer());
  throw new Error(`unexpected body type ${typeof value}`);
}

/** Resolves when `check` returns a value, polling on the event loop (no fixed sleeps). */
export async function eventually<T>(check: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function ociStatus(err: unknown): { statusCode?: number; serviceCode?: string } {
  const e = err as { statusCode?: number; serviceCode?: string };
  return { statusCode: e.statusCode, serviceCode: e.serviceCode };
}
