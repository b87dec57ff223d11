// @ts-check
// Regenerates scripts/oci-provider-schema.json: the resource and data source attributes that
// dacflow's terraform/ uses, taken from @pulumi/oci's typed arguments (bridged from the OCI
// Terraform provider schema). `npm run check:terraform` reads the JSON offline; the 100+ MB package
// is never a project dependency.
//
//   mkdir -p /tmp/pulumi-oci && cd /tmp/pulumi-oci && npm pack @pulumi/oci@4.20.0 && tar xzf *.tgz
//   node scripts/extract-oci-schema.mjs /tmp/pulumi-oci/package
//
// To use another resource type in terraform/, add it to `types` below and regenerate.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/** Terraform type -> [kind, file under the package, interface base name]. */
const types = {
  oci_objectstorage_bucket: ['resource', 'objectstorage/bucket.d.ts', 'Bucket'],
  oci_functions_application: ['resource', 'functions/application.d.ts', 'Application'],
  oci_functions_function: ['resource', 'functions/function.d.ts', 'Function'],
  oci_events_rule: ['resource', 'events/rule.d.ts', 'Rule'],
  oci_ons_notification_topic: ['resource', 'ons/notificationTopic.d.ts', 'NotificationTopic'],
  oci_ons_subscription: ['resource', 'ons/subscription.d.ts', 'Subscription'],
  oci_monitoring_alarm: ['resource', 'monitoring/alarm.d.ts', 'Alarm'],
  oci_resource_scheduler_schedule: ['resource', 'resourcescheduler/schedule.d.ts', 'Schedule'],
  oci_identity_dynamic_group: ['resource', 'identity/dynamicGroup.d.ts', 'DynamicGroup'],
  oci_identity_policy: ['resource', 'identity/policy.d.ts', 'Policy'],
  oci_generative_ai_dedicated_ai_cluster: [
    'resource',
    'generativeai/dedicatedAiCluster.d.ts',
    'DedicatedAiCluster',
  ],
  oci_generative_ai_endpoint: ['resource', 'generativeai/endpoint.d.ts', 'Endpoint'],
  oci_datascience_project: ['resource', 'datascience/project.d.ts', 'Project'],
  oci_objectstorage_namespace: ['data', 'objectstorage/getNamespace.d.ts', 'GetNamespace'],
  oci_identity_compartment: ['data', 'identity/getCompartment.d.ts', 'GetCompartment'],
};

const pkg = process.argv[2];
if (!pkg) {
  console.error('usage: node scripts/extract-oci-schema.mjs <path to an unpacked @pulumi/oci>');
  process.exit(2);
}
const version = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version;

/** @param {string} file */
function source(file) {
  return ts.createSourceFile(
    file,
    readFileSync(join(pkg, file), 'utf8'),
    ts.ScriptTarget.Latest,
    true,
  );
}
const inputs = source('types/input.d.ts');

/** @param {string} s */
const snake = (s) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

/**
 * @param {ts.Node} root
 * @param {string[]} path namespace names then the interface name
 * @returns {ts.InterfaceDeclaration | undefined}
 */
function findInterface(root, path) {
  /** @type {ts.InterfaceDeclaration | undefined} */
  let found;
  const [head, ...rest] = path;
  ts.forEachChild(root, (n) => {
    if (found) return;
    if (rest.length === 0 && ts.isInterfaceDeclaration(n) && n.name.text === head) found = n;
    if (rest.length > 0 && ts.isModuleDeclaration(n) && n.name.text === head) {
      found = n.body ? findInterface(n.body, rest) : undefined;
    }
  });
  return found;
}

/**
 * @param {ts.TypeNode} node
 * @param {ts.SourceFile} sf
 * @returns {any}
 */
function describe(node, sf) {
  if (ts.isTypeReferenceNode(node)) {
    const name = node.typeName.getText(sf);
    if ((name === 'pulumi.Input' || name === 'Input') && node.typeArguments?.[0]) {
      return describe(node.typeArguments[0], sf);
    }
    if (name.startsWith('inputs.')) {
      const decl = findInterface(inputs, name.split('.').slice(1));
      return decl ? { block: members(decl, inputs) } : { type: 'object' };
    }
    if (name.startsWith('outputs.')) return { type: 'object' };
    return { type: name };
  }
  if (ts.isUnionTypeNode(node)) {
    const parts = node.types.filter(
      (t) => !(t.kind === ts.SyntaxKind.UndefinedKeyword || t.getText(sf) === 'undefined'),
    );
    const first = parts[0];
    return first ? describe(first, sf) : { type: 'any' };
  }
  if (ts.isParenthesizedTypeNode(node)) return describe(node.type, sf);
  if (ts.isArrayTypeNode(node)) {
    const inner = describe(node.elementType, sf);
    return inner.block ? { block: inner.block, list: true } : { type: 'list' };
  }
  if (ts.isTypeLiteralNode(node)) return { type: 'map' };
  if (node.kind === ts.SyntaxKind.StringKeyword) return { type: 'string' };
  if (node.kind === ts.SyntaxKind.NumberKeyword) return { type: 'number' };
  if (node.kind === ts.SyntaxKind.BooleanKeyword) return { type: 'bool' };
  return { type: 'any' };
}

/**
 * @param {ts.InterfaceDeclaration} decl
 * @param {ts.SourceFile} sf
 */
function members(decl, sf) {
  /** @type {Record<string, any>} */
  const out = {};
  for (const m of decl.members) {
    if (!ts.isPropertySignature(m) || !m.type) continue;
    const name = snake(m.name.getText(sf));
    out[name] = { ...describe(m.type, sf), ...(m.questionToken ? {} : { required: true }) };
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** @type {Record<string, any>} */
const resources = {};
/** @type {Record<string, any>} */
const dataSources = {};
for (const [tfType, [kind, file, base]] of Object.entries(types)) {
  const sf = source(file);
  if (kind === 'resource') {
    const args = findInterface(sf, [`${base}Args`]);
    const state = findInterface(sf, [`${base}State`]);
    if (!args || !state) throw new Error(`${file}: no ${base}Args/${base}State`);
    const settable = members(args, sf);
    /** @type {Record<string, any>} */
    const attributes = { id: { type: 'string', computed: true } };
    for (const [name, a] of Object.entries(members(state, sf))) {
      const { required: _r, ...rest } = a;
      attributes[name] = settable[name] ?? { ...rest, computed: true };
    }
    for (const [name, a] of Object.entries(settable)) attributes[name] ??= a;
    resources[tfType] = { attributes: sortKeys(attributes) };
  } else {
    const args = findInterface(sf, [`${base}Args`]);
    const result = findInterface(sf, [`${base}Result`]);
    if (!result) throw new Error(`${file}: no ${base}Result`);
    const settable = args ? members(args, sf) : {};
    /** @type {Record<string, any>} */
    const attributes = {};
    for (const [name, a] of Object.entries(members(result, sf))) {
      const { required: _r, ...rest } = a;
      attributes[name] = settable[name] ?? { ...rest, computed: true };
    }
    dataSources[tfType] = { attributes: sortKeys(attributes) };
  }
}

/** @param {Record<string, any>} o */
function sortKeys(o) {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

const out = {
  $comment:
    'Generated by scripts/extract-oci-schema.mjs from @pulumi/oci typed arguments (bridged from the oracle/oci Terraform provider). Do not edit by hand.',
  source: {
    package: '@pulumi/oci',
    version,
    // pulumi-oci 3.x was still being released after its upgrade to provider 7.24.0 (#922).
    bridges: 'oracle/oci >= 7.24.0 (pulumi/pulumi-oci#922)',
  },
  resources,
  dataSources,
};
const target = new URL('oci-provider-schema.json', import.meta.url);
writeFileSync(target, JSON.stringify(out, null, 2) + '\n');
console.log(
  `wrote ${target.pathname}: ${Object.keys(resources).length} resources, ${Object.keys(dataSources).length} data sources (@pulumi/oci ${version})`,
);
