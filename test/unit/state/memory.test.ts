import { realCasDeps } from '#shared/state/cas.ts';
import { MemoryStore, type MemoryFault } from '#shared/state/memory.ts';
import { describeStateContract, seeded } from './state-contract.ts';

describeStateContract('memory store, repositories under injected conflicts', async () => {
  const random = seeded(7);
  const faultRandom = seeded(11);
  let injected = 0;
  const repoStore = new MemoryStore({
    // A lost race on 15% of conditional writes, an outage on 5% of replaces.
    fault: (op): MemoryFault | undefined => {
      if (op !== 'replace') return undefined;
      const p = faultRandom();
      const fault = p < 0.15 ? 'conflict' : p < 0.2 ? 'unavailable' : undefined;
      if (fault) injected += 1;
      return fault;
    },
  });
  return {
    store: new MemoryStore(),
    repoStore,
    cas: { ...realCasDeps, random, policy: { baseDelayMs: 2, maxDelayMs: 50, maxAttempts: 40 } },
    close: async () => {
      if (injected === 0) throw new Error('no faults were injected: the contract proved nothing');
    },
  };
});
