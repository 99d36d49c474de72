/**
 * The transition tables (server/state-machine.ts), without servers: every
 * allowed transition is accepted, a sample of illegal ones is refused with
 * code `illegal_transition`, and the SQL parameter (`sourcesOf`) is the
 * table read backwards.
 */
import t, { type Test } from 'tap';
import { isTandemError } from '../../server/errors.js';
import { SITE_ROLES, siteRoles, type SiteRole } from '../../server/site/roles.js';
import type { StateMachine } from '../../server/state-machine.js';
import { REPLICATOR_STATES, replicatorStates, type ReplicatorState } from '../../replicator/bookkeeping/states.js';
import { FORCED_STEPS } from '../../replicator/failover/forced.js';
import { REJOIN_STEPS } from '../../replicator/failover/rejoin.js';
import { stepLabel, StepRunner } from '../../replicator/failover/runner.js';
import { SWITCHOVER_STEPS, switchoverSteps } from '../../replicator/failover/switchover.js';
import { closableFrom, EXECUTION_STATUSES, executionStatuses, FINAL_STATUSES, type ExecutionStatus } from '../../server/executions/status.js';

function checkTable<S extends string>(t: Test, m: StateMachine<S>, illegal: [S, S][]): void {
  let n = 0;
  for (const from of m.states) {
    for (const to of m.transitions[from]) {
      t.doesNotThrow(() => m.assert(from, to), `${from} → ${to} allowed`);
      t.ok(m.sourcesOf(to).includes(from), `sourcesOf(${to}) includes ${from}`);
      n++;
    }
  }
  t.ok(n > 0, `${n} transitions in the table`);
  for (const [from, to] of illegal) {
    t.notOk(m.allows(from, to), `${from} → ${to} not in the table`);
    t.notOk(m.sourcesOf(to).includes(from), `sourcesOf(${to}) leaves out ${from}`);
    try {
      m.assert(from, to);
      t.fail(`${from} → ${to} refused`);
    } catch (e) {
      t.ok(isTandemError(e), 'a TandemError');
      t.same(isTandemError(e) && [e.code, e.status, e.details], ['illegal_transition', 409, { machine: m.name, from, to }], `${from} → ${to} refused with illegal_transition`);
    }
  }
  t.ok(Object.isFrozen(m.states) && Object.isFrozen(m.transitions) && m.states.every((s) => Object.isFrozen(m.transitions[s])), 'states and table are frozen');
}

t.test('site roles', async (t) => {
  t.same(siteRoles.states, SITE_ROLES);
  t.same([...SITE_ROLES].sort(), ['active', 'draining', 'fenced', 'passive'], 'the four roles of sql/040_sites.sql');
  checkTable<SiteRole>(t, siteRoles, [
    ['passive', 'draining'],
    ['passive', 'fenced'],
    ['fenced', 'draining'],
  ]);
  // What the failover code does, transition by transition (server/site/roles.ts lists who does which).
  for (const [from, to] of [
    ['active', 'draining'],
    ['draining', 'fenced'],
    ['active', 'fenced'],
    ['passive', 'active'],
    ['fenced', 'passive'],
    ['draining', 'active'],
    ['fenced', 'active'],
    ['active', 'passive'],
    ['passive', 'passive'],
    ['fenced', 'fenced'],
  ] as [SiteRole, SiteRole][]) {
    t.ok(siteRoles.allows(from, to), `${from} → ${to} (used by switchover, forced failover, rejoin or the site monitor)`);
  }
  t.same(siteRoles.sourcesOf('draining'), ['active', 'draining'], 'only an active (or already draining) site drains');
  const e = siteRoles.illegal('bogus', 'active');
  t.match(e.message, /site role bogus → active is not allowed \(from bogus: nothing\)/);
});

t.test('execution statuses', async (t) => {
  t.same(executionStatuses.states, EXECUTION_STATUSES);
  checkTable<ExecutionStatus>(t, executionStatuses, [
    ['running', 'queued'],
    ['succeeded', 'failed'],
    ['failed', 'running'],
    ['aborted', 'succeeded'],
    ['timedout', 'queued'],
  ]);
  for (const s of FINAL_STATUSES) {
    t.same(executionStatuses.transitions[s], [], `${s} is final`);
    t.same(closableFrom(s), ['queued', 'running'], `closing as ${s}: from queued or running (the finish statements' parameter)`);
  }
  t.throws(() => closableFrom('running'), { code: 'illegal_transition' }, 'closing with a status that is not final is refused');
});

t.test('failover steps: numbers and totals come from the step lists', async (t) => {
  t.same(switchoverSteps(true), SWITCHOVER_STEPS, 'with --reverse: all seven');
  t.same(switchoverSteps(false), SWITCHOVER_STEPS.filter((s) => s !== 'reverse'), 'without: six, no reverse');
  t.equal(stepLabel(switchoverSteps(true), 'promote'), '[7/7]');
  t.equal(stepLabel(switchoverSteps(false), 'promote'), '[6/6]');
  t.equal(stepLabel(switchoverSteps(false), 'drain'), '[1/6]');
  t.equal(stepLabel(FORCED_STEPS, 'sequences'), '[2/3]');
  t.equal(stepLabel(REJOIN_STEPS, 'resync'), '[3/3]');
  const lines: string[] = [];
  const runner = new StepRunner({ steps: FORCED_STEPS, out: (l) => lines.push(l), resumeHint: '' });
  runner.skip('checks', 'test');
  await runner.step('promote', async () => ({ detail: 'done' }));
  t.same(lines.map((l) => l.replace(/\(\d+\.\d+ s\)/, '(T)')), ['[1/3] checks: already done (test)', '[3/3] promote ...', '[3/3] promote: done (T)'], "a step's number is its place in the list");
});

t.test('replicator states', async (t) => {
  t.same(replicatorStates.states, REPLICATOR_STATES);
  checkTable<ReplicatorState>(t, replicatorStates, [
    ['stopped', 'streaming'],
    ['error', 'streaming'],
    ['error', 'stopped'],
    ['streaming', 'initial_sync'],
    ['stopped', 'initial_sync'],
  ]);
  t.same(replicatorStates.sourcesOf('streaming'), ['initial_sync', 'streaming'], 'a run streams after its copy, or again after a reconnect');
});
