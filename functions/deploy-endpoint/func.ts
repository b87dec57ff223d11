// deploy-endpoint: a work message names a run; perform its pending step (idempotent: at-least-once delivery).
import { serve } from '#shared/fn/serve.ts';

// The handler module loads on the first call, so the container is ready as fast as a bare FDK one.
serve(() => import('./handler.ts'));
