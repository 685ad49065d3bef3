import { describe, expect, it } from "vitest";

import { keyPlan, type KeyPress, type KeyState } from "./keyMap";

interface Label {
  name: string;
  shortcut: string;
}

const labels: Label[] = [
  { name: "normal", shortcut: "" },
  { name: "pneumonia", shortcut: "" },
  { name: "effusion", shortcut: "x" },
];

function press(key: string, extra: Partial<KeyPress> = {}): KeyPress {
  return { key, ctrl: false, meta: false, alt: false, shift: false, onButton: false, ...extra };
}

function state(extra: Partial<KeyState<Label>> = {}): KeyState<Label> {
  return { help: false, skipping: false, context: false, taskType: "detection", labels, ...extra };
}

const action = (p: KeyPress, s: KeyState<Label> = state()) => keyPlan(p, s).action;

describe("the workspace key map", () => {
  it("offers plain keys to the drawing layer first, and never modified ones", () => {
    expect(keyPlan(press("Enter"), state())).toEqual({
      drawingFirst: true,
      action: { type: "submit" },
    });
    expect(keyPlan(press("Escape"), state()).drawingFirst).toBe(true);
    expect(keyPlan(press("Delete"), state())).toEqual({
      drawingFirst: true,
      action: { type: "navigate" },
    });
    expect(keyPlan(press("z", { ctrl: true }), state()).drawingFirst).toBe(false);
    expect(keyPlan(press("a", { alt: true }), state())).toEqual({
      drawingFirst: false,
      action: { type: "pass" },
    });
  });

  it("with the help open: Escape or ? closes it and every other key is swallowed", () => {
    const open = state({ help: true });
    expect(action(press("Escape"), open)).toEqual({ type: "closeHelp" });
    expect(action(press("?"), open)).toEqual({ type: "closeHelp" });
    expect(action(press("Enter"), open)).toEqual({ type: "swallow" });
    expect(action(press("z", { ctrl: true }), open)).toEqual({ type: "swallow" });
    expect(keyPlan(press("Enter"), open).drawingFirst).toBe(false);
  });

  it("with the skip dialog open: 1-3 choose a reason, Escape cancels, Enter does not submit", () => {
    const open = state({ skipping: true });
    expect(action(press("1"), open)).toEqual({ type: "skip", reason: "poor_quality" });
    expect(action(press("2"), open)).toEqual({ type: "skip", reason: "unsure" });
    expect(action(press("3"), open)).toEqual({ type: "skip", reason: "not_applicable" });
    expect(action(press("Escape"), open)).toEqual({ type: "cancelSkip" });
    expect(action(press("Enter"), open)).toEqual({ type: "swallow" });
    expect(action(press("4"), open)).toEqual({ type: "swallow" });
  });

  it("Ctrl/Cmd+Z undoes, with Shift redoes, Ctrl+Y redoes; other Ctrl keys stay the browser's", () => {
    expect(action(press("z", { ctrl: true }))).toEqual({ type: "undo" });
    expect(action(press("z", { meta: true }))).toEqual({ type: "undo" });
    expect(action(press("Z", { ctrl: true, shift: true }))).toEqual({ type: "redo" });
    expect(action(press("y", { ctrl: true }))).toEqual({ type: "redo" });
    expect(action(press("c", { ctrl: true }))).toEqual({ type: "pass" });
    expect(action(press("1", { alt: true }))).toEqual({ type: "pass" });
  });

  it("Enter submits, but not when a focused button takes it", () => {
    expect(action(press("Enter"))).toEqual({ type: "submit" });
    expect(action(press("Enter", { onButton: true }))).toEqual({ type: "pass" });
  });

  it("Escape goes back to the item from a context series, else it is the viewer's", () => {
    expect(action(press("Escape"), state({ context: true }))).toEqual({ type: "backToItem" });
    expect(action(press("Escape"))).toEqual({ type: "navigate" });
  });

  it("maps the workspace's letters in either case", () => {
    for (const key of ["s", "S"]) expect(action(press(key))).toEqual({ type: "openSkip" });
    for (const key of ["n", "N"]) expect(action(press(key))).toEqual({ type: "noFindings" });
    for (const key of ["h", "H"]) expect(action(press(key))).toEqual({ type: "toggleHeatmap" });
    expect(action(press("?"))).toEqual({ type: "openHelp" });
    expect(action(press("["))).toEqual({ type: "brush", delta: -1 });
    expect(action(press("]"))).toEqual({ type: "brush", delta: 1 });
  });

  it("chooses a class by position or by its own shortcut; a number without a class does nothing", () => {
    expect(action(press("1"))).toEqual({ type: "label", label: labels[0] });
    expect(action(press("2"))).toEqual({ type: "label", label: labels[1] });
    expect(action(press("3"))).toEqual({ type: "label", label: labels[2] });
    expect(action(press("x"))).toEqual({ type: "label", label: labels[2] });
    expect(action(press("9"))).toEqual({ type: "swallow" });
    expect(action(press("0"))).toEqual({ type: "navigate" }); // reset view, not a class
  });

  it("a class shortcut wins over a tool or viewer key with the same letter", () => {
    const withB = [{ name: "bleed", shortcut: "b" }];
    expect(action(press("b"), state({ labels: withB }))).toEqual({
      type: "label",
      label: withB[0],
    });
  });

  it("selects only the drawing tools of the project's task", () => {
    expect(action(press("b"), state({ taskType: "detection" }))).toEqual({
      type: "tool",
      tool: "box",
    });
    expect(action(press("D"), state({ taskType: "detection" }))).toEqual({
      type: "tool",
      tool: "point",
    });
    expect(action(press("g"), state({ taskType: "segmentation" }))).toEqual({
      type: "tool",
      tool: "polygon",
    });
    expect(action(press("r"), state({ taskType: "segmentation" }))).toEqual({
      type: "tool",
      tool: "brush",
    });
    // Not a tool of this task: left to the viewer's keys (which do not use it either).
    expect(action(press("g"), state({ taskType: "detection" }))).toEqual({ type: "navigate" });
    expect(action(press("b"), state({ taskType: "classification" }))).toEqual({
      type: "navigate",
    });
  });

  it("leaves the viewer's own keys to the viewer", () => {
    for (const key of ["ArrowUp", "PageDown", " ", "w", "M", "z", "l", "i", "o", "0", "q"]) {
      expect(action(press(key))).toEqual({ type: "navigate" });
    }
  });

  it("accepts and clears a mask suggestion with A and X, only while one is on screen", () => {
    const suggested = state({ taskType: "segmentation", maskSuggestion: true });
    expect(action(press("a"), suggested)).toEqual({ type: "acceptSuggestion" });
    expect(action(press("A"), suggested)).toEqual({ type: "acceptSuggestion" });
    expect(action(press("x"), suggested)).toEqual({ type: "clearSuggestion" });
    expect(keyPlan(press("a"), suggested).drawingFirst).toBe(true);
    // Not while the help or the skip dialog is open, nor with a modifier.
    expect(action(press("a"), { ...suggested, help: true })).toEqual({ type: "swallow" });
    expect(action(press("a", { ctrl: true }), suggested)).toEqual({ type: "pass" });
    // Without a suggestion, X is the class shortcut it was and A is the viewer's.
    const plain = state({ taskType: "segmentation" });
    expect(action(press("x"), plain)).toEqual({ type: "label", label: labels[2] });
    expect(action(press("a"), plain)).toEqual({ type: "navigate" });
  });
});
