/** What the doctor should know now: lease, the loop's notice, unsaved changes, viewer errors. */
import type { Notice } from "../labellingLoop";

interface Props {
  leaseExpired: boolean;
  notice: Notice | null;
  pending: number;
  offline: string | null;
  startError: string | null;
}

export function StatusArea({ leaseExpired, notice, pending, offline, startError }: Props) {
  return (
    <div aria-live="polite" className="status-area">
      {leaseExpired && <p className="warn">Lease expired.</p>}
      {notice && (
        <p className={notice.kind} data-testid="notice">
          {notice.text}
        </p>
      )}
      {pending > 0 && (
        <p className="warn" data-testid="unsaved">
          {pending} change{pending === 1 ? "" : "s"} not yet saved
          {offline ? ` (${offline}); retrying` : "…"}
        </p>
      )}
      {startError && <p className="error">{startError}</p>}
    </div>
  );
}
