/** The review screen's keyboard: planned by reviewKeys.ts, carried out here. */
import { useEffect, useRef, type Dispatch, type RefObject } from "react";

import type { LabelClass, Project } from "../../api/types";
import type { AnnotationDocument } from "../../viewer/annotationDocument";
import type { DrawingLayer } from "../../viewer/drawingLayer";
import type { StackViewer } from "../../viewer/stackViewer";
import type { Notice } from "../labellingLoop";
import { handleNavigationKey } from "../navigationKeys";
import { isTypingTarget } from "../shortcuts";
import type { KeyAction } from "../workspace/keyMap";
import type { WorkspaceEvent, WorkspaceState } from "../workspace/workspaceState";
import type { Draft } from "./ReviewPage";
import { escapeLeavesEdit, reviewKeyPlan, type ReviewAction } from "./reviewKeys";

interface Options {
  viewer: StackViewer | null;
  project: Project | null;
  labels: LabelClass[];
  ui: WorkspaceState;
  dispatch: Dispatch<WorkspaceEvent>;
  draft: Draft | null;
  readers: number;
  modality: string;
  layerRef: RefObject<DrawingLayer | null>;
  notify: (notice: Notice | null) => void;
  actions: {
    accept: (reader: number) => void;
    edit: (reader: number) => void;
    save: () => void;
    leaveEdit: () => void;
    move: (delta: number) => void;
    cycleLayers: () => void;
    comment: () => void;
    chooseClass: (label: LabelClass) => void;
    noFindings: () => void;
    step: (doc: AnnotationDocument | null | undefined, redo: boolean) => void;
  };
}

export function useReviewKeys(o: Options): void {
  const presetState = useRef({ i: 0 });
  // Esc over an edited copy warns first; a second Esc discards it.
  const escArmed = useRef(false);

  const navigate = (event: KeyboardEvent, viewer: StackViewer) => {
    if (!handleNavigationKey(event, viewer, o.modality, presetState.current)) return false;
    if (["w", "m", "z"].includes(event.key.toLowerCase()))
      o.dispatch({ type: "tool", tool: viewer.primaryTool ?? "WindowLevel" });
    return true;
  };

  /** Editing a copy: the workspace's actions on the draft. */
  const runEdit = (action: KeyAction<LabelClass>, event: KeyboardEvent, viewer: StackViewer) => {
    const doc = o.draft?.doc;
    switch (action.type) {
      case "pass":
        return false;
      case "openHelp":
      case "closeHelp":
        o.dispatch({ type: "help", open: action.type === "openHelp" });
        return true;
      case "undo":
      case "redo":
        o.actions.step(doc, action.type === "redo");
        return true;
      case "submit":
        o.actions.save();
        return true;
      case "noFindings":
        o.actions.noFindings();
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
        return navigate(event, viewer);
      default:
        return true; // skip, heat map, suggestions: not on this screen
    }
  };

  const runReview = (action: ReviewAction, event: KeyboardEvent, viewer: StackViewer) => {
    switch (action.type) {
      case "pass":
        return false;
      case "swallow":
        return true;
      case "openHelp":
      case "closeHelp":
        o.dispatch({ type: "help", open: action.type === "openHelp" });
        return true;
      case "accept":
        o.actions.accept(action.reader);
        return true;
      case "edit":
        escArmed.current = false;
        o.actions.edit(action.reader);
        return true;
      case "nextItem":
      case "previousItem":
        o.actions.move(action.type === "nextItem" ? 1 : -1);
        return true;
      case "cycleLayers":
        o.actions.cycleLayers();
        return true;
      case "comment":
        o.actions.comment();
        return true;
      case "cancelEdit": {
        if (o.layerRef.current?.handleKey(event)) return true;
        if (escapeLeavesEdit(Boolean(o.draft?.doc.canUndo), escArmed.current)) {
          escArmed.current = false;
          o.actions.leaveEdit();
          o.notify({ kind: "info", text: "Edit discarded." });
        } else {
          escArmed.current = true;
          o.notify({ kind: "warn", text: "Unsaved edit: Esc again discards it, Enter saves it." });
        }
        return true;
      }
      case "navigate":
        return navigate(event, viewer);
    }
  };

  const onKey = (event: KeyboardEvent) => {
    const { viewer, project, ui } = o;
    if (!viewer || !project || isTypingTarget(event.target)) return;
    const plan = reviewKeyPlan(
      {
        key: event.key,
        code: event.code,
        ctrl: event.ctrlKey,
        meta: event.metaKey,
        alt: event.altKey,
        shift: event.shiftKey,
        onButton: event.target instanceof HTMLButtonElement,
      },
      {
        help: ui.help,
        editing: o.draft !== null,
        readers: o.readers,
        taskType: project.task_type,
        labels: o.labels,
      },
    );
    let used: boolean;
    if (plan.mode === "edit") {
      const { drawingFirst, action } = plan.plan;
      used =
        (drawingFirst && Boolean(o.layerRef.current?.handleKey(event))) ||
        runEdit(action, event, viewer);
    } else {
      used = runReview(plan.action, event, viewer);
    }
    if (used) event.preventDefault();
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
