/**
 * The Events rules: one per workflow, named and conditioned exactly as `wiringFor()` says, enabled,
 * ACTIVE, and delivering to validate-dataset.
 */
import { wiringFor } from '#shared/wiring.ts';
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

function ruleFindings(
  target: DoctorTarget,
  rule: RuleView,
  workflow: string,
  expected: unknown,
): Finding[] {
  const name = `Events rule ${rule.displayName} (${rule.id})`;
  const out: Finding[] = [];
  if (!rule.isEnabled) {
    out.push(
      fail(
        CheckId.EVENTS_RULE,
        `${name} is disabled: datasets of workflow ${workflow} are not validated`,
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
  const conditionFix = `set its condition to ${JSON.stringify(JSON.stringify(expected))}: ${
    target.mode === TargetMode.LOCAL
      ? redeployFix(target, 'the rule with the right condition')
      : `\`terraform apply\` (oci_events_rule.dataset["${workflow}"]) or \`oci events rule update --rule-id ${rule.id} --condition '${JSON.stringify(expected)}'\``
  }`;
  let condition: unknown;
  try {
    condition = JSON.parse(rule.condition);
  } catch {
    out.push(
      fail(
        CheckId.EVENTS_RULE,
        `${name} has a condition that is not JSON: ${JSON.stringify(rule.condition.slice(0, 200))}`,
        conditionFix,
      ),
    );
  }
  if (condition !== undefined) {
    const diffs = diffJson(condition, expected);
    if (diffs.length > 0) {
      out.push(
        fail(
          CheckId.EVENTS_RULE,
          `${name} has the wrong condition for workflow ${workflow}: ${diffs.join('; ')}`,
          conditionFix,
        ),
      );
    }
  }
  const faas = rule.actions.filter((a) => a.actionType === 'FAAS');
  const fnId = target.functionIds?.['validate-dataset'];
  const targeted = fnId === undefined ? faas : faas.filter((a) => a.functionId === fnId);
  if (targeted.length === 0) {
    const has = faas.map((a) => a.functionId ?? '(none)').join(', ');
    out.push(
      fail(
        CheckId.EVENTS_RULE,
        faas.length === 0
          ? `${name} has no FAAS action: matching uploads reach no function`
          : `${name}'s FAAS action targets ${has}, expected validate-dataset ${fnId}`,
        `point its FAAS action at validate-dataset${fnId ? ` (${fnId})` : ''}: ${redeployFix(target, `rule ${rule.displayName}`)}`,
      ),
    );
  } else if (!targeted.some((a) => a.isEnabled)) {
    out.push(
      fail(
        CheckId.EVENTS_RULE,
        `${name}'s FAAS action to ${targeted[0]!.functionId ?? 'validate-dataset'} is disabled`,
        `enable the action (isEnabled = true): ${redeployFix(target, `rule ${rule.displayName}`)}`,
      ),
    );
  }
  if (out.length === 0) {
    out.push(
      ok(
        CheckId.EVENTS_RULE,
        `${name} is enabled, ACTIVE, matches workflow ${workflow}'s datasets and delivers to validate-dataset${fnId ? ` (${fnId})` : ''}`,
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
  const wiring = wiringFor(target.triggers);
  const expectedNames = new Set(wiring.rules.map((r) => r.name));
  wiring.rules.forEach((want, i) => {
    const workflow = target.triggers[i]!.name;
    const found = rules.filter((r) => r.displayName === want.name);
    if (found.length === 0) {
      findings.push(
        fail(
          CheckId.EVENTS_RULE,
          `no Events rule ${want.name} in compartment ${target.compartmentId}: datasets under ${target.triggers[i]!.prefix} in bucket ${target.triggers[i]!.bucket} are never validated`,
          redeployFix(
            target,
            target.mode === TargetMode.LOCAL
              ? `rule ${want.name}`
              : `rule ${want.name} (oci_events_rule.dataset["${workflow}"])`,
          ),
        ),
      );
      return;
    }
    if (found.length > 1) {
      findings.push(
        warn(
          CheckId.EVENTS_RULE,
          `${found.length} Events rules are named ${want.name} (${found.map((r) => r.id).join(', ')}): each upload is validated once per rule`,
          `delete all but one: \`oci events rule delete --rule-id <id>\``,
        ),
      );
    }
    for (const r of found) findings.push(...ruleFindings(target, r, workflow, want.condition));
  });
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
