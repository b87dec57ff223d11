import { describe, expect, it } from 'vitest';
import { checkEventRules } from '#shared/doctor/events.ts';
import type { EventsPort, RuleView } from '#shared/doctor/ports.ts';
import type { Finding } from '#shared/doctor/types.ts';
import { dataScienceEventsRule, datasetCondition, type WorkflowTrigger } from '#shared/wiring.ts';
import {
  dsTrigger,
  fnId,
  forbidden,
  goodDsRule,
  goodRule,
  notOk,
  target,
  trigger,
} from './fakes.ts';

const port = (rules: RuleView[]): EventsPort => ({ listRules: async () => rules });
const withFn = () => target({ functionIds: { 'validate-dataset': fnId('validate-dataset') } });

describe('checkEventRules', () => {
  it('is ok for the rule wiringFor() describes', async () => {
    const findings = await checkEventRules(withFn(), port([goodRule()]));
    expect(findings.map((f) => f.status)).toEqual(['ok']);
    expect(findings[0]!.message).toContain('dacflow-support-bot-dataset');
  });

  it('treats eventType as a set and ignores key order (OR semantics)', async () => {
    const c = datasetCondition(trigger);
    const reordered = JSON.stringify({
      data: { resourceName: c.data.resourceName, additionalDetails: c.data.additionalDetails },
      eventType: [...c.eventType].reverse(),
    });
    const findings = await checkEventRules(
      withFn(),
      port([{ ...goodRule(), condition: reordered }]),
    );
    expect(notOk(findings)).toEqual([]);
  });

  it('fails for a missing rule with the Terraform resource to apply', async () => {
    const [f] = await checkEventRules(withFn(), port([]));
    expect(f).toMatchObject({ check: 'events.rule', status: 'fail' });
    expect(f!.message).toContain('no Events rule dacflow-support-bot-dataset');
    expect(f!.fix).toContain('oci_events_rule.dataset["support-bot"]');
  });

  it('reports each problem of a rule separately, with its own fix', async () => {
    const rule: RuleView = {
      ...goodRule(),
      isEnabled: false,
      lifecycleState: 'INACTIVE',
      condition: JSON.stringify({
        eventType: ['com.oraclecloud.objectstorage.createobject'],
        data: {
          additionalDetails: { bucketName: 'x' },
          resourceName: 'datasets/support-bot/*.jsonl',
        },
      }),
      actions: [{ actionType: 'FAAS', functionId: fnId('other'), isEnabled: true }],
    };
    const bad = await checkEventRules(withFn(), port([rule]));
    expect(bad.map((f) => f.status)).toEqual(['fail', 'fail', 'fail', 'fail']);
    expect(bad[0]!.fix).toContain(`--rule-id ${rule.id} --is-enabled true`);
    expect(bad[1]!.message).toContain('is INACTIVE, expected ACTIVE');
    expect(bad[2]!.message).toContain(
      'data.additionalDetails.bucketName is "x", expected "dacflow-datasets"',
    );
    expect(bad[2]!.message).toContain(
      'eventType lacks "com.oraclecloud.objectstorage.updateobject"',
    );
    expect(bad[3]!.message).toContain(
      `targets ${fnId('other')}, expected validate-dataset ${fnId('validate-dataset')}`,
    );
  });

  it('fails a condition that is not JSON, and a rule without a FAAS action', async () => {
    const bad = await checkEventRules(
      target(),
      port([
        {
          ...goodRule(),
          condition: '{nope',
          actions: [{ actionType: 'ONS', topicId: 't', isEnabled: true }],
        },
      ]),
    );
    expect(bad.map((f) => f.message)).toEqual([
      expect.stringContaining('condition that is not JSON'),
      expect.stringContaining('has no FAAS action'),
    ]);
  });

  it('accepts any FAAS action when the function id is not known, but not a disabled one', async () => {
    const anyFn = await checkEventRules(target(), port([goodRule()]));
    expect(notOk(anyFn)).toEqual([]);
    const disabled = await checkEventRules(
      target(),
      port([
        { ...goodRule(), actions: [{ actionType: 'FAAS', functionId: 'f', isEnabled: false }] },
      ]),
    );
    expect(disabled.map((f) => f.message)).toEqual([
      expect.stringContaining('FAAS action to f is disabled'),
    ]);
  });

  it('warns about duplicate rules and rules of no known workflow', async () => {
    const stale: RuleView = { ...goodRule(), id: 'r-old', displayName: 'dacflow-gone-dataset' };
    const findings = await checkEventRules(
      target(),
      port([goodRule(), { ...goodRule(), id: 'r2' }, stale]),
    );
    expect(notOk(findings).map((f) => f.status)).toEqual(['warn', 'warn']);
    expect(notOk(findings)[0]!.message).toMatch(
      /^2 Events rules are named dacflow-support-bot-dataset/,
    );
    expect(notOk(findings)[1]!.message).toMatch(
      /^Events rule dacflow-gone-dataset \(r-old\) belongs to no workflow/,
    );
    expect(notOk(findings)[1]!.fix).toContain('--rule-id r-old');
  });

  it('warns, not fails, for a rule still being created; ignores DELETED rules', async () => {
    const creating = await checkEventRules(
      target(),
      port([{ ...goodRule(), lifecycleState: 'CREATING' }]),
    );
    expect(creating.map((f) => f.status)).toEqual(['warn']);
    const deleted = await checkEventRules(
      target(),
      port([{ ...goodRule(), lifecycleState: 'DELETED' }]),
    );
    expect(deleted.map((f) => f.status)).toEqual(['fail']);
  });

  it('fails with the permission to grant when rules cannot be listed', async () => {
    const findings = await checkEventRules(target(), {
      listRules: async () => {
        throw forbidden('events', 'ListRules');
      },
    });
    expect(findings).toHaveLength(1);
    expect(findings[0]!.fix).toContain('read cloudevents-rules');
  });
});

describe('checkEventRules with a datascience workflow', () => {
  const fns = { 'validate-dataset': fnId('validate-dataset'), 'poll-status': fnId('poll-status') };
  const dsTarget = (triggers: WorkflowTrigger[] = [trigger, dsTrigger]) =>
    target({ triggers, functionIds: fns });
  /** The dataset rule of `t`, as wiringFor() names and conditions it. */
  const datasetRule = (t: WorkflowTrigger): RuleView => ({
    ...goodRule(),
    id: `ocid1.eventrule.oc1..${t.name}`,
    displayName: `dacflow-${t.name}-dataset`,
    condition: JSON.stringify(datasetCondition(t)),
  });
  const dsFindings = (fs: Finding[]) =>
    fs.filter((f) => f.message.includes(dataScienceEventsRule.name));

  it('is ok for the dataset rules and the Data Science rule that delivers to poll-status', async () => {
    const findings = await checkEventRules(
      dsTarget(),
      port([goodRule(), datasetRule(dsTrigger), goodDsRule()]),
    );
    expect(findings.map((f) => f.status)).toEqual(['ok', 'ok', 'ok']);
    expect(findings.map((f) => f.message.split(' (')[0])).toEqual([
      'Events rule dacflow-support-bot-dataset',
      'Events rule dacflow-aqua-llama-dataset',
      'Events rule dacflow-datascience-events',
    ]);
    expect(findings[2]!.message).toBe(
      `Events rule dacflow-datascience-events (ocid1.eventrule.oc1..ds) is enabled, ACTIVE, matches the Data Science job-run and model-deployment events of workflow aqua-llama and delivers to poll-status (${fnId('poll-status')})`,
    );
  });

  it('fails a missing Data Science rule with the Terraform resource, or the local stack, to re-create it', async () => {
    const [missing, ...rest] = dsFindings(
      await checkEventRules(dsTarget(), port([goodRule(), datasetRule(dsTrigger)])),
    );
    expect(rest).toEqual([]);
    expect(missing).toEqual({
      check: 'events.rule',
      status: 'fail',
      message:
        'no Events rule dacflow-datascience-events in compartment ocid1.compartment.oc1..doctor: poll-status notices job-run and model-deployment changes of workflow aqua-llama only at its next scheduled poll',
      fix: "run `terraform apply` with dacflow's module: it re-creates rule dacflow-datascience-events (oci_events_rule.datascience)",
    });
    const local = await checkEventRules(
      target({ mode: 'local', dataDir: '/tmp/s', triggers: [dsTrigger], functionIds: fns }),
      port([datasetRule(dsTrigger)]),
    );
    expect(notOk(local).map((f) => f.fix)).toEqual([
      'restart `dacflow local --data-dir /tmp/s`: it re-creates rule dacflow-datascience-events',
    ]);
  });

  it('reports a wrong event type list, a wrong function and a disabled rule, each with its fix', async () => {
    const rule: RuleView = {
      ...goodDsRule(),
      isEnabled: false,
      condition: JSON.stringify({
        eventType: [
          ...dataScienceEventsRule.condition.eventType.filter((t) => !t.endsWith('updatejobrun')),
          'com.oraclecloud.datascience.deletejobrun.end',
        ],
      }),
      actions: [{ actionType: 'FAAS', functionId: fnId('validate-dataset'), isEnabled: true }],
    };
    const bad = dsFindings(
      await checkEventRules(dsTarget(), port([goodRule(), datasetRule(dsTrigger), rule])),
    );
    expect(bad.map((f) => f.status)).toEqual(['fail', 'fail', 'fail']);
    const [disabled, condition, action] = bad as [Finding, Finding, Finding];
    expect(disabled.message).toBe(
      'Events rule dacflow-datascience-events (ocid1.eventrule.oc1..ds) is disabled: poll-status notices job-run and model-deployment changes of workflow aqua-llama only at its next scheduled poll',
    );
    expect(disabled.fix).toContain('--rule-id ocid1.eventrule.oc1..ds --is-enabled true');
    expect(condition.message).toBe(
      'Events rule dacflow-datascience-events (ocid1.eventrule.oc1..ds) has the wrong condition for Data Science job-run and model-deployment events: eventType lacks "com.oraclecloud.datascience.updatejobrun"; eventType has unexpected "com.oraclecloud.datascience.deletejobrun.end"',
    );
    expect(condition.fix).toContain('`terraform apply` (oci_events_rule.datascience)');
    expect(condition.fix).toContain(
      `--condition '${JSON.stringify(dataScienceEventsRule.condition)}'`,
    );
    expect(action.message).toBe(
      `Events rule dacflow-datascience-events (ocid1.eventrule.oc1..ds)'s FAAS action targets ${fnId('validate-dataset')}, expected poll-status ${fnId('poll-status')}`,
    );
    expect(action.fix).toMatch(
      /^point its FAAS action at poll-status \(ocid1\.fnfunc\.oc1\.\.poll-status\): /,
    );
  });

  it('names every datascience workflow once, and pairs dataset rules with their workflows', async () => {
    const second = { ...dsTrigger, name: 'aqua-mistral', prefix: 'datasets/aqua-mistral/' };
    // The datascience triggers come first and last: the Data Science rule shifts no pairing.
    const findings = await checkEventRules(
      dsTarget([dsTrigger, trigger, second]),
      port([datasetRule(dsTrigger), goodRule(), goodDsRule()]),
    );
    expect(notOk(findings).map((f) => f.message)).toEqual([
      'no Events rule dacflow-aqua-mistral-dataset in compartment ocid1.compartment.oc1..doctor: datasets under datasets/aqua-mistral/ in bucket dacflow-datasets are never validated',
    ]);
    expect(notOk(findings)[0]!.fix).toContain('oci_events_rule.dataset["aqua-mistral"]');
    expect(dsFindings(findings).map((f) => f.message)).toEqual([
      expect.stringContaining('events of workflows aqua-llama, aqua-mistral and delivers'),
    ]);
  });

  it('leaves the Data Science rule alone without a datascience workflow, and warns about two', async () => {
    // Not "belongs to no workflow": it carries no uploads, and a local stack's triggers (local.json)
    // do not say which workflows are datascience ones.
    const genaiOnly = await checkEventRules(dsTarget([trigger]), port([goodRule(), goodDsRule()]));
    expect(genaiOnly.map((f) => f.status)).toEqual(['ok']);
    expect(dsFindings(genaiOnly)).toEqual([]);

    const twice = await checkEventRules(
      dsTarget([dsTrigger]),
      port([
        datasetRule(dsTrigger),
        goodDsRule(),
        { ...goodDsRule(), id: 'ocid1.eventrule.oc1..ds2' },
      ]),
    );
    expect(notOk(twice)).toEqual([
      {
        check: 'events.rule',
        status: 'warn',
        message:
          '2 Events rules are named dacflow-datascience-events (ocid1.eventrule.oc1..ds, ocid1.eventrule.oc1..ds2): poll-status observes the run once per rule for each event',
        fix: 'delete all but one: `oci events rule delete --rule-id <id>`',
      },
    ]);
  });
});
