/**
 * The workspace's own state (what the doctor has open or chosen), apart from the labelling
 * loop's: a reducer, so its transitions are plain functions with tests.
 */
import type { Project } from "../../api/types";
import type { DicomJson } from "../../viewer/dicomJson";
import { defaultTool, type Tool } from "./tools";

/** Another series of the study, opened read-only for context. */
export interface ContextSeries {
  series: string;
  metadata: DicomJson[];
}

export interface WorkspaceState {
  tool: Tool;
  /** The class new shapes get (detection, segmentation). */
  activeLabel: string | null;
  help: boolean;
  skipping: boolean;
  /** Brush radius in image pixels. */
  brush: number;
  context: ContextSeries | null;
}

export type WorkspaceEvent =
  | { type: "projectLoaded"; project: Project }
  | { type: "tool"; tool: Tool }
  | { type: "activeLabel"; name: string }
  | { type: "help"; open: boolean }
  | { type: "skipDialog"; open: boolean }
  /** The item on screen was submitted or skipped: back to the item's own series. */
  | { type: "left" }
  | { type: "brushStep"; delta: number }
  | { type: "brushSize"; size: number }
  | { type: "context"; context: ContextSeries | null };

export const BRUSH_MIN = 1;
export const BRUSH_MAX = 100;

export const initialWorkspace: WorkspaceState = {
  tool: "WindowLevel",
  activeLabel: null,
  help: false,
  skipping: false,
  brush: 4,
  context: null,
};

export function workspaceReducer(state: WorkspaceState, event: WorkspaceEvent): WorkspaceState {
  switch (event.type) {
    case "projectLoaded": {
      const first = [...event.project.label_classes].sort((a, b) => a.index - b.index)[0];
      return {
        ...state,
        activeLabel: first?.name ?? null,
        tool: defaultTool(event.project.task_type),
      };
    }
    case "tool":
      return { ...state, tool: event.tool };
    case "activeLabel":
      return { ...state, activeLabel: event.name };
    case "help":
      return { ...state, help: event.open };
    case "skipDialog":
      return { ...state, skipping: event.open };
    case "left":
      return { ...state, skipping: false, context: null };
    case "brushStep":
      return {
        ...state,
        brush: Math.min(BRUSH_MAX, Math.max(BRUSH_MIN, state.brush + event.delta)),
      };
    case "brushSize":
      return { ...state, brush: event.size };
    case "context":
      return { ...state, context: event.context };
  }
}
