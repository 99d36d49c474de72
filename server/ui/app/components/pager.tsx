/** Previous/next for the API's paged lists (`total`, `limit`, `offset`). */
export interface PageInfo {
  total: number;
  limit: number;
  offset: number;
}

export function Pager({ page, onOffset, label }: { page: PageInfo; onOffset: (offset: number) => void; label: string }) {
  const first = page.total === 0 ? 0 : page.offset + 1;
  const last = Math.min(page.offset + page.limit, page.total);
  return (
    <nav class="pager" aria-label={`${label} pages`}>
      <button type="button" disabled={page.offset === 0} onClick={() => onOffset(Math.max(0, page.offset - page.limit))}>
        ← Previous
      </button>
      <span aria-live="polite">
        {first}–{last} of {page.total}
      </span>
      <button type="button" disabled={last >= page.total} onClick={() => onOffset(page.offset + page.limit)}>
        Next →
      </button>
    </nav>
  );
}
