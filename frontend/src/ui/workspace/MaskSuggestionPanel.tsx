import type { MaskSuggestion } from "../../api/types";
import type { MaskSuggestionState } from "./useMaskSuggestion";

const STATE_TEXT: Record<MaskSuggestionState, string> = {
  pending: "shown faint on the image",
  accepted: "accepted: correct it with the brush (R) and eraser (E)",
  cleared: "cleared",
};

/** The segmentation model's suggested masks: which model, what state, accept and clear. */
export function MaskSuggestionPanel({
  suggestion,
  state,
  onAccept,
  onClear,
}: {
  suggestion: MaskSuggestion;
  state: MaskSuggestionState;
  onAccept: () => void;
  onClear: () => void;
}) {
  const classes = suggestion.masks.map((m) => m.label);
  return (
    <section
      className="suggestion"
      aria-label="Model suggestion"
      data-testid="mask-suggestion"
      data-state={state}
    >
      <h2 className="small-title">Model suggests a mask</h2>
      <p>
        <strong>{classes.length ? classes.join(", ") : "nothing to mark"}</strong>
        <span className="muted"> · model {suggestion.version_number}</span>
      </p>
      <p className="muted">{STATE_TEXT[state]}</p>
      <button type="button" onClick={onAccept} disabled={state !== "pending" || !classes.length}>
        Accept <kbd>A</kbd>
      </button>{" "}
      <button type="button" onClick={onClear} disabled={state === "cleared"}>
        Clear <kbd>X</kbd>
      </button>
    </section>
  );
}
