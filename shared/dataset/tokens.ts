import type { CountTokens, TokenCounting } from './rules.ts';

/**
 * Loads the exact token counter for a counting method, or undefined when none exists offline.
 * A port so tests can hand in a fake and bundles that never meet an over-long line never load
 * the 200 MB-RSS tokenizer.
 */
export type TokenizerLoader = (method: TokenCounting) => Promise<CountTokens | undefined>;

/** The part of llama3-tokenizer-js used here (its types.d.ts). */
interface Llama3Module {
  default: { encode(text: string, options: { bos: boolean; eos: boolean }): number[] };
}

let llama3: Promise<CountTokens | undefined> | undefined;

/**
 * The default loader: llama3-tokenizer-js (ships its vocabulary, works offline), imported lazily
 * on the first line that needs it and resolved from node_modules at run time (never bundled).
 * Counts exclude BOS/EOS and chat-template tokens.
 */
export const defaultTokenizerLoader: TokenizerLoader = async (method) => {
  if (method !== 'llama3-tokenizer') return undefined;
  // A specifier in a variable keeps esbuild from inlining the package: its baked vocabulary
  // adds about 3 MB to a bundle and ~40 MB RSS at load, even when no line ever needs it.
  const specifier = 'llama3-tokenizer-js';
  llama3 ??= (import(specifier) as Promise<Llama3Module>).then(
    (m) => {
      const tokenizer = m.default;
      return (text: string) => tokenizer.encode(text, { bos: false, eos: false }).length;
    },
    // Not installed where this runs: the validator falls back to the byte upper bound (warnings).
    () => undefined,
  );
  return llama3;
};
