/** Alarms, their evaluation state and metric streams survive an emulator restart on the same data dir. */
import * as common from 'oci-common';
import { MonitoringClient } from 'oci-monitoring';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulator } from '#local/emulator/index.ts';
import { monitoringService } from '#local/emulator/monitoring.ts';
import { tempDir } from '../emulator/helpers.ts';

const tmp = tempDir('dacflow-mon-persist-');
afterAll(() => tmp.remove());

async function start() {
  const emu = await startEmulator({
    dataDir: tmp.dir,
    services: [monitoringService({ autoTick: false })],
  });
  const client = new MonitoringClient({
    authenticationDetailsProvider: new common.ConfigFileAuthenticationDetailsProvider(
      emu.configFile,
      emu.profile,
    ),
  });
  client.endpoint = emu.url;
  return { emu, client };
}

describe('Monitoring emulator persistence', () => {
  it('keeps alarms and datapoints across a restart', async () => {
    const first = await start();
    const compartmentId = first.emu.compartmentId;
    const { alarm } = await first.client.createAlarm({
      createAlarmDetails: {
        displayName: 'kept',
        compartmentId,
        metricCompartmentId: compartmentId,
        namespace: 'dacflow_test',
        query: 'Util[1m]{resourceId = "c"}.mean() < 30',
        severity: 'WARNING',
        destinations: ['ocid1.onstopic.oc1..none'],
        isEnabled: true,
      },
    });
    const at = new Date(Date.now() - 120_000);
    await first.client.postMetricData({
      postMetricDataDetails: {
        metricData: [
          {
            namespace: 'dacflow_test',
            compartmentId,
            name: 'Util',
            dimensions: { resourceId: 'c' },
            datapoints: [{ timestamp: at, value: 42 }],
          },
        ],
      },
    });
    await first.emu.close();

    const second = await start();
    try {
      expect((await second.client.getAlarm({ alarmId: alarm.id })).alarm.displayName).toBe('kept');
      const items = (
        await second.client.summarizeMetricsData({
          compartmentId,
          summarizeMetricsDataDetails: {
            namespace: 'dacflow_test',
            query: 'Util[1m]{resourceId = "c"}.max()',
            startTime: new Date(at.getTime() - 60_000),
            endTime: new Date(),
          },
        })
      ).items;
      expect(items.flatMap((i) => i.aggregatedDatapoints.map((p) => p.value))).toEqual([42]);
    } finally {
      await second.emu.close();
    }
  });
});
