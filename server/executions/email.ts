/**
 * Rundeck's e-mail notifications (`notification.<event>.email` with
 * `recipients`, `subject`, `attachLog`), sent through the SMTP server of
 * `notifications.smtp` with nodemailer.
 *
 * Never in the execution's way: `send` returns at once; delivery (and
 * reading the log to attach) happens in the background, one attempt with a
 * timeout; a failure is logged (without the password or the log) and counted
 * (`tandem_notifications_total{kind="email",outcome="failed"}`), and changes
 * nothing about the execution. Without `notifications.smtp.host` nothing can
 * be sent: each notification due is logged and counted as failed, so a job
 * that expects mail is noticed.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { Config } from '../config/schema.js';
import type { EmailEvent, EmailNotification } from '../jobs/definition.js';
import type { Logger } from '../log.js';
import type { EngineMetrics } from '../metrics/executions.js';

/** What a message says about the execution (and what a subject template may name). */
export interface EmailContext {
  executionId: string;
  project: string;
  job: { id: string | null; name: string; group: string };
  /** running, succeeded, failed, timedout, aborted; Rundeck's `${job.status}`. */
  status: string;
  user: string | null;
  attempt: number;
  reason?: string | null;
}

/** Largest log attached to a message (the rest is cut, and the message says so). */
const MAX_ATTACHED_LOG = 5 * 1024 * 1024;

/** Rundeck-style subject: `${job.name}`, `${job.group}`, `${job.project}`, `${job.id}`, `${job.status}`, `${job.execid}`, `${execution.id}`, `${job.username}`. */
export function emailSubject(template: string | undefined, c: EmailContext, event: EmailEvent): string {
  const title = `${c.job.group ? c.job.group + '/' : ''}${c.job.name}`;
  const status = event === 'onavgduration' ? 'running longer than average' : c.status;
  if (!template) return `[${c.project}] ${status} ${title} #${c.executionId}`;
  const vars: Record<string, string> = {
    'job.name': c.job.name,
    'job.group': c.job.group,
    'job.project': c.project,
    'job.id': c.job.id ?? '',
    'job.status': status,
    'execution.status': status,
    'job.execid': c.executionId,
    'execution.id': c.executionId,
    'job.username': c.user ?? '',
    'job.user.name': c.user ?? '',
  };
  // A subject is one header line: no line breaks from anywhere.
  return template.replace(/\$\{([a-z.]+)\}/g, (whole, k: string) => vars[k] ?? whole).replace(/[\r\n]+/g, ' ');
}

function body(c: EmailContext, event: EmailEvent): string {
  const title = `${c.job.group ? c.job.group + '/' : ''}${c.job.name}`;
  const what =
    event === 'onstart' ? 'started' : event === 'onavgduration' ? 'is running longer than its average duration' : `ended: ${c.status}`;
  return [
    `Execution ${c.executionId} of ${title} in project ${c.project} ${what}.`,
    c.reason ? `Reason: ${c.reason}` : '',
    `Started by: ${c.user ?? '(schedule)'}; attempt ${c.attempt}.`,
    '',
    '-- Tandem',
  ]
    .filter((l, i, a) => l !== '' || a[i - 1] !== '')
    .join('\n');
}

export class EmailNotifier {
  private transport: Transporter | undefined;

  constructor(
    private readonly config: Config['notifications'],
    private readonly log: Logger,
    private readonly metrics?: EngineMetrics,
  ) {}

  /**
   * Send `spec` for `event` in the background. `readLog` gives the log text to attach (called only when the
   * spec asks for it). Resolves when the attempt is over (tests); callers do not wait for it.
   */
  send(spec: EmailNotification | undefined, event: EmailEvent, c: EmailContext, readLog?: () => Promise<string>): Promise<void> {
    if (!spec) return Promise.resolve();
    return this.deliver(spec, event, c, readLog).then(
      () => this.metrics?.notification?.('email', event, 'sent'),
      (e: unknown) => {
        this.metrics?.notification?.('email', event, 'failed');
        this.log.warn('e-mail notification failed', { event, executionId: c.executionId, recipients: spec.recipients.length, error: e });
      },
    );
  }

  private async deliver(spec: EmailNotification, event: EmailEvent, c: EmailContext, readLog?: () => Promise<string>): Promise<void> {
    const smtp = this.config.smtp;
    if (!smtp.host) throw new Error('notifications.smtp.host is not set: no SMTP server to send through');
    this.transport ??= nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      requireTLS: smtp.requireTls,
      auth: smtp.user ? { user: smtp.user, pass: smtp.password ?? '' } : undefined,
      connectionTimeout: smtp.timeout,
      greetingTimeout: smtp.timeout,
      socketTimeout: smtp.timeout,
    });
    const attachments: Array<{ filename: string; content: string; contentType: string }> = [];
    if (spec.attachLog && readLog) {
      let text = await readLog();
      if (text.length > MAX_ATTACHED_LOG) text = text.slice(0, MAX_ATTACHED_LOG) + `\n[log cut at ${MAX_ATTACHED_LOG} characters]\n`;
      attachments.push({ filename: `${c.executionId}.log`, content: text, contentType: 'text/plain; charset=utf-8' });
    }
    await this.transport.sendMail({
      from: smtp.from,
      to: spec.recipients,
      subject: emailSubject(spec.subject, c, event),
      text: body(c, event),
      attachments,
    });
  }

  close(): void {
    this.transport?.close();
    this.transport = undefined;
  }
}
