/**
 * What one key press means on the review screen: a pure function, as the workspace's keyMap.
 * Reviewing: 1..9 accept reader N's answer, Shift+1..9 edit a copy of it, J / K next and
 * previous item, T cycles the reader layers, C goes to the comment box. Editing a copy: the
 * workspace's own keys (tools, classes, undo, Delete), Enter saves the adjudication and Esc
 * leaves the edit.
 */
import { keyPlan, type KeyPlan, type KeyPress, type KeyState } from "../workspace/keyMap";

export interface ReviewKeyPress extends KeyPress {
  /** KeyboardEvent.code: Shift+1 is "!" as a key on most layouts, but always "Digit1". */
  code: string;
}

export interface ReviewKeyState<L> extends Omit<KeyState<L>, "skipping" | "context"> {
  /** A copy of an answer is being edited. */
  editing: boolean;
  readers: number;
}

export type ReviewAction =
  | { type: "pass" }
  | { type: "swallow" }
  | { type: "closeHelp" }
  | { type: "openHelp" }
  | { type: "accept"; reader: number } // 0-based index into the item's readers
  | { type: "edit"; reader: number }
  | { type: "nextItem" }
  | { type: "previousItem" }
  | { type: "cycleLayers" }
  | { type: "comment" }
  | { type: "navigate" }
  | { type: "cancelEdit" };

export type ReviewPlan<L> =
  | { mode: "review"; action: ReviewAction }
  /** Editing: the workspace's plan; its "submit" saves the adjudication. */
  | { mode: "edit"; plan: KeyPlan<L> };

export function reviewKeyPlan<L extends { shortcut?: string | null }>(
  press: ReviewKeyPress,
  state: ReviewKeyState<L>,
): ReviewPlan<L> {
  const review = (action: ReviewAction): ReviewPlan<L> => ({ mode: "review", action });
  const { key } = press;
  if (state.help)
    return review(key === "Escape" || key === "?" ? { type: "closeHelp" } : { type: "swallow" });
  if (state.editing) {
    const plan = keyPlan(press, { ...state, skipping: false, context: false });
    // The drawing layer still gets Esc first (cancel a polygon, deselect); else it leaves.
    if (key === "Escape" && !press.ctrl && !press.meta && !press.alt)
      return review({ type: "cancelEdit" });
    // No skipping and no heat map while adjudicating.
    if (["openSkip", "toggleHeatmap"].includes(plan.action.type))
      return { mode: "edit", plan: { drawingFirst: false, action: { type: "swallow" } } };
    return { mode: "edit", plan };
  }
  if (press.ctrl || press.meta || press.alt) return review({ type: "pass" });
  const digit = /^Digit([1-9])$/.exec(press.code);
  if (press.shift && digit) {
    const reader = Number(digit[1]) - 1;
    return review(reader < state.readers ? { type: "edit", reader } : { type: "swallow" });
  }
  if (/^[1-9]$/.test(key)) {
    const reader = Number(key) - 1;
    return review(reader < state.readers ? { type: "accept", reader } : { type: "swallow" });
  }
  switch (key.toLowerCase()) {
    case "j":
      return review({ type: "nextItem" });
    case "k":
      return review({ type: "previousItem" });
    case "t":
      return review({ type: "cycleLayers" });
    case "c":
      return review({ type: "comment" });
    case "?":
      return review({ type: "openHelp" });
    default:
      return review({ type: "navigate" });
  }
}

/** Whether an Escape that nobody else used leaves the edit (true) or only warns (false). */
export function escapeLeavesEdit(changed: boolean, armed: boolean): boolean {
  return !changed || armed;
}
