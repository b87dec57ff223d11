/**
 * Runs every doctor check against one deployment. The checks are independent of each other except
 * that the alarm check needs the alarms topic the topic check found.
 */
import { checkAlarms } from './alarms.ts';
import { checkEventRules } from './events.ts';
import { checkSubscriptions, checkTopics } from './notifications.ts';
import type { DoctorPorts } from './ports.ts';
import { checkStorage } from './storage.ts';
import type { DoctorTarget, Finding } from './types.ts';

export interface RunDoctorOptions {
  /** Names the state probe object; random per run (the caller supplies it, so tests are stable). */
  probeId: string;
}

/** Every finding, grouped by service in a stable order: storage, events, notifications, alarms. */
export async function runDoctor(
  target: DoctorTarget,
  ports: DoctorPorts,
  options: RunDoctorOptions,
): Promise<Finding[]> {
  const [storage, rules, notifications] = await Promise.all([
    checkStorage(target, ports.storage, options.probeId),
    checkEventRules(target, ports.events),
    (async () => {
      const topics = await checkTopics(target, ports.notifications);
      const subs = await checkSubscriptions(target, ports.notifications, topics.topics);
      const alarms = await checkAlarms(target, ports.genai, ports.monitoring, topics.topics.alarms);
      return { topics: topics.findings, subs, alarms };
    })(),
  ]);
  return [
    ...storage,
    ...rules,
    ...notifications.topics,
    ...notifications.subs,
    ...notifications.alarms,
  ];
}
