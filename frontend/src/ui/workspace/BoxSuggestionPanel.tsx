import type { BoxSuggestion, SuggestedBox } from "../../api/types";
import { scoreText } from "../../viewer/boxSuggestion";
import type { MaskSuggestionState } from "./useMaskSuggestion";

const STATE_TEXT: Record<MaskSuggestionState, string> = {
  pending: "dashed on the image: click one (or its ✕) to reject it",
  accepted: "accepted: select a box to move, resize (handles) or delete it",
  cleared: "cleared",
};

/** The detection model's proposed boxes: which model, each box's class and score, accept all,
 * reject one (keyboard-reachable ✕), clear. */
export function BoxSuggestionPanel({
  suggestion,
  shown,
  state,
  onAccept,
  onReject,
  onClear,
}: {
  suggestion: BoxSuggestion;
  shown: readonly SuggestedBox[];
  state: MaskSuggestionState;
  onAccept: () => void;
  onReject: (index: number) => void;
  onClear: () => void;
}) {
  return (
    <section
      className="suggestion"
      aria-label="Model suggestion"
      data-testid="box-suggestion"
      data-state={state}
      data-shown={shown.length}
    >
      <h2 className="small-title">Model proposes boxes</h2>
      <p>
        <strong>{suggestion.boxes.length ? `${shown.length} box(es)` : "nothing to mark"}</strong>
        <span className="muted"> · model {suggestion.version_number}</span>
      </p>
      {state === "pending" && shown.length > 0 && (
        <ul className="shape-list" aria-label="Proposed boxes">
          {shown.map((b) => (
            <li key={b.index}>
              {b.label} · {scoreText(b.score)}
              <button
                type="button"
                className="link"
                onClick={() => onReject(b.index)}
                aria-label={`Reject proposed ${b.label} ${scoreText(b.score)}`}
              >
                ✕
              </button>
            </li>
          ))}
        </ul>
      )}
      <p className="muted">{STATE_TEXT[state]}</p>
      <button type="button" onClick={onAccept} disabled={state !== "pending" || !shown.length}>
        Accept all <kbd>A</kbd>
      </button>{" "}
      <button type="button" onClick={onClear} disabled={state === "cleared"}>
        Clear <kbd>X</kbd>
      </button>
    </section>
  );
}
