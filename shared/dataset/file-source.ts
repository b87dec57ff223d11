import { open } from 'node:fs/promises';

/** The read size the CLI uses: measured near the baseline's throughput at a fraction of its RSS. */
export const defaultChunkBytes = 256 * 1024;

/**
 * A file's bytes as chunks read into ONE reused buffer, so a multi-gigabyte read allocates
 * nothing per chunk and peak RSS stays flat (a read stream allocates a fresh buffer per chunk,
 * freed only when the GC gets round to it). Each yielded chunk is valid until the next is pulled:
 * fine for `validateDataset` and `convertDataset`, which finish with a chunk first.
 */
export async function* readFileChunks(
  path: string,
  chunkBytes = defaultChunkBytes,
): AsyncGenerator<Buffer> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(chunkBytes);
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, chunkBytes, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}
