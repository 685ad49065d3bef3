// The server counts a doctor's remaining items only up to this many (annotations.services.counts
// REMAINING_CAP): counting a million-item queue on every request cost a second. So the cap
// means "this many or more" and is shown as such.
export const REMAINING_CAP = 1000;

export function formatRemaining(n: number): string {
  return n >= REMAINING_CAP ? `${REMAINING_CAP}+` : String(n);
}

// One item fewer after a submit, unless the count was capped: 1000 meant "1000 or more", so the
// exact count after one submit is unknown and stays shown as "1000+" until the next fetch.
export function afterSubmit(n: number): number {
  return n >= REMAINING_CAP ? n : Math.max(0, n - 1);
}
