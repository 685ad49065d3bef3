/** The workspace's tools: which drawing tools a task has, their keys and their names. */
import type { Project } from "../../api/types";
import type { DrawTool } from "../../viewer/drawingLayer";
import type { NavigationTool } from "../../viewer/stackViewer";

export type Tool = DrawTool | NavigationTool;

export const TOOLS_FOR_TASK: Record<Project["task_type"], DrawTool[]> = {
  classification: [],
  detection: ["select", "box", "point"],
  segmentation: ["select", "polygon", "freehand", "brush", "eraser"],
};

const TOOL_KEYS: Record<string, DrawTool> = {
  v: "select",
  b: "box",
  g: "polygon",
  f: "freehand",
  d: "point",
  r: "brush",
  e: "eraser",
};

export const TOOL_NAMES: Record<DrawTool, string> = {
  select: "Select (V)",
  box: "Box (B)",
  polygon: "Polygon (G)",
  freehand: "Freehand (F)",
  point: "Point (D)",
  brush: "Brush (R)",
  eraser: "Eraser (E)",
};

export function isDrawTool(tool: Tool): tool is DrawTool {
  return tool in TOOL_NAMES;
}

/** The tool a project opens with: its first shape tool (not "select"), or window-level. */
export function defaultTool(taskType: Project["task_type"]): Tool {
  return TOOLS_FOR_TASK[taskType][1] ?? "WindowLevel";
}

/** The drawing tool behind a key (either case), when the task has that tool. */
export function drawToolForKey(key: string, taskType: Project["task_type"]): DrawTool | null {
  const tool = TOOL_KEYS[key.toLowerCase()];
  return tool && TOOLS_FOR_TASK[taskType].includes(tool) ? tool : null;
}

/** Whether `name` is a tool of this task (its drawing tools and the three navigation tools). */
export function isToolOf(taskType: Project["task_type"], name: string): name is Tool {
  const allowed: string[] = [...TOOLS_FOR_TASK[taskType], "WindowLevel", "Pan", "Zoom"];
  return allowed.includes(name);
}
