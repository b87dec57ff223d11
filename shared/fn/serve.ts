/**
 * The entry point a function's func.ts calls. Kept apart from handler.ts so unit tests of the
 * wrapper never load the FDK (which exits the process when FN_FORMAT is not set).
 *
 * `serve` takes a loader, not a handler: func.ts imports only this module and the FDK, and the
 * handler module (zod, yaml, the workflow schema, the OCI SDK) is evaluated on the first call,
 * after the socket is ready. Cold start is paid on every scale-out (oci-facts.md E), so the
 * container is ready in about the time of a bare FDK handler (`npm run bench -- coldstart`).
 */
import fdk from '@fnproject/fdk';
import type { FdkContext, HandlerResult } from './handler.ts';

type Handler = (body: unknown, ctx: FdkContext) => Promise<HandlerResult>;

export function serve(load: () => Promise<{ handler: Handler }>): void {
  let loaded: Promise<Handler> | undefined;
  fdk.handle(
    async (body: unknown, ctx: FdkContext): Promise<HandlerResult> => {
      loaded ??= load()
        .then((m) => m.handler)
        .catch((err: unknown) => {
          loaded = undefined; // a failed load is retried by the next call
          throw err;
        });
      try {
        return await (
          await loaded
        )(body, ctx);
      } catch (err) {
        // Only a module that cannot load gets here (the handler itself never throws).
        const message = err instanceof Error ? err.message : String(err);
        return { ok: false, error: { code: 'HANDLER_LOAD_FAILED', message, retryable: true } };
      }
    },
    { inputMode: 'json' },
  );
}
