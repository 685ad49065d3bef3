/** The left column: the items to adjudicate (J / K move through them), adjudicated ones ticked. */
import type { ReviewItem } from "../../api/types";

interface Props {
  items: ReviewItem[] | null;
  index: number;
  showReviewed: boolean;
  onSelect: (index: number) => void;
  onShowReviewed: (on: boolean) => void;
}

export function ReviewQueueList({ items, index, showReviewed, onSelect, onShowReviewed }: Props) {
  return (
    <aside className="side" aria-label="Review queue">
      <h2 className="small-title">To adjudicate</h2>
      <label className="small">
        <input
          type="checkbox"
          checked={showReviewed}
          onChange={(e) => onShowReviewed(e.target.checked)}
        />{" "}
        Include adjudicated
      </label>
      <ol className="review-queue" data-testid="review-queue">
        {items?.map((item, i) => (
          <li key={item.id}>
            <button
              type="button"
              className="series"
              aria-current={i === index ? "true" : undefined}
              onClick={() => onSelect(i)}
              data-testid={`review-item-${item.id}`}
            >
              <span>
                Item {item.id} · {item.review_reason || "review"}
                <br />
                <span className="muted">
                  {item.readers.length} readers
                  {item.adjudication ? ` · ✓ v${item.adjudication.version}` : ""}
                  {item.comments
                    ? ` · ${item.comments} comment${item.comments === 1 ? "" : "s"}`
                    : ""}
                </span>
              </span>
            </button>
          </li>
        ))}
      </ol>
    </aside>
  );
}
