/**
 * What one key press means in the labelling workspace: a pure function of the key and of what
 * is open, so every shortcut can be tested without a browser. useWorkspaceKeys carries it out.
 */
import type { Project, SkipReason } from "../../api/types";
import type { DrawTool } from "../../viewer/drawingLayer";
import { SKIP_REASONS } from "../shortcuts";
import { drawToolForKey } from "./tools";

export interface KeyPress {
  key: string;
  ctrl: boolean;
  meta: boolean;
  alt: boolean;
  shift: boolean;
  /** The key went to a focused button, which handles its own Enter. */
  onButton: boolean;
}

export interface KeyState<L> {
  help: boolean;
  skipping: boolean;
  /** Another series is open for context (read-only). */
  context: boolean;
  taskType: Project["task_type"];
  /** The project's label classes, in schema order. */
  labels: readonly L[];
  /** A model's mask or box suggestion is on the item: A accepts it, X clears it. */
  maskSuggestion?: boolean;
}

export type KeyAction<L> =
  | { type: "pass" } // not the workspace's key: the browser keeps it
  | { type: "swallow" } // a dialog is open: the key does nothing else
  | { type: "closeHelp" }
  | { type: "openHelp" }
  | { type: "openSkip" }
  | { type: "cancelSkip" }
  | { type: "skip"; reason: SkipReason }
  | { type: "undo" }
  | { type: "redo" }
  | { type: "backToItem" }
  | { type: "submit" }
  | { type: "noFindings" }
  | { type: "toggleHeatmap" }
  | { type: "acceptSuggestion" }
  | { type: "clearSuggestion" }
  | { type: "brush"; delta: -1 | 1 }
  | { type: "label"; label: L }
  | { type: "tool"; tool: DrawTool }
  | { type: "navigate" }; // the viewer's own keys (navigationKeys.ts); passes when it has none

export interface KeyPlan<L> {
  /**
   * Offer the key to the drawing layer first: Enter closes a polygon being drawn, Escape
   * cancels it or deselects, Delete removes the selected shape. Only when it declines does
   * `action` apply.
   */
  drawingFirst: boolean;
  action: KeyAction<L>;
}

interface LabelLike {
  shortcut?: string | null;
}

export function keyPlan<L extends LabelLike>(press: KeyPress, state: KeyState<L>): KeyPlan<L> {
  const only = (action: KeyAction<L>): KeyPlan<L> => ({ drawingFirst: false, action });
  const { key } = press;
  if (state.help)
    return only(key === "Escape" || key === "?" ? { type: "closeHelp" } : { type: "swallow" });
  if (state.skipping) {
    const reason = SKIP_REASONS.find((r) => r.key === key);
    if (reason) return only({ type: "skip", reason: reason.value });
    return only(key === "Escape" ? { type: "cancelSkip" } : { type: "swallow" });
  }
  const mod = press.ctrl || press.meta;
  if (mod && (key === "z" || key === "Z")) return only({ type: press.shift ? "redo" : "undo" });
  if (mod && (key === "y" || key === "Y")) return only({ type: "redo" });
  if (mod || press.alt) return only({ type: "pass" });
  return { drawingFirst: true, action: plainKey(press, state) };
}

function plainKey<L extends LabelLike>(press: KeyPress, state: KeyState<L>): KeyAction<L> {
  const { key } = press;
  if (key === "Escape" && state.context) return { type: "backToItem" };
  if (key === "Enter") return press.onButton ? { type: "pass" } : { type: "submit" };
  if (key === "s" || key === "S") return { type: "openSkip" };
  if (key === "?") return { type: "openHelp" };
  if (key === "n" || key === "N") return { type: "noFindings" };
  if (key === "h" || key === "H") return { type: "toggleHeatmap" };
  if (key === "[") return { type: "brush", delta: -1 };
  if (key === "]") return { type: "brush", delta: 1 };
  // Only while a mask suggestion is on screen: otherwise A and X stay free for class shortcuts.
  if (state.maskSuggestion && (key === "a" || key === "A")) return { type: "acceptSuggestion" };
  if (state.maskSuggestion && (key === "x" || key === "X")) return { type: "clearSuggestion" };
  // A class's own shortcut wins over its position (1-9); a number with no class does nothing.
  if (/^[1-9]$/.test(key) || state.labels.some((l) => l.shortcut && l.shortcut === key)) {
    const label = state.labels.find((l) => l.shortcut === key) ?? state.labels[Number(key) - 1];
    return label ? { type: "label", label } : { type: "swallow" };
  }
  const tool = drawToolForKey(key, state.taskType);
  if (tool) return { type: "tool", tool };
  return { type: "navigate" };
}
