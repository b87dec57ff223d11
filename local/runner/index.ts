export {
  FunctionRunner,
  maxPayloadBytes,
  type FunctionLogEntry,
  type FunctionRunnerOptions,
  type InvokeResult,
  type LogSink,
} from './runner.ts';
export { readFuncSpec, type FuncSpec } from './func-yaml.ts';
