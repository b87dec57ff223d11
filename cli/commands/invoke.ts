import { readFile } from 'node:fs/promises';
import type { CliIO, Command } from '../command.ts';
import { parse, UsageError } from '../command.ts';
import { defaultDataDir } from './local.ts';

const help = `Usage: dacflow invoke <function> [options]

Invokes one function of a running \`dacflow local\` stack, like \`fn invoke\`: the payload goes to
the function under the Fn FDK exactly as an Events rule, a Notifications subscription or the
scheduler would send it. The stack is found through DIR/local.json (its loopback invoke endpoint).
Prints the function's response body on stdout. Use \`dacflow events generate\` for payloads.

Arguments:
  <function>           Function name (e.g. validate-dataset) or its local OCID

Options:
  --file FILE          Payload file (JSON); \`-\` reads stdin. Default: {}
  --data-dir DIR       Data dir of the running stack (default ${defaultDataDir})
  -h, --help           Show this help

Exit codes: 0 the function answered 2xx and did not report {"ok": false}, 1 the function failed
(error result, timeout, crash), 2 usage error or no running stack.
`;

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export const command: Command = {
  name: 'invoke',
  summary: 'Invoke a function of the running local stack',
  help,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parse(args, {
      file: { type: 'string' },
      'data-dir': { type: 'string' },
    });
    const [fn, ...extra] = positionals;
    if (!fn) throw new UsageError('missing <function>');
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    let body: Buffer;
    if (values.file === undefined) body = Buffer.from('{}');
    else {
      try {
        body = values.file === '-' ? await readStdin() : await readFile(values.file);
      } catch (err) {
        throw new UsageError(`cannot read ${values.file}: ${(err as Error).message}`);
      }
    }
    const { readLocalJson } = await import('#local/stack.ts');
    let local;
    try {
      local = readLocalJson(values['data-dir'] ?? defaultDataDir);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    let res: Response;
    try {
      res = await fetch(
        `${local.invokeUrl}/20181201/functions/${encodeURIComponent(fn)}/actions/invoke`,
        { method: 'POST', body, headers: { 'content-type': 'application/json' } },
      );
    } catch (err) {
      io.stderr.write(
        `dacflow invoke: the stack at ${local.invokeUrl} is not reachable (is \`dacflow local\` running?): ${(err as Error).message}\n`,
      );
      return 2;
    }
    const text = await res.text();
    io.stdout.write(text.endsWith('\n') ? text : text + '\n');
    if (
      res.status === 404 &&
      !local.functions[fn] &&
      !Object.values(local.functions).includes(fn)
    ) {
      io.stderr.write(
        `dacflow invoke: no function "${fn}" (have: ${Object.keys(local.functions).join(', ') || 'none'})\n`,
      );
      return 2;
    }
    const callId = res.headers.get('fn-call-id');
    io.stderr.write(
      `dacflow invoke: ${fn} -> HTTP ${res.status}${callId ? ` (call ${callId}, ${res.headers.get('x-dacflow-duration-ms')} ms)` : ''}\n`,
    );
    if (res.status < 200 || res.status >= 300) return 1;
    try {
      const parsed = JSON.parse(text) as { ok?: unknown };
      return parsed.ok === false ? 1 : 0;
    } catch {
      return 0;
    }
  },
};
