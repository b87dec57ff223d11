// @ts-check
// Offline checks for terraform/ (no terraform binary, no provider download):
//   - every .tf file parses (@cdktf/hcl2json) and is formatted as `terraform fmt` leaves it
//     (@cdktf/hcl-tools);
//   - every resource/data type and attribute exists in the OCI provider schema extract
//     (scripts/oci-provider-schema.json), required attributes are set, computed ones are not;
//   - every variable has a description and a type; every var./local./resource/data/module
//     reference resolves;
//   - the module matches the code: one function per functions/ folder with its func.yaml memory
//     and timeout, the Events condition equals datasetCondition(), alarm bodies equal
//     formatAlarmBody(), threshold defaults equal the workflow defaults, the model-deployment
//     alarms planned for sample workflows equal deploymentAlarmDefinitions(), every config key the
//     functions read is set, the alarms subscription and the reconcile schedule match wiringFor();
//   - the inputs/outputs tables in docs/terraform.md are the generated ones.
//
//   node scripts/check-terraform.mjs            check, exit 1 on any finding
//   node scripts/check-terraform.mjs --write-docs   also rewrite the docs tables
//   node scripts/check-terraform.mjs --fix          also rewrite the docs tables and format the .tf files
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse, getReferencesInExpression } from '@cdktf/hcl2json';
import { format } from '@cdktf/hcl-tools';
import { build } from 'esbuild';
import YAML from 'yaml';

/**
 * @typedef {{ check: string, file: string, line?: number, message: string }} Finding
 * @typedef {{ text: string, json: Record<string, any> }} TfFile
 * @typedef {{ dir: string, files: Map<string, TfFile>, tfvars: Map<string, Record<string, any>>, merged: Record<string, any> }} TfModule
 */

const META_ARGS = new Set([
  'count',
  'for_each',
  'depends_on',
  'lifecycle',
  'provider',
  'provisioner',
  'connection',
  'dynamic',
]);
const DOCS_BEGIN =
  '<!-- BEGIN GENERATED: terraform inputs and outputs (npm run check:terraform -- --write-docs) -->';
const DOCS_END = '<!-- END GENERATED -->';

// The WASM parsers take tens to hundreds of milliseconds a call: results are cached by content for
// the life of the process (tests check many near-identical copies of the module).
/** @type {Map<string, Promise<any>>} */
const wasmCache = new Map();
/** @template T @param {string} key @param {() => Promise<T>} f @returns {Promise<T>} */
function cached(key, f) {
  let p = wasmCache.get(key);
  if (!p) {
    p = f();
    wasmCache.set(key, p);
  }
  return p;
}
/** @type {Map<string, Promise<Record<string, any>>>} */
const codeCache = new Map();

/**
 * Runs every check on `root` (a dacflow checkout). Returns the findings; none means all passed.
 * `codeRoot` is where the TypeScript the module is held against lives (default `root`).
 * `writeDocs` rewrites the generated docs tables and `writeFormat` the unformatted files instead of
 * reporting them.
 * @param {{ root: string, codeRoot?: string, writeDocs?: boolean, writeFormat?: boolean, schemaPath?: string }} options
 * @returns {Promise<{ findings: Finding[], modules: string[], files: number, docsTables: string }>}
 */
export async function checkTerraform(options) {
  const root = options.root;
  const tfRoot = join(root, 'terraform');
  /** @type {Finding[]} */
  const findings = [];
  const schema = JSON.parse(
    readFileSync(options.schemaPath ?? join(root, 'scripts/oci-provider-schema.json'), 'utf8'),
  );

  const modules = await loadModules(root, tfRoot, options.writeFormat === true, findings);
  let fileCount = 0;
  for (const m of modules) {
    fileCount += m.files.size;
    checkSchema(m, schema, findings);
    checkVariables(m, findings);
    await checkReferences(m, findings);
  }
  const main = modules.find((m) => m.dir === 'terraform');
  let docsTables = '';
  if (!main) {
    findings.push({ check: 'layout', file: 'terraform', message: 'no .tf files in terraform/' });
  } else {
    for (const f of ['main.tf', 'variables.tf', 'outputs.tf', 'versions.tf']) {
      if (!main.files.has(`terraform/${f}`)) {
        findings.push({
          check: 'layout',
          file: `terraform/${f}`,
          message: 'missing (module convention)',
        });
      }
    }
    const codeRoot = options.codeRoot ?? root;
    for (const m of modules) {
      if (m === main) continue;
      checkModuleCalls(m, main, findings);
      checkExampleWorkflows(root, codeRoot, m, main, findings);
    }
    let code = codeCache.get(codeRoot);
    if (!code) {
      code = loadCode(codeRoot);
      codeCache.set(codeRoot, code);
    }
    checkAgainstCode(root, codeRoot, main, await code, findings);
    docsTables = docsTablesFor(main);
    checkDocs(root, docsTables, options.writeDocs === true, findings);
  }
  return { findings, modules: modules.map((m) => m.dir), files: fileCount, docsTables };
}

// ------------------------------------------------------------------------------------------------
// Loading, syntax and formatting
// ------------------------------------------------------------------------------------------------

/** @param {string} dir @returns {string[]} */
function tfFilesUnder(dir) {
  if (!existsSync(dir)) return [];
  /** @type {string[]} */
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...tfFilesUnder(p));
    else if (e.name.endsWith('.tf') || e.name.endsWith('.tfvars.example')) out.push(p);
  }
  return out.sort();
}

/**
 * @param {string} root @param {string} tfRoot @param {boolean} writeFormat @param {Finding[]} findings
 * @returns {Promise<TfModule[]>}
 */
async function loadModules(root, tfRoot, writeFormat, findings) {
  /** @type {Map<string, TfModule>} */
  const byDir = new Map();
  for (const path of tfFilesUnder(tfRoot)) {
    const rel = relative(root, path);
    const text = readFileSync(path, 'utf8');
    /** @type {Record<string, any>} */
    let json;
    try {
      json = structuredClone(await cached(`parse\0${rel}\0${text}`, () => parse(rel, text)));
    } catch (e) {
      findings.push({ check: 'syntax', file: rel, line: errorLine(e), message: errorText(e) });
      continue;
    }
    const formatted = await cached(`format\0${text}`, () => format(text).catch(() => text));
    if (formatted !== text && writeFormat) {
      writeFileSync(path, formatted);
    } else if (formatted !== text) {
      const a = text.split('\n');
      const b = formatted.split('\n');
      let i = 0;
      while (i < a.length && a[i] === b[i]) i++;
      findings.push({
        check: 'format',
        file: rel,
        line: i + 1,
        message: `not formatted as \`terraform fmt\` would leave it (first difference at line ${i + 1}: expected ${JSON.stringify(b[i] ?? '')})`,
      });
    }
    const dir = relative(root, dirname(path));
    let m = byDir.get(dir);
    if (!m) {
      m = { dir, files: new Map(), tfvars: new Map(), merged: {} };
      byDir.set(dir, m);
    }
    if (rel.endsWith('.tfvars.example')) m.tfvars.set(rel, json);
    else m.files.set(rel, { text, json });
  }
  for (const m of byDir.values()) m.merged = mergeModule(m);
  return [...byDir.values()];
}

/** @param {unknown} e */
function errorText(e) {
  return e instanceof Error ? e.message : String(e);
}
/** @param {unknown} e */
function errorLine(e) {
  const m = /\.tf:(\d+),(\d+)/.exec(errorText(e));
  return m ? Number(m[1]) : undefined;
}

/**
 * Merges the parsed files of one module: resources/data by type and name (remembering the file),
 * variables, outputs, locals, modules.
 * @param {TfModule} m
 */
function mergeModule(m) {
  /** @type {Record<string, any>} */
  const out = {
    resource: {},
    data: {},
    variable: {},
    output: {},
    locals: {},
    module: {},
    where: {},
  };
  for (const [file, { json }] of m.files) {
    for (const kind of ['resource', 'data']) {
      for (const [type, byName] of Object.entries(json[kind] ?? {})) {
        for (const [name, bodies] of Object.entries(/** @type {Record<string, any>} */ (byName))) {
          out[kind][type] ??= {};
          out[kind][type][name] = bodies[0];
          out.where[`${kind === 'data' ? 'data.' : ''}${type}.${name}`] = file;
        }
      }
    }
    for (const kind of ['variable', 'output', 'module']) {
      for (const [name, bodies] of Object.entries(json[kind] ?? {})) {
        out[kind][name] = /** @type {any[]} */ (bodies)[0];
        out.where[`${kind}.${name}`] = file;
      }
    }
    for (const block of json.locals ?? []) {
      for (const [name, value] of Object.entries(block)) {
        out.locals[name] = value;
        out.where[`local.${name}`] = file;
      }
    }
  }
  return out;
}

/**
 * Line of the first match of `pattern` in `file` (after the line of `after`, when given).
 * @param {TfModule} m @param {string | undefined} file @param {RegExp} pattern @param {RegExp} [after]
 */
function lineOf(m, file, pattern, after) {
  const text = file ? m.files.get(file)?.text : undefined;
  if (!text) return undefined;
  let from = 0;
  if (after) {
    const a = after.exec(text);
    if (a) from = a.index;
  }
  const hit = pattern.exec(text.slice(from));
  if (!hit) return undefined;
  return text.slice(0, from + hit.index).split('\n').length;
}
/** @param {string} s */
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// ------------------------------------------------------------------------------------------------
// Provider schema
// ------------------------------------------------------------------------------------------------

/** @param {TfModule} m @param {any} schema @param {Finding[]} findings */
function checkSchema(m, schema, findings) {
  for (const kind of ['resource', 'data']) {
    const known = kind === 'resource' ? schema.resources : schema.dataSources;
    for (const [type, byName] of Object.entries(m.merged[kind])) {
      for (const [name, body] of Object.entries(/** @type {Record<string, any>} */ (byName))) {
        const addr = `${kind === 'data' ? 'data.' : ''}${type}.${name}`;
        const file = m.merged.where[addr];
        const header = new RegExp(`${kind}\\s+"${esc(type)}"\\s+"${esc(name)}"`);
        if (!type.startsWith('oci_')) {
          findings.push({
            check: 'schema',
            file,
            line: lineOf(m, file, header),
            message: `${addr}: only oci_* types are expected`,
          });
          continue;
        }
        const def = known[type];
        if (!def) {
          findings.push({
            check: 'schema',
            file,
            line: lineOf(m, file, header),
            message: `${addr}: ${kind} type ${type} is not in the OCI provider schema extract (add it to scripts/extract-oci-schema.mjs if it is real)`,
          });
          continue;
        }
        checkBody(m, file, header, addr, body, def.attributes, findings);
      }
    }
  }
}

/**
 * @param {TfModule} m @param {string} file @param {RegExp} header @param {string} path
 * @param {Record<string, any>} body @param {Record<string, any>} attrs @param {Finding[]} findings
 */
function checkBody(m, file, header, path, body, attrs, findings) {
  const dynamicNames = new Set(Object.keys(body.dynamic ?? {}));
  for (const [key, value] of Object.entries(body)) {
    if (META_ARGS.has(key)) {
      if (key === 'dynamic') {
        for (const [dn, blocks] of Object.entries(/** @type {Record<string, any>} */ (value))) {
          const a = attrs[dn];
          if (!a?.block) {
            findings.push({
              check: 'schema',
              file,
              line: lineOf(m, file, new RegExp(`dynamic\\s+"${esc(dn)}"`), header),
              message: `${path}: dynamic "${dn}" is not a nested block of this type`,
            });
            continue;
          }
          for (const b of blocks)
            for (const c of b.content ?? [])
              checkBody(m, file, header, `${path}.${dn}`, c, a.block, findings);
        }
      }
      continue;
    }
    const a = attrs[key];
    const line = lineOf(m, file, new RegExp(`^\\s*${esc(key)}\\b`, 'm'), header);
    if (!a) {
      findings.push({
        check: 'schema',
        file,
        line,
        message: `${path}: unknown attribute "${key}"`,
      });
      continue;
    }
    if (a.computed) {
      findings.push({
        check: 'schema',
        file,
        line,
        message: `${path}: "${key}" is computed by the provider and cannot be set`,
      });
      continue;
    }
    if (a.block && Array.isArray(value)) {
      if (!a.list && value.length > 1) {
        findings.push({
          check: 'schema',
          file,
          line,
          message: `${path}: "${key}" takes one block, found ${value.length}`,
        });
      }
      for (const b of value) checkBody(m, file, header, `${path}.${key}`, b, a.block, findings);
    } else if (!a.block && Array.isArray(value) && value.every((v) => v && typeof v === 'object')) {
      findings.push({
        check: 'schema',
        file,
        line,
        message: `${path}: "${key}" is an attribute, not a block (write ${key} = ...)`,
      });
    }
  }
  for (const [key, a] of Object.entries(attrs)) {
    if (a.required && !(key in body) && !dynamicNames.has(key)) {
      findings.push({
        check: 'schema',
        file,
        line: lineOf(m, file, header),
        message: `${path}: required attribute "${key}" is not set`,
      });
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Variables and references
// ------------------------------------------------------------------------------------------------

/** @param {TfModule} m @param {Finding[]} findings */
function checkVariables(m, findings) {
  for (const [name, body] of Object.entries(m.merged.variable)) {
    const file = m.merged.where[`variable.${name}`];
    const line = lineOf(m, file, new RegExp(`variable\\s+"${esc(name)}"`));
    if (typeof body.description !== 'string' || body.description.trim() === '') {
      findings.push({
        check: 'variables',
        file,
        line,
        message: `variable "${name}" has no description`,
      });
    }
    if (body.type === undefined) {
      findings.push({ check: 'variables', file, line, message: `variable "${name}" has no type` });
    }
    if (!/^[a-z][a-z0-9_]*$/.test(name)) {
      findings.push({
        check: 'variables',
        file,
        line,
        message: `variable "${name}" is not snake_case`,
      });
    }
  }
  for (const [name, body] of Object.entries(m.merged.output)) {
    if (typeof body.description !== 'string' || body.description.trim() === '') {
      const file = m.merged.where[`output.${name}`];
      findings.push({
        check: 'variables',
        file,
        line: lineOf(m, file, new RegExp(`output\\s+"${esc(name)}"`)),
        message: `output "${name}" has no description`,
      });
    }
  }
}

/**
 * Every `${...}` string in a parsed value, with the path of keys that leads to it.
 * @param {unknown} v @param {string[]} path @param {Array<{ path: string[], text: string }>} out
 */
function expressionStrings(v, path, out) {
  if (typeof v === 'string') {
    if (v.includes('${')) out.push({ path, text: v });
  } else if (Array.isArray(v)) {
    v.forEach((x, i) => expressionStrings(x, [...path, String(i)], out));
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) expressionStrings(x, [...path, k], out);
  }
}

/** @param {TfModule} m @param {Finding[]} findings */
async function checkReferences(m, findings) {
  const { merged } = m;
  for (const [file, { json }] of m.files) {
    /** @type {Array<{ path: string[], text: string }>} */
    const exprs = [];
    for (const [kind, v] of Object.entries(json)) {
      if (kind === 'terraform') continue;
      // A variable's type constraint is not an expression that references anything.
      if (kind === 'variable') {
        for (const [n, bodies] of Object.entries(/** @type {Record<string, any>} */ (v))) {
          const { type: _t, ...rest } = bodies[0];
          expressionStrings(rest, [kind, n], exprs);
        }
        continue;
      }
      expressionStrings(v, [kind], exprs);
    }
    for (const { path, text } of exprs) {
      /** @type {Array<{ value: string }>} */
      let refs;
      try {
        refs = await cached(`refs\0${text}`, () => getReferencesInExpression(file, text));
      } catch {
        // hcl2json hands back templates with their quotes unescaped, which its own expression
        // parser then rejects (a quoted dimension value in an MQL query): scan those instead.
        refs = [
          ...text.matchAll(
            /\b(?:(?:var|local|module)\.[A-Za-z_][\w-]*|data\.[a-z_]\w*\.[A-Za-z_][\w-]*|oci_[a-z0-9_]+\.[A-Za-z_][\w-]*)/g,
          ),
        ].map((x) => ({ value: x[0] }));
      }
      for (const { value } of refs) {
        const parts = value.split('.');
        const [head, second, third] = parts;
        /** @type {string | undefined} */
        let missing;
        if (head === 'var' && second && !(second in merged.variable))
          missing = `variable "${second}"`;
        else if (head === 'local' && second && !(second in merged.locals))
          missing = `local "${second}"`;
        else if (head === 'module' && second && !(second in merged.module))
          missing = `module "${second}"`;
        else if (head === 'data' && second && third && !merged.data[second]?.[third])
          missing = `data "${second}" "${third}"`;
        else if (head?.startsWith('oci_') && second && !merged.resource[head]?.[second])
          missing = `resource "${head}" "${second}"`;
        if (missing) {
          findings.push({
            check: 'references',
            file,
            line: lineOf(
              m,
              file,
              new RegExp(esc(parts.slice(0, head === 'data' ? 3 : 2).join('.'))),
            ),
            message: `${path.join('.')}: ${value} refers to ${missing}, which is not declared in ${m.dir}`,
          });
        }
      }
    }
  }
}

/**
 * Example configurations call the module: each argument must be a module variable, and every
 * variable without a default must be set.
 * @param {TfModule} example @param {TfModule} main @param {Finding[]} findings
 */
function checkModuleCalls(example, main, findings) {
  // terraform.tfvars.example sets only variables of the example, and every required one.
  for (const [file, json] of example.tfvars) {
    for (const key of Object.keys(json)) {
      if (!(key in example.merged.variable)) {
        findings.push({
          check: 'examples',
          file,
          message: `"${key}" is not a variable of ${example.dir}`,
        });
      }
    }
    for (const [v, vb] of Object.entries(example.merged.variable)) {
      if (!('default' in vb) && !(v in json)) {
        findings.push({ check: 'examples', file, message: `required variable "${v}" is not set` });
      }
    }
  }
  for (const [name, body] of Object.entries(example.merged.module)) {
    const file = example.merged.where[`module.${name}`];
    const line = lineOf(example, file, new RegExp(`module\\s+"${esc(name)}"`));
    const target = join(example.dir, body.source ?? '');
    if (relative(main.dir, target) !== '') continue;
    for (const key of Object.keys(body)) {
      if (['source', 'version', 'providers', 'depends_on', 'count', 'for_each'].includes(key))
        continue;
      if (!(key in main.merged.variable)) {
        findings.push({
          check: 'examples',
          file,
          line,
          message: `module "${name}": "${key}" is not a variable of ${main.dir}`,
        });
      }
    }
    for (const [v, vb] of Object.entries(main.merged.variable)) {
      if (!('default' in vb) && !(v in body)) {
        findings.push({
          check: 'examples',
          file,
          line,
          message: `module "${name}": required variable "${v}" is not set`,
        });
      }
    }
  }
}

/**
 * What the module's datascience preconditions say at plan time, for the shipped examples: a
 * `backend: datascience` workflow needs enable_datascience, and its outputBucket (and projectId,
 * when datascience_project_id is passed) must be the module's.
 * @param {string} root @param {string} codeRoot @param {TfModule} example @param {TfModule} main
 * @param {Finding[]} findings
 */
function checkExampleWorkflows(root, codeRoot, example, main, findings) {
  if (!main.merged.variable.enable_datascience) return;
  for (const [name, body] of Object.entries(example.merged.module)) {
    if (relative(main.dir, join(example.dir, body.source ?? '')) !== '') continue;
    const file = example.merged.where[`module.${name}`];
    const line = lineOf(example, file, /workflow_files\s*=/);
    const files = Array.isArray(body.workflow_files) ? body.workflow_files : [];
    /** @param {string} key */
    const arg = (key) => (key in body ? body[key] : main.merged.variable[key]?.default);
    const enabled = arg('enable_datascience') === true;
    const outputBucket = arg('datascience_output_bucket_name');
    const projectId = arg('datascience_project_id') ?? null;
    for (const f of files) {
      const rel = String(f).replace('${path.module}', example.dir);
      if (rel.includes('${')) continue;
      const path = [join(root, rel), join(codeRoot, rel)].find((p) => existsSync(p));
      if (!path) {
        findings.push({ check: 'examples', file, line, message: `workflow file ${rel} not found` });
        continue;
      }
      const w = YAML.parse(readFileSync(path, 'utf8'));
      if (w?.backend !== 'datascience') continue;
      /** @param {string} message */
      const report = (message) =>
        findings.push({ check: 'examples', file, line, message: `module "${name}": ${message}` });
      if (!enabled) report(`${rel} uses backend: datascience but enable_datascience is not true`);
      if (w.datascience?.outputBucket !== outputBucket)
        report(
          `${rel} writes to outputBucket ${w.datascience?.outputBucket}, the module's datascience_output_bucket_name is ${outputBucket}`,
        );
      if (projectId !== null && w.datascience?.projectId !== projectId)
        report(`${rel} has projectId ${w.datascience?.projectId}, not datascience_project_id`);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// A small evaluator for the HCL expressions the code checks read back: object and tuple
// constructors, `for` expressions (with `if`), templates, references, `==`/`!=`, `&&`/`||`,
// `<`/`>`/`<=`/`>=`, conditionals and the functions jsonencode, length, merge (with `...`
// expansion) and try. Anything else throws: the module must keep those expressions this simple so
// the comparison stays mechanical.
// ------------------------------------------------------------------------------------------------

/**
 * An error Terraform's try() catches: an attribute or key that is not there, a null traversed, a
 * type that does not fit. Everything else (syntax the evaluator does not support, a reference it
 * cannot see offline) stays an error, so try() never hides a gap of this checker.
 * @param {string} message
 */
function dynamicError(message) {
  return Object.assign(new Error(message), { hclDynamic: true });
}
/** @param {unknown} e */
const isDynamic = (e) => e instanceof Error && /** @type {any} */ (e).hclDynamic === true;

/**
 * @param {string} src an HCL expression, or (with `asTemplate`) the body of a template as hcl2json
 *   returns attribute strings: literal text with `${...}` interpolations, escapes already applied
 * @param {(path: Array<string | number>) => unknown} resolve
 * @param {boolean} [asTemplate]
 */
export function evaluateHcl(src, resolve, asTemplate = false) {
  let i = 0;
  // Above zero, expressions are parsed but not evaluated (the branch a conditional or try() does
  // not take, the body of a `for` over nothing): they must still be valid, nothing is resolved.
  let dry = 0;
  /** @type {Array<Record<string, unknown>>} the variables of the enclosing `for` expressions */
  const scopes = [];
  const ws = (/** @type {boolean} */ nl) => {
    for (;;) {
      const c = src[i];
      if (c === ' ' || c === '\t' || c === '\r' || (nl && c === '\n')) i++;
      else if (c === '#' || (c === '/' && src[i + 1] === '/'))
        while (i < src.length && src[i] !== '\n') i++;
      else return;
    }
  };
  const fail = (/** @type {string} */ why) => {
    throw new Error(
      `cannot evaluate HCL at ${i}: ${why} in ${JSON.stringify(src.slice(Math.max(0, i - 20), i + 20))}`,
    );
  };
  const expect = (/** @type {string} */ token) => {
    ws(true);
    if (!src.startsWith(token, i)) fail(`expected "${token}"`);
    i += token.length;
  };
  /** @template T @param {() => T} f @returns {T} */
  const dryRun = (f) => {
    dry++;
    try {
      return f();
    } finally {
      dry--;
    }
  };
  const keyword = (/** @type {string} */ word) =>
    src.startsWith(word, i) && !/[A-Za-z0-9_-]/.test(src[i + word.length] ?? '');

  /** @returns {unknown} */
  const expr = () => {
    const test = logical();
    ws(false);
    if (src[i] !== '?') return test;
    i++;
    if (dry === 0 && typeof test !== 'boolean')
      throw dynamicError('the condition of a conditional is not a bool');
    const yes = test === true && dry === 0 ? expr() : dryRun(expr);
    expect(':');
    const no = test === false && dry === 0 ? expr() : dryRun(expr);
    return test === true ? yes : no;
  };
  // Binary operators by Terraform's precedence, loosest first: `||`, `&&`, `==`/`!=`, then the
  // comparisons. Both operands are always evaluated (Terraform did not short-circuit before 1.12).
  /** @param {'||' | '&&'} op @param {() => unknown} operand @returns {unknown} */
  const boolean = (op, operand) => {
    let left = operand();
    for (;;) {
      ws(false);
      if (!src.startsWith(op, i)) return left;
      i += 2;
      const right = operand();
      if (dry > 0) continue;
      if (typeof left !== 'boolean' || typeof right !== 'boolean')
        throw dynamicError(`the operands of ${op} must be bools`);
      left = op === '&&' ? left && right : left || right;
    }
  };
  /** @returns {unknown} */
  const logical = () => boolean('||', () => boolean('&&', equality));
  /** @returns {unknown} */
  const equality = () => {
    let left = comparison();
    for (;;) {
      ws(false);
      const op = src.slice(i, i + 2);
      if (op !== '==' && op !== '!=') return left;
      i += 2;
      const right = comparison();
      if (dry > 0) continue;
      const same = jsonencode(sortDeep(left) ?? null) === jsonencode(sortDeep(right) ?? null);
      left = op === '==' ? same : !same;
    }
  };
  /** @returns {unknown} */
  const comparison = () => {
    let left = primary();
    for (;;) {
      ws(false);
      const c = src[i];
      if (c !== '<' && c !== '>') return left;
      const op = src[i + 1] === '=' ? `${c}=` : c;
      i += op.length;
      const right = primary();
      if (dry > 0) continue;
      if (typeof left !== 'number' || typeof right !== 'number')
        throw dynamicError(`the operands of ${op} must be numbers`);
      left =
        op === '<'
          ? left < right
          : op === '>'
            ? left > right
            : op === '<='
              ? left <= right
              : left >= right;
    }
  };
  /** @returns {unknown} */
  const primary = () => {
    ws(true);
    const c = src[i];
    if (c === '{') return object();
    if (c === '[') return tuple();
    if (c === '"') return template();
    if (c === '(') {
      i++;
      const v = expr();
      expect(')');
      return v;
    }
    if (c !== undefined && /[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?/.exec(src.slice(i));
      i += m?.[0].length ?? 0;
      return Number(m?.[0]);
    }
    if (c !== undefined && /[A-Za-z_]/.test(c)) {
      const name = ident();
      if (name === 'true') return true;
      if (name === 'false') return false;
      if (name === 'null') return null;
      ws(false);
      if (src[i] === '(') return call(name);
      /** @type {Array<string | number>} */
      const path = [name];
      for (;;) {
        if (src[i] === '.' && !src.startsWith('...', i)) {
          i++;
          path.push(ident());
        } else if (src[i] === '[') {
          i++;
          const k = expr();
          expect(']');
          path.push(/** @type {string | number} */ (k));
        } else break;
      }
      if (dry > 0) return undefined;
      const scope = [...scopes].reverse().find((s) => name in s);
      if (!scope) return resolve(path);
      /** @type {unknown} */
      let v = scope[name];
      for (const k of path.slice(1)) {
        if (v === null || typeof v !== 'object' || !(String(k) in v))
          throw dynamicError(`${path.join('.')}: no "${k}"`);
        v = /** @type {any} */ (v)[k];
      }
      return v;
    }
    return fail('unsupported expression');
  };
  /** @param {string} name */
  const call = (name) => {
    i++; // (
    if (name === 'try') {
      // The first argument that evaluates without a dynamic error; the others are only parsed.
      let found = false;
      /** @type {unknown} */
      let value;
      for (;;) {
        ws(true);
        if (src[i] === ')') break;
        const start = i;
        if (found || dry > 0) {
          dryRun(expr);
        } else {
          try {
            value = expr();
            found = true;
          } catch (e) {
            if (!isDynamic(e)) throw e;
            i = start;
            dryRun(expr);
          }
        }
        ws(true);
        if (src[i] === ',') i++;
      }
      i++;
      if (!found && dry === 0) throw dynamicError('no argument of try() could be evaluated');
      return value;
    }
    /** @type {unknown[]} */
    const args = [];
    for (;;) {
      ws(true);
      if (src[i] === ')') break;
      const v = expr();
      ws(true);
      if (src.startsWith('...', i)) {
        i += 3;
        if (dry === 0 && !Array.isArray(v)) throw dynamicError('... expands a tuple only');
        if (dry === 0) args.push(.../** @type {unknown[]} */ (v));
      } else {
        args.push(v);
      }
      ws(true);
      if (src[i] === ',') i++;
    }
    i++;
    if (name === 'jsonencode') {
      if (args.length !== 1 && dry === 0) fail('jsonencode() takes one argument');
      return dry > 0 ? undefined : jsonencode(args[0]);
    }
    if (name === 'length') {
      if (args.length !== 1 && dry === 0) fail('length() takes one argument');
      if (dry > 0) return undefined;
      const [a] = args;
      // Terraform counts a string's grapheme clusters: not mimicked, refused.
      if (typeof a === 'string') fail('length() of a string is not supported');
      if (Array.isArray(a)) return a.length;
      if (a && typeof a === 'object') return Object.keys(a).length;
      throw dynamicError('length() takes a string, a tuple or an object');
    }
    if (name === 'merge') {
      if (dry > 0) return undefined;
      /** @type {Record<string, unknown>} */
      const out = {};
      for (const a of args) {
        if (a === null) continue;
        if (typeof a !== 'object' || Array.isArray(a))
          throw dynamicError('merge() takes objects only');
        Object.assign(out, a);
      }
      return out;
    }
    return fail(`function ${name}() is not supported`);
  };
  const ident = () => {
    const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i));
    if (!m) fail('expected a name');
    i += m?.[0].length ?? 0;
    return m?.[0] ?? '';
  };
  /**
   * `[for k, v in coll : value if cond]` or `{for k, v in coll : key => value if cond}`, after the
   * opening bracket; maps are iterated in key order, as Terraform does.
   * @param {'}' | ']'} close
   */
  const forExpr = (close) => {
    i += 3; // for
    ws(true);
    const first = ident();
    ws(true);
    /** @type {string | undefined} */
    let keyVar;
    let valueVar = first;
    if (src[i] === ',') {
      i++;
      ws(true);
      keyVar = first;
      valueVar = ident();
      ws(true);
    }
    if (!keyword('in')) fail('expected "in"');
    i += 2;
    const coll = expr();
    expect(':');
    const bodyStart = i;
    /** @type {Array<[string | number, unknown]>} */
    let entries = [];
    if (dry === 0) {
      if (Array.isArray(coll)) entries = coll.map((v, n) => [n, v]);
      else if (coll && typeof coll === 'object')
        entries = Object.keys(coll)
          .sort()
          .map((k) => [k, /** @type {any} */ (coll)[k]]);
      else throw dynamicError('a for expression iterates over a tuple or an object only');
    }
    /** @param {Record<string, unknown>} vars */
    const body = (vars) => {
      i = bodyStart;
      scopes.push(vars);
      try {
        let key = close === '}' ? expr() : undefined;
        if (close === '}') expect('=>');
        const value = expr();
        ws(true);
        if (src.startsWith('...', i)) fail('grouping (...) in a for expression is not supported');
        let keep = /** @type {unknown} */ (true);
        if (keyword('if')) {
          i += 2;
          keep = expr();
          ws(true);
        }
        return { key, value, keep };
      } finally {
        scopes.pop();
      }
    };
    const out = close === '}' ? /** @type {Record<string, unknown>} */ ({}) : [];
    if (entries.length === 0) {
      dryRun(() => body({ [valueVar]: undefined, ...(keyVar ? { [keyVar]: undefined } : {}) }));
    }
    for (const [k, v] of entries) {
      const r = body({ [valueVar]: v, ...(keyVar ? { [keyVar]: k } : {}) });
      if (r.keep !== true && r.keep !== false)
        throw dynamicError('the if clause of a for expression is not a bool');
      if (!r.keep) continue;
      if (Array.isArray(out)) out.push(r.value);
      else {
        const key = String(r.key);
        if (key in out) throw dynamicError(`duplicate key "${key}" in a for expression`);
        out[key] = r.value;
      }
    }
    if (src[i] !== close) fail(`expected "${close}"`);
    i++;
    return dry > 0 ? undefined : out;
  };
  const object = () => {
    i++;
    ws(true);
    if (keyword('for')) return forExpr('}');
    /** @type {Record<string, unknown>} */
    const out = {};
    for (;;) {
      ws(true);
      if (src[i] === '}') {
        i++;
        return out;
      }
      const key = src[i] === '"' ? String(template()) : ident();
      ws(false);
      if (src[i] !== '=' && src[i] !== ':') fail('expected "=" in object');
      i++;
      out[key] = expr();
      ws(false);
      if (src[i] === ',') i++;
    }
  };
  const tuple = () => {
    i++;
    ws(true);
    if (keyword('for')) return forExpr(']');
    const out = [];
    for (;;) {
      ws(true);
      if (src[i] === ']') {
        i++;
        return out;
      }
      out.push(expr());
      ws(true);
      if (src[i] === ',') i++;
    }
  };
  const template = (raw = false) => {
    if (!raw) i++;
    /** @type {unknown[]} */
    const parts = [];
    let lit = '';
    for (;;) {
      const c = src[i];
      if (c === undefined) {
        if (raw) break;
        fail('unterminated string');
      }
      if (c === '"' && !raw) {
        i++;
        break;
      }
      if (c === '\\' && !raw) {
        const n = src[i + 1];
        lit += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : (n ?? '');
        i += 2;
      } else if (c === '$' && src[i + 1] === '{') {
        if (lit) parts.push(lit);
        lit = '';
        i += 2;
        parts.push({ value: expr() });
        expect('}');
      } else {
        lit += c;
        i++;
      }
    }
    if (lit) parts.push(lit);
    if (dry > 0) return undefined;
    // Text around an interpolation makes a string, and null or a collection cannot be one.
    if (parts.length > 1 || typeof parts[0] === 'string') {
      for (const p of parts) {
        const value = typeof p === 'object' && p ? /** @type {any} */ (p).value : '';
        if (value === null || value === undefined || typeof value === 'object')
          throw dynamicError('a template interpolates null or a collection into a string');
      }
    }
    return joinTemplate(parts);
  };
  const v = asTemplate ? template(true) : expr();
  ws(true);
  if (i !== src.length) fail('trailing text');
  return v;
}

/** @param {unknown[]} parts */
function joinTemplate(parts) {
  const only = parts[0];
  if (parts.length === 1 && typeof only === 'object' && only)
    return /** @type {any} */ (only).value;
  return parts
    .map((p) => (typeof p === 'string' ? p : String(/** @type {any} */ (p).value)))
    .join('');
}

/**
 * Terraform's jsonencode: object keys in lexical order, no whitespace, and Go's HTML escaping.
 * @param {unknown} v
 */
export function jsonencode(v) {
  /** @param {unknown} x @returns {unknown} */
  const sort = (x) =>
    Array.isArray(x)
      ? x.map(sort)
      : x && typeof x === 'object'
        ? Object.fromEntries(
            Object.keys(x)
              .sort()
              .map((k) => [k, sort(/** @type {any} */ (x)[k])]),
          )
        : x;
  return JSON.stringify(sort(v))
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * Evaluates an attribute value as hcl2json returns it: plain values stay, strings are templates.
 * @param {unknown} value @param {(path: Array<string | number>) => unknown} resolve
 * @returns {unknown}
 */
function evalValue(value, resolve) {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    return evaluateHcl(value, resolve, true);
  }
  if (Array.isArray(value)) return value.map((v) => evalValue(v, resolve));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, evalValue(v, resolve)]));
  }
  return value;
}

/**
 * A resolver over a module: local.* evaluates the local (or takes `locals`, for the ones that read
 * files), var.* takes `vars` then the default, each.* comes from `each`; other references are
 * unknown.
 * @param {TfModule} m @param {Record<string, unknown>} vars @param {Record<string, unknown>} [each]
 * @param {Record<string, unknown>} [locals]
 */
function resolverFor(m, vars, each, locals = {}) {
  /** @param {Array<string | number>} path @returns {unknown} */
  const resolve = (path) => {
    const [head, name, ...rest] = path;
    /** @type {unknown} */
    let v;
    if (head === 'local' && typeof name === 'string' && name in locals) {
      v = locals[name];
    } else if (head === 'local' && typeof name === 'string' && name in m.merged.locals) {
      v = evalValue(m.merged.locals[name], resolve);
    } else if (head === 'var' && typeof name === 'string' && name in m.merged.variable) {
      v = name in vars ? vars[name] : m.merged.variable[name].default;
    } else if (head === 'each' && each && typeof name === 'string' && name in each) {
      v = each[name];
    } else {
      throw new Error(`reference ${path.join('.')} cannot be evaluated offline`);
    }
    for (const k of rest) {
      if (v === null || typeof v !== 'object' || !(k in v))
        throw dynamicError(`${path.join('.')}: no "${k}"`);
      v = /** @type {any} */ (v)[k];
    }
    return v;
  };
  return resolve;
}

// ------------------------------------------------------------------------------------------------
// Holding the module against the code
// ------------------------------------------------------------------------------------------------

/**
 * Loads shared/wiring.ts, shared/config.ts, shared/scaling/alarm.ts and workflows/schema.ts (when
 * present) through one esbuild bundle, so the checks compare with the code itself.
 * @param {string} root
 */
async function loadCode(root) {
  const parts = [`export * as wiring from './shared/wiring.ts';`];
  const optional = {
    config: 'shared/config.ts',
    alarm: 'shared/scaling/alarm.ts',
    workflowSchema: 'workflows/schema.ts',
    policy: 'shared/scaling/policy.ts',
    simulate: 'shared/scaling/simulate.ts',
    alarmDefinitions: 'shared/scaling/alarm-definitions.ts',
  };
  for (const [name, file] of Object.entries(optional)) {
    if (existsSync(join(root, file))) parts.push(`export * as ${name} from './${file}';`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'dacflow-tfcheck-'));
  try {
    const out = join(dir, 'code.mjs');
    await build({
      stdin: {
        contents: parts.join('\n'),
        resolveDir: root,
        loader: 'ts',
        sourcefile: 'tf-check-entry.ts',
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: out,
      logLevel: 'silent',
      banner: {
        js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
    });
    return /** @type {Record<string, any>} */ (await import(pathToFileURL(out).href));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * @param {string} root @param {string} codeRoot @param {TfModule} m @param {Record<string, any>} code
 * @param {Finding[]} findings
 */
function checkAgainstCode(root, codeRoot, m, code, findings) {
  const { wiring } = code;
  const r = m.merged.resource;
  /** @param {string} addr @param {string} msg @param {RegExp} [pattern] @param {RegExp} [after] */
  const find = (addr, msg, pattern, after) => {
    const file = m.merged.where[addr] ?? m.merged.where[`local.${addr}`] ?? 'terraform';
    findings.push({
      check: 'code',
      file,
      line: pattern ? lineOf(m, file, pattern, after) : undefined,
      message: msg,
    });
  };
  /** @param {() => void} f @param {string} what @param {string} addr */
  const guard = (f, what, addr) => {
    try {
      f();
    } catch (e) {
      find(addr, `${what}: ${errorText(e)}`);
    }
  };
  const sampleVars = {
    bucket_name: 'dacflow-datasets',
    compartment_ocid: 'ocid1.compartment.oc1..sample',
  };

  // Functions: one per folder, memory and timeout from func.yaml.
  guard(
    () => {
      const fn = r.oci_functions_function?.this;
      if (!fn) throw new Error('no resource oci_functions_function.this');
      if (fn.for_each !== '${local.functions}')
        throw new Error('oci_functions_function.this must use for_each = local.functions');
      if (
        fn.memory_in_mbs !== '${each.value.memory_in_mbs}' ||
        fn.timeout_in_seconds !== '${each.value.timeout_in_seconds}'
      ) {
        throw new Error(
          'memory_in_mbs/timeout_in_seconds must come from each.value (local.functions)',
        );
      }
      if (fn.display_name !== '${each.key}')
        throw new Error('display_name must be each.key (the function name)');
      const table = /** @type {Record<string, any>} */ (
        evalValue(m.merged.locals.functions, resolverFor(m, sampleVars))
      );
      const folders = readdirSync(join(root, 'functions'), { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join(root, 'functions', d.name, 'func.yaml')))
        .map((d) => d.name)
        .sort();
      const names = Object.keys(table).sort();
      if (JSON.stringify(names) !== JSON.stringify(folders)) {
        find(
          'functions',
          `local.functions has [${names.join(', ')}], functions/ has [${folders.join(', ')}]`,
          /^\s*functions\s*=/m,
        );
      }
      if (JSON.stringify([...wiring.functionNames].sort()) !== JSON.stringify(folders)) {
        find(
          'functions',
          `functionNames in shared/wiring.ts is [${wiring.functionNames.join(', ')}], functions/ has [${folders.join(', ')}]`,
        );
      }
      for (const name of folders) {
        const spec = YAML.parse(readFileSync(join(root, 'functions', name, 'func.yaml'), 'utf8'));
        const entry = table[name];
        if (!entry) continue;
        const memory = spec.memory ?? 128;
        const timeout = spec.timeout ?? 30;
        if (Number(entry.memory_in_mbs) !== memory) {
          find(
            'functions',
            `${name}: memory_in_mbs ${entry.memory_in_mbs} in terraform, memory ${memory} in functions/${name}/func.yaml`,
            new RegExp(`"${esc(name)}"\\s*=`),
          );
        }
        if (Number(entry.timeout_in_seconds) !== timeout) {
          find(
            'functions',
            `${name}: timeout_in_seconds ${entry.timeout_in_seconds} in terraform, timeout ${timeout} in functions/${name}/func.yaml`,
            new RegExp(`"${esc(name)}"\\s*=`),
          );
        }
      }
    },
    'functions',
    'oci_functions_function.this',
  );

  // Events: the condition equals datasetCondition() for sample workflows; names equal wiringFor().
  guard(
    () => {
      const rule = r.oci_events_rule?.dataset;
      if (!rule) throw new Error('no resource oci_events_rule.dataset');
      if (rule.for_each !== '${local.workflows}')
        throw new Error('oci_events_rule.dataset must use for_each = local.workflows');
      const workflowsExpr = String(m.merged.locals.workflows ?? '').replace(/\s+/g, ' ');
      const expected =
        '${{ for w in local.workflow_documents : w.name => { bucket = w.trigger.bucket, prefix = w.trigger.prefix } }}';
      if (workflowsExpr !== expected) {
        throw new Error(
          `local.workflows must be exactly ${expected} (the WorkflowTrigger of each workflow file)`,
        );
      }
      // A datascience sample too: wiringFor() then adds the Data Science rule (checked below),
      // which is no dataset rule and must not shift the trigger-to-rule pairing.
      const samples = [
        { name: 'support-bot', bucket: 'dacflow-datasets', prefix: 'datasets/support-bot/' },
        { name: 'x', bucket: 'other.bucket_1', prefix: 'a/b c/', backend: 'datascience' },
      ];
      const expectedWiring = wiring.wiringFor(samples);
      const datasetRules = expectedWiring.rules.filter(
        (/** @type {any} */ w) => w.name !== wiring.dataScienceEventsRule?.name,
      );
      if (datasetRules.length !== samples.length)
        throw new Error(
          `wiringFor() gives ${datasetRules.length} dataset rules for ${samples.length} workflows`,
        );
      samples.forEach((t, idx) => {
        const resolve = resolverFor(m, sampleVars, {
          key: t.name,
          value: { bucket: t.bucket, prefix: t.prefix },
        });
        const text = evalValue(rule.condition, resolve);
        const want = wiring.datasetCondition(t);
        if (typeof text !== 'string') throw new Error('condition does not evaluate to a string');
        if (JSON.stringify(sortDeep(JSON.parse(text))) !== JSON.stringify(sortDeep(want))) {
          find(
            'oci_events_rule.dataset',
            `condition for ${t.name} is ${text}, datasetCondition() gives ${JSON.stringify(want)}`,
            /condition\s*=/,
          );
        }
        const name = evalValue(rule.display_name, resolve);
        if (name !== datasetRules[idx].name) {
          find(
            'oci_events_rule.dataset',
            `rule name ${String(name)}, wiringFor() names it ${datasetRules[idx].name}`,
            /display_name\s*=/,
          );
        }
      });
      const actions = rule.actions?.[0]?.actions ?? [];
      const targets = actions.map((/** @type {any} */ a) => a.function_id);
      const fnName = datasetRules[0].function;
      if (
        targets.length !== 1 ||
        targets[0] !== `\${oci_functions_function.this["${fnName}"].id}`
      ) {
        find(
          'oci_events_rule.dataset',
          `the rule's one action must be FAAS to ${fnName}, found ${JSON.stringify(targets)}`,
          /actions\s*\{/,
        );
      }
      const reserved = evalValue(m.merged.locals.reserved_prefixes, resolverFor(m, sampleVars));
      if (JSON.stringify(reserved) !== JSON.stringify(Object.values(wiring.reservedPrefixes))) {
        find(
          'reserved_prefixes',
          `local.reserved_prefixes ${JSON.stringify(reserved)} differs from reservedPrefixes in shared/wiring.ts`,
        );
      }
    },
    'events',
    'oci_events_rule.dataset',
  );

  // The Data Science events rule: dataScienceEventsRule's name, condition and function, enabled,
  // in the compartment, and planned exactly when wiringFor() adds it (for sample workflow files)
  // and enable_datascience is on.
  guard(
    () => {
      const want = wiring.dataScienceEventsRule;
      if (!want) return;
      const addr = 'oci_events_rule.datascience';
      const header = /resource\s+"oci_events_rule"\s+"datascience"/;
      const rule = r.oci_events_rule?.datascience;
      if (!rule) {
        find(
          'oci_events_rule.dataset',
          `no resource ${addr}: wiringFor() sends ${want.condition.eventType.join(', ')} to ${want.function} for datascience workflows (dataScienceEventsRule in shared/wiring.ts)`,
        );
        return;
      }
      /** @param {string} file */
      const example = (file) =>
        YAML.parse(readFileSync(join(codeRoot, 'workflows/examples', file), 'utf8'));
      const genai = example('genai-support-bot.yaml');
      const aqua = example('aqua-llama.yaml');
      /** @type {Array<[string, Record<string, any>[]]>} */
      const sampleSets = [
        ['a genai and a datascience workflow', [genai, aqua]],
        ['a datascience workflow', [aqua]],
        ['a genai workflow', [genai]],
      ];
      /** @param {Record<string, unknown>} vars @param {Record<string, any>[]} docs */
      const planned = (vars, docs) => {
        const res = resolverFor(m, vars, undefined, { workflow_documents: docs });
        if (rule.count !== undefined) return evalValue(rule.count, res);
        if (rule.for_each !== undefined) {
          const fe = evalValue(rule.for_each, res);
          return fe && typeof fe === 'object' ? Object.keys(fe).length : fe;
        }
        return 1;
      };
      /** @param {unknown} n */
      const rules = (n) =>
        n === 0 ? 'none' : n === 1 ? 'one such rule' : `${JSON.stringify(n)} such rules`;
      for (const [what, docs] of sampleSets) {
        const triggers = docs.map((d) => ({
          name: d.name,
          bucket: d.trigger.bucket,
          prefix: d.trigger.prefix,
          backend: d.backend,
        }));
        const expected = wiring
          .wiringFor(triggers)
          .rules.filter((/** @type {any} */ w) => w.name === want.name).length;
        const on = planned({ ...sampleVars, enable_datascience: true }, docs);
        if (on !== expected)
          find(
            addr,
            `${addr}: with enable_datascience and ${what} the module plans ${rules(on)}, wiringFor() has ${rules(expected)} (the rule exists exactly when a workflow has backend: datascience)`,
            /^[ \t]*(count|for_each)\s*=/m,
            header,
          );
        const off = planned({ ...sampleVars, enable_datascience: false }, docs);
        if (off !== 0)
          find(
            addr,
            `${addr}: without enable_datascience and with ${what} the module plans ${rules(off)}, expected none (the rule exists only with enable_datascience)`,
            /^[ \t]*(count|for_each)\s*=/m,
            header,
          );
      }
      // A name_prefix other than the default: the name is wiringFor()'s whatever the prefix.
      const resolve = resolverFor(
        m,
        { ...sampleVars, enable_datascience: true, name_prefix: 'acme' },
        undefined,
        { workflow_documents: [aqua] },
      );
      const name = evalValue(rule.display_name, resolve);
      if (name !== want.name)
        find(
          addr,
          `${addr}: display name ${JSON.stringify(name)}, dataScienceEventsRule names it ${want.name} (doctor finds it by that name)`,
          /display_name\s*=/,
          header,
        );
      const text = evalValue(rule.condition, resolve);
      if (typeof text !== 'string')
        throw new Error(`${addr}: condition does not evaluate to a string`);
      if (JSON.stringify(sortDeep(JSON.parse(text))) !== JSON.stringify(sortDeep(want.condition)))
        find(
          addr,
          `${addr}: condition is ${text}, dataScienceEventsRule has ${JSON.stringify(want.condition)}`,
          /condition\s*=/,
          header,
        );
      if (rule.is_enabled !== true)
        find(addr, `${addr}: is_enabled must be true`, /is_enabled\s*=/, header);
      if (rule.compartment_id !== '${var.compartment_ocid}')
        find(
          addr,
          `${addr}: compartment_id must be var.compartment_ocid (a rule sees the events of its compartment, where the functions create job runs and deployments)`,
          /compartment_id\s*=/,
          header,
        );
      const actions = rule.actions?.[0]?.actions ?? [];
      const fn = `\${oci_functions_function.this["${want.function}"].id}`;
      const found = actions.map((/** @type {any} */ a) => a.function_id);
      if (
        actions.length !== 1 ||
        actions[0].action_type !== 'FAAS' ||
        actions[0].function_id !== fn ||
        actions[0].is_enabled !== true
      )
        find(
          addr,
          `${addr}: the rule's one action must be an enabled FAAS action to ${want.function} (oci_functions_function.this["${want.function}"]), found ${JSON.stringify(found)}`,
          /actions\s*\{/,
          header,
        );
    },
    'events',
    'oci_events_rule.datascience',
  );

  // Notifications and schedules from wiringFor().
  guard(
    () => {
      const w = wiring.wiringFor([]);
      // Every subscription instance, with each.key/each.value substituted into its references.
      /** @type {Array<{ protocol: unknown, endpoint: string, topic: string }>} */
      const instances = [];
      for (const [name, b] of Object.entries(r.oci_ons_subscription ?? {})) {
        if (b.protocol !== 'ORACLE_FUNCTIONS') continue; // email and the like: not wiring
        /** @type {Array<[string, unknown]>} */
        let each = [['', '']];
        if (b.for_each !== undefined) {
          const fe = evalValue(b.for_each, resolverFor(m, sampleVars));
          if (!fe || typeof fe !== 'object' || Array.isArray(fe)) {
            throw new Error(`oci_ons_subscription.${name}: for_each must be a map local`);
          }
          each = Object.entries(fe);
        }
        for (const [k, v] of each) {
          const sub = (/** @type {unknown} */ x) =>
            String(x)
              .replace(/\[each\.key\]/g, `[${JSON.stringify(k)}]`)
              .replace(/\[each\.value\]/g, `[${JSON.stringify(v)}]`);
          instances.push({
            protocol: b.protocol,
            endpoint: sub(b.endpoint),
            topic: sub(b.topic_id),
          });
        }
      }
      for (const s of w.subscriptions) {
        // Topic `alarms` is oci_ons_notification_topic.alarms; work topics are .work["<key>"].
        const topics = [
          `\${oci_ons_notification_topic.${s.topic.replace(/-/g, '_')}.id}`,
          `\${oci_ons_notification_topic.work[${JSON.stringify(s.topic)}].id}`,
        ];
        const ok = instances.some(
          (x) =>
            x.protocol === s.protocol &&
            x.endpoint === `\${oci_functions_function.this[${JSON.stringify(s.function)}].id}` &&
            topics.includes(x.topic),
        );
        if (!ok) {
          find(
            'oci_ons_subscription',
            `no ${s.protocol} subscription of topic "${s.topic}" to ${s.function} (wiringFor() in shared/wiring.ts)`,
          );
        }
      }
      for (const s of w.schedules) {
        const found = Object.values(r.oci_resource_scheduler_schedule ?? {}).find((b) =>
          (b.resources ?? []).some(
            (/** @type {any} */ x) =>
              x.id === `\${oci_functions_function.this["${s.function}"].id}`,
          ),
        );
        if (!found) {
          find('oci_resource_scheduler_schedule', `no schedule starts ${s.function}`);
        } else if (
          found.recurrence_details !== '${var.poll_cron}' ||
          m.merged.variable.poll_cron?.default !== s.cron
        ) {
          find(
            'variable.poll_cron',
            `the schedule must use var.poll_cron with default "${s.cron}" (defaultPollCron)`,
            /variable\s+"poll_cron"/,
          );
        }
      }
    },
    'wiring',
    'oci_ons_subscription',
  );

  // Function configuration: every key the functions read; nothing parseConfig rejects.
  guard(
    () => {
      const fn = r.oci_functions_function?.this;
      if (fn?.config !== '${local.function_config}')
        throw new Error('function config must be local.function_config');
      const raw = m.merged.locals.function_config;
      if (!raw || typeof raw !== 'object')
        throw new Error('local.function_config must be an object constructor');
      const setKeys = Object.keys(raw);
      const cfg = code.config;
      /** @type {string[]} */
      let needed = [
        'DACFLOW_STATE_BUCKET',
        'DACFLOW_STATE_NAMESPACE',
        'DACFLOW_PIPELINE_TOPIC_ID',
        'DACFLOW_WORKFLOWS',
        'DACFLOW_LOG_LEVEL',
      ];
      if (cfg?.functionConfigKeys && cfg?.configVariables) {
        const read = new Set(Object.values(cfg.functionConfigKeys).flat());
        // DACFLOW_OCI_ENDPOINT points every client at the local emulator: never set on OCI.
        needed = [...read].filter((k) => k !== 'DACFLOW_OCI_ENDPOINT');
        for (const k of setKeys) {
          if (!(k in cfg.configVariables))
            find(
              'function_config',
              `${k} is set but shared/config.ts does not know it (parseConfig rejects unknown DACFLOW_* keys)`,
              new RegExp(esc(k)),
            );
        }
        if (setKeys.includes('DACFLOW_OCI_ENDPOINT'))
          find(
            'function_config',
            'DACFLOW_OCI_ENDPOINT must not be set on OCI',
            /DACFLOW_OCI_ENDPOINT/,
          );
      } else {
        find(
          'function_config',
          "shared/config.ts with functionConfigKeys not found: checked against the brief's list instead",
        );
      }
      for (const k of needed) {
        if (!setKeys.includes(k))
          find(
            'function_config',
            `${k} is read by the functions but not set in local.function_config`,
            /function_config\s*=/,
          );
      }
    },
    'config',
    'function_config',
  );

  // Alarms: bodies equal formatAlarmBody(); thresholds default to the workflow defaults.
  guard(
    () => {
      const alarm = r.oci_monitoring_alarm?.scaling;
      if (!alarm) throw new Error('no resource oci_monitoring_alarm.scaling');
      if (!code.alarm?.formatAlarmBody) {
        // Failing safe: without the format there is nothing to hold the bodies against.
        find(
          'oci_monitoring_alarm.scaling',
          'TODO: shared/scaling/alarm.ts formatAlarmBody() not found; alarm bodies are unchecked',
        );
        return;
      }
      const rules = /** @type {Record<string, any>} */ (m.merged.locals.scaling_rules ?? {});
      const known = new Set(code.alarm.scalingRules ?? []);
      const required = [
        'latency-p99-high',
        'utilization-high',
        'utilization-low',
        'utilization-sustained-low',
      ];
      for (const name of required)
        if (!(name in rules))
          find('scaling_rules', `local.scaling_rules has no rule "${name}"`, /scaling_rules\s*=/);
      for (const name of Object.keys(rules)) {
        if (!known.has(name))
          find(
            'scaling_rules',
            `rule "${name}" is not a ScalingRule of shared/scaling/alarm.ts`,
            new RegExp(`"${esc(name)}"\\s*=`),
          );
        const clusterId = 'ocid1.generativeaidedicatedaicluster.oc1.iad.sample';
        const resolve = resolverFor(m, sampleVars, {
          key: `managed-${name}`,
          value: { cluster_id: clusterId, rule: name },
        });
        const body = evalValue(alarm.body, resolve);
        const want = code.alarm.formatAlarmBody(clusterId, name);
        if (body !== want)
          find(
            'oci_monitoring_alarm.scaling',
            `body for ${name} is ${String(body)}, formatAlarmBody() gives ${want}`,
            /body\s*=/,
          );
        if (alarm.rule_name !== '${each.value.rule}')
          find(
            'oci_monitoring_alarm.scaling',
            'rule_name must be each.value.rule',
            /rule_name\s*=/,
          );
      }
      const scalingAlarms = String(m.merged.locals.scaling_alarms ?? '');
      if (
        !/cluster_id\s*=\s*local\.hosting_clusters\[pair\[0\]\]/.test(scalingAlarms) ||
        !/rule\s*=\s*pair\[1\]/.test(scalingAlarms)
      ) {
        find(
          'scaling_alarms',
          'local.scaling_alarms must set cluster_id = local.hosting_clusters[pair[0]] and rule = pair[1]',
          /scaling_alarms\s*=/,
        );
      }
      if (
        JSON.stringify(alarm.destinations ?? null).replace(/\s/g, '') !==
        JSON.stringify(['${oci_ons_notification_topic.alarms.id}'])
      ) {
        find(
          'oci_monitoring_alarm.scaling',
          'alarm destinations must be the alarms topic',
          /destinations\s*=/,
        );
      }

      const defaults = workflowDefaults(codeRoot, code);
      /** @type {Array<[string, string, string]>} */
      const thresholds = [
        ['latency-p99-high', 'latency_p99_high_threshold_ms', 'latencyP99ThresholdMs'],
        ['utilization-high', 'utilization_high_threshold_pct', 'highUtilizationPct'],
        ['utilization-low', 'utilization_low_threshold_pct', 'lowUtilizationPct'],
        [
          'utilization-sustained-low',
          'utilization_sustained_low_threshold_pct',
          'sustainedLowUtilizationPct',
        ],
      ];
      // Durations: the sustained window (workflow default) and the repeat interval (policy default).
      /** @param {string} variable @param {unknown} minutes @param {string} source */
      const duration = (variable, minutes, source) => {
        const v = m.merged.variable[variable];
        if (typeof minutes !== 'number') return;
        const ok = [`PT${minutes}M`, ...(minutes % 60 === 0 ? [`PT${minutes / 60}H`] : [])];
        if (!v || !ok.includes(v.default)) {
          find(
            `variable.${variable}`,
            `variable "${variable}" defaults to ${v?.default}, ${source} says ${minutes} minutes (${ok.join(' or ')})`,
            new RegExp(`variable\\s+"${esc(variable)}"`),
          );
        }
      };
      duration(
        'utilization_sustained_low_pending_duration',
        defaults.values.sustainedLowWindowMin,
        `${defaults.source} sustainedLowWindowMin`,
      );
      duration(
        'alarm_repeat_notification_duration',
        code.policy?.defaultScalingPolicy?.alarmRepeatMin,
        'shared/scaling/policy.ts defaultScalingPolicy.alarmRepeatMin',
      );
      // Each rule's interval and pending duration as the simulator evaluated them
      // (alarmRulesFor(defaultScalingPolicy) in shared/scaling/simulate.ts).
      const specs = code.simulate?.alarmRulesFor?.(code.policy?.defaultScalingPolicy) ?? [];
      for (const spec of specs) {
        const rv = rules[spec.rule];
        if (!rv) continue;
        for (const [field, want] of [
          ['interval', `${spec.intervalMin}m`],
          ['pending', `PT${spec.pendingMin}M`],
        ]) {
          const ref = /^\$\{var\.([a-z0-9_]+)\}$/.exec(String(rv[field] ?? ''));
          const got = ref ? m.merged.variable[ref[1]]?.default : rv[field];
          const same = got === want || (field === 'pending' && got === 'PT1H' && want === 'PT60M');
          if (!same)
            find(
              'scaling_rules',
              `rule ${spec.rule} ${field} defaults to ${got}, alarmRulesFor(defaultScalingPolicy) evaluates ${want}`,
              new RegExp(`"${esc(spec.rule)}"\\s*=`),
            );
        }
      }
      for (const [rule, variable, field] of thresholds) {
        const v = m.merged.variable[variable];
        const pattern = new RegExp(`variable\\s+"${esc(variable)}"`);
        if (!v) {
          find('variables', `no variable "${variable}" for rule ${rule}`);
          continue;
        }
        if (!v.validation)
          find(
            `variable.${variable}`,
            `variable "${variable}" is a threshold without a validation block`,
            pattern,
          );
        const want = defaults.values[field];
        if (v.default !== want) {
          find(
            `variable.${variable}`,
            `variable "${variable}" defaults to ${v.default}, ${defaults.source} says ${field} = ${want}`,
            pattern,
          );
        }
        const rv = rules[rule];
        if (
          rv &&
          rv.threshold !== `\${var.${variable}}` &&
          !(rule === 'latency-p99-high' && rv.threshold === '${local.latency_threshold}')
        ) {
          find(
            'scaling_rules',
            `rule ${rule} must take its threshold from var.${variable}`,
            new RegExp(`"${esc(rule)}"\\s*=`),
          );
        }
      }
    },
    'alarms',
    'oci_monitoring_alarm.scaling',
  );

  // Model-deployment alarms (terraform/datascience.tf): for sample workflow files, the alarms the
  // module plans are exactly deploymentAlarmDefinitions() of each datascience workflow with
  // autoscaling, with that workflow's policy (its own values over the variables' defaults).
  guard(
    () => {
      if (!m.merged.variable.enable_datascience) return;
      const addr = 'oci_monitoring_alarm.deployment_scaling';
      const alarm = r.oci_monitoring_alarm?.deployment_scaling;
      if (!alarm)
        throw new Error(
          `no resource ${addr} (the model-deployment alarms of datascience workflows with autoscaling)`,
        );
      const definitionsFor = code.alarmDefinitions?.deploymentAlarmDefinitions;
      if (!definitionsFor || !code.workflowSchema?.parseWorkflow || !code.policy) {
        find(
          addr,
          'TODO: deploymentAlarmDefinitions() (shared/scaling/alarm-definitions.ts) or the workflow schema not found; the model-deployment alarms are unchecked',
        );
        return;
      }
      const { docs, workflows } = deploymentSamples(codeRoot, code);
      const locals = { workflow_documents: docs };
      const vars = { ...sampleVars, enable_datascience: true };
      /** @param {Record<string, unknown>} v */
      const planned = (v) => evalValue(alarm.for_each, resolverFor(m, v, undefined, locals));
      const off = planned({ ...vars, enable_datascience: false });
      if (!off || typeof off !== 'object' || Object.keys(off).length > 0)
        find(
          addr,
          `${addr} must exist only with enable_datascience (its for_each filters on var.enable_datascience)`,
          /for_each\s*=/,
          /resource\s+"oci_monitoring_alarm"\s+"deployment_scaling"/,
        );
      const plan = /** @type {Record<string, any>} */ (planned(vars));
      if (!plan || typeof plan !== 'object' || Array.isArray(plan))
        throw new Error('for_each does not evaluate to a map');
      /** @type {Array<{ key: string, workflow: string, def: any }>} */
      const expected = [];
      for (const w of workflows) {
        // The policy as policyFromAutoscaling() (shared/pipeline/scale.ts) builds it: the section's
        // policy fields over defaultScalingPolicy (that module loads the SDK, so it is not bundled).
        const defaults = code.policy.defaultScalingPolicy;
        /** @type {Record<string, unknown>} */
        const merged = { ...defaults };
        for (const k of [...Object.keys(defaults), 'maxMonthlyCostUsd'])
          if (w.autoscaling[k] !== undefined) merged[k] = w.autoscaling[k];
        const policy = code.policy.validateScalingPolicy(merged);
        const u = w.autoscaling.utilization;
        const defs = definitionsFor(policy, w.name, {
          ...(u?.source === 'metric' ? { utilizationMetric: u.metric } : {}),
        });
        for (const def of defs)
          expected.push({ key: `${w.name}-${def.rule}`, workflow: w.name, def });
      }
      const want = expected.map((e) => e.key).sort();
      const got = Object.keys(plan).sort();
      if (JSON.stringify(got) !== JSON.stringify(want))
        find(
          'deployment_scaling_alarms',
          `for the sample workflows ${addr} plans [${got.join(', ')}], expected [${want.join(', ')}] (<workflow>-<rule>, one per rule of each datascience workflow with autoscaling)`,
          /deployment_scaling_alarms\s*=/,
        );
      /** @param {unknown} d */
      const minutes = (d) => {
        const x = /^PT(\d+)([MH])$/.exec(String(d));
        return x ? Number(x[1]) * (x[2] === 'H' ? 60 : 1) : NaN;
      };
      /** @type {Map<string, string>} attribute -> the first difference */
      const diffs = new Map();
      for (const { key, workflow, def } of expected) {
        if (!(key in plan)) continue;
        const res = resolverFor(m, vars, { key, value: plan[key] }, locals);
        /** @param {string} attr */
        const value = (attr) => evalValue(alarm[attr], res);
        const prefix = m.merged.variable.name_prefix?.default;
        /** @type {Array<[string, unknown, unknown, ((a: unknown, b: unknown) => boolean)?]>} */
        const checks = [
          ['namespace', value('namespace'), def.namespace],
          ['query', value('query'), def.query],
          ['severity', value('severity'), def.severity],
          [
            'pending_duration',
            value('pending_duration'),
            `PT${def.pendingMin}M`,
            (a, b) => minutes(a) === minutes(b),
          ],
          [
            'repeat_notification_duration',
            value('repeat_notification_duration'),
            `PT${def.repeatMin}M`,
            (a, b) => minutes(a) === minutes(b),
          ],
          [
            'is_notifications_per_metric_dimension_enabled',
            value('is_notifications_per_metric_dimension_enabled'),
            def.splitPerStream,
          ],
          // jsonencode() sorts keys: the same JSON as the code's, compared parsed.
          ['body', value('body'), def.body, (a, b) => sameJson(a, b)],
          ['rule_name', value('rule_name'), def.rule],
          ['alarm_summary', value('alarm_summary'), def.summary],
          ['display_name', value('display_name'), `${prefix}-${workflow}-deployments-${def.rule}`],
        ];
        for (const [attr, a, b, same = (x, y) => x === y] of checks) {
          if (!diffs.has(attr) && !same(a, b))
            diffs.set(
              attr,
              `${addr}["${key}"] (a sample workflow): ${attr} is ${JSON.stringify(a ?? null)}, deploymentAlarmDefinitions() gives ${JSON.stringify(b)}`,
            );
        }
      }
      const header = /resource\s+"oci_monitoring_alarm"\s+"deployment_scaling"/;
      for (const [attr, msg] of diffs)
        find(addr, msg, new RegExp(`^[ \\t]*${esc(attr)}\\s*=`, 'm'), header);
      if (
        JSON.stringify(alarm.destinations ?? null).replace(/\s/g, '') !==
        JSON.stringify(['${oci_ons_notification_topic.alarms.id}'])
      )
        find(
          addr,
          `${addr}: destinations must be the alarms topic (scale-dac subscribes to it)`,
          /destinations\s*=/,
        );
      for (const attr of ['compartment_id', 'metric_compartment_id'])
        if (alarm[attr] !== '${var.compartment_ocid}')
          find(
            addr,
            `${addr}: ${attr} must be var.compartment_ocid (where the functions create the deployments)`,
            new RegExp(`^[ \\t]*${attr}\\s*=`, 'm'),
            header,
          );
    },
    'deployment alarms',
    'oci_monitoring_alarm.deployment_scaling',
  );

  // IAM: every statement has OCI's form, names real resource types and existing dynamic groups;
  // no blanket grants; object access scoped to a bucket; the Data Science groups least-privileged.
  guard(
    () => {
      /** @type {Array<{ name: string, addr: string, raw: string, s: string }>} */
      const statements = [];
      for (const [name, p] of Object.entries(r.oci_identity_policy ?? {})) {
        const addr = `oci_identity_policy.${name}`;
        /** @param {string} where @param {unknown} value */
        const add = (where, value) => {
          const list = Array.isArray(value)
            ? value.map(String)
            : typeof value === 'string'
              ? quotedStrings(value)
              : [];
          for (const s of list)
            if (/^allow\s/i.test(s)) statements.push({ name, addr: where, raw: s, s });
        };
        add(addr, p.statements);
        // statements = local.x (a list, or a concat() of conditional lists): read the local.
        if (typeof p.statements === 'string') {
          for (const [, local] of p.statements.matchAll(/\blocal\.([a-z_][a-z0-9_]*)/g)) {
            if (local) add(`local.${local}`, m.merged.locals[local]);
          }
        }
      }
      if (statements.length === 0) throw new Error('no policy statements found');
      // Expand ${local.x} string locals (compartment, bucket condition) so the text is what OCI sees.
      const resolve = resolverFor(m, sampleVars);
      const expand = (/** @type {string} */ s) =>
        s.replace(/\$\{local\.([a-z_][a-z0-9_]*)\}/g, (all, name) => {
          try {
            const v = resolve(['local', name]);
            return typeof v === 'string' ? v : all;
          } catch {
            return all;
          }
        });
      for (const st of statements) st.s = expand(st.s);
      /** @param {{ name: string, addr: string, raw: string, s: string }} st @param {string} msg */
      const report = (st, msg) =>
        find(st.addr, `policy ${st.name}: ${msg}: ${st.s}`, new RegExp(esc(st.raw.slice(0, 80))));

      // The names of the dynamic groups this module creates, as OCI sees them.
      /** @type {Map<string, string>} name -> evaluated matching rule ('' when not evaluable) */
      const groups = new Map();
      /** @type {Map<string, string>} name -> resource address */
      const groupAddr = new Map();
      for (const [dgName, dg] of Object.entries(r.oci_identity_dynamic_group ?? {})) {
        try {
          const n = evalValue(dg.name, resolve);
          let rule = '';
          try {
            rule = String(evalValue(dg.matching_rule, resolve));
          } catch {
            // a rule over resource ids: fine, only the Data Science rules are inspected
          }
          if (typeof n === 'string') {
            groups.set(n, rule);
            groupAddr.set(n, `oci_identity_dynamic_group.${dgName}`);
          }
        } catch {
          // a name that cannot be evaluated offline cannot be compared
        }
      }

      /** @type {Array<{ st: typeof statements[number], subject: string, group?: string, verb: string, type: string, where: string }>} */
      const parsed = [];
      for (const st of statements) {
        const form = POLICY_FORM.exec(st.s.trim());
        if (!form) {
          report(
            st,
            'not of the form "Allow <subject> to <inspect|read|use|manage> <resource-type> in <compartment id ...|tenancy> [where ...]"',
          );
          // Still name the worst of it.
          if (/\ball-resources\b/i.test(st.s)) report(st, 'grants all-resources');
          if (/^allow\s+any-user\b/i.test(st.s)) report(st, 'grants to any-user');
          continue;
        }
        const [, subject = '', group, verb = '', type = '', where = ''] = form;
        parsed.push({ st, subject, group, verb: verb.toLowerCase(), type, where });
        if (/^any-user$/i.test(subject)) report(st, 'grants to any-user');
        if (group && !group.includes('${') && !groups.has(group))
          report(st, `dynamic group "${group}" is not created by this module`);
        if (type === 'all-resources') report(st, 'grants all-resources');
        if (type.startsWith('data-science-') && !DATA_SCIENCE_TYPES.has(type))
          report(st, `"${type}" is not a Data Science resource type (policies.htm)`);
        if (type === 'data-science-family' && (verb === 'use' || verb === 'manage'))
          report(
            st,
            'name the individual data-science-* resource types instead of data-science-family',
          );
        if (
          /^(objects|object-family|buckets)$/.test(type) &&
          !/target\.bucket\.name\s*=/.test(where)
        )
          report(st, 'object access must be scoped with where target.bucket.name = ...');
      }

      // The Data Science backend: only when the module has it.
      if (!m.merged.variable.enable_datascience) return;
      const datasets = String(sampleVars.bucket_name);
      const output = String(m.merged.variable.datascience_output_bucket_name?.default ?? '');
      const compartment = String(sampleVars.compartment_ocid);
      /** @param {string} resourceType */
      const groupFor = (resourceType) =>
        [...groups].find(([, rule]) => rule.includes(`resource.type = '${resourceType}'`))?.[0];
      const jobRuns = groupFor('datasciencejobrun');
      const deployments = groupFor('datasciencemodeldeployment');
      const functions = [...groupAddr].find(
        ([, a]) => a === 'oci_identity_dynamic_group.functions',
      )?.[0];
      /** @type {Array<[string, string | undefined, string]>} */
      const dsGroups = [
        ['job runs', jobRuns, 'datasciencejobrun'],
        ['model deployments', deployments, 'datasciencemodeldeployment'],
      ];
      for (const [label, group, type] of dsGroups) {
        if (!group) {
          find(
            'oci_identity_dynamic_group',
            `enable_datascience: no dynamic group matches resource.type = '${type}' (the ${label})`,
          );
          continue;
        }
        const rule = groups.get(group) ?? '';
        if (
          !/^ALL\s*\{/i.test(rule) ||
          !rule.includes(`resource.compartment.id = '${compartment}'`)
        )
          find(
            groupAddr.get(group) ?? 'oci_identity_dynamic_group',
            `dynamic group ${group} (${label}) must be ALL {resource.type = '${type}', resource.compartment.id = '<compartment_ocid>'}, found ${rule}`,
            new RegExp(esc(type)),
          );
      }
      const rank = { inspect: 0, read: 1, use: 2, manage: 3 };
      /** @param {string | undefined} group @param {string} verb @param {string} type @param {string} [bucket] */
      const has = (group, verb, type, bucket) =>
        parsed.some(
          (p) =>
            p.group === group &&
            p.type === type &&
            rank[/** @type {keyof typeof rank} */ (p.verb)] >=
              rank[/** @type {keyof typeof rank} */ (verb)] &&
            (!bucket || p.where.includes(`target.bucket.name = '${bucket}'`)),
        );
      /** @type {Array<[string | undefined, string, string, string, string | undefined]>} */
      const needed = [
        [jobRuns, 'job runs', 'read', 'objects', datasets],
        [jobRuns, 'job runs', 'manage', 'objects', output],
        [jobRuns, 'job runs', 'manage', 'data-science-models', undefined],
        [deployments, 'model deployments', 'read', 'data-science-models', undefined],
        [deployments, 'model deployments', 'read', 'objects', output],
        // scale-dac reads and resizes model deployments (UpdateModelDeployment).
        [functions, 'functions', 'use', 'data-science-model-deployments', undefined],
      ];
      for (const [group, label, verb, type, bucket] of needed) {
        if (group && !has(group, verb, type, bucket))
          find(
            'oci_identity_policy',
            `the ${label} (${group}) need "${verb} ${type}"${bucket ? ` where target.bucket.name = '${bucket}'` : ''}`,
          );
      }
      for (const p of parsed) {
        const bucketScoped = /^(objects|object-family|buckets)$/.test(p.type);
        if (
          p.group === jobRuns &&
          bucketScoped &&
          p.where.includes(`'${datasets}'`) &&
          (p.verb === 'use' || p.verb === 'manage')
        )
          report(p.st, `the job runs (${jobRuns}) may only read the datasets bucket`);
        if (p.group === deployments && (p.verb === 'use' || p.verb === 'manage'))
          report(p.st, `the model deployments (${deployments}) may only read`);
      }
      // A Data Science grant in a policy that always exists sits in a list only
      // var.enable_datascience selects (`var.enable_datascience ? [...] : []`).
      for (const p of parsed) {
        const dsGrant =
          p.type.startsWith('data-science-') || p.st.raw.includes('output_bucket_condition');
        const policy = r.oci_identity_policy?.[p.st.name];
        if (!dsGrant || String(policy?.count ?? '').includes('var.enable_datascience')) continue;
        const text = p.st.addr.startsWith('local.')
          ? m.merged.locals[p.st.addr.slice('local.'.length)]
          : policy?.statements;
        if (typeof text !== 'string' || !gatedBy(text, p.st.raw, 'var.enable_datascience'))
          report(p.st, 'a Data Science grant must exist only with enable_datascience');
      }
      // The versioned output bucket.
      const outputBucket = Object.entries(r.oci_objectstorage_bucket ?? {}).find(
        ([, b]) => b.name === '${var.datascience_output_bucket_name}',
      );
      if (!outputBucket) {
        find(
          'oci_objectstorage_bucket',
          'enable_datascience: no bucket is named var.datascience_output_bucket_name (the AQUA output bucket)',
        );
      } else if (outputBucket[1].versioning !== 'Enabled') {
        find(
          `oci_objectstorage_bucket.${outputBucket[0]}`,
          `oci_objectstorage_bucket.${outputBucket[0]}: the AQUA output bucket must set versioning = "Enabled" (AQUA writes fine-tuned models only to versioned buckets)`,
          new RegExp(`resource\\s+"oci_objectstorage_bucket"\\s+"${esc(outputBucket[0])}"`),
        );
      }
      // Everything of the backend exists only with enable_datascience.
      for (const [type, byName] of Object.entries(r)) {
        for (const [name, body] of Object.entries(/** @type {Record<string, any>} */ (byName))) {
          const ds =
            type.startsWith('oci_datascience_') ||
            /datascience|aqua/.test(name) ||
            (type === 'oci_objectstorage_bucket' && outputBucket?.[0] === name);
          if (ds && !String(body.count ?? '').includes('var.enable_datascience'))
            find(
              `${type}.${name}`,
              `${type}.${name} must exist only with enable_datascience (count = var.enable_datascience ? 1 : 0)`,
              new RegExp(`resource\\s+"${esc(type)}"\\s+"${esc(name)}"`),
            );
        }
      }
    },
    'iam',
    'oci_identity_policy',
  );
}

// OCI policy statements as dacflow writes them (policysyntax.htm): a subject, one verb, one
// resource type, a location, an optional condition.
const POLICY_FORM =
  /^allow\s+(dynamic-group\s+(?:id\s+)?(\S+)|group\s+(?:id\s+)?\S+|any-user|service\s+\S+)\s+to\s+(inspect|read|use|manage)\s+([a-z][a-z0-9-]*)\s+in\s+(?:compartment\s+id\s+\S+|compartment\s+\S+|tenancy)(?:\s+where\s+(.+))?$/i;
// Data Science's resource types (data-science/using/policies.htm, and AQUA's
// data-science-compute-targets from ai-quick-actions/policies).
const DATA_SCIENCE_TYPES = new Set([
  'data-science-family',
  'data-science-projects',
  'data-science-notebook-sessions',
  'data-science-models',
  'data-science-modelversionsets',
  'data-science-model-deployments',
  'data-science-work-requests',
  'data-science-jobs',
  'data-science-job-runs',
  'data-science-pipelines',
  'data-science-pipeline-runs',
  'data-science-private-endpoint',
  'data-science-schedules',
  'data-science-model-groups',
  'data-science-model-group-version-histories',
  'data-science-compute-targets',
]);

/**
 * The top-level quoted strings of an HCL expression as hcl2json returns it (`${concat([...], c ?
 * [...] : [])}`), comments skipped; `${...}` inside a string stays as written.
 * @param {string} src
 */
export function quotedStrings(src) {
  /** @type {string[]} */
  const out = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === '#' || (c === '/' && src[i + 1] === '/')) {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '"') {
      i++;
      let text = '';
      let depth = 0;
      while (i < src.length) {
        const d = src[i];
        if (depth === 0 && d === '"') break;
        if (d === '\\' && depth === 0) {
          text += src.slice(i, i + 2);
          i += 2;
          continue;
        }
        if (d === '$' && src[i + 1] === '{') {
          depth++;
          text += '${';
          i += 2;
          continue;
        }
        if (depth > 0 && d === '}') depth--;
        if (depth > 0 && d === '"') {
          // a quoted string inside an interpolation: copy it whole
          const end = src.indexOf('"', i + 1);
          text += src.slice(i, end < 0 ? src.length : end + 1);
          i = end < 0 ? src.length : end + 1;
          continue;
        }
        text += d;
        i++;
      }
      out.push(text);
      i++;
    } else {
      i++;
    }
  }
  return out;
}

/**
 * Whether the quoted string `raw` in the HCL expression `src` is an element of a list that a
 * conditional containing `condition` selects (`<condition> ? [ ..., "raw", ... ] : []`).
 * @param {string} src @param {string} raw @param {string} condition
 */
function gatedBy(src, raw, condition) {
  const at = src.indexOf(`"${raw}"`);
  if (at < 0) return false;
  // Blank strings and comments, keeping offsets, so brackets inside them do not count.
  let masked = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === '#' || (c === '/' && src[i + 1] === '/')) {
      const end = src.indexOf('\n', i);
      const stop = end < 0 ? src.length : end;
      masked += ' '.repeat(stop - i);
      i = stop;
    } else if (c === '"') {
      const end = nextQuote(src, i);
      masked += ' '.repeat(end - i + 1);
      i = end + 1;
    } else {
      masked += c;
      i++;
    }
  }
  const before = masked.slice(0, at);
  const q = before.lastIndexOf('? [');
  if (q < 0 || before.lastIndexOf(']') > q) return false;
  const start = Math.max(before.lastIndexOf('],', q), before.lastIndexOf('concat(', q));
  return before.slice(Math.max(0, start), q).includes(condition);
}

/** Offset of the quote that closes the string opening at `i`, skipping `${...}` parts. @param {string} src @param {number} i */
function nextQuote(src, i) {
  let depth = 0;
  for (let j = i + 1; j < src.length; j++) {
    const d = src[j];
    if (d === '\\') {
      j++;
    } else if (d === '$' && src[j + 1] === '{') {
      depth++;
      j++;
    } else if (depth > 0 && d === '}') {
      depth--;
    } else if (depth > 0 && d === '"') {
      j = nextQuote(src, j);
    } else if (depth === 0 && d === '"') {
      return j;
    }
  }
  return src.length - 1;
}

/** Whether two strings hold the same JSON value (key order aside). @param {unknown} a @param {unknown} b */
function sameJson(a, b) {
  try {
    return (
      JSON.stringify(sortDeep(JSON.parse(String(a)))) ===
      JSON.stringify(sortDeep(JSON.parse(String(b))))
    );
  } catch {
    return false;
  }
}

/** @param {unknown} x @returns {unknown} */
function sortDeep(x) {
  if (Array.isArray(x)) return x.map(sortDeep);
  if (x && typeof x === 'object') {
    return Object.fromEntries(
      Object.keys(x)
        .sort()
        .map((k) => [k, sortDeep(/** @type {any} */ (x)[k])]),
    );
  }
  return x;
}

/**
 * Sample workflow files for the model-deployment alarm check, as yamldecode() hands them to the
 * module (no schema defaults), and the same parsed by the workflow schema: a genai workflow and a
 * datascience one without autoscaling (no deployment alarms), one with only the unit bounds (the
 * variables' defaults apply) and one that sets every alarmed value and its own utilization metric.
 * Built from the shipped examples so they stay valid as the schema evolves.
 * @param {string} root @param {Record<string, any>} code
 * @returns {{ docs: Record<string, any>[], workflows: Record<string, any>[] }}
 */
function deploymentSamples(root, code) {
  /** @param {string} file */
  const example = (file) =>
    YAML.parse(readFileSync(join(root, 'workflows/examples', file), 'utf8'));
  /** @param {Record<string, any>} doc @param {string} name @param {Record<string, any> | undefined} autoscaling */
  const named = (doc, name, autoscaling) => {
    const d = {
      ...structuredClone(doc),
      name,
      trigger: { ...doc.trigger, prefix: `datasets/${name}/` },
    };
    if (autoscaling) d.autoscaling = autoscaling;
    else delete d.autoscaling;
    return d;
  };
  const aqua = example('aqua-llama.yaml');
  const docs = [
    named(example('genai-support-bot.yaml'), 'genai-scaled', { minUnits: 1, maxUnits: 4 }),
    named(aqua, 'ds-unscaled', undefined),
    named(aqua, 'ds-defaults', { minUnits: 1, maxUnits: 4 }),
    named(aqua, 'ds-tuned', {
      minUnits: 1,
      maxUnits: 4,
      latencyP99ThresholdMs: 3000,
      highUtilizationPct: 92.5,
      lowUtilizationPct: 20,
      sustainedLowUtilizationPct: 70,
      sustainedLowWindowMin: 20,
      alarmRepeatMin: 15,
      utilization: { source: 'metric', metric: 'CpuUtilization' },
    }),
  ];
  const workflows = docs
    .map((d) => code.workflowSchema.parseWorkflow(YAML.stringify(d), `${d.name}.yaml`))
    .filter((w) => w.backend === 'datascience' && w.autoscaling);
  return { docs, workflows };
}

/**
 * The workflow schema's autoscaling defaults (what a workflow gets when its autoscaling section
 * names only the unit bounds), read by parsing a shipped example workflow through the schema.
 * @param {string} root @param {Record<string, any>} code
 * @returns {{ source: string, values: Record<string, unknown> }}
 */
function workflowDefaults(root, code) {
  const dir = join(root, 'workflows/examples');
  if (code.workflowSchema?.parseWorkflow && existsSync(dir)) {
    for (const f of readdirSync(dir)
      .filter((n) => n.endsWith('.yaml'))
      .sort()) {
      try {
        const doc = YAML.parse(readFileSync(join(dir, f), 'utf8'));
        doc.autoscaling = { minUnits: 1, maxUnits: 2 };
        const w = code.workflowSchema.parseWorkflow(YAML.stringify(doc), f);
        if (w?.autoscaling)
          return { source: 'workflows/schema.ts (autoscaling defaults)', values: w.autoscaling };
      } catch {
        // try the next example
      }
    }
  }
  return {
    source: 'the brief (workflows/schema.ts autoscaling defaults not found)',
    values: { latencyP99ThresholdMs: 5000, lowUtilizationPct: 30, sustainedLowUtilizationPct: 60 },
  };
}

// ------------------------------------------------------------------------------------------------
// Docs
// ------------------------------------------------------------------------------------------------

/** @param {string} s */
const cell = (s) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** @param {TfModule} m */
export function docsTablesFor(m) {
  const rows = ['| Name | Type | Default | Description |', '| --- | --- | --- | --- |'];
  for (const [name, v] of Object.entries(m.merged.variable).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    const type = String(v.type ?? '')
      .replace(/^\$\{([\s\S]*)\}$/, '$1')
      .replace(/\s+/g, ' ');
    const def = 'default' in v ? `\`${JSON.stringify(v.default)}\`` : '**required**';
    rows.push(
      `| \`${name}\` | \`${cell(type)}\` | ${cell(def)} | ${cell(String(v.description ?? ''))} |`,
    );
  }
  const outs = ['| Name | Description |', '| --- | --- |'];
  for (const [name, o] of Object.entries(m.merged.output).sort(([a], [b]) => a.localeCompare(b))) {
    outs.push(`| \`${name}\` | ${cell(String(o.description ?? ''))} |`);
  }
  return [
    DOCS_BEGIN,
    '',
    '### Inputs',
    '',
    ...rows,
    '',
    '### Outputs',
    '',
    ...outs,
    '',
    DOCS_END,
  ].join('\n');
}

/** @param {string} root @param {string} tables @param {boolean} write @param {Finding[]} findings */
function checkDocs(root, tables, write, findings) {
  const path = join(root, 'docs/terraform.md');
  if (!existsSync(path)) {
    findings.push({ check: 'docs', file: 'docs/terraform.md', message: 'missing' });
    return;
  }
  const text = readFileSync(path, 'utf8');
  const a = text.indexOf(DOCS_BEGIN);
  const b = text.indexOf(DOCS_END);
  if (a < 0 || b < a) {
    findings.push({
      check: 'docs',
      file: 'docs/terraform.md',
      message: 'no generated inputs/outputs section (markers missing)',
    });
    return;
  }
  const current = text.slice(a, b + DOCS_END.length);
  if (current === tables) return;
  if (write) {
    writeFileSync(path, text.slice(0, a) + tables + text.slice(b + DOCS_END.length));
  } else {
    findings.push({
      check: 'docs',
      file: 'docs/terraform.md',
      line: text.slice(0, a).split('\n').length,
      message:
        'inputs/outputs tables differ from terraform/: run `npm run check:terraform -- --write-docs`',
    });
  }
}

// ------------------------------------------------------------------------------------------------
// CLI
// ------------------------------------------------------------------------------------------------

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = new URL('..', import.meta.url).pathname;
  const { findings, modules, files } = await checkTerraform({
    root,
    writeDocs: process.argv.includes('--write-docs') || process.argv.includes('--fix'),
    writeFormat: process.argv.includes('--fix'),
  });
  for (const f of findings) {
    console.error(`${f.file}${f.line ? `:${f.line}` : ''}: [${f.check}] ${f.message}`);
  }
  if (findings.length > 0) {
    console.error(
      `check:terraform: ${findings.length} problem(s) in ${files} file(s) (${modules.join(', ')})`,
    );
    process.exit(1);
  }
  console.log(`check:terraform: ${files} file(s) in ${modules.join(', ')} OK`);
}
