import { describe, expect, it } from "vitest";

import {
  escapeLeavesEdit,
  reviewKeyPlan,
  type ReviewKeyPress,
  type ReviewKeyState,
} from "./reviewKeys";

interface Label {
  name: string;
  shortcut: string;
}

const labels: Label[] = [
  { name: "nodule", shortcut: "" },
  { name: "mass", shortcut: "" },
];

function press(key: string, extra: Partial<ReviewKeyPress> = {}): ReviewKeyPress {
  const code = /^[1-9]$/.test(key) ? `Digit${key}` : `Key${key.toUpperCase()}`;
  return {
    key,
    code,
    ctrl: false,
    meta: false,
    alt: false,
    shift: false,
    onButton: false,
    ...extra,
  };
}

function state(extra: Partial<ReviewKeyState<Label>> = {}): ReviewKeyState<Label> {
  return { help: false, editing: false, readers: 2, taskType: "detection", labels, ...extra };
}

describe("the review key map", () => {
  it("accepts reader N's answer with N, only for readers the item has", () => {
    expect(reviewKeyPlan(press("1"), state())).toEqual({
      mode: "review",
      action: { type: "accept", reader: 0 },
    });
    expect(reviewKeyPlan(press("2"), state()).mode).toBe("review");
    expect(reviewKeyPlan(press("3"), state())).toEqual({
      mode: "review",
      action: { type: "swallow" },
    });
  });

  it("edits a copy with Shift and the digit, whatever the layout makes of the key", () => {
    expect(reviewKeyPlan(press("!", { shift: true, code: "Digit1" }), state())).toEqual({
      mode: "review",
      action: { type: "edit", reader: 0 },
    });
    expect(reviewKeyPlan(press("&", { shift: true, code: "Digit7" }), state())).toEqual({
      mode: "review",
      action: { type: "swallow" },
    });
  });

  it("moves with J and K, cycles layers with T, goes to the comments with C", () => {
    const of = (key: string) => {
      const plan = reviewKeyPlan(press(key), state());
      return plan.mode === "review" ? plan.action.type : plan.mode;
    };
    expect([of("j"), of("K"), of("t"), of("c"), of("?"), of("w")]).toEqual([
      "nextItem",
      "previousItem",
      "cycleLayers",
      "comment",
      "openHelp",
      "navigate",
    ]);
    expect(reviewKeyPlan(press("1", { ctrl: true }), state())).toEqual({
      mode: "review",
      action: { type: "pass" },
    });
  });

  it("while editing, uses the workspace's keys: digits pick classes and Enter saves", () => {
    const editing = state({ editing: true });
    expect(reviewKeyPlan(press("2"), editing)).toEqual({
      mode: "edit",
      plan: { drawingFirst: true, action: { type: "label", label: labels[1] } },
    });
    expect(reviewKeyPlan(press("Enter"), editing)).toEqual({
      mode: "edit",
      plan: { drawingFirst: true, action: { type: "submit" } },
    });
    expect(reviewKeyPlan(press("b"), editing)).toEqual({
      mode: "edit",
      plan: { drawingFirst: true, action: { type: "tool", tool: "box" } },
    });
    expect(reviewKeyPlan(press("s"), editing)).toEqual({
      mode: "edit",
      plan: { drawingFirst: false, action: { type: "swallow" } },
    });
    expect(reviewKeyPlan(press("Escape"), editing)).toEqual({
      mode: "review",
      action: { type: "cancelEdit" },
    });
  });

  it("lets only Esc and ? through while the help is open", () => {
    const help = state({ help: true });
    expect(reviewKeyPlan(press("1"), help)).toEqual({
      mode: "review",
      action: { type: "swallow" },
    });
    expect(reviewKeyPlan(press("Escape"), help)).toEqual({
      mode: "review",
      action: { type: "closeHelp" },
    });
  });

  it("discards an edited copy only on a second Esc", () => {
    expect(escapeLeavesEdit(false, false)).toBe(true);
    expect(escapeLeavesEdit(true, false)).toBe(false);
    expect(escapeLeavesEdit(true, true)).toBe(true);
  });
});
