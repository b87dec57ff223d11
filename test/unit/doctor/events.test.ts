import { describe, expect, it } from 'vitest';
import { checkEventRules } from '#shared/doctor/events.ts';
import type { EventsPort, RuleView } from '#shared/doctor/ports.ts';
import { datasetCondition } from '#shared/wiring.ts';
import { fnId, forbidden, goodRule, notOk, target, trigger } from './fakes.ts';

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
