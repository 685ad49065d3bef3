import { describe, expect, it } from "vitest";

import type { Project } from "../../api/types";
import { initialWorkspace, workspaceReducer, type WorkspaceState } from "./workspaceState";

function project(task_type: Project["task_type"], names: string[]): Project {
  return {
    id: 1,
    name: "p",
    instructions: "",
    task_type,
    multi_label: false,
    unit: "instance",
    readers_per_item: 1,
    suggestions: "hidden",
    my_role: "annotator",
    // Listed out of schema order on purpose: the first class is the one with index 0.
    label_classes: names
      .map((name, index) => ({ id: index + 1, name, index, color: "#fff", shortcut: "" }))
      .reverse(),
    counts: { items: 0, completed: 0 } as Project["counts"],
  };
}

const reduce = (state: WorkspaceState, ...events: Parameters<typeof workspaceReducer>[1][]) =>
  events.reduce(workspaceReducer, state);

describe("the workspace's state", () => {
  it("opens a project with its first class and its first shape tool", () => {
    const detection = reduce(initialWorkspace, {
      type: "projectLoaded",
      project: project("detection", ["nodule", "mass"]),
    });
    expect(detection).toMatchObject({ activeLabel: "nodule", tool: "box" });
    const segmentation = reduce(initialWorkspace, {
      type: "projectLoaded",
      project: project("segmentation", ["lung"]),
    });
    expect(segmentation).toMatchObject({ activeLabel: "lung", tool: "polygon" });
    const classification = reduce(initialWorkspace, {
      type: "projectLoaded",
      project: project("classification", []),
    });
    expect(classification).toMatchObject({ activeLabel: null, tool: "WindowLevel" });
  });

  it("keeps the brush between 1 and 100 pixels with [ and ]", () => {
    const small = reduce(
      { ...initialWorkspace, brush: 2 },
      ...Array(5).fill({ type: "brushStep", delta: -1 }),
    );
    expect(small.brush).toBe(1);
    const large = reduce(
      { ...initialWorkspace, brush: 99 },
      ...Array(5).fill({ type: "brushStep", delta: 1 }),
    );
    expect(large.brush).toBe(100);
    expect(reduce(initialWorkspace, { type: "brushSize", size: 30 }).brush).toBe(30);
  });

  it("leaving an item closes the skip dialog and the context series", () => {
    const open = reduce(
      initialWorkspace,
      { type: "skipDialog", open: true },
      { type: "context", context: { series: "1.2.3", metadata: [] } },
    );
    expect(open).toMatchObject({ skipping: true, context: { series: "1.2.3" } });
    expect(reduce(open, { type: "left" })).toMatchObject({ skipping: false, context: null });
  });

  it("opens and closes the help, and changes only what an event names", () => {
    const helped = reduce(initialWorkspace, { type: "help", open: true });
    expect(helped).toEqual({ ...initialWorkspace, help: true });
    expect(reduce(helped, { type: "help", open: false })).toEqual(initialWorkspace);
    expect(reduce(initialWorkspace, { type: "tool", tool: "Pan" })).toEqual({
      ...initialWorkspace,
      tool: "Pan",
    });
    expect(reduce(initialWorkspace, { type: "activeLabel", name: "mass" }).activeLabel).toBe(
      "mass",
    );
  });
});
