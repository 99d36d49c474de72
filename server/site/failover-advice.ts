/**
 * Which failover commands fit the sites' current situation, printed as an
 * operator types them (deploy/README.md, "Runbook"). The Sites page shows
 * them; nothing here runs a failover. Pure: the caller says what it could
 * read of every site.
 *
 * Situations, judged from the sites' roles as their own databases say:
 * - one active site, the others passive and reachable: a planned switchover
 *   to a passive site (dry run first, then `--reverse` so the old active
 *   follows the new one);
 * - a fenced site next to an active one (after a switchover without
 *   `--reverse`, or an old active back after a forced failover): `rejoin`;
 * - a site draining, or a switchover journal still running: a switchover was
 *   interrupted: the same command completes it, `--abort` undoes it;
 * - the active site unreachable (its database cannot be read) and a passive
 *   site reachable: a forced failover, then `rejoin` when the old one is back;
 * - several active sites, or none reachable: only `tandem status`, with why.
 */

export interface SiteFacts {
  name: string;
  reachable: boolean;
  /** The role its own database states; null when unreachable or never initialised. */
  role: 'active' | 'draining' | 'passive' | 'fenced' | null;
  /** The active site this site's database names (null: unknown). */
  activeSite: string | null;
}

/** A switchover or failover journal still running (from the target's database). */
export interface RunningFailover {
  kind: 'switchover' | 'forced';
  fromSite: string;
  toSite: string;
}

export type Situation = 'single_site' | 'normal' | 'switchover_interrupted' | 'fenced_site' | 'active_unreachable' | 'several_active' | 'no_active';

export interface CommandGroup {
  title: string;
  /** When to use it and what it does, in one or two sentences. */
  why: string;
  /** Command lines, in the order they are run. */
  lines: string[];
}

export interface FailoverAdvice {
  situation: Situation;
  summary: string;
  commands: CommandGroup[];
}

/**
 * `tandem SUB --config FILE ARGS`: the same shape as the CLI's printed
 * commands (server/cli/printed-command.ts). A server started without a
 * configuration file (the default tandem.yaml, or environment variables only)
 * gets commands without --config: the same lookup applies to them.
 */
export function commandLine(configFile: string | undefined): (args: string) => string {
  const file = configFile === undefined ? undefined : /^[\w./@%+=:,-]+$/.test(configFile) ? configFile : `'${configFile.replace(/'/g, `'\\''`)}'`;
  return (args) => {
    const [sub, ...rest] = args.split(' ');
    return ['tandem', sub, ...(file === undefined ? [] : ['--config', file]), ...rest].join(' ');
  };
}

export function failoverAdvice(sites: readonly SiteFacts[], running: RunningFailover | null, configFile: string | undefined): FailoverAdvice {
  const cmd = commandLine(configFile);
  const status = cmd('status');
  if (sites.length < 2) {
    return { situation: 'single_site', summary: 'Only this site is configured (no `sites:` with two or more sites): there is nothing to fail over to.', commands: [] };
  }
  const active = sites.filter((s) => s.role === 'active');
  const draining = sites.find((s) => s.role === 'draining');
  if (running?.kind === 'switchover' || draining) {
    const from = running?.fromSite ?? draining!.name;
    const to = running?.toSite ?? sites.find((s) => s.name !== from && s.role === 'passive')?.name;
    if (to) {
      return {
        situation: 'switchover_interrupted',
        summary: `A planned switchover ${from} → ${to} is under way or was interrupted: ${from} starts nothing new. Let it finish, or, if the command stopped, complete or undo it.`,
        commands: [
          { title: 'Complete the switchover', why: 'Run the same command again (with --reverse if the first run had it): it continues where it stopped.', lines: [cmd(`failover --to ${to} --reverse`)] },
          { title: 'Or undo it (only before the promotion step)', why: `${from} becomes active again; ${to} stays passive.`, lines: [cmd(`failover --to ${to} --abort`)] },
        ],
      };
    }
  }
  if (active.length > 1) {
    return {
      situation: 'several_active',
      summary: `${active.map((s) => s.name).join(' and ')} all say they are active: the one with the lower epoch fences itself when it sees the other. Check before doing anything.`,
      commands: [{ title: 'Check', why: 'Every site\'s role, epoch and health.', lines: [status] }],
    };
  }
  if (active.length === 1) {
    const a = active[0]!;
    const fenced = sites.filter((s) => s.role === 'fenced');
    const passive = sites.filter((s) => s.role === 'passive' && s.reachable);
    const commands: CommandGroup[] = [];
    for (const f of fenced) {
      commands.push({
        title: `Rejoin ${f.name} as a passive site of ${a.name}`,
        why: `${f.name} is fenced (after a switchover without --reverse, or back after a forced failover). rejoin rebuilds it from a new snapshot of ${a.name}; anything ${f.name} committed after the failover is discarded. Then start the replicator at ${f.name}.`,
        lines: [cmd(`rejoin --site ${f.name} --from ${a.name} --dry-run`), cmd(`rejoin --site ${f.name} --from ${a.name}`)],
      });
    }
    for (const p of passive) {
      commands.push({
        title: `Planned switchover ${a.name} → ${p.name}`,
        why: `Both sites are up: nothing is lost. ${a.name} drains (running executions get the drain timeout), ${p.name} catches up and is promoted; --reverse makes ${a.name} a passive site of ${p.name}. Then move the replicator to ${a.name}. Switching back later is the same with --to ${a.name}.`,
        lines: [cmd(`failover --to ${p.name} --dry-run`), cmd(`failover --to ${p.name} --reverse --drain-timeout 5m`)],
      });
    }
    const down = sites.filter((s) => !s.reachable);
    const summary =
      `${a.name} is active.` +
      (fenced.length ? ` ${fenced.map((s) => s.name).join(', ')} fenced: rejoin before it can take over again.` : '') +
      (down.length ? ` Cannot read ${down.map((s) => s.name).join(', ')}: no switchover to it until it is back.` : '');
    return { situation: fenced.length ? 'fenced_site' : 'normal', summary, commands };
  }
  // No reachable site says it is active.
  const targets = sites.filter((s) => s.reachable && s.role === 'passive');
  const lost = sites.filter((s) => !s.reachable);
  const named = targets.map((s) => s.activeSite).find((n) => n && lost.some((l) => l.name === n)) ?? lost[0]?.name;
  if (targets.length > 0 && named) {
    const to = targets[0]!.name;
    return {
      situation: 'active_unreachable',
      summary: `No reachable site is active and ${named}'s database cannot be read. Only if ${named} is really gone (unreachable from the operator host and from ${to}): a forced failover promotes ${to}; what ${named} committed after ${to}'s last applied commit is lost (the command prints that bound).`,
      commands: [
        { title: `Forced failover to ${to}`, why: 'Check first, then promote. Refused while another site is reachable and active.', lines: [status, cmd(`failover --to ${to} --force --dry-run`), cmd(`failover --to ${to} --force`)] },
        { title: `When ${named} is back`, why: `It finds ${to}'s higher epoch and fences itself; rebuild it as a passive site of ${to}.`, lines: [cmd(`rejoin --site ${named} --from ${to} --dry-run`), cmd(`rejoin --site ${named} --from ${to}`)] },
      ],
    };
  }
  return {
    situation: 'no_active',
    summary: 'No site is active and no passive site could be read: writes are refused everywhere. Check every site first.',
    commands: [{ title: 'Check', why: 'Every site\'s role, epoch and health.', lines: [status] }],
  };
}
