/**
 * A state machine as data: the states as one frozen list and the allowed
 * transitions as one frozen table (`from → [to, ...]`). Site roles
 * (server/site/roles.ts), execution statuses (server/executions/status.ts)
 * and the replicator's states (replicator/bookkeeping/states.ts) are each one
 * such table; the one function that changes a state asks it, and the SQL that
 * writes the state checks the from-state in the same statement (`where state =
 * any($from)`, with `sourcesOf(to)` as the parameter), so a concurrent change
 * cannot slip between the check and the write.
 *
 * An illegal transition is a TandemError with code `illegal_transition`
 * (409), naming the machine, both states and what is allowed from there.
 */
import { TandemError } from './errors.js';

export interface StateMachine<S extends string> {
  /** What is changing state, for messages ("site role", "execution status"). */
  readonly name: string;
  readonly states: readonly S[];
  readonly transitions: Readonly<Record<S, readonly S[]>>;
  /** Whether `from → to` is in the table. */
  allows(from: S, to: S): boolean;
  /** Every state from which `to` may be entered (the SQL's `where state = any(...)` parameter). */
  sourcesOf(to: S): S[];
  /** Throws `illegal_transition` unless `from → to` is in the table. */
  assert(from: S, to: S): void;
  /** The error for a refused `from → to` (also used when the SQL found another from-state). */
  illegal(from: string, to: S): TandemError;
}

export function stateMachine<S extends string>(name: string, states: readonly S[], transitions: Record<S, readonly S[]>): StateMachine<S> {
  const table = Object.freeze(Object.fromEntries(states.map((s) => [s, Object.freeze([...(transitions[s] ?? [])])])) as Record<S, readonly S[]>);
  for (const [from, tos] of Object.entries(table) as [S, readonly S[]][]) {
    for (const to of tos) if (!states.includes(to)) throw new Error(`${name}: transition ${from} → ${to} names an unknown state`);
  }
  const m: StateMachine<S> = {
    name,
    states: Object.freeze([...states]),
    transitions: table,
    allows: (from, to) => (table[from] ?? []).includes(to),
    sourcesOf: (to) => states.filter((s) => table[s].includes(to)),
    assert(from, to) {
      if (!m.allows(from, to)) throw m.illegal(from, to);
    },
    illegal(from, to) {
      const allowed = (states as readonly string[]).includes(from) ? table[from as S] : [];
      return new TandemError('illegal_transition', `${name} ${from} → ${to} is not allowed (from ${from}: ${allowed.length ? allowed.join(', ') : 'nothing'})`, {
        details: { machine: name, from, to },
      });
    },
  };
  return Object.freeze(m);
}
