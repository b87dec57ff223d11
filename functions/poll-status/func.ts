// poll-status: the scheduled reconciler. Observes every active run, re-drives lost steps, repairs
// lost object events, and supersedes older runs of a dataset name.
import { serve } from '#shared/fn/serve.ts';

// The handler module loads on the first call, so the container is ready as fast as a bare FDK one.
serve(() => import('./handler.ts'));
