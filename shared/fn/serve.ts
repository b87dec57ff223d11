/**
 * The entry point a function's func.ts calls: `serve(createHandler({...}))`. Kept apart from
 * handler.ts so unit tests of the wrapper never load the FDK (which exits the process when
 * FN_FORMAT is not set).
 */
import fdk from '@fnproject/fdk';
import type { FdkContext, HandlerResult } from './handler.ts';

export function serve(handler: (body: unknown, ctx: FdkContext) => Promise<HandlerResult>): void {
  fdk.handle(handler, { inputMode: 'json' });
}
