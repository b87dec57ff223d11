// validate-dataset: an Events object create/update (or a re-drive from the work topic) names one
// dataset object version; validate it and move its run to VALID or INVALID.
import { serve } from '#shared/fn/serve.ts';

// The handler module loads on the first call, so the container is ready as fast as a bare FDK one.
serve(() => import('./handler.ts'));
