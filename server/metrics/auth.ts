/**
 * Login metrics: latency and failures by user source and reason. The user
 * name is never a label (unbounded, and personal data).
 */
import client from 'prom-client';
import { LATENCY_BUCKETS, type Registry } from './registry.js';

export type LoginSource = 'ldap' | 'local' | 'none';
/** Why a login failed: the authenticators' reasons plus the checks made before asking them. */
export type LoginFailureReason = 'bad_credentials' | 'unknown_user' | 'throttled' | 'oversized_credentials' | 'directory_unavailable';

/** What `checkLogin` reports (server/auth/login.ts). */
export interface LoginMetrics {
  login(source: LoginSource, outcome: 'success' | LoginFailureReason, seconds: number): void;
}

export class AuthMetrics implements LoginMetrics {
  private readonly duration: client.Histogram<'source' | 'outcome'>;
  private readonly failures: client.Counter<'source' | 'reason'>;

  constructor(registry: Registry) {
    this.duration = new client.Histogram({
      name: 'tandem_login_duration_seconds',
      help: 'Time to check a login (directory binds and searches included), by user source and outcome (success or failure).',
      labelNames: ['source', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.failures = new client.Counter({
      name: 'tandem_login_failures_total',
      help: 'Failed logins by user source (ldap, local) and reason (bad_credentials, unknown_user, throttled, oversized_credentials, directory_unavailable).',
      labelNames: ['source', 'reason'],
      registers: [registry],
    });
    // Present from the start, so rate() and the LDAP alert see a zero rather than no series.
    for (const reason of ['bad_credentials', 'unknown_user', 'directory_unavailable'] as const) this.failures.inc({ source: 'ldap', reason }, 0);
  }

  login(source: LoginSource, outcome: 'success' | LoginFailureReason, seconds: number): void {
    this.duration.observe({ source, outcome: outcome === 'success' ? 'success' : 'failure' }, seconds);
    if (outcome !== 'success') this.failures.inc({ source, reason: outcome });
  }
}
