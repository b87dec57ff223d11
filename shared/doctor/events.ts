/**
 * The Events rules: one per workflow, named and conditioned exactly as `wiringFor()` says, enabled,
 * ACTIVE, and delivering to validate-dataset; and with a datascience workflow the Data Science
 * rule, which delivers job-run and model-deployment events to poll-status.
 */
import {
  dataScienceEventsRule,
  wiringFor,
  type EventRuleWiring,
  type WorkflowTrigger,
} from '#shared/wiring.ts';
import { describeCallError } from './errors.ts';
import { diffJson } from './json-diff.ts';
import type { EventsPort, RuleView } from './ports.ts';
import {
  CheckId,
  fail,
  ok,
  redeployFix,
  TargetMode,
  warn,
  type DoctorTarget,
  type Finding,
} from './types.ts';

/** Every dacflow rule name starts so (`wiringFor`, terraform/events.tf). */
export const rulePrefix = 'dacflow-';
const ruleSuffix = '-dataset';

/** Rule states that settle by themselves: worth a warning, not a failure. */
const transitionalStates = new Set(['CREATING', 'UPDATING']);

/**
 * One expected rule and the words its findings use: what breaks without it, and the Terraform
 * resource that creates it.
 */
interface ExpectedRule {
  want: EventRuleWiring;
  /** `oci_events_rule.dataset["<workflow>"]` or `oci_events_rule.datascience`. */
  resource: string;
  /** What a missing rule means, after "no Events rule X in compartment C: ". */
  missing: string;
  /** What a disabled rule means, after "is disabled: ". */
  disabled: string;
  /** What the condition is compared for, after "has the wrong condition ". */
  conditionFor: string;
  /** What reaches no function without a FAAS action, after "has no FAAS action: ". */
  undelivered: string;
  /** What a second rule of the same name does, after "N Events rules are named X (ids): ". */
  duplicated: string;
  /** What the rule matches in the ok finding, after "matches ". */
  matches: string;
}

function datasetRule(want: EventRuleWiring, trigger: WorkflowTrigger): ExpectedRule {
  return {
    want,
    resource: `oci_events_rule.dataset["${trigger.name}"]`,
    missing: `datasets under ${trigger.prefix} in bucket ${trigger.bucket} are never validated`,
    disabled: `datasets of workflow ${trigger.name} are not validated`,
    conditionFor: `for workflow ${trigger.name}`,
    undelivered: 'matching uploads reach no function',
    duplicated: 'each upload is validated once per rule',
    matches: `workflow ${trigger.name}'s datasets`,
  };
}

function dataScienceRule(
  want: EventRuleWiring,
  triggers: readonly WorkflowTrigger[],
): ExpectedRule {
  const names = triggers.map((t) => t.name);
  const workflows = `workflow${names.length > 1 ? 's' : ''} ${names.join(', ')}`;
  // Without the rule nothing is lost, only late: the scheduled reconcile still observes every run.
  const late = `poll-status notices job-run and model-deployment changes of ${workflows} only at its next scheduled poll`;
  return {
    want,
    resource: 'oci_events_rule.datascience',
    missing: late,
    disabled: late,
    conditionFor: 'for Data Science job-run and model-deployment events',
    undelivered: 'job-run and model-deployment events reach no function',
    duplicated: 'poll-status observes the run once per rule for each event',
    matches: `the Data Science job-run and model-deployment events of ${workflows}`,
  };
}

function ruleFindings(target: DoctorTarget, rule: RuleView, expected: ExpectedRule): Finding[] {
  const name = `Events rule ${rule.displayName} (${rule.id})`;
  const fnName = expected.want.function;
  const condition = expected.want.condition;
  const out: Finding[] = [];
  if (!rule.isEnabled) {
    out.push(
      fail(
        CheckId.EVENTS_RULE,
        `${name} is disabled: ${expected.disabled}`,
        `enable it: \`oci events rule update --rule-id ${rule.id} --is-enabled true\``,
      ),
    );
  }
  if (rule.lifecycleState !== 'ACTIVE') {
    const settling = transitionalStates.has(rule.lifecycleState);
    out.push(
      (settling ? warn : fail)(
        CheckId.EVENTS_RULE,
        `${name} is ${rule.lifecycleState}, expected ACTIVE`,
        settling
          ? 'wait a minute and run doctor again'
          : `delete it (\`oci events rule delete --rule-id ${rule.id}\`) and ${redeployFix(target, `rule ${rule.displayName}`)}`,
      ),
    );
  }
  const conditionFix = `set its condition to ${JSON.stringify(JSON.stringify(condition))}: ${
    target.mode === TargetMode.LOCAL
      ? redeployFix(target, 'the rule with the right condition')
      : `\`terraform apply\` (${expected.resource}) or \`oci events rule update --rule-id ${rule.id} --condition '${JSON.stringify(condition)}'\``
  }`;
  let actual: unknown;
  try {
    actual = JSON.parse(rule.condition);
  } catch {
    out.push(
      fail(
        CheckId.EVENTS_RULE,
        `${name} has a condition that is not JSON: ${JSON.stringify(rule.condition.slice(0, 200))}`,
        conditionFix,
      ),
    );
  }
  if (actual !== undefined) {
    const diffs = diffJson(actual, condition);
    if (diffs.length > 0) {
      out.push(
        fail(
          CheckId.EVENTS_RULE,
          `${name} has the wrong condition ${expected.conditionFor}: ${diffs.join('; ')}`,
          conditionFix,
        ),
      );
    }
  }
  const faas = rule.actions.filter((a) => a.actionType === 'FAAS');
  const fnId = target.functionIds?.[fnName];
  const targeted = fnId === undefined ? faas : faas.filter((a) => a.functionId === fnId);
  if (targeted.length === 0) {
    const has = faas.map((a) => a.functionId ?? '(none)').join(', ');
    out.push(
      fail(
        CheckId.EVENTS_RULE,
        faas.length === 0
          ? `${name} has no FAAS action: ${expected.undelivered}`
          : `${name}'s FAAS action targets ${has}, expected ${fnName} ${fnId}`,
        `point its FAAS action at ${fnName}${fnId ? ` (${fnId})` : ''}: ${redeployFix(target, `rule ${rule.displayName}`)}`,
      ),
    );
  } else if (!targeted.some((a) => a.isEnabled)) {
    out.push(
      fail(
        CheckId.EVENTS_RULE,
        `${name}'s FAAS action to ${targeted[0]!.functionId ?? fnName} is disabled`,
        `enable the action (isEnabled = true): ${redeployFix(target, `rule ${rule.displayName}`)}`,
      ),
    );
  }
  if (out.length === 0) {
    out.push(
      ok(
        CheckId.EVENTS_RULE,
        `${name} is enabled, ACTIVE, matches ${expected.matches} and delivers to ${fnName}${fnId ? ` (${fnId})` : ''}`,
      ),
    );
  }
  return out;
}

/**
 * The rules `wiringFor()` gives for the target's triggers, each with its words. The Data Science
 * rule is told apart by name, so it never shifts the pairing of dataset rules with triggers.
 */
function expectedRules(triggers: readonly WorkflowTrigger[]): ExpectedRule[] {
  const wiring = wiringFor(triggers);
  const datasetRules = wiring.rules.filter((r) => r.name !== dataScienceEventsRule.name);
  const out = datasetRules.map((want, i) => datasetRule(want, triggers[i]!));
  const ds = wiring.rules.find((r) => r.name === dataScienceEventsRule.name);
  if (ds) {
    out.push(
      dataScienceRule(
        ds,
        triggers.filter((t) => t.backend === 'datascience'),
      ),
    );
  }
  return out;
}

export async function checkEventRules(
  target: DoctorTarget,
  events: EventsPort,
): Promise<Finding[]> {
  let rules: RuleView[];
  try {
    rules = await events.listRules(target.compartmentId, rulePrefix);
  } catch (err) {
    return [
      fail(
        CheckId.EVENTS_RULE,
        `cannot list Events rules in compartment ${target.compartmentId}: ${describeCallError(err)}`,
        `check that the OCI user may \`read cloudevents-rules\` in compartment ${target.compartmentId}`,
      ),
    ];
  }
  rules = rules.filter((r) => r.lifecycleState !== 'DELETED');
  const findings: Finding[] = [];
  const expected = expectedRules(target.triggers);
  const expectedNames = new Set(expected.map((e) => e.want.name));
  for (const e of expected) {
    const want = e.want;
    const found = rules.filter((r) => r.displayName === want.name);
    if (found.length === 0) {
      findings.push(
        fail(
          CheckId.EVENTS_RULE,
          `no Events rule ${want.name} in compartment ${target.compartmentId}: ${e.missing}`,
          redeployFix(
            target,
            target.mode === TargetMode.LOCAL
              ? `rule ${want.name}`
              : `rule ${want.name} (${e.resource})`,
          ),
        ),
      );
      continue;
    }
    if (found.length > 1) {
      findings.push(
        warn(
          CheckId.EVENTS_RULE,
          `${found.length} Events rules are named ${want.name} (${found.map((r) => r.id).join(', ')}): ${e.duplicated}`,
          `delete all but one: \`oci events rule delete --rule-id <id>\``,
        ),
      );
    }
    for (const r of found) findings.push(...ruleFindings(target, r, e));
  }
  for (const r of rules) {
    if (r.displayName.endsWith(ruleSuffix) && !expectedNames.has(r.displayName)) {
      findings.push(
        warn(
          CheckId.EVENTS_RULE,
          `Events rule ${r.displayName} (${r.id}) belongs to no workflow given to doctor: its uploads still reach ${r.actions.map((a) => a.functionId ?? a.actionType).join(', ') || 'no action'}`,
          `if its workflow was removed, delete it: \`oci events rule delete --rule-id ${r.id}\`; otherwise pass that workflow's file to doctor too`,
        ),
      );
    }
  }
  return findings;
}
