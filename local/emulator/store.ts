/**
 * Persistence for the emulator's control-plane resources: one JSON file per collection, rewritten
 * whole through a temp file and a rename so a crash never leaves half a file.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Collection } from './service.ts';

export class JsonCollection<T extends { id: string }> implements Collection<T> {
  private readonly items = new Map<string, T>();
  private readonly file: string;

  constructor(dir: string, name: string) {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`invalid collection name: ${name}`);
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, `${name}.json`);
    if (existsSync(this.file)) {
      const list = JSON.parse(readFileSync(this.file, 'utf8')) as T[];
      for (const item of list) this.items.set(item.id, item);
    }
  }

  get(id: string): T | undefined {
    const item = this.items.get(id);
    return item === undefined ? undefined : structuredClone(item);
  }

  list(): T[] {
    return [...this.items.values()].map((i) => structuredClone(i));
  }

  put(item: T): void {
    this.items.set(item.id, structuredClone(item));
    this.flush();
  }

  delete(id: string): boolean {
    const had = this.items.delete(id);
    if (had) this.flush();
    return had;
  }

  private flush(): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.items.values()]));
    renameSync(tmp, this.file);
  }
}

/** Hands out one `JsonCollection` per name under `dir`. */
export class CollectionStore {
  private readonly open = new Map<string, JsonCollection<{ id: string }>>();
  constructor(private readonly dir: string) {}

  collection<T extends { id: string }>(name: string): Collection<T> {
    let c = this.open.get(name);
    if (!c) {
      c = new JsonCollection<{ id: string }>(this.dir, name);
      this.open.set(name, c);
    }
    return c as unknown as Collection<T>;
  }
}
