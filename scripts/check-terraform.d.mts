// Types for scripts/check-terraform.mjs (a plain ESM script so `node` runs it without a build).
export interface Finding {
  check: string;
  file: string;
  line?: number;
  message: string;
}
export interface CheckResult {
  findings: Finding[];
  modules: string[];
  files: number;
  docsTables: string;
}
export function checkTerraform(options: {
  root: string;
  codeRoot?: string;
  writeDocs?: boolean;
  writeFormat?: boolean;
  schemaPath?: string;
}): Promise<CheckResult>;
export function evaluateHcl(
  src: string,
  resolve: (path: Array<string | number>) => unknown,
  asTemplate?: boolean,
): unknown;
export function jsonencode(value: unknown): string;
export function quotedStrings(src: string): string[];
