/**
 * Rundeck-style webhook notifications: on start, success and failure the
 * job's `notification.<event>.urls` receive a POST with the execution as
 * JSON. Delivery is best effort (one attempt, short timeout) and never
 * changes the execution's outcome; failures are logged.
 */
import type { Notification } from '../jobs/definition.js';
import type { Logger } from '../log.js';

export type NotificationEvent = keyof Notification;

export async function notify(
  log: Logger,
  notification: Notification | undefined,
  event: NotificationEvent,
  payload: Record<string, unknown>,
  timeoutMs = 5000,
): Promise<void> {
  const urls = notification?.[event] ?? [];
  await Promise.all(
    urls.map(async (url) => {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ trigger: event, execution: payload }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        await res.arrayBuffer();
        if (!res.ok) log.warn('notification webhook answered with an error', { event, url, status: res.status });
      } catch (e) {
        log.warn('notification webhook failed', { event, url, error: e });
      }
    }),
  );
}
