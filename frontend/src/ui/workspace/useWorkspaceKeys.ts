/** The keyboard loop: each key press on the page, planned by keyMap.ts and carried out here. */
import { useEffect, useRef, type Dispatch, type RefObject } from "react";

import type { LabelClass, Project, SkipReason } from "../../api/types";
import type { AnnotationDocument } from "../../viewer/annotationDocument";
import type { DrawingLayer } from "../../viewer/drawingLayer";
import type { StackViewer } from "../../viewer/stackViewer";
import { handleNavigationKey } from "../navigationKeys";
import { isTypingTarget } from "../shortcuts";
import { keyPlan, type KeyAction } from "./keyMap";
import type { OnScreen } from "./useLabellingLoop";
import type { WorkspaceEvent, WorkspaceState } from "./workspaceState";

interface Options {
  viewer: StackViewer | null;
  project: Project | null;
  labels: LabelClass[];
  ui: WorkspaceState;
  dispatch: Dispatch<WorkspaceEvent>;
  /** Of the item on screen, for the window presets (L). */
  modality: string;
  layerRef: RefObject<DrawingLayer | null>;
  onScreen: () => OnScreen | null;
  step: (doc: AnnotationDocument | null | undefined, redo: boolean) => void;
  actions: {
    submit: () => void;
    skip: (reason: SkipReason) => void;
    backToItem: () => void;
    noFindings: () => void;
    chooseClass: (label: LabelClass) => void;
    toggleHeatmap: () => void;
    acceptSuggestion: () => void;
    clearSuggestion: () => void;
  };
  /** A model's mask or box suggestion is on the item (A / X apply). */
  maskSuggestion: boolean;
}

export function useWorkspaceKeys(o: Options): void {
  const presetState = useRef({ i: 0 });

  /** Carries out one action; false when the key was not used after all. */
  const run = (action: KeyAction<LabelClass>, event: KeyboardEvent, viewer: StackViewer) => {
    switch (action.type) {
      case "pass":
        return false;
      case "swallow":
        return true;
      case "closeHelp":
      case "openHelp":
        o.dispatch({ type: "help", open: action.type === "openHelp" });
        return true;
      case "openSkip":
      case "cancelSkip":
        o.dispatch({ type: "skipDialog", open: action.type === "openSkip" });
        return true;
      case "skip":
        o.dispatch({ type: "left" });
        o.actions.skip(action.reason);
        return true;
      case "undo":
      case "redo":
        o.step(o.onScreen()?.doc, action.type === "redo");
        return true;
      case "backToItem":
        o.actions.backToItem();
        return false; // as before the split: Esc is not consumed here
      case "submit":
        o.dispatch({ type: "left" });
        o.actions.submit();
        return true;
      case "noFindings":
        o.actions.noFindings();
        return true;
      case "toggleHeatmap":
        o.actions.toggleHeatmap();
        return true;
      case "acceptSuggestion":
        o.actions.acceptSuggestion();
        return true;
      case "clearSuggestion":
        o.actions.clearSuggestion();
        return true;
      case "brush":
        o.dispatch({ type: "brushStep", delta: action.delta });
        return true;
      case "label":
        o.actions.chooseClass(action.label);
        return true;
      case "tool":
        o.dispatch({ type: "tool", tool: action.tool });
        return true;
      case "navigate":
        if (!handleNavigationKey(event, viewer, o.modality, presetState.current)) return false;
        if (["w", "m", "z"].includes(event.key.toLowerCase())) {
          o.dispatch({ type: "tool", tool: viewer.primaryTool ?? "WindowLevel" });
        }
        return true;
    }
  };

  const onKey = (event: KeyboardEvent) => {
    const { viewer, project, ui } = o;
    if (!viewer || !project || isTypingTarget(event.target)) return;
    const plan = keyPlan(
      {
        key: event.key,
        ctrl: event.ctrlKey,
        meta: event.metaKey,
        alt: event.altKey,
        shift: event.shiftKey,
        onButton: event.target instanceof HTMLButtonElement,
      },
      {
        help: ui.help,
        skipping: ui.skipping,
        context: ui.context !== null,
        taskType: project.task_type,
        labels: o.labels,
        maskSuggestion: o.maskSuggestion,
      },
    );
    if (plan.drawingFirst && o.layerRef.current?.handleKey(event)) event.preventDefault();
    else if (run(plan.action, event, viewer)) event.preventDefault();
  };

  // One listener for the page's life; it always calls the handler of the latest render.
  const latest = useRef(onKey);
  useEffect(() => {
    latest.current = onKey;
  });
  useEffect(() => {
    const listener = (event: KeyboardEvent) => latest.current(event);
    document.addEventListener("keydown", listener);
    return () => document.removeEventListener("keydown", listener);
  }, []);
}
