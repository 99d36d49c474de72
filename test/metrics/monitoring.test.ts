/**
 * deploy/monitoring: the alert rules cover what the issue asks for, each
 * with a summary and a runbook link to an existing deploy/README.md section;
 * every metric the rules and the dashboard use is one Tandem exposes; the
 * rules pass `promtool check rules` and their unit tests (when promtool is
 * installed: Debian package `prometheus`).
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

import { createJobServerMetrics } from '../../server/metrics/job-server.js';
import { ReplicatorMetrics } from '../../replicator/metrics/metrics.js';
import { testLog } from '../harness/log.js';

const root = path.resolve(import.meta.dirname, '../..');
const dir = path.join(root, 'deploy/monitoring');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6} (.+)$/gm)) out.add(m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, '').replace(/ /g, '-'));
  return out;
}

/** Every metric name Tandem's registries expose (histograms with their _bucket/_sum/_count series). */
async function exposedNames(): Promise<Set<string>> {
  const names = new Set<string>();
  const js = createJobServerMetrics({ log: testLog, member: 'm', running: () => 0 });
  const rp = new ReplicatorMetrics({ slot: 's' });
  for (const reg of [js.registry, rp.registry]) {
    for (const m of await reg.getMetricsAsJSON()) {
      names.add(m.name);
      if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
    }
  }
  return names;
}

function metricsIn(expr: string): string[] {
  return [...new Set(expr.match(/\btandem_[a-z0-9_]+\b/g) ?? [])];
}

const rulesText = readFileSync(path.join(dir, 'alerts.yml'), 'utf8');
const rules: Rule[] = (YAML.parse(rulesText) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);

t.test('alert rules: coverage, summaries, runbook links, known metrics', async (t) => {
  const names = await exposedNames();
  const readme = anchors(readFileSync(path.join(root, 'deploy/README.md'), 'utf8'));
  const required = [
    'TandemPassiveLagWarning',
    'TandemPassiveLagCritical',
    'TandemSlotRetainedWalNearLimit',
    'TandemObjectBacklogOld',
    'TandemReplicatorDown',
    'TandemNoActiveSite',
    'TandemMoreThanOneActiveSite',
    'TandemScheduleFiringLate',
    'TandemLdapLoginFailuresSpike',
  ];
  const alerts = rules.map((r) => r.alert);
  for (const a of required) t.ok(alerts.includes(a), `rule ${a} exists`);
  t.equal(new Set(alerts).size, alerts.length, 'alert names are unique');
  for (const r of rules) {
    t.ok(r.annotations?.summary, `${r.alert}: has a summary`);
    t.match(r.labels?.severity, /^(warning|critical)$/, `${r.alert}: severity`);
    const link = r.annotations?.runbook_url ?? '';
    const m = /^deploy\/README\.md#([a-z0-9-]+)$/.exec(link);
    t.ok(m && readme.has(m[1]!), `${r.alert}: runbook ${link} is a section of deploy/README.md`);
    for (const n of metricsIn(r.expr)) t.ok(names.has(n), `${r.alert}: ${n} is a metric Tandem exposes`);
  }
  const lagWarn = rules.find((r) => r.alert === 'TandemPassiveLagWarning')!;
  const lagCrit = rules.find((r) => r.alert === 'TandemPassiveLagCritical')!;
  t.ok(Number(/> (\d+)/.exec(lagWarn.expr)![1]) < Number(/> (\d+)/.exec(lagCrit.expr)![1]), 'warning threshold below critical');
});

t.test('Grafana dashboard for two sites', async (t) => {
  const names = await exposedNames();
  const dash = JSON.parse(readFileSync(path.join(dir, 'grafana-dashboard.json'), 'utf8'));
  t.equal(dash.uid, 'tandem-two-sites');
  t.ok(dash.templating.list.some((v: any) => v.name === 'site' && v.multi), 'a site variable to show one or both sites');
  const panels = (dash.panels as any[]).filter((p) => p.type !== 'row');
  t.ok(panels.length >= 20, `${panels.length} panels`);
  const ids = (dash.panels as any[]).map((p) => p.id);
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  const used = new Set<string>();
  for (const p of panels) {
    t.ok(p.targets?.length, `${p.title}: has queries`);
    for (const q of p.targets) for (const n of metricsIn(q.expr)) used.add(n);
  }
  for (const n of used) t.ok(names.has(n), `dashboard metric ${n} exists`);
  for (const n of ['tandem_site_active', 'tandem_replicator_lag_seconds', 'tandem_replication_slot_lag_bytes', 'tandem_replicator_object_copy_backlog', 'tandem_schedule_firing_delay_seconds_bucket', 'tandem_login_failures_total']) {
    t.ok(used.has(n), `the dashboard shows ${n}`);
  }
});

/** Why the promtool check cannot run here (printed as the skip reason), or false when it can. */
function promtoolMissing(): string | false {
  const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (!probe.error) return false;
  return `promtool is not installed (${(probe.error as NodeJS.ErrnoException).code}); install the Debian package "prometheus" to run this check`;
}

t.test('promtool validates the rules and runs their unit tests', { skip: promtoolMissing() }, async (t) => {
  const check = execFileSync('promtool', ['check', 'rules', 'alerts.yml'], { cwd: dir, encoding: 'utf8' });
  t.match(check, new RegExp(`SUCCESS: ${rules.length} rules found`), 'promtool check rules');
  const test = spawnSync('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: dir, encoding: 'utf8' });
  t.equal(test.status, 0, `promtool test rules:\n${test.stdout}${test.stderr}`);
  const config = spawnSync('promtool', ['check', 'config', 'prometheus.yml'], { cwd: dir, encoding: 'utf8' });
  t.equal(config.status, 0, `promtool check config:\n${config.stdout}${config.stderr}`);
});
