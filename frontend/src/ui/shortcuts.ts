import type { SkipReason } from "../api/types";

/** Every keyboard shortcut of the workspace, as shown by "?" (what each key does: workspace/keyMap.ts). */
export const SHORTCUTS: Array<[string, string]> = [
  ["1 – 9", "Choose a class (classification: toggle the answer; shapes: the label to draw)"],
  ["Enter", "Submit and go to the next image (closes a polygon while drawing one)"],
  ["S", "Skip this image with a reason (then 1 poor quality, 2 unsure, 3 not applicable)"],
  ["N", "No findings on this image (detection / segmentation)"],
  ["V", "Select / edit shapes (drag a shape to move it, a handle to reshape it)"],
  ["B", "Bounding box"],
  ["G", "Polygon: click the corners; Enter, double-click or the first corner closes it"],
  ["F", "Freehand outline"],
  ["D", "Point"],
  ["R / E", "Brush / eraser; [ and ] change the brush size"],
  ["Delete", "Delete the selected shape"],
  ["Ctrl+Z / Ctrl+Shift+Z", "Undo / redo"],
  ["W / M / Z", "Left button: window-level / pan / zoom"],
  ["Right drag · Middle drag · Ctrl+wheel", "Window-level · pan · zoom, whatever the tool"],
  ["Wheel, ↑ ↓, Page Up/Down", "Previous / next image or frame"],
  ["Space", "Play / stop cine"],
  ["L", "Next window preset (CT: lung, mediastinum, bone, brain)"],
  ["I / O / 0", "Invert / fit to window / reset the view"],
  ["H", "Show / hide the model's heat map"],
  ["A", "Accept the model's suggested mask or proposed boxes (then correct them)"],
  ["X", "Clear the model's suggested mask or proposed boxes"],
  ["Esc", "Cancel the current drawing or deselect"],
  ["?", "Show / hide this list"],
];

/** The review screen's keys (review/reviewKeys.ts); editing a copy uses the workspace's. */
export const REVIEW_SHORTCUTS: Array<[string, string]> = [
  ["1 – 9", "Accept reader 1–9's answer as the adjudicated ground truth"],
  ["Shift+1 – 9", "Edit a copy of reader 1–9's answer with the drawing tools"],
  ["Enter", "While editing: save the copy as the adjudication"],
  ["Esc", "While editing: cancel the drawing or deselect; then discard the edit"],
  ["J / K", "Next / previous item in the queue"],
  ["T", "Reader layers: all, then each reader alone"],
  ["C", "Write a comment on the item (Ctrl+Enter sends, Esc leaves the box)"],
  ["V B G F D R E", "While editing: select, box, polygon, freehand, point, brush, eraser"],
  ["1 – 9 (editing)", "Choose a class (classification: toggle the answer; shapes: the label)"],
  ["N (editing)", "No findings"],
  ["Delete · Ctrl+Z / Ctrl+Shift+Z", "Delete the selected shape · undo / redo the edit"],
  ["W / M / Z · wheel · L · I / O / 0", "Viewer: as in the labelling workspace"],
  ["?", "Show / hide this list"],
];

export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
}

/** The skip dialog's reasons and the key that picks each one. */
export const SKIP_REASONS: Array<{ key: string; value: SkipReason; label: string }> = [
  { key: "1", value: "poor_quality", label: "Poor image quality" },
  { key: "2", value: "unsure", label: "Unsure" },
  { key: "3", value: "not_applicable", label: "Not applicable" },
];
