import { describe, expect, it } from "vitest";

import { answerAfter } from "./answers";
import { drawToolForKey, isToolOf } from "./tools";

const order = ["normal", "pneumonia", "effusion"];

describe("a classification answer", () => {
  it("single-label: the chosen class replaces the answer", () => {
    expect(answerAfter(["normal"], "pneumonia", false, order)).toEqual(["pneumonia"]);
    expect(answerAfter([], "normal", false, order)).toEqual(["normal"]);
  });

  it("multi-label: toggles the class and keeps schema order", () => {
    expect(answerAfter(["effusion"], "normal", true, order)).toEqual(["normal", "effusion"]);
    expect(answerAfter(["normal", "effusion"], "normal", true, order)).toEqual(["effusion"]);
    expect(answerAfter(["normal"], "normal", true, order)).toEqual([]);
  });
});

describe("the tools of a task", () => {
  it("a key selects a drawing tool only where the task has it", () => {
    expect(drawToolForKey("E", "segmentation")).toBe("eraser");
    expect(drawToolForKey("e", "detection")).toBeNull();
    expect(drawToolForKey("constructor", "detection")).toBeNull();
  });

  it("the test hook may set navigation tools and the task's drawing tools", () => {
    expect(isToolOf("classification", "Zoom")).toBe(true);
    expect(isToolOf("classification", "box")).toBe(false);
    expect(isToolOf("detection", "box")).toBe(true);
    expect(isToolOf("detection", "brush")).toBe(false);
  });
});
