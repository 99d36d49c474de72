/**
 * An execution's log, followed live and usable at any size (1,000,000 lines
 * and more): only the lines in view are in the DOM (a windowed list: rows of
 * a fixed height, absolutely positioned inside a tall spacer, ~100 at a time)
 * and only the ranges looked at are loaded (`?line=N` of the output API,
 * which seeks by line number: server/logs/line-index.ts). A running log is
 * tailed by byte offset (`?offset=`), and "Follow" keeps the view at its end.
 *
 * Memory stays bounded: loaded ranges ("chunks") beyond MAX_CACHED_LINES are
 * dropped, farthest from the view first, and loaded again if scrolled back to.
 */
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ApiError, seg } from '../api';
import { useSession } from '../session';
import { ErrorBox } from './status';

export interface LogEntry {
  time: string;
  level: string;
  step: string | null;
  node: string;
  stream: string;
  text: string;
}

interface OutputAnswer {
  offset: number;
  nextOffset: number;
  complete: boolean;
  logState: 'available' | 'replicating';
  line?: number;
  lines?: number;
  entries: LogEntry[];
}

interface SearchAnswer {
  match: number | null;
  searchedTo: number;
  end: boolean;
}

interface Chunk {
  start: number;
  entries: LogEntry[];
}

/** Must match `.log-line` height in styles.css. */
export const ROW_PX = 20;
/** Rows rendered beyond the visible ones, above and below. */
const OVERSCAN = 20;
/** Bytes asked per range (~400 lines of a usual log). */
const RANGE_BYTES = 64 * 1024;
const MAX_CACHED_LINES = 30_000;
/** Browsers cap an element's height (~33,000,000 px in Chromium): beyond this the scrollbar is scaled. */
const MAX_SPACER_PX = 10_000_000;
const TAIL_IDLE_MS = 250;

function findChunk(chunks: Chunk[], line: number): Chunk | undefined {
  for (const c of chunks) if (line >= c.start && line < c.start + c.entries.length) return c;
  return undefined;
}

export function LogView({ executionId, running }: { executionId: string; running: boolean }) {
  const { api } = useSession();
  const base = `/api/v1/executions/${seg(executionId)}/output`;
  const chunks = useRef<Chunk[]>([]);
  const [total, setTotal] = useState(0);
  const [complete, setComplete] = useState(false);
  const [state, setState] = useState<'loading' | 'ok' | 'replicating'>('loading');
  const [error, setError] = useState<ApiError | null>(null);
  const [, setVersion] = useState(0);
  const bump = useCallback(() => setVersion((v) => v + 1), []);
  const [follow, setFollow] = useState(running);
  const followRef = useRef(follow);
  followRef.current = follow;
  const box = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewPx, setViewPx] = useState(600);
  const loading = useRef<number | null>(null);
  const [highlight, setHighlight] = useState<number | null>(null);
  const totalRef = useRef(0);
  totalRef.current = total;

  const addChunk = useCallback((start: number, entries: LogEntry[]) => {
    if (entries.length === 0) return;
    const list = chunks.current;
    // Appending right after a chunk (the tail): grow it while it is small.
    const prev = list.find((c) => c.start + c.entries.length === start);
    if (prev && prev.entries.length < 5000) prev.entries = prev.entries.concat(entries);
    else list.push({ start, entries });
    list.sort((a, b) => a.start - b.start);
  }, []);

  const evict = useCallback((keepLine: number) => {
    const list = chunks.current;
    let cached = list.reduce((n, c) => n + c.entries.length, 0);
    while (cached > MAX_CACHED_LINES && list.length > 1) {
      let far = 0;
      for (let i = 1; i < list.length; i++) if (Math.abs(list[i]!.start - keepLine) > Math.abs(list[far]!.start - keepLine)) far = i;
      cached -= list[far]!.entries.length;
      list.splice(far, 1);
    }
  }, []);

  // Open: the first range and the line count; then, while the log grows, tail it from its end.
  useEffect(() => {
    const abort = new AbortController();
    chunks.current = [];
    let stopped = false;
    const run = async () => {
      // The first lines by offset (no line count needed: they show at once, whatever the log's size) ...
      const first = await api.get<OutputAnswer>(`${base}?offset=0&maxBytes=${RANGE_BYTES}`, abort.signal);
      addChunk(0, first.entries);
      setTotal(first.entries.length);
      setState(first.logState === 'replicating' ? 'replicating' : 'ok');
      bump();
      if (first.complete) {
        setComplete(true);
        return;
      }
      // ... then where the log ends now: its line count and byte offset (the server's line index scans the log
      // once, which takes a while for millions of lines), then by offset from there.
      const end = await api.get<OutputAnswer>(`${base}?line=${Number.MAX_SAFE_INTEGER}`, abort.signal);
      if (end.lines !== undefined && end.lines > totalRef.current) setTotal(end.lines);
      let line = end.line ?? 0;
      let offset = end.offset;
      let next: OutputAnswer | null = end;
      for (;;) {
        if (stopped) return;
        const r: OutputAnswer = next ?? (await api.get<OutputAnswer>(`${base}?offset=${offset}`, abort.signal));
        next = null;
        addChunk(line, r.entries);
        line += r.entries.length;
        offset = r.nextOffset;
        setState(r.logState === 'replicating' ? 'replicating' : 'ok');
        if (line > totalRef.current) setTotal(line);
        if (r.entries.length) {
          evict(line);
          bump();
        }
        if (r.complete) {
          setComplete(true);
          return;
        }
        if (r.entries.length === 0 || r.nextOffset - r.offset < RANGE_BYTES / 2) {
          await new Promise((res) => setTimeout(res, TAIL_IDLE_MS));
        }
      }
    };
    run().catch((e: unknown) => {
      if (abort.signal.aborted) return;
      setError(e instanceof ApiError ? e : new ApiError(0, 'network', String(e)));
    });
    return () => {
      stopped = true;
      abort.abort();
    };
  }, [executionId]);

  // Geometry: the spacer's height, and which lines a scroll position shows (scaled when the log is very long).
  const viewRows = Math.max(1, Math.floor(viewPx / ROW_PX));
  const spacerPx = Math.min(total * ROW_PX, MAX_SPACER_PX);
  const scrollRange = Math.max(1, spacerPx - viewPx);
  const firstExact = spacerPx <= viewPx ? 0 : (Math.min(scrollTop, scrollRange) / scrollRange) * Math.max(0, total - viewRows);
  const first = Math.floor(firstExact);
  const from = Math.max(0, first - OVERSCAN);
  const to = Math.min(total, first + viewRows + OVERSCAN + 1);
  const topOf = (line: number) => Math.min(scrollTop, scrollRange) + (line - firstExact) * ROW_PX;

  const scrollToLine = useCallback(
    (line: number) => {
      const el = box.current;
      if (!el) return;
      const t = totalRef.current;
      const sp = Math.min(t * ROW_PX, MAX_SPACER_PX);
      const range = Math.max(1, sp - el.clientHeight);
      const rows = Math.max(1, Math.floor(el.clientHeight / ROW_PX));
      const target = Math.max(0, Math.min(line - Math.floor(rows / 3), t - rows));
      el.scrollTop = t - rows > 0 ? (target / (t - rows)) * range : 0;
      setScrollTop(el.scrollTop);
    },
    [],
  );

  // Follow: stay at the end as lines arrive.
  useLayoutEffect(() => {
    const el = box.current;
    if (follow && el) {
      el.scrollTop = el.scrollHeight;
      setScrollTop(el.scrollTop);
    }
  });

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    setViewPx(el.clientHeight);
    const ro = new ResizeObserver(() => setViewPx(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // Load the first missing line in view (one range at a time; the newest position wins).
  let missing: number | null = null;
  for (let i = from; i < to; i++) {
    if (!findChunk(chunks.current, i)) {
      missing = i;
      break;
    }
  }
  useEffect(() => {
    if (missing === null || loading.current !== null || error) return;
    loading.current = missing;
    const start = missing;
    api.get<OutputAnswer>(`${base}?line=${start}&maxBytes=${RANGE_BYTES}`).then(
      (r) => {
        addChunk(r.line ?? start, r.entries);
        evict(start);
        if (r.lines !== undefined && r.lines > totalRef.current) setTotal(r.lines);
        loading.current = null;
        bump();
      },
      (e: unknown) => {
        loading.current = null;
        setError(e instanceof ApiError ? e : new ApiError(0, 'network', String(e)));
      },
    );
  });

  const onScroll = (e: Event) => {
    const el = e.currentTarget as HTMLDivElement;
    setScrollTop(el.scrollTop);
    // Scrolling up by hand stops following; reaching the end again resumes it.
    const atEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW_PX;
    if (followRef.current && !atEnd) setFollow(false);
  };

  const rows = [];
  for (let i = from; i < to; i++) {
    const c = findChunk(chunks.current, i);
    const entry = c?.entries[i - c.start];
    rows.push(
      <div key={i} class={`log-line level-${entry?.level.toLowerCase() ?? 'unknown'}${highlight === i ? ' log-hit' : ''}`} style={{ top: `${topOf(i)}px` }} data-line={i + 1}>
        <span class="log-no">{i + 1}</span>
        {entry ? (
          <>
            <span class="log-time">{entry.time.slice(11, 19)}</span>
            <span class="log-level">{entry.level}</span>
            <span class="log-node">{entry.node}</span>
            <span class="log-step">{entry.step ?? '–'}</span>
            <span class="log-text">{entry.text}</span>
          </>
        ) : (
          <span class="log-text muted">…</span>
        )}
      </div>,
    );
  }

  return (
    <section class="log" aria-label="Log output">
      <LogToolbar
        executionId={executionId}
        total={total}
        complete={complete}
        follow={follow}
        setFollow={(f) => {
          setFollow(f);
          if (f) scrollToLine(totalRef.current);
        }}
        goTo={(line) => {
          setFollow(false);
          setHighlight(line);
          scrollToLine(line);
        }}
        firstVisible={first}
        highlight={highlight}
      />
      {state === 'replicating' ? (
        <p class="banner" role="status">
          This log is still being copied to this site: what has arrived is shown, the rest follows.
        </p>
      ) : null}
      {error ? <ErrorBox error={error} title="Log not read" /> : null}
      <div class="log-box mono" ref={box} onScroll={onScroll} tabIndex={0} aria-label="Log lines" data-testid="log-box">
        <div class="log-spacer" style={{ height: `${spacerPx}px` }}>
          {rows}
        </div>
      </div>
      <p class="muted log-status" aria-live="polite" data-testid="log-status">
        {state === 'loading' ? 'Loading the log…' : `${total.toLocaleString('en')} lines${complete ? ', complete' : ', more may come'}`}
      </p>
    </section>
  );
}

function LogToolbar(props: {
  executionId: string;
  total: number;
  complete: boolean;
  follow: boolean;
  setFollow: (f: boolean) => void;
  goTo: (line: number) => void;
  firstVisible: number;
  highlight: number | null;
}) {
  const { api } = useSession();
  const [q, setQ] = useState('');
  const [lineInput, setLineInput] = useState('');
  const [searchState, setSearchState] = useState<string>('');
  const base = `/api/v1/executions/${seg(props.executionId)}/output`;
  const search = async (e: Event) => {
    e.preventDefault();
    if (!q) return;
    const start = props.highlight !== null ? props.highlight + 1 : props.firstVisible;
    let from = start;
    let wrapped = false;
    setSearchState('Searching…');
    try {
      for (;;) {
        const r = await api.get<SearchAnswer>(`${base}/search?q=${encodeURIComponent(q)}&fromLine=${from}`);
        if (r.match !== null && (!wrapped || r.match < start)) {
          setSearchState(`Found on line ${(r.match + 1).toLocaleString('en')}${wrapped ? ' (from the top)' : ''}`);
          props.goTo(r.match);
          return;
        }
        if (r.end || (wrapped && r.searchedTo >= start)) {
          // Past the end: go on from the top, up to where this search started.
          if (!wrapped && start > 0) {
            wrapped = true;
            from = 0;
            continue;
          }
          setSearchState('Not found');
          return;
        }
        from = r.searchedTo;
        setSearchState(`Searching… (line ${from.toLocaleString('en')})`);
      }
    } catch (err) {
      setSearchState(`Search failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const goLine = (e: Event) => {
    e.preventDefault();
    const n = Number(lineInput);
    if (Number.isInteger(n) && n >= 1) props.goTo(Math.min(n, props.total) - 1);
  };
  return (
    <div class="log-toolbar">
      <form class="inline-form" onSubmit={search} role="search" aria-label="Log search">
        <label>
          Search the log <input name="q" value={q} onInput={(e) => setQ(e.currentTarget.value)} maxLength={200} />
        </label>
        <button type="submit">Find next</button>
        <span class="muted" role="status" aria-live="polite" data-testid="search-status">
          {searchState}
        </span>
      </form>
      <form class="inline-form" onSubmit={goLine} aria-label="Go to line">
        <label>
          Line <input name="line" inputMode="numeric" size={9} value={lineInput} onInput={(e) => setLineInput(e.currentTarget.value)} />
        </label>
        <button type="submit" class="secondary">
          Go
        </button>
        <label class="check">
          <input type="checkbox" checked={props.follow} onChange={(e) => props.setFollow(e.currentTarget.checked)} /> Follow the end
        </label>
        <a class="button-link" href={`${base}?format=text`} download={`execution-${props.executionId}.log`}>
          Download the log
        </a>
      </form>
    </div>
  );
}

