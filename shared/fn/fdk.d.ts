// Types for the part of @fnproject/fdk 0.0.76 dacflow uses (the package ships none).
declare module '@fnproject/fdk' {
  import type { FdkContext } from '#shared/fn/handler.ts';

  type Handler = (body: unknown, ctx: FdkContext) => unknown;
  interface Fdk {
    /** Serves `fn` on FN_LISTENER; exits the process when FN_FORMAT is not http-stream. */
    handle(fn: Handler, options?: { inputMode?: 'json' | 'string' | 'buffer' }): () => void;
  }
  const fdk: Fdk;
  export default fdk;
}
