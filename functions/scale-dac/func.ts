// scale-dac: a Monitoring alarm, delivered by Notifications, may change one hosting cluster's unit
// count. Every outcome is acknowledged with a JSON result: Notifications would redeliver the same
// bytes, and a still-firing alarm repeats on its own.
import { serve } from '#shared/fn/serve.ts';

// The handler module loads on the first call, so the container is ready as fast as a bare FDK one.
serve(() => import('./handler.ts'));
