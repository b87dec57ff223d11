import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkTerraform,
  evaluateHcl,
  jsonencode,
  quotedStrings,
} from '../../../scripts/check-terraform.mjs';
import type { Finding } from '../../../scripts/check-terraform.mjs';

const root = new URL('../../../', import.meta.url).pathname;
const copies: string[] = [];

/** A copy of what the checker reads, with `edit` applied; the TypeScript stays in the real tree. */
function brokenCopy(edit: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'dacflow-tf-'));
  copies.push(dir);
  cpSync(join(root, 'terraform'), join(dir, 'terraform'), { recursive: true });
  mkdirSync(join(dir, 'scripts'));
  cpSync(
    join(root, 'scripts/oci-provider-schema.json'),
    join(dir, 'scripts/oci-provider-schema.json'),
  );
  mkdirSync(join(dir, 'docs'));
  cpSync(join(root, 'docs/terraform.md'), join(dir, 'docs/terraform.md'));
  for (const d of readdirSync(join(root, 'functions'), { withFileTypes: true })) {
    if (!d.isDirectory()) continue;
    mkdirSync(join(dir, 'functions', d.name), { recursive: true });
    cpSync(
      join(root, 'functions', d.name, 'func.yaml'),
      join(dir, 'functions', d.name, 'func.yaml'),
    );
  }
  edit(dir);
  return dir;
}

function replaceIn(dir: string, file: string, from: string | RegExp, to: string): void {
  const path = join(dir, file);
  const text = readFileSync(path, 'utf8');
  const next = text.replace(from, to);
  if (next === text) throw new Error(`fixture edit did not apply to ${file}: ${String(from)}`);
  writeFileSync(path, next);
}

async function findingsFor(edit: (dir: string) => void): Promise<Finding[]> {
  const dir = brokenCopy(edit);
  return (await checkTerraform({ root: dir, codeRoot: root })).findings;
}

const show = (fs: Finding[]) =>
  fs.map((f) => `${f.file}:${f.line ?? ''} [${f.check}] ${f.message}`).join('\n');

afterAll(() => {
  for (const d of copies) rmSync(d, { recursive: true, force: true });
});

describe('check:terraform on the shipped module', () => {
  it('finds nothing wrong with terraform/ and docs/terraform.md', async () => {
    const result = await checkTerraform({ root });
    expect(show(result.findings)).toBe('');
    expect(result.modules).toEqual(['terraform', 'terraform/examples/basic']);
    expect(result.files).toBeGreaterThanOrEqual(10);
  }, 120_000);
});

describe('check:terraform fails loudly on a broken copy', () => {
  it('reports a syntax error with file and line', async () => {
    const findings = await findingsFor((dir) => {
      const path = join(dir, 'terraform/events.tf');
      const lines = readFileSync(path, 'utf8').split('\n');
      writeFileSync(
        path,
        [...lines.slice(0, 3), 'locals {', '  broken = ', '}', ...lines.slice(3)].join('\n'),
      );
    });
    const syntax = findings.filter((f) => f.check === 'syntax');
    expect(syntax).toHaveLength(1);
    expect(syntax[0]?.file).toBe('terraform/events.tf');
    expect(syntax[0]?.line).toBe(5);
  }, 60_000);

  it('reports an attribute the provider schema does not have', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        'terraform/storage.tf',
        '  storage_tier   = "Standard"\n',
        '  storage_tier   = "Standard"\n  storage_class  = "Standard"\n',
      ),
    );
    expect(show(findings)).toContain(
      'oci_objectstorage_bucket.this: unknown attribute "storage_class"',
    );
  }, 60_000);

  it('reports an unknown attribute inside a nested block', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        'terraform/events.tf',
        '      is_enabled  = true\n',
        '      is_enabled  = true\n      retries     = 3\n',
      ),
    );
    expect(show(findings)).toContain(
      'oci_events_rule.dataset.actions.actions: unknown attribute "retries"',
    );
  }, 60_000);

  it('reports a missing required attribute and an unknown resource type', async () => {
    const findings = await findingsFor((dir) => {
      replaceIn(dir, 'terraform/events.tf', '  is_enabled     = true\n', '');
      replaceIn(
        dir,
        'terraform/genai.tf',
        'resource "oci_generative_ai_endpoint" "this"',
        'resource "oci_generative_ai_endpointz" "this"',
      );
    });
    const text = show(findings);
    expect(text).toContain('oci_events_rule.dataset: required attribute "is_enabled" is not set');
    expect(text).toContain(
      'resource type oci_generative_ai_endpointz is not in the OCI provider schema',
    );
  }, 60_000);

  it('reports a variable without a description', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        'terraform/variables.tf',
        '  description = "DACFLOW_LOG_LEVEL of every function."\n',
        '',
      ),
    );
    expect(show(findings)).toContain('variable "log_level" has no description');
  }, 60_000);

  it('reports an example that misses a required input', async () => {
    const findings = await findingsFor((dir) => {
      replaceIn(
        dir,
        'terraform/examples/basic/main.tf',
        /\n\s*subnet_ids\s*=\s*var\.subnet_ids/,
        '',
      );
      replaceIn(dir, 'terraform/examples/basic/terraform.tfvars.example', /\nregion\s*=.*/, '');
    });
    const text = show(findings);
    expect(text).toContain('module "dacflow": required variable "subnet_ids" is not set');
    expect(text).toContain(
      'terraform.tfvars.example: [examples] required variable "region" is not set',
    );
  }, 60_000);

  it('reports a function whose memory differs from its func.yaml', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(dir, 'functions/scale-dac/func.yaml', /^memory: \d+$/m, 'memory: 512'),
    );
    expect(show(findings)).toMatch(
      /scale-dac: memory_in_mbs \d+ in terraform, memory 512 in functions\/scale-dac\/func.yaml/,
    );
  }, 60_000);

  it('reports a functions/ folder without a function resource', async () => {
    const findings = await findingsFor((dir) => {
      mkdirSync(join(dir, 'functions/extra-fn'));
      writeFileSync(join(dir, 'functions/extra-fn/func.yaml'), 'name: extra-fn\nmemory: 128\n');
    });
    expect(show(findings)).toContain('functions/ has [deploy-endpoint, extra-fn,');
  }, 60_000);

  it('reports a file that terraform fmt would change', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        'terraform/storage.tf',
        '  namespace      = local.namespace',
        '  namespace = local.namespace',
      ),
    );
    const format = findings.filter((f) => f.check === 'format');
    expect(format.map((f) => f.file)).toEqual(['terraform/storage.tf']);
  }, 60_000);

  it('formats the file instead with writeFormat, as terraform fmt would', async () => {
    const dir = brokenCopy((d) =>
      replaceIn(
        d,
        'terraform/storage.tf',
        '  namespace      = local.namespace',
        '  namespace = local.namespace',
      ),
    );
    const fixed = await checkTerraform({ root: dir, codeRoot: root, writeFormat: true });
    expect(show(fixed.findings)).toBe('');
    expect(readFileSync(join(dir, 'terraform/storage.tf'), 'utf8')).toBe(
      readFileSync(join(root, 'terraform/storage.tf'), 'utf8'),
    );
  }, 60_000);

  it('reports a computed attribute that is set', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        'terraform/storage.tf',
        '  storage_tier   = "Standard"\n',
        '  storage_tier   = "Standard"\n  etag           = "x"\n',
      ),
    );
    expect(show(findings)).toContain('"etag" is computed by the provider and cannot be set');
  }, 60_000);

  it('reports a reference to an undeclared variable or resource', async () => {
    const findings = await findingsFor((dir) => {
      replaceIn(dir, 'terraform/functions.tf', 'var.log_level', 'var.log_levels');
      replaceIn(
        dir,
        'terraform/outputs.tf',
        'oci_ons_notification_topic.alarms.id',
        'oci_ons_notification_topic.alarm.id',
      );
    });
    const text = show(findings);
    expect(text).toContain('var.log_levels refers to variable "log_levels"');
    expect(text).toContain('resource "oci_ons_notification_topic" "alarm"');
  }, 60_000);

  it('reports an Events condition that differs from datasetCondition()', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        'terraform/events.tf',
        '"${each.value.prefix}*${local.dataset_suffix}"',
        '"${each.value.prefix}${local.dataset_suffix}"',
      ),
    );
    expect(show(findings)).toContain('datasetCondition() gives');
  }, 60_000);

  it('reports an Events condition with a different event type list', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(dir, 'terraform/main.tf', ', "com.oraclecloud.objectstorage.updateobject"]', ']'),
    );
    expect(show(findings)).toContain('datasetCondition() gives');
  }, 60_000);

  it('reports an alarm window that differs from what the simulator evaluated', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(dir, 'terraform/variables.tf', 'default     = "PT2M"', 'default     = "PT3M"'),
    );
    expect(show(findings)).toContain(
      'rule utilization-high pending defaults to PT3M, alarmRulesFor(defaultScalingPolicy) evaluates PT2M',
    );
  }, 60_000);

  it('reports an alarm body that differs from formatAlarmBody()', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        'terraform/monitoring.tf',
        'rule = each.value.rule } })',
        'name = each.value.rule } })',
      ),
    );
    expect(show(findings)).toContain('formatAlarmBody() gives');
  }, 60_000);

  it('reports a threshold default that differs from the workflow default', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        'terraform/variables.tf',
        /(variable "utilization_low_threshold_pct" \{[^}]*default\s*=\s*)30/,
        '$135',
      ),
    );
    expect(show(findings)).toContain(
      'variable "utilization_low_threshold_pct" defaults to 35, workflows/schema.ts (autoscaling defaults) says lowUtilizationPct = 30',
    );
  }, 60_000);

  it('reports a work topic subscription that wiringFor() has but Terraform lacks', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        'terraform/notifications.tf',
        /\n\s*"deploy-endpoint"\s*=\s*"deploy-endpoint"/,
        '',
      ),
    );
    expect(show(findings)).toContain(
      'no ORACLE_FUNCTIONS subscription of topic "deploy-endpoint" to deploy-endpoint',
    );
  }, 60_000);

  it('reports a sustained window or repeat interval that differs from the code defaults', async () => {
    const findings = await findingsFor((dir) => {
      replaceIn(dir, 'terraform/variables.tf', 'default     = "PT10M"', 'default     = "PT30M"');
      replaceIn(
        dir,
        'terraform/variables.tf',
        'default     = "PT5M"\n\n  validation {\n    condition     = can(regex("^(PT',
        'default     = "PT15M"\n\n  validation {\n    condition     = can(regex("^(PT',
      );
    });
    const text = show(findings);
    expect(text).toContain(
      'variable "utilization_sustained_low_pending_duration" defaults to PT30M',
    );
    expect(text).toContain('variable "alarm_repeat_notification_duration" defaults to PT15M');
  }, 60_000);

  it('reports a configuration key the functions read but Terraform does not set', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(dir, 'terraform/functions.tf', /\n\s*DACFLOW_LOG_LEVEL\s*=\s*var\.log_level/, ''),
    );
    expect(show(findings)).toContain('DACFLOW_LOG_LEVEL is read by the functions but not set');
  }, 60_000);

  it('reports a policy that grants all-resources or unscoped object access', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        'terraform/iam.tf',
        '"Allow dynamic-group ${local.schedule_dynamic_group} to read fn-function in ${local.compartment}",',
        '"Allow dynamic-group ${local.schedule_dynamic_group} to manage all-resources in ${local.compartment}",\n    "Allow dynamic-group ${local.schedule_dynamic_group} to read objects in ${local.compartment}",',
      ),
    );
    const text = show(findings);
    expect(text).toContain('grants all-resources');
    expect(text).toContain('object access must be scoped');
  }, 60_000);

  it('reports docs tables that drifted from the variables', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        'terraform/variables.tf',
        'Whether the scaling alarms are enabled.',
        'Turns the scaling alarms on or off.',
      ),
    );
    expect(findings.map((f) => f.check)).toEqual(['docs']);
  }, 60_000);
});

describe('check:terraform on the Data Science backend (enable_datascience)', () => {
  const ds = 'terraform/datascience.tf';
  const jobRunsReadDatasets =
    '"Allow dynamic-group ${local.job_runs_dynamic_group} to read objects in ${local.compartment} ${local.bucket_condition}",';

  it('reports an AQUA output bucket without versioning', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(dir, ds, /\n\s*versioning = "Enabled"\n/, '\n'),
    );
    expect(show(findings)).toContain(
      'oci_objectstorage_bucket.aqua_output: the AQUA output bucket must set versioning = "Enabled"',
    );
  }, 60_000);

  it('reports a policy that grants data-science-family to any-user', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        ds,
        jobRunsReadDatasets,
        `${jobRunsReadDatasets}\n      "Allow any-user to manage data-science-family in \${local.compartment}",`,
      ),
    );
    const text = show(findings);
    expect(text).toContain('policy datascience: grants to any-user');
    expect(text).toContain('name the individual data-science-* resource types');
    expect(findings.find((f) => f.message.includes('any-user'))?.file).toBe(ds);
  }, 60_000);

  it('reports job runs that may write to the datasets bucket, and a missing grant', async () => {
    const findings = await findingsFor((dir) => {
      replaceIn(
        dir,
        ds,
        jobRunsReadDatasets,
        jobRunsReadDatasets.replace('read objects', 'manage objects'),
      );
      replaceIn(
        dir,
        ds,
        /\n\s*"Allow dynamic-group \$\{local\.model_deployments_dynamic_group\} to read data-science-models in \$\{local\.compartment\}",/,
        '',
      );
    });
    const text = show(findings);
    expect(text).toContain('the job runs (dacflow-ds-job-runs) may only read the datasets bucket');
    expect(text).toContain(
      'the model deployments (dacflow-ds-model-deployments) need "read data-science-models"',
    );
  }, 60_000);

  it('reports a job run dynamic group that is not limited to the compartment', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        ds,
        "\"ALL {resource.type = 'datasciencejobrun', resource.compartment.id = '${var.compartment_ocid}'}\"",
        '"ALL {resource.type = \'datasciencejobrun\'}"',
      ),
    );
    const hit = findings.find((f) => f.message.includes('dynamic group dacflow-ds-job-runs'));
    expect(hit?.message).toContain("must be ALL {resource.type = 'datasciencejobrun'");
    expect(hit?.file).toBe(ds);
  }, 60_000);

  it('reports a misspelt resource type, an unknown dynamic group and a statement OCI cannot parse', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        ds,
        jobRunsReadDatasets,
        [
          jobRunsReadDatasets,
          '"Allow dynamic-group ${local.job_runs_dynamic_group} to read data-science-job-run in ${local.compartment}",',
          '"Allow dynamic-group dacflow-jobruns to read data-science-jobs in ${local.compartment}",',
          '"Allow dynamic-group ${local.job_runs_dynamic_group} to read data-science-jobs and data-science-models in ${local.compartment}",',
        ].join('\n      '),
      ),
    );
    const text = show(findings);
    expect(text).toContain('"data-science-job-run" is not a Data Science resource type');
    expect(text).toContain('dynamic group "dacflow-jobruns" is not created by this module');
    expect(text).toContain('not of the form "Allow <subject> to');
  }, 60_000);

  it('reports a functions Data Science grant outside the enable_datascience list', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        'terraform/iam.tf',
        '"Allow dynamic-group ${local.functions_dynamic_group} to use ons-topics in ${local.compartment}",',
        '"Allow dynamic-group ${local.functions_dynamic_group} to use ons-topics in ${local.compartment}",\n      "Allow dynamic-group ${local.functions_dynamic_group} to read data-science-jobs in ${local.compartment}",',
      ),
    );
    const hits = findings.filter((f) => f.message.includes('only with enable_datascience'));
    expect(hits.map((f) => f.message)).toEqual([
      expect.stringContaining(
        'to read data-science-jobs in compartment id ocid1.compartment.oc1..sample',
      ),
    ]);
    expect(hits[0]?.file).toBe('terraform/iam.tf');
  }, 60_000);

  it('reports a Data Science resource that exists without enable_datascience', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        ds,
        /count = var\.enable_datascience && var\.datascience_project_id == null \? 1 : 0/,
        'count = var.datascience_project_id == null ? 1 : 0',
      ),
    );
    expect(show(findings)).toContain(
      'oci_datascience_project.this must exist only with enable_datascience',
    );
  }, 60_000);

  it('holds the Data Science project against the provider schema', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        ds,
        /(resource "oci_datascience_project" "this" \{[^}]*?)compartment_id = var\.compartment_ocid\n/,
        '$1name           = var.name_prefix\n',
      ),
    );
    const text = show(findings);
    expect(text).toContain('oci_datascience_project.this: unknown attribute "name"');
    expect(text).toContain(
      'oci_datascience_project.this: required attribute "compartment_id" is not set',
    );
  }, 60_000);

  it('reports an example whose datascience workflow would fail the module preconditions', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        'terraform/examples/basic/main.tf',
        /enable_datascience = true\n\s*# datascience_output_bucket_name = "dacflow-aqua-models"/,
        'enable_datascience = false\n  datascience_output_bucket_name = "other-models"',
      ),
    );
    const text = show(findings);
    expect(text).toContain(
      'aqua-llama.yaml uses backend: datascience but enable_datascience is not true',
    );
    expect(text).toContain(
      "aqua-llama.yaml writes to outputBucket dacflow-aqua-models, the module's datascience_output_bucket_name is other-models",
    );
  }, 60_000);

  it('reads policy statements out of an HCL expression, comments and interpolations included', () => {
    expect(
      quotedStrings(
        'concat([\n  # a "quoted" comment\n  "Allow a to read b in ${local.c}",\n  // another\n  "x ${join(", ", ["y"])} z",\n], var.f ? ["Allow q"] : [])',
      ),
    ).toEqual(['Allow a to read b in ${local.c}', 'x ${join(", ", ["y"])} z', 'Allow q']);
  });
});

describe('check:terraform on the model-deployment alarms (datascience.tf)', () => {
  const ds = 'terraform/datascience.tf';
  const alarm = 'oci_monitoring_alarm.deployment_scaling';
  const messages = (fs: Finding[]) => fs.filter((f) => f.message.includes(alarm));

  it('reports a body that is not formatDeploymentAlarmBody()', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        ds,
        'dacflow = { workflow = each.value.workflow, rule = each.value.rule }',
        'dacflow = { clusterId = each.value.workflow, rule = each.value.rule }',
      ),
    );
    const hits = messages(findings);
    expect(hits.map((f) => f.message)).toEqual([
      expect.stringContaining(
        'body is "{\\"dacflow\\":{\\"clusterId\\":\\"ds-defaults\\",\\"rule\\":\\"latency-p99-high\\"}}", deploymentAlarmDefinitions() gives "{\\"dacflow\\":{\\"workflow\\":\\"ds-defaults\\"',
      ),
    ]);
    expect(hits[0]?.file).toBe(ds);
    expect(readFileSync(join(root, ds), 'utf8').split('\n')[hits[0]!.line! - 1]).toMatch(
      /^\s*body\s*=/,
    );
  }, 60_000);

  it('reports alarms that group notifications instead of splitting them per deployment', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        ds,
        'is_notifications_per_metric_dimension_enabled = true',
        'is_notifications_per_metric_dimension_enabled = false',
      ),
    );
    expect(messages(findings).map((f) => f.message)).toEqual([
      expect.stringContaining(
        'is_notifications_per_metric_dimension_enabled is false, deploymentAlarmDefinitions() gives true',
      ),
    ]);
  }, 60_000);

  it('reports a wrong namespace and a query that is not grouped by deployment', async () => {
    const findings = await findingsFor((dir) => {
      replaceIn(dir, ds, '= "oci_datascience_modeldeploy"', '= "oci_datascience"');
      replaceIn(
        dir,
        ds,
        '[${each.value.interval}].groupBy(resourceId).',
        '[${each.value.interval}].',
      );
    });
    const text = show(messages(findings));
    expect(text).toContain(
      'namespace is "oci_datascience", deploymentAlarmDefinitions() gives "oci_datascience_modeldeploy"',
    );
    expect(text).toContain(
      'query is "PredictLatency[1m].percentile(0.99) > 5000", deploymentAlarmDefinitions() gives "PredictLatency[1m].groupBy(resourceId).percentile(0.99) > 5000"',
    );
  }, 60_000);

  it("reports thresholds and windows that ignore the workflow's own autoscaling values", async () => {
    const findings = await findingsFor((dir) => {
      replaceIn(
        dir,
        ds,
        'try(w.autoscaling.highUtilizationPct, var.utilization_high_threshold_pct)',
        'var.utilization_high_threshold_pct',
      );
      replaceIn(
        dir,
        ds,
        'try("PT${w.autoscaling.sustainedLowWindowMin}M", var.utilization_sustained_low_pending_duration)',
        'var.utilization_sustained_low_pending_duration',
      );
    });
    const text = show(messages(findings));
    // The sample that sets highUtilizationPct = 92.5, sustainedLowWindowMin = 20 and its metric.
    expect(text).toContain(
      'deployment_scaling["ds-tuned-utilization-high"] (a sample workflow): query is "CpuUtilization[1m].groupBy(resourceId).mean() > 88", deploymentAlarmDefinitions() gives "CpuUtilization[1m].groupBy(resourceId).mean() > 92.5"',
    );
    expect(text).toContain(
      'deployment_scaling["ds-tuned-utilization-sustained-low"] (a sample workflow): pending_duration is "PT10M", deploymentAlarmDefinitions() gives "PT20M"',
    );
  }, 60_000);

  it('reports alarms planned for a workflow without autoscaling, or without enable_datascience', async () => {
    const findings = await findingsFor((dir) => {
      replaceIn(dir, ds, ' if try(w.autoscaling, null) != null', '');
      replaceIn(dir, ds, 'key => alarm if var.enable_datascience }', 'key => alarm }');
    });
    const text = show(findings);
    expect(text).toContain(`${alarm} must exist only with enable_datascience`);
    expect(text).toMatch(
      /plans \[ds-defaults-latency-p99-high, .*ds-unscaled-latency-p99-high, .*\], expected \[ds-defaults-latency-p99-high, [^\]]*ds-tuned-utilization-sustained-low\]/,
    );
  }, 60_000);

  it('reports other destinations than the alarms topic', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        ds,
        /(deployment_scaling[\s\S]*destinations\s*=\s*)\[oci_ons_notification_topic\.alarms\.id\]/,
        '$1[oci_ons_notification_topic.pipeline.id]',
      ),
    );
    expect(messages(findings).map((f) => f.message)).toEqual([
      `${alarm}: destinations must be the alarms topic (scale-dac subscribes to it)`,
    ]);
  }, 60_000);

  it('reports functions that may not update model deployments', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        'terraform/iam.tf',
        /\n\s*"Allow dynamic-group \$\{local\.functions_dynamic_group\} to manage data-science-model-deployments in \$\{local\.compartment\}",/,
        '',
      ),
    );
    expect(show(findings)).toContain(
      'the functions (dacflow-functions) need "use data-science-model-deployments"',
    );
  }, 60_000);
});

describe('check:terraform on the Data Science events rule (events.tf)', () => {
  const ev = 'terraform/events.tf';
  const rule = 'oci_events_rule.datascience';
  const count = 'count = var.enable_datascience && length(local.datascience_workflows) > 0 ? 1 : 0';
  const messages = (fs: Finding[]) => fs.filter((f) => f.message.includes(rule));

  it('reports a condition whose event types differ from dataScienceEventsRule', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(dir, ev, '      "com.oraclecloud.datascience.updatejobrun",\n', ''),
    );
    const hits = messages(findings);
    expect(hits.map((f) => f.message)).toEqual([
      expect.stringMatching(
        /^oci_events_rule\.datascience: condition is \{"eventType":\[.*\]\}, dataScienceEventsRule has \{"eventType":\[.*"com\.oraclecloud\.datascience\.updatejobrun".*\]\}$/,
      ),
    ]);
    // The line is the rule's condition, not the dataset rule's.
    const lines = readFileSync(join(root, ev), 'utf8').split('\n');
    expect(lines[hits[0]!.line! - 1]).toBe('  condition = jsonencode({');
    expect(hits[0]!.line!).toBeGreaterThan(
      lines.indexOf('resource "oci_events_rule" "datascience" {'),
    );
  }, 60_000);

  it('reports an action to another function than poll-status', async () => {
    const findings = await findingsFor((dir) =>
      replaceIn(
        dir,
        ev,
        'oci_functions_function.this["poll-status"].id',
        'oci_functions_function.this["validate-dataset"].id',
      ),
    );
    expect(messages(findings).map((f) => f.message)).toEqual([
      'oci_events_rule.datascience: the rule\'s one action must be an enabled FAAS action to poll-status (oci_functions_function.this["poll-status"]), found ["${oci_functions_function.this[\\"validate-dataset\\"].id}"]',
    ]);
  }, 60_000);

  it('reports the rule missing', async () => {
    const findings = await findingsFor((dir) => {
      replaceIn(dir, ev, /\n# The Data Science backend's rule:[\s\S]*$/, '\n');
      replaceIn(
        dir,
        'terraform/outputs.tf',
        /output "datascience_events_rule_id" \{[^}]*\}\n\n/,
        '',
      );
    });
    // The docs tables lose the output too; everything else is about the rule.
    expect(show(findings.filter((f) => f.check !== 'docs'))).toBe(
      'terraform/events.tf: [code] no resource oci_events_rule.datascience: wiringFor() sends com.oraclecloud.datascience.createjobrun.end, com.oraclecloud.datascience.canceljobrun.end, com.oraclecloud.datascience.updatejobrun, com.oraclecloud.datascience.createmodeldeployment.end to poll-status for datascience workflows (dataScienceEventsRule in shared/wiring.ts)',
    );
  }, 60_000);

  it('reports a rule planned without a datascience workflow, or without enable_datascience', async () => {
    const always = await findingsFor((dir) =>
      replaceIn(dir, ev, count, 'count = var.enable_datascience ? 1 : 0'),
    );
    expect(messages(always).map((f) => f.message)).toEqual([
      'oci_events_rule.datascience: with enable_datascience and a genai workflow the module plans one such rule, wiringFor() has none (the rule exists exactly when a workflow has backend: datascience)',
    ]);
    const ungated = await findingsFor((dir) =>
      replaceIn(dir, ev, count, 'count = length(local.datascience_workflows) > 0 ? 1 : 0'),
    );
    const text = show(messages(ungated));
    expect(text).toContain(
      'without enable_datascience and with a genai and a datascience workflow the module plans one such rule, expected none',
    );
    expect(text).toContain(
      'without enable_datascience and with a datascience workflow the module plans one such rule, expected none',
    );
    expect(text).not.toContain('a genai workflow the module plans');
    expect(show(ungated)).toContain(
      'oci_events_rule.datascience must exist only with enable_datascience',
    );
  }, 60_000);

  it("reports a display name other than wiringFor()'s, a disabled rule and another compartment", async () => {
    const findings = await findingsFor((dir) => {
      replaceIn(
        dir,
        ev,
        'display_name   = "dacflow-datascience-events"',
        'display_name   = "${var.name_prefix}-datascience-events"',
      );
      replaceIn(
        dir,
        ev,
        /(resource "oci_events_rule" "datascience"[\s\S]*?)is_enabled     = true/,
        '$1is_enabled     = false',
      );
      replaceIn(
        dir,
        ev,
        /(resource "oci_events_rule" "datascience"[\s\S]*?)compartment_id = var\.compartment_ocid/,
        '$1compartment_id = var.tenancy_ocid',
      );
    });
    expect(messages(findings).map((f) => f.message)).toEqual([
      'oci_events_rule.datascience: display name "acme-datascience-events", dataScienceEventsRule names it dacflow-datascience-events (doctor finds it by that name)',
      'oci_events_rule.datascience: is_enabled must be true',
      'oci_events_rule.datascience: compartment_id must be var.compartment_ocid (a rule sees the events of its compartment, where the functions create job runs and deployments)',
    ]);
  }, 60_000);
});

describe('the offline HCL evaluation', () => {
  it('jsonencode sorts keys and escapes HTML characters like Terraform', () => {
    expect(jsonencode({ b: 1, a: { d: '<&>', c: [2, 'x'] } })).toBe(
      '{"a":{"c":[2,"x"],"d":"\\u003c\\u0026\\u003e"},"b":1}',
    );
  });

  it('evaluates objects, tuples, templates and references', () => {
    const env: Record<string, unknown> = {
      'local.suffix': '.jsonl',
      'each.value': { prefix: 'p/' },
    };
    const resolve = (path: Array<string | number>) => {
      const [a, b, ...rest] = path;
      let v = env[`${String(a)}.${String(b)}`];
      for (const k of rest) v = (v as Record<string, unknown>)[k];
      return v;
    };
    const text = evaluateHcl(
      'jsonencode({\n  z = ["a", 2, true]\n  name = "${each.value.prefix}*${local.suffix}" # comment\n})',
      resolve,
    );
    expect(text).toBe('{"name":"p/*.jsonl","z":["a",2,true]}');
  });

  it('evaluates for expressions (with if), try(), merge(...) and conditionals like Terraform', () => {
    const docs = [
      { name: 'b', backend: 'datascience', autoscaling: { t: 7 } },
      { name: 'a', backend: 'datascience' },
      { name: 'c', backend: 'genai', autoscaling: {} },
    ];
    const resolve = (path: Array<string | number>) => {
      if (path.join('.') === 'var.docs') return docs;
      if (path.join('.') === 'var.on') return true;
      throw new Error(`reference ${path.join('.')} cannot be evaluated offline`);
    };
    const byName = evaluateHcl(
      '{ for w in var.docs : w.name => { t = try(w.autoscaling.t, 5), p = try("PT${w.autoscaling.t}M", "PT1M") } if try(w.backend, "genai") == "datascience" }',
      resolve,
    );
    expect(byName).toEqual({ b: { t: 7, p: 'PT7M' }, a: { t: 5, p: 'PT1M' } });
    // Maps iterate in key order; merge() takes the expanded tuple.
    const flat = evaluateHcl(
      `merge([
        # one entry per rule
        for k, v in { z = 1, y = 2 } : {
          "\${k}-x" = v
          "\${k}-y" = v == 2 ? "two" : "other"
        }
      ]...)`,
      resolve,
    );
    expect(Object.entries(flat as object)).toEqual([
      ['y-x', 2],
      ['y-y', 'two'],
      ['z-x', 1],
      ['z-y', 'other'],
    ]);
    expect(evaluateHcl('var.on ? [for x in [] : x.nope] : merge()', resolve)).toEqual([]);
  });

  it('evaluates &&, ||, comparisons and length() with Terraform precedence', () => {
    const docs = [{ backend: 'datascience' }, { backend: 'genai' }];
    const resolve = (path: Array<string | number>) => {
      if (path.join('.') === 'var.docs') return docs;
      if (path.join('.') === 'var.on') return true;
      if (path.join('.') === 'var.off') return false;
      throw new Error(`reference ${path.join('.')} cannot be evaluated offline`);
    };
    const ds = '[for w in var.docs : w if try(w.backend, "genai") == "datascience"]';
    expect(evaluateHcl(`var.on && length(${ds}) > 0 ? 1 : 0`, resolve)).toBe(1);
    expect(evaluateHcl(`var.off && length(${ds}) > 0 ? 1 : 0`, resolve)).toBe(0);
    expect(evaluateHcl(`var.on && length(${ds}) > 1 ? 1 : 0`, resolve)).toBe(0);
    // && binds tighter than ||; == tighter than &&; comparisons tighter than ==.
    expect(evaluateHcl('var.on || var.off && var.off', resolve)).toBe(true);
    expect(evaluateHcl('(var.on || var.off) && var.off', resolve)).toBe(false);
    expect(evaluateHcl('1 < 2 == 2 >= 2 && length({ a = 1 }) <= 1', resolve)).toBe(true);
    expect(evaluateHcl('{ for k, v in { a = 1, b = 3 } : k => v if v > 2 }', resolve)).toEqual({
      b: 3,
    });
    // No truthiness: the operands must be bools and numbers, as in Terraform.
    expect(() => evaluateHcl('var.on && 1', resolve)).toThrow(/operands of && must be bools/);
    expect(() => evaluateHcl('"a" > 1', resolve)).toThrow(/operands of > must be numbers/);
  });

  it('refuses expressions it cannot evaluate instead of guessing', () => {
    expect(() => evaluateHcl('lookup({ a = 1 }, "a")', () => undefined)).toThrow(/not supported/);
    expect(() => evaluateHcl('{ for k, v in { a = 1 } : v => k... }', () => undefined)).toThrow(
      /not supported/,
    );
    // try() covers a missing attribute, never a reference the checker cannot see.
    const offline = (path: Array<string | number>) => {
      throw new Error(`reference ${path.join('.')} cannot be evaluated offline`);
    };
    expect(() => evaluateHcl('try(var.x.y, 1)', offline)).toThrow(/cannot be evaluated offline/);
    expect(() => evaluateHcl('[for o in [{ a = 1 }] : try(o.b, "${null}-x")]', offline)).toThrow(
      /no argument of try\(\) could be evaluated/,
    );
    expect(() => evaluateHcl('!var.on', offline)).toThrow(/unsupported expression/);
    expect(() => evaluateHcl('length("abc")', offline)).toThrow(/length\(\) of a string/);
  });
});

describe('the configuration Terraform hands the functions', () => {
  it('builds DACFLOW_WORKFLOWS as one JSON document per workflow file, which shared/config.ts parses', async () => {
    const { parseConfig, loadWorkflows } = await import('#shared/config.ts');
    const YAML = await import('yaml');
    // The exact expression in terraform/workflows.tf that this test mirrors.
    const tf = readFileSync(join(root, 'terraform/workflows.tf'), 'utf8');
    expect(tf).toContain(
      'workflows_yaml = "${join("\\n---\\n", [for w in local.workflow_documents : jsonencode(w)])}\\n"',
    );
    const files = ['genai-support-bot.yaml', 'aqua-llama.yaml'].map((f) =>
      readFileSync(join(root, 'workflows/examples', f), 'utf8'),
    );
    const workflowsYaml = `${files.map((t) => jsonencode(YAML.parse(t))).join('\n---\n')}\n`;
    const ocid = (kind: string) => `ocid1.${kind}.oc1.eu-frankfurt-1.${'a'.repeat(60)}`;
    const samples: Record<string, string> = {
      DACFLOW_STATE_BUCKET: 'dacflow-datasets',
      DACFLOW_STATE_NAMESPACE: 'mytenancynamespace',
      DACFLOW_WORKFLOWS: workflowsYaml,
      DACFLOW_LOG_LEVEL: 'info',
    };
    // Exactly the keys terraform/functions.tf sets, with values shaped like what OCI hands back.
    const keys = [
      ...readFileSync(join(root, 'terraform/functions.tf'), 'utf8').matchAll(
        /^\s*(DACFLOW_\w+)\s*=/gm,
      ),
    ].map((m) => m[1] ?? '');
    expect(keys).toContain('DACFLOW_WORKFLOWS');
    const env = Object.fromEntries(
      keys.map((k) => [
        k,
        samples[k] ??
          (k.endsWith('_ID') ? ocid(k.endsWith('_TOPIC_ID') ? 'onstopic' : 'compartment') : 'x'),
      ]),
    );
    const config = parseConfig(env);
    expect(
      loadWorkflows(config)
        .map((w) => w.name)
        .sort(),
    ).toEqual(['aqua-llama', 'support-bot']);
    // The module's precondition: the whole configuration stays under OCI Functions' 4 KB.
    expect(jsonencode(env).length).toBeLessThanOrEqual(4096);
  });
});
